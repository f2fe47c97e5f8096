//! Workflow runs, releases and repositories through a fake GitHub serving the objects of
//! GitHub's own `workflow_run.*`, `release.*` and `repository.*` payloads (the REST shapes
//! the fixtures' README lists): attributes, access, cache scope, requests made, and the
//! links' forms.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod fake_github;

use chrono::Utc;
use fake_github::*;
use notion_unfurl_sdk::{CacheScope, Provider, ProviderError, Url};
use serde_json::Value;
use wiremock::Mock;
use wiremock::matchers::{method, path};

const RUN_URL: &str = "https://github.com/octo-org/octo-repo/actions/runs/289782451";
const RUN_PATH: &str = "/repos/octo-org/octo-repo/actions/runs/289782451";
const RELEASE_URL: &str = "https://github.com/Codertocat/Hello-World/releases/tag/0.0.1";
const RELEASE_PATH: &str = "/repos/Codertocat/Hello-World/releases/tags/0.0.1";
const LATEST_PATH: &str = "/repos/Codertocat/Hello-World/releases/latest";
const HELLO_PATH: &str = "/repos/Codertocat/Hello-World";
const REPO_URL: &str = "https://github.com/Octocoders/Hello-World";
const REPO_PATH: &str = "/repos/Octocoders/Hello-World";

#[tokio::test]
async fn a_finished_run_shows_its_conclusion_commit_trigger_and_duration() {
    let run = require!(payload("workflow_run.completed"))["workflow_run"].clone();
    let run = with(run, "/name", Value::from("CI"));
    let run = with(run, "/updated_at", Value::from("2020-10-05T16:36:01Z"));
    let fake = start(|_| {}).await;
    fake.serve(RUN_PATH, &run).await;
    let preview = fake.preview(RUN_URL, &context(Some(TOKEN))).await;
    assert_eq!(text(&preview.attributes, "title"), Some("CI #163"));
    assert_eq!(text(&preview.attributes, "status"), Some("Success"));
    assert_eq!(text(&preview.attributes, "duration"), Some("2m 12s"));
    assert_eq!(
        text(&preview.attributes, "commit"),
        Some("master @ 3484a3f")
    );
    // The run names its repository's visibility: a public run is shared, in one request.
    assert_eq!(preview.scope, CacheScope::Public);
    assert_eq!(fake.server.received_requests().await.unwrap().len(), 1);
    insta::assert_json_snapshot!("run_success", json(&preview.attributes));
}

#[tokio::test]
async fn a_running_run_and_a_failed_one_are_coloured_as_github_does() {
    let run = require!(payload("workflow_run.requested"))["workflow_run"].clone();
    let running = with(run.clone(), "/status", Value::from("in_progress"));
    let failed = with(
        with(run, "/status", Value::from("completed")),
        "/conclusion",
        Value::from("failure"),
    );
    for (body, label) in [(running, "In progress"), (failed, "Failure")] {
        let fake = start(|_| {}).await;
        fake.serve(RUN_PATH, &body).await;
        let preview = fake.preview(RUN_URL, &context(Some(TOKEN))).await;
        assert_eq!(text(&preview.attributes, "status"), Some(label));
    }
}

#[tokio::test]
async fn a_private_run_is_cached_per_account_and_never_read_through_the_fallback_token() {
    let run = require!(payload("workflow_run.completed"))["workflow_run"].clone();
    let private = with(run, "/repository/private", Value::Bool(true));
    let fake = start(fallback()).await;
    fake.serve(RUN_PATH, &private).await;
    let own = fake.preview(RUN_URL, &context(Some(TOKEN))).await;
    assert_eq!(own.scope, CacheScope::Account);
    let error = fake.unfurl(RUN_URL, &context(None)).await.unwrap_err();
    let ProviderError::NotFound { hint: Some(hint) } = &error else {
        panic!("{error:?}")
    };
    assert!(
        hint.starts_with("This workflow run is not public"),
        "{hint}"
    );
    assert!(hint.contains("Connect a GitHub account"), "{hint}");
}

#[tokio::test]
async fn every_form_of_a_run_link_shares_one_canonical_form() {
    let fake = start(|_| {}).await;
    for url in [
        RUN_URL,
        "https://github.com/Octo-Org/Octo-Repo/actions/runs/289782451/",
        "https://github.com/octo-org/octo-repo/actions/runs/289782451/job/123456",
        "https://github.com/octo-org/octo-repo/actions/runs/289782451/attempts/2",
        "https://github.com/octo-org/octo-repo/actions/runs/289782451?pr=1",
    ] {
        let parsed = Url::parse(url).unwrap();
        assert_eq!(fake.github.canonical_uri(&parsed), RUN_URL, "{url}");
    }
}

