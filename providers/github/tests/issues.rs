//! Issue links through a fake GitHub serving the `issue` objects of GitHub's own
//! `issues.*` payloads (the shape `GET /repos/{owner}/{repo}/issues/{number}` returns):
//! states, access, rate limits, the issue that is a pull request, and the link's forms.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod fake_github;

use chrono::Utc;
use fake_github::*;
use notion_unfurl_github::{CACHE_TTL, STALE_TTL};
use notion_unfurl_sdk::{CacheScope, Provider, ProviderError, Url};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const ISSUE_URL: &str = "https://github.com/Codertocat/Hello-World/issues/1";
const ISSUE_PATH: &str = "/repos/Codertocat/Hello-World/issues/1";
const REPO_PATH: &str = "/repos/Codertocat/Hello-World";
const ISSUE_TITLE: &str = "Spelling error in the README file";

fn issue(name: &str) -> Option<Value> {
    payload(name).map(|p| p["issue"].clone())
}

/// The repository of the issue payloads, as `GET /repos/{owner}/{repo}` (close enough:
/// the webhook form has every field the provider reads).
fn repository(private: bool) -> Option<Value> {
    let repo = payload("issues.opened")?["repository"].clone();
    Some(with(repo, "/private", Value::Bool(private)))
}

/// `value` with field `key` set (added when GitHub's example lacks it).
fn set(mut value: Value, key: &str, to: Value) -> Value {
    value[key] = to;
    value
}

