//! Commit links through a fake GitHub: the commit object in the REST shape GitHub
//! documents (`tests/fixtures/commit.json`, written for these tests), with the check runs
//! and commit statuses of the shared fixtures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod fake_github;

use chrono::Utc;
use fake_github::*;
use notion_unfurl_github::{CACHE_TTL, STALE_TTL};
use notion_unfurl_sdk::{CacheScope, Provider, ProviderError, Secret, Url};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const COMMIT_PATH: &str =
    "/repos/Codertocat/Hello-World/commits/ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const SHORT_PATH: &str = "/repos/Codertocat/Hello-World/commits/ec26c3e";
const REPO_PATH: &str = "/repos/Codertocat/Hello-World";

fn commit_url() -> String {
    format!("https://github.com/Codertocat/Hello-World/commit/{HEAD_SHA}")
}

fn commit() -> Value {
    serde_json::from_str(include_str!("fixtures/commit.json")).unwrap()
}

async fn serve_checks(fake: &Fake) {
    fake.serve(CHECKS_PATH, &require!(check_runs(&[("in_progress", None)])))
        .await;
    fake.serve(
        STATUS_PATH,
        &require!(combined_status(&[("success", "ci/build")])),
    )
    .await;
}

#[tokio::test]
async fn a_commit_shows_its_message_checks_and_changes_in_one_round() {
    let fake = start(|_| {}).await;
    fake.serve(COMMIT_PATH, &commit()).await;
    serve_checks(&fake).await;
    let preview = fake.preview(&commit_url(), &context(Some(TOKEN))).await;
    assert_eq!(text(&preview.attributes, "title"), Some("Update README.md"));
    assert_eq!(
        text(&preview.attributes, "checks"),
        Some("● 1 of 3 checks pending")
    );
    assert_eq!(text(&preview.attributes, "changes"), Some("+2 −1 · 1 file"));
    assert_eq!(
        text(&preview.attributes, "identifier"),
        Some("Codertocat/Hello-World@ec26c3e")
    );
    assert_eq!(preview.scope, CacheScope::Account);
    assert_eq!(preview.ttl, CACHE_TTL);
    insta::assert_json_snapshot!("commit", json(&preview.attributes));
    // The commit, its check runs and its statuses: three requests, nothing else.
    assert_eq!(fake.server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn an_abbreviated_commit_reads_its_checks_under_the_full_id() {
    let fake = start(|_| {}).await;
    fake.serve(SHORT_PATH, &commit()).await;
    serve_checks(&fake).await;
    let preview = fake
        .preview(
            "https://github.com/Codertocat/Hello-World/commit/ec26c3e",
            &context(Some(TOKEN)),
        )
        .await;
    assert_eq!(
        text(&preview.attributes, "checks"),
        Some("● 1 of 3 checks pending")
    );
    assert_eq!(fake.hits(CHECKS_PATH).await, 1);
}

#[tokio::test]
async fn a_commit_of_a_pull_requests_commits_tab_is_the_commit() {
    let fake = start(|_| {}).await;
    fake.serve(COMMIT_PATH, &commit()).await;
    let tab = format!("{PR_URL}/commits/{HEAD_SHA}");
    let preview = fake.preview(&tab, &context(Some(TOKEN))).await;
    assert_eq!(text(&preview.attributes, "title"), Some("Update README.md"));
    let canonical =
        "https://github.com/codertocat/hello-world/commit/ec26c3e57ca3a959ca5aad62de7213c562f8c821";
    for url in [
        tab.as_str(),
        &commit_url(),
        &format!("{}?diff=split", commit_url()),
    ] {
        assert_eq!(
            fake.github.canonical_uri(&Url::parse(url).unwrap()),
            canonical
        );
    }
}

#[tokio::test]
async fn a_rate_limited_checks_read_leaves_checks_out_for_now() {
    let fake = start(|_| {}).await;
    fake.serve(COMMIT_PATH, &commit()).await;
    for at in [CHECKS_PATH, STATUS_PATH] {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("Retry-After", "30")
                    .set_body_json(serde_json::json!({"message": "rate limit"})),
            )
            .mount(&fake.server)
            .await;
    }
    let preview = fake.preview(&commit_url(), &context(Some(TOKEN))).await;
    assert!(!ids(&preview.attributes).contains(&"checks"));
    assert!(preview.stale);
    assert_eq!(preview.ttl, STALE_TTL);
}

#[tokio::test]
async fn a_private_commit_is_never_read_through_the_fallback_token() {
    let repo = require!(payload("push"))["repository"].clone();
    let mut private = repo;
    private["private"] = Value::Bool(true);
    let fake = start(|c| c.fallback_token = Some(Secret::new("ghp_fallback"))).await;
    fake.serve(COMMIT_PATH, &commit()).await;
    fake.serve(REPO_PATH, &private).await;
    serve_checks(&fake).await;
    let error = fake
        .unfurl(&commit_url(), &context(None))
        .await
        .unwrap_err();
    let ProviderError::NotFound { hint: Some(hint) } = &error else {
        panic!("{error:?}")
    };
    assert!(hint.starts_with("This commit is not public"), "{hint}");
    assert!(!format!("{error:?}").contains("README"));
}

#[tokio::test]
async fn a_missing_commit_is_not_found_and_a_rate_limit_without_a_recent_preview_says_so() {
    let fake = start(|_| {}).await;
    Mock::given(method("GET"))
        .and(path(COMMIT_PATH))
        .respond_with(rate_limited(Utc::now().timestamp() + 60))
        .mount(&fake.server)
        .await;
    let error = fake
        .unfurl(&commit_url(), &context(Some(TOKEN)))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::RateLimited { .. }),
        "{error:?}"
    );
    let missing = fake
        .unfurl(
            "https://github.com/Codertocat/Hello-World/commit/0000000",
            &context(Some(TOKEN)),
        )
        .await
        .unwrap_err();
    let ProviderError::NotFound { hint: Some(hint) } = &missing else {
        panic!("{missing:?}")
    };
    assert!(hint.starts_with("This commit was not found"), "{hint}");
}