#[tokio::test]
async fn the_latest_release_says_so_and_public_ones_are_shared_with_the_fallback_token() {
    let release = require!(payload("release.published"))["release"].clone();
    let release = with(release, "/body", Value::from("## Fixed\n- the *README*"));
    let repo = require!(payload("release.published"))["repository"].clone();
    let fake = start(fallback()).await;
    fake.serve(RELEASE_PATH, &release).await;
    fake.serve(LATEST_PATH, &release).await;
    fake.serve(HELLO_PATH, &repo).await;
    let preview = fake.preview(RELEASE_URL, &context(None)).await;
    assert_eq!(text(&preview.attributes, "title"), Some("0.0.1"));
    assert_eq!(text(&preview.attributes, "kind"), Some("Latest"));
    assert_eq!(
        text(&preview.attributes, "description"),
        Some("Fixed: the README")
    );
    assert_eq!(preview.scope, CacheScope::Public);
    insta::assert_json_snapshot!("release_latest", json(&preview.attributes));
}

#[tokio::test]
async fn a_release_read_with_the_accounts_token_costs_no_repository_read() {
    let release = require!(payload("release.published"))["release"].clone();
    let pre = with(release, "/prerelease", Value::Bool(true));
    let fake = start(|_| {}).await;
    fake.serve(RELEASE_PATH, &pre).await;
    // No latest release at all: GitHub answers 404, and the word is left out.
    let preview = fake.preview(RELEASE_URL, &context(Some(TOKEN))).await;
    assert_eq!(text(&preview.attributes, "kind"), Some("Pre-release"));
    assert_eq!(preview.scope, CacheScope::Account);
    assert_eq!(fake.hits(HELLO_PATH).await, 0);
}

#[tokio::test]
async fn a_private_release_is_never_read_through_the_fallback_token() {
    let release = require!(payload("release.published"))["release"].clone();
    let repo = require!(payload("release.published"))["repository"].clone();
    let fake = start(fallback()).await;
    fake.serve(RELEASE_PATH, &release).await;
    fake.serve(HELLO_PATH, &with(repo, "/private", Value::Bool(true)))
        .await;
    let error = fake.unfurl(RELEASE_URL, &context(None)).await.unwrap_err();
    assert!(matches!(error, ProviderError::NotFound { .. }), "{error:?}");
    assert!(!format!("{error:?}").contains("0.0.1"));
}

#[tokio::test]
async fn a_repository_shows_what_it_is_about() {
    let repo = require!(payload("repository.edited"))["repository"].clone();
    let repo = with(repo, "/description", Value::from("Space flight simulator"));
    let repo = with(repo, "/language", Value::from("Rust"));
    let repo = with(repo, "/stargazers_count", Value::from(1234));
    let repo = with(repo, "/topics", serde_json::json!(["space", "games"]));
    let fake = start(|_| {}).await;
    fake.serve(REPO_PATH, &repo).await;
    let preview = fake.preview(REPO_URL, &context(Some(TOKEN))).await;
    assert_eq!(text(&preview.attributes, "stars"), Some("1,234 stars"));
    assert_eq!(text(&preview.attributes, "visibility"), Some("Public"));
    assert_eq!(preview.scope, CacheScope::Public);
    insta::assert_json_snapshot!("repository_public", json(&preview.attributes));
}

#[tokio::test]
async fn a_private_repository_is_per_account_and_hidden_from_public_only_callers() {
    let repo = require!(payload("repository.edited"))["repository"].clone();
    let private = with(repo, "/private", Value::Bool(true));
    let fake = start(fallback()).await;
    fake.serve(REPO_PATH, &private).await;
    let own = fake.preview(REPO_URL, &context(Some(TOKEN))).await;
    assert_eq!(own.scope, CacheScope::Account);
    assert_eq!(text(&own.attributes, "visibility"), Some("Private"));
    let error = fake.unfurl(REPO_URL, &context(None)).await.unwrap_err();
    assert!(matches!(error, ProviderError::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn a_missing_repository_is_not_found_and_a_rate_limit_says_so() {
    let fake = start(|_| {}).await;
    Mock::given(method("GET"))
        .and(path(REPO_PATH))
        .respond_with(rate_limited(Utc::now().timestamp() + 60))
        .mount(&fake.server)
        .await;
    let error = fake
        .unfurl(REPO_URL, &context(Some(TOKEN)))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::RateLimited { .. }),
        "{error:?}"
    );
    let missing = fake
        .unfurl("https://github.com/octocoders/gone", &context(Some(TOKEN)))
        .await
        .unwrap_err();
    assert!(
        matches!(missing, ProviderError::NotFound { .. }),
        "{missing:?}"
    );
}