#[tokio::test]
async fn an_open_issue_shows_state_people_milestone_and_body() {
    let body = require!(issue("issues.opened"));
    let fake = start(|_| {}).await;
    fake.serve(ISSUE_PATH, &body).await;

    let preview = fake.preview(ISSUE_URL, &context(Some(TOKEN))).await;

    // An account's own read: GitHub answered it, so it may see it; whether anyone else
    // may is not in the issue, and is not asked for (one request).
    assert_eq!(preview.scope, CacheScope::Account);
    assert_eq!(preview.ttl, CACHE_TTL);
    assert_eq!(text(&preview.attributes, "title"), Some(ISSUE_TITLE));
    assert_eq!(text(&preview.attributes, "state"), Some("Open"));
    assert_eq!(
        text(&preview.attributes, "identifier"),
        Some("Codertocat/Hello-World#1")
    );
    insta::assert_json_snapshot!("issue_open", json(&preview.attributes));
    assert_eq!(fake.server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn closed_issues_say_why_in_githubs_colours() {
    let opened = require!(issue("issues.opened"));
    let closed = with(opened.clone(), "/state", Value::from("closed"));
    let not_planned = set(closed.clone(), "state_reason", Value::from("not_planned"));
    let completed = set(closed, "state_reason", Value::from("completed"));
    for (body, label, snapshot) in [
        (completed, "Closed as completed", "issue_completed"),
        (not_planned, "Closed as not planned", "issue_not_planned"),
    ] {
        let fake = start(|_| {}).await;
        fake.serve(ISSUE_PATH, &body).await;
        let preview = fake.preview(ISSUE_URL, &context(Some(TOKEN))).await;
        assert_eq!(text(&preview.attributes, "state"), Some(label));
        insta::assert_json_snapshot!(snapshot, json(&preview.attributes));
    }
}

#[tokio::test]
async fn an_issue_without_a_body_has_no_description() {
    let body = require!(issue("issues.opened.empty-body"));
    let fake = start(|_| {}).await;
    fake.serve(ISSUE_PATH, &body).await;
    let preview = fake.preview(ISSUE_URL, &context(Some(TOKEN))).await;
    assert!(!ids(&preview.attributes).contains(&"description"));
}

#[tokio::test]
async fn a_public_issue_read_with_the_fallback_token_is_shared() {
    let body = require!(issue("issues.opened"));
    let fake = start(|c| c.fallback_token = Some(notion_unfurl_sdk::Secret::new(FALLBACK))).await;
    fake.serve(ISSUE_PATH, &body).await;
    fake.serve(REPO_PATH, &require!(repository(false))).await;
    let preview = fake.preview(ISSUE_URL, &context(None)).await;
    assert_eq!(preview.scope, CacheScope::Public);
    assert_eq!(fake.hits(REPO_PATH).await, 1);
}

#[tokio::test]
async fn an_anonymous_read_is_public_in_one_request() {
    let body = require!(issue("issues.opened"));
    let fake = start(|_| {}).await;
    fake.serve(ISSUE_PATH, &body).await;
    let preview = fake.preview(ISSUE_URL, &context(None)).await;
    // Without a token GitHub answers for public repositories only.
    assert_eq!(preview.scope, CacheScope::Public);
    assert_eq!(fake.server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_private_issue_is_never_shown_through_the_fallback_token() {
    let body = require!(issue("issues.opened"));
    let fake = start(|c| c.fallback_token = Some(notion_unfurl_sdk::Secret::new(FALLBACK))).await;
    fake.serve(ISSUE_PATH, &body).await;
    fake.serve(REPO_PATH, &require!(repository(true))).await;
    let error = fake.unfurl(ISSUE_URL, &context(None)).await.unwrap_err();
    let hint = hint(&error);
    assert!(matches!(error, ProviderError::NotFound { .. }));
    assert!(hint.contains("Connect a GitHub account"), "{hint}");
    assert!(hint.starts_with("This issue is not public"), "{hint}");
    assert!(!format!("{error:?}").contains(ISSUE_TITLE));
}

#[tokio::test]
async fn a_private_issue_the_account_cannot_see_is_not_found_with_an_access_hint() {
    let fake = start(|_| {}).await;
    fake.answer(ISSUE_PATH, not_found()).await;
    let error = fake
        .unfurl(ISSUE_URL, &context(Some(TOKEN)))
        .await
        .unwrap_err();
    assert_eq!(
        hint(&error),
        "This issue was not found: check that your GitHub account can see this repository."
    );
    // Anonymous: the same 404 asks to connect GitHub.
    let anonymous = fake.unfurl(ISSUE_URL, &context(None)).await.unwrap_err();
    assert!(hint(&anonymous).contains("Connect a GitHub account"));
}

#[tokio::test]
async fn a_private_issue_is_not_served_to_another_account() {
    let body = require!(issue("issues.opened"));
    let fake = start(|_| {}).await;
    Mock::given(method("GET"))
        .and(path(ISSUE_PATH))
        .and(wiremock::matchers::header(
            "authorization",
            format!("Bearer {TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(&body))
        .mount(&fake.server)
        .await;
    fake.answer(ISSUE_PATH, not_found()).await;
    let insider = fake.preview(ISSUE_URL, &context(Some(TOKEN))).await;
    assert_eq!(insider.scope, CacheScope::Account);
    let other = notion_unfurl_sdk::testing::context()
        .account("github:2", Some("gho_other"))
        .build();
    let error = fake.unfurl(ISSUE_URL, &other).await.unwrap_err();
    assert!(!format!("{error:?}").contains(ISSUE_TITLE));
}

#[tokio::test]
async fn a_rate_limit_says_when_previews_resume_or_serves_the_recent_preview() {
    let body = require!(issue("issues.opened"));
    let fake = start(|_| {}).await;
    Mock::given(method("GET"))
        .and(path(ISSUE_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(&body)
                .insert_header("ETag", "\"1\""),
        )
        .up_to_n_times(1)
        .mount(&fake.server)
        .await;
    fake.answer(ISSUE_PATH, rate_limited(Utc::now().timestamp() + 600))
        .await;
    let ctx = context(Some(TOKEN));
    let fresh = fake.preview(ISSUE_URL, &ctx).await;
    let bridged = fake.preview(ISSUE_URL, &ctx).await;
    assert_eq!(bridged.attributes, fresh.attributes);
    assert!(bridged.stale);
    assert_eq!(bridged.ttl, STALE_TTL);

    // Another account has no recent preview of its own to stand in.
    let other = notion_unfurl_sdk::testing::context()
        .account("github:2", Some("gho_other"))
        .build();
    let error = fake.unfurl(ISSUE_URL, &other).await.unwrap_err();
    assert!(matches!(error, ProviderError::RateLimited { .. }));
    assert!(hint(&error).starts_with("GitHub's rate limit was reached"));
}

#[tokio::test]
async fn an_issue_number_that_is_a_pull_request_previews_the_pull_request() {
    let pr = require!(pull("pull_request.opened"));
    let as_issue = require!(payload("issue_comment.created"))
        .get("issue")
        .cloned();
    let as_issue = set(
        with(require!(as_issue), "/number", Value::from(2)),
        "pull_request",
        serde_json::json!({"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2"}),
    );
    let fake = start(|_| {}).await;
    fake.serve("/repos/Codertocat/Hello-World/issues/2", &as_issue)
        .await;
    fake.serve(PR_PATH, &pr).await;
    let ctx = context(Some(TOKEN));
    let via_issue = fake
        .preview("https://github.com/Codertocat/Hello-World/issues/2", &ctx)
        .await;
    let direct = fake.preview(PR_URL, &ctx).await;
    assert_eq!(text(&via_issue.attributes, "title"), Some(TITLE));
    assert_eq!(via_issue.attributes, direct.attributes);
    assert_eq!(via_issue.scope, CacheScope::Public);
}

#[tokio::test]
async fn every_form_of_an_issue_link_shares_one_canonical_form() {
    let fake = start(|_| {}).await;
    for url in [
        ISSUE_URL,
        "https://github.com/codertocat/hello-world/issues/1/",
        "https://github.com/Codertocat/Hello-World/issues/1#issuecomment-492700400",
        "http://github.com/Codertocat/Hello-World/issues/1?q=1",
    ] {
        let parsed = Url::parse(url).unwrap();
        assert_eq!(
            fake.github.canonical_uri(&parsed),
            "https://github.com/codertocat/hello-world/issues/1",
            "{url}"
        );
    }
}
