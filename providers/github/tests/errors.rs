//! How GitHub's refusals and failures reach the Notion user: what each status becomes,
//! when a recent preview stands in, and that no error quotes a private PR.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod fake_github;

use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use fake_github::*;
use notion_unfurl_github::{CACHE_TTL, STALE_TTL};
use notion_unfurl_sdk::{CacheScope, ProviderError};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

/// Serves `pr` once (with an ETag), then `then` for every later read.
async fn answer_once_then(fake: &Fake, pr: &Value, then: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(PR_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(pr)
                .insert_header("ETag", "\"pr-1\""),
        )
        .up_to_n_times(1)
        .mount(&fake.server)
        .await;
    fake.answer(PR_PATH, then).await;
}

#[tokio::test]
async fn a_refused_token_asks_to_reconnect_github() {
    let fake = start(|_| {}).await;
    fake.answer(
        PR_PATH,
        ResponseTemplate::new(401).set_body_json(serde_json::json!({"message": "Bad credentials"})),
    )
    .await;
    let error = fake
        .unfurl(PR_URL, &context(Some(TOKEN)))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Unauthorized { .. }),
        "{error:?}"
    );
    assert!(hint(&error).contains("Reconnect GitHub"), "{error:?}");
}

#[tokio::test]
async fn a_pr_the_account_cannot_see_is_not_found_with_an_access_hint() {
    let fake = start(|_| {}).await;
    fake.answer(PR_PATH, not_found()).await;
    let error = fake
        .unfurl(PR_URL, &context(Some(TOKEN)))
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::NotFound { .. }), "{error:?}");
    assert!(
        hint(&error).contains("check that your GitHub account can see this repository"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_403_that_is_no_rate_limit_reads_as_no_access() {
    let fake = start(|_| {}).await;
    fake.answer(
        PR_PATH,
        ResponseTemplate::new(403)
            .insert_header("X-RateLimit-Remaining", "4990")
            .set_body_json(serde_json::json!({
                "message": "Resource not accessible by personal access token"
            })),
    )
    .await;
    let error = fake
        .unfurl(PR_URL, &context(Some(TOKEN)))
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn lost_access_ends_previews_even_of_a_recently_seen_private_pr() {
    let pr = require!(pull("pull_request.opened"));
    let private = with(pr, "/base/repo/private", Value::Bool(true));
    let fake = start(|_| {}).await;
    answer_once_then(&fake, &private, ResponseTemplate::new(404)).await;
    let ctx = context(Some(TOKEN));
    assert_eq!(fake.preview(PR_URL, &ctx).await.scope, CacheScope::Account);
    let error = fake.unfurl(PR_URL, &ctx).await.unwrap_err();
    let text = format!("{error:?} {error}");
    assert!(matches!(error, ProviderError::NotFound { .. }), "{text}");
    for private_content in [TITLE, "README", "Codertocat", "pretty simple change"] {
        assert!(!text.contains(private_content), "{text}");
    }
}

#[tokio::test]
async fn a_rate_limit_without_a_recent_preview_says_when_previews_resume() {
    let fake = start(|_| {}).await;
    let reset = Utc::now().timestamp() + 600;
    fake.answer(PR_PATH, rate_limited(reset)).await;

    let error = fake
        .unfurl(PR_URL, &context(Some(TOKEN)))
        .await
        .unwrap_err();

    let ProviderError::RateLimited {
        retry_after: Some(retry_after),
        hint: Some(hint),
    } = &error
    else {
        panic!("RateLimited with a delay and a hint expected, got {error:?}");
    };
    assert!(
        (Duration::from_secs(595)..=Duration::from_secs(600)).contains(retry_after),
        "{retry_after:?}"
    );
    let at = DateTime::from_timestamp(reset, 0).unwrap();
    let at = if at.second() > 0 {
        at + chrono::Duration::minutes(1)
    } else {
        at
    };
    assert_eq!(
        hint,
        &format!(
            "GitHub's rate limit was reached; previews resume at {}.",
            at.format("%H:%M UTC")
        )
    );
}

#[tokio::test]
async fn a_rate_limit_is_bridged_by_the_recent_preview() {
    let pr = require!(pull("pull_request.closed"));
    let fake = start(|_| {}).await;
    answer_once_then(&fake, &pr, rate_limited(Utc::now().timestamp() + 600)).await;
    let ctx = context(Some(TOKEN));
    let fresh = fake.preview(PR_URL, &ctx).await;

    let bridged = fake.preview(PR_URL, &ctx).await;

    assert_eq!(bridged.attributes, fresh.attributes);
    assert_eq!(bridged.scope, fresh.scope);
    assert_eq!(bridged.ttl, STALE_TTL);
    assert!(bridged.stale, "an earlier read is marked stale");
    // The second read did try GitHub, revalidating with the ETag.
    let requests = fake.server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[1]
            .headers
            .get("if-none-match")
            .and_then(|v| v.to_str().ok()),
        Some("\"pr-1\"")
    );
}

#[tokio::test]
async fn a_secondary_rate_limit_honours_retry_after() {
    let fake = start(|_| {}).await;
    fake.answer(
        PR_PATH,
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "30")
            .set_body_json(serde_json::json!({
                "message": "You have exceeded a secondary rate limit."
            })),
    )
    .await;
    let error = fake
        .unfurl(PR_URL, &context(Some(TOKEN)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            ProviderError::RateLimited { retry_after: Some(d), hint: Some(h) }
                if *d == Duration::from_secs(30) && h.contains("previews resume at")
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_secondary_rate_limit_without_headers_is_a_rate_limit_not_lost_access() {
    let fake = start(|_| {}).await;
    // GitHub may send its secondary limit as a bare 403: only the message says so.
    fake.answer(
        PR_PATH,
        ResponseTemplate::new(403)
            .insert_header("X-RateLimit-Remaining", "4990")
            .set_body_json(serde_json::json!({
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
            })),
    )
    .await;
    let error = fake
        .unfurl(PR_URL, &context(Some(TOKEN)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            ProviderError::RateLimited { retry_after: Some(d), hint: Some(h) }
                if *d == Duration::from_secs(60) && h.contains("previews resume at")
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_github_outage_is_an_upstream_error() {
    let fake = start(|_| {}).await;
    fake.answer(PR_PATH, ResponseTemplate::new(502)).await;
    let error = fake
        .unfurl(PR_URL, &context(Some(TOKEN)))
        .await
        .unwrap_err();
    assert_eq!(error, ProviderError::Upstream { status: Some(502) });
}

#[tokio::test]
async fn an_unreachable_github_says_why_for_the_log() {
    // A port nothing listens on: the operator's log must say "refused", not only "error
    // sending request" (a wrong UNFURL_GITHUB_API_URL, a certificate the host does not trust).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let fake = start(|c| c.api_url = format!("http://127.0.0.1:{port}/").parse().unwrap()).await;
    let error = fake
        .unfurl(PR_URL, &context(Some(TOKEN)))
        .await
        .unwrap_err();
    let ProviderError::Unreachable { reason } = &error else {
        panic!("{error:?}");
    };
    assert!(reason.to_lowercase().contains("refused"), "{reason}");
    assert!(!reason.contains(TOKEN), "{reason}");
}

#[tokio::test]
async fn an_outage_is_bridged_by_the_recent_preview_too() {
    let pr = require!(pull("pull_request.closed"));
    let fake = start(|_| {}).await;
    answer_once_then(&fake, &pr, ResponseTemplate::new(503)).await;
    let ctx = context(Some(TOKEN));
    let fresh = fake.preview(PR_URL, &ctx).await;
    let bridged = fake.preview(PR_URL, &ctx).await;
    assert_eq!(bridged.attributes, fresh.attributes);
    assert_eq!(bridged.ttl, STALE_TTL);
    assert!(bridged.stale, "an earlier read is marked stale");
}

#[tokio::test]
async fn a_slow_github_is_a_timeout() {
    let pr = require!(pull("pull_request.opened"));
    let fake = start(|c| c.timeout = Duration::from_millis(200)).await;
    fake.answer(
        PR_PATH,
        ResponseTemplate::new(200)
            .set_body_json(&pr)
            .set_delay(Duration::from_secs(3)),
    )
    .await;
    let error = fake
        .unfurl(PR_URL, &context(Some(TOKEN)))
        .await
        .unwrap_err();
    assert_eq!(error, ProviderError::Timeout);
}

#[tokio::test]
async fn failing_checks_or_reviews_calls_only_leave_their_attribute_out() {
    let pr = require!(pull("pull_request.opened"));
    let fake = start(|_| {}).await;
    fake.answer(PR_PATH, ResponseTemplate::new(200).set_body_json(&pr))
        .await;
    fake.answer(CHECKS_PATH, ResponseTemplate::new(500)).await;
    fake.answer(STATUS_PATH, ResponseTemplate::new(502)).await;
    fake.answer(REVIEWS_PATH, rate_limited(Utc::now().timestamp() + 60))
        .await;
    let preview = fake.preview(PR_URL, &context(Some(TOKEN))).await;
    let ids = ids(&preview.attributes);
    assert!(
        !ids.contains(&"checks") && !ids.contains(&"review"),
        "{ids:?}"
    );
    assert!(
        ids.contains(&"state") && ids.contains(&"description"),
        "{ids:?}"
    );
    // Those lines are missing for a passing reason: the preview is shown but read again
    // soon, and never pushed to Notion over a complete one.
    assert!(preview.stale);
    assert_eq!(preview.ttl, STALE_TTL);
}

#[tokio::test]
async fn a_check_read_the_token_may_not_make_leaves_checks_out_for_good() {
    let pr = require!(pull("pull_request.opened"));
    let fake = start(|_| {}).await;
    fake.answer(PR_PATH, ResponseTemplate::new(200).set_body_json(&pr))
        .await;
    for refused in [CHECKS_PATH, STATUS_PATH] {
        Mock::given(method("GET"))
            .and(path(refused))
            .respond_with(ResponseTemplate::new(403).set_body_json(serde_json::json!({
                "message": "Resource not accessible by personal access token"
            })))
            .mount(&fake.server)
            .await;
    }
    let preview = fake.preview(PR_URL, &context(Some(TOKEN))).await;
    assert!(!ids(&preview.attributes).contains(&"checks"));
    assert!(!preview.stale, "a refusal is not a passing failure");
    assert_eq!(preview.ttl, CACHE_TTL);
}

/// An open PR whose check runs answer `runs` and whose commit statuses answer `statuses`.
async fn checks_answering(runs: ResponseTemplate, statuses: ResponseTemplate) -> Option<Fake> {
    let pr = pull("pull_request.opened")?;
    let fake = start(|_| {}).await;
    fake.answer(PR_PATH, ResponseTemplate::new(200).set_body_json(&pr))
        .await;
    fake.answer(CHECKS_PATH, runs).await;
    fake.answer(STATUS_PATH, statuses).await;
    Some(fake)
}

#[tokio::test]
async fn a_failing_status_read_still_shows_the_check_runs() {
    let runs = require!(check_runs(&[]));
    let fake = require!(
        checks_answering(
            ResponseTemplate::new(200).set_body_json(runs),
            ResponseTemplate::new(500),
        )
        .await
    );
    let preview = fake.preview(PR_URL, &context(Some(TOKEN))).await;
    assert_eq!(
        text(&preview.attributes, "checks"),
        Some("✓ 1 check passed")
    );
    assert_eq!(fake.hits(STATUS_PATH).await, 1);
}

#[tokio::test]
async fn a_failing_check_runs_read_still_shows_the_statuses() {
    let statuses = require!(combined_status(&[
        ("success", "ci/build"),
        ("failure", "ci/test")
    ]));
    let fake = require!(
        checks_answering(
            rate_limited(Utc::now().timestamp() + 60),
            ResponseTemplate::new(200).set_body_json(statuses),
        )
        .await
    );
    let preview = fake.preview(PR_URL, &context(Some(TOKEN))).await;
    assert_eq!(
        text(&preview.attributes, "checks"),
        Some("✗ 1 of 2 checks failing")
    );
}

#[tokio::test]
async fn an_unreadable_status_answer_is_left_out_like_a_failed_read() {
    let runs = require!(check_runs(&[("in_progress", None)]));
    let fake = require!(
        checks_answering(
            ResponseTemplate::new(200).set_body_json(runs),
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"statuses": 3})),
        )
        .await
    );
    let preview = fake.preview(PR_URL, &context(Some(TOKEN))).await;
    assert_eq!(
        text(&preview.attributes, "checks"),
        Some("● 1 of 2 checks pending")
    );
}

#[tokio::test]
async fn an_unreadable_answer_is_invalid() {
    let fake = start(|_| {}).await;
    fake.answer(
        PR_PATH,
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"title": 42})),
    )
    .await;
    let error = fake
        .unfurl(PR_URL, &context(Some(TOKEN)))
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::Invalid { .. }), "{error:?}");
}
