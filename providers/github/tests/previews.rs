//! Previews of the fixtures' pull request through a fake GitHub: each state, the links
//! that reach it, credentials, cache scope and ETag revalidation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod fake_github;

use fake_github::*;
use notion_unfurl_github::{CACHE_TTL, GitHub, GitHubConfig};
use notion_unfurl_sdk::{CacheScope, Provider, ProviderError, Secret, Url};
use serde_json::Value;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

fn ok(body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// Serves `pr` at the PR's path, and check runs and reviews for its head commit.
async fn serve(fake: &Fake, pr: &Value, checks: Option<Value>, reviews: Option<Value>) {
    fake.answer(PR_PATH, ok(pr).insert_header("ETag", "W/\"pr-1\""))
        .await;
    serve_extras(fake, checks, reviews).await;
}

/// Serves the combined commit status of the head commit.
async fn serve_statuses(fake: &Fake, statuses: Option<Value>) {
    if let Some(statuses) = statuses {
        fake.answer(
            STATUS_PATH,
            ok(&statuses).insert_header("ETag", "\"statuses-1\""),
        )
        .await;
    }
}

async fn serve_extras(fake: &Fake, checks: Option<Value>, reviews: Option<Value>) {
    if let Some(checks) = checks {
        fake.answer(
            CHECKS_PATH,
            ok(&checks).insert_header("ETag", "\"checks-1\""),
        )
        .await;
    }
    if let Some(reviews) = reviews {
        fake.answer(
            REVIEWS_PATH,
            ok(&reviews).insert_header("ETag", "\"reviews-1\""),
        )
        .await;
    }
}

#[tokio::test]
async fn an_open_pr_shows_state_checks_review_and_the_rest() {
    let pr = require!(pull("pull_request.opened"));
    let fake = start(|_| {}).await;
    // Every read carries GitHub's media type, API version, our User-Agent and the token.
    Mock::given(method("GET"))
        .and(path(PR_PATH))
        .and(header("accept", "application/vnd.github+json"))
        .and(header("x-github-api-version", "2022-11-28"))
        .and(header("user-agent", USER_AGENT))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ok(&pr).insert_header("ETag", "W/\"pr-1\""))
        .expect(1)
        .mount(&fake.server)
        .await;
    serve_extras(&fake, check_runs(&[]), reviews("COMMENTED")).await;

    let preview = fake.preview(PR_URL, &context(Some(TOKEN))).await;

    assert_eq!(preview.scope, CacheScope::Public);
    assert_eq!(preview.ttl, CACHE_TTL);
    assert!(!preview.stale);
    assert_eq!(text(&preview.attributes, "state"), Some("Open"));
    assert_eq!(
        text(&preview.attributes, "checks"),
        Some("✓ 1 check passed")
    );
    // The only review is a comment; octocat is still asked to review.
    assert_eq!(
        text(&preview.attributes, "review"),
        Some("Review requested from octocat")
    );
    // The title is the provider's to give; `dev` is the server's to add.
    assert!(notion_unfurl_sdk::attributes::has_title(
        &preview.attributes
    ));
    assert!(!ids(&preview.attributes).contains(&"dev"));
    insta::assert_json_snapshot!("open", json(&preview.attributes));
    assert_eq!(fake.hits(PR_PATH).await, 1);
    assert_eq!(fake.hits(CHECKS_PATH).await, 1);
    // Not served here: GitHub's 404 leaves the check runs counted alone.
    assert_eq!(fake.hits(STATUS_PATH).await, 1);
    assert_eq!(fake.hits(REVIEWS_PATH).await, 1);
}

#[tokio::test]
async fn a_draft_pr_is_drafted_in_grey() {
    let pr = require!(pull("pull_request.converted_to_draft"));
    let fake = start(|_| {}).await;
    serve(&fake, &pr, check_runs(&[]), reviews("COMMENTED")).await;
    let preview = fake.preview(PR_URL, &context(Some(TOKEN))).await;
    assert_eq!(text(&preview.attributes, "state"), Some("Draft"));
    insta::assert_json_snapshot!("draft", json(&preview.attributes));
}

#[tokio::test]
async fn a_merged_pr_is_merged_in_purple_without_reading_checks_or_reviews() {
    let pr = require!(merged_pull());
    let fake = start(|_| {}).await;
    serve(&fake, &pr, check_runs(&[]), reviews("APPROVED")).await;
    serve_statuses(&fake, combined_status(&[("success", "ci/build")])).await;
    let preview = fake.preview(PR_URL, &context(Some(TOKEN))).await;
    assert_eq!(text(&preview.attributes, "state"), Some("Merged"));
    insta::assert_json_snapshot!("merged", json(&preview.attributes));
    assert_eq!(fake.hits(CHECKS_PATH).await, 0);
    assert_eq!(fake.hits(STATUS_PATH).await, 0);
    assert_eq!(fake.hits(REVIEWS_PATH).await, 0);
}

#[tokio::test]
async fn a_closed_pr_is_closed_in_red() {
    let pr = require!(pull("pull_request.closed"));
    let fake = start(|_| {}).await;
    serve(&fake, &pr, None, None).await;
    let preview = fake.preview(PR_URL, &context(Some(TOKEN))).await;
    assert_eq!(text(&preview.attributes, "state"), Some("Closed"));
    insta::assert_json_snapshot!("closed", json(&preview.attributes));
    // Only the PR itself was asked for.
    assert_eq!(fake.server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_pr_without_a_body_has_no_description() {
    let pr = require!(pull("pull_request.opened.null-body"));
    assert_eq!(pr["body"], Value::Null);
    let fake = start(|_| {}).await;
    serve(&fake, &pr, None, None).await;
    let preview = fake.preview(PR_URL, &context(Some(TOKEN))).await;
    assert_eq!(
        ids(&preview.attributes),
        [
            "title",
            "state",
            "changes",
            "author",
            "updated",
            "branches",
            "labels",
            "identifier",
            "avatar",
            "entity"
        ]
    );
}

#[tokio::test]
async fn failing_checks_and_an_approval_are_summarised() {
    let pr = require!(pull("pull_request.synchronize"));
    let fake = start(|_| {}).await;
    serve(
        &fake,
        &pr,
        check_runs(&[
            ("completed", Some("failure")),
            ("in_progress", None),
            ("completed", Some("skipped")),
        ]),
        reviews("APPROVED"),
    )
    .await;
    let preview = fake.preview(PR_URL, &context(Some(TOKEN))).await;
    assert_eq!(
        text(&preview.attributes, "checks"),
        Some("✗ 1 of 4 checks failing")
    );
    assert_eq!(
        text(&preview.attributes, "review"),
        Some("Approved by Codertocat")
    );
}

#[tokio::test]
async fn a_pr_whose_ci_reports_only_commit_statuses_shows_them_as_checks() {
    let pr = require!(pull("pull_request.opened"));
    let fake = start(|_| {}).await;
    serve(
        &fake,
        &pr,
        Some(serde_json::json!({"total_count": 0, "check_runs": []})),
        reviews("COMMENTED"),
    )
    .await;
    serve_statuses(
        &fake,
        combined_status(&[("success", "ci/build"), ("success", "ci/lint")]),
    )
    .await;
    let preview = fake.preview(PR_URL, &context(Some(TOKEN))).await;
    assert_eq!(
        text(&preview.attributes, "checks"),
        Some("✓ 2 checks passed")
    );
    assert_eq!(fake.hits(STATUS_PATH).await, 1);
}

#[tokio::test]
async fn passing_check_runs_and_a_failing_status_are_failing() {
    let pr = require!(pull("pull_request.synchronize"));
    let fake = start(|_| {}).await;
    serve(
        &fake,
        &pr,
        check_runs(&[("completed", Some("success"))]),
        reviews("APPROVED"),
    )
    .await;
    serve_statuses(
        &fake,
        combined_status(&[("success", "ci/build"), ("error", "deploy/preview")]),
    )
    .await;
    let preview = fake.preview(PR_URL, &context(Some(TOKEN))).await;
    assert_eq!(
        text(&preview.attributes, "checks"),
        Some("✗ 1 of 4 checks failing")
    );
}

#[tokio::test]
async fn a_pending_status_holds_passing_check_runs_pending() {
    let pr = require!(pull("pull_request.opened"));
    let fake = start(|_| {}).await;
    serve(&fake, &pr, check_runs(&[]), reviews("COMMENTED")).await;
    serve_statuses(&fake, combined_status(&[("pending", "ci/slow")])).await;
    let preview = fake.preview(PR_URL, &context(Some(TOKEN))).await;
    assert_eq!(
        text(&preview.attributes, "checks"),
        Some("● 1 of 2 checks pending")
    );
}

#[tokio::test]
async fn a_head_sha_that_is_not_hex_reads_no_checks() {
    let pr = require!(pull("pull_request.opened"));
    let pr = with(pr, "/head/sha", Value::from("../../pulls/1"));
    let fake = start(|_| {}).await;
    serve(&fake, &pr, None, reviews("COMMENTED")).await;
    let preview = fake.preview(PR_URL, &context(Some(TOKEN))).await;
    assert!(!ids(&preview.attributes).contains(&"checks"));
    let paths: Vec<String> = fake
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths.iter().all(|p| !p.contains("/commits/")), "{paths:?}");
}

#[tokio::test]
async fn every_form_of_the_link_previews_the_same_pr() {
    let pr = require!(pull("pull_request.opened"));
    let fake = start(|_| {}).await;
    serve(&fake, &pr, check_runs(&[]), reviews("COMMENTED")).await;
    let ctx = context(Some(TOKEN));
    let expected = fake.preview(PR_URL, &ctx).await.attributes;
    let canonical = "https://github.com/codertocat/hello-world/pull/2";
    for url in [
        PR_URL,
        "https://github.com/Codertocat/Hello-World/pull/2/",
        "https://github.com/Codertocat/Hello-World/pull/2/files",
        "https://github.com/Codertocat/Hello-World/pull/2/files/ec26c3e..HEAD",
        "https://github.com/Codertocat/Hello-World/pull/2/commits",
        "https://github.com/Codertocat/Hello-World/pull/2/checks",
        "https://github.com/Codertocat/Hello-World/pull/2/checks?check_run_id=128620228",
        "https://github.com/Codertocat/Hello-World/pull/2?w=1",
        "https://github.com/Codertocat/Hello-World/pull/2#issuecomment-492700400",
    ] {
        let preview = fake.preview(url, &ctx).await;
        assert_eq!(preview.attributes, expected, "{url}");
        let parsed = Url::parse(url).unwrap();
        assert_eq!(fake.github.canonical_uri(&parsed), canonical, "{url}");
    }
    // All of them read one API path: the first read plus one per form.
    assert_eq!(fake.hits(PR_PATH).await, 10);
    // One commit of the PR's commits tab is that commit's link (issue 10), no longer the
    // PR's.
    let commit_tab = Url::parse(&format!("{PR_URL}/commits/{HEAD_SHA}")).unwrap();
    assert_eq!(
        fake.github.canonical_uri(&commit_tab),
        format!("https://github.com/codertocat/hello-world/commit/{HEAD_SHA}")
    );
}

#[tokio::test]
async fn the_pull_request_is_read_from_the_captures_the_server_hands_over() {
    let pr = require!(pull("pull_request.opened"));
    let fake = start(|_| {}).await;
    serve(&fake, &pr, None, None).await;
    let ctx = context(Some(TOKEN));
    let mut request = request(&fake.github, PR_URL);
    // The server matched the pattern once already; the provider does not match it again.
    request.url = Url::parse("https://github.com/someone/else/pull/9").unwrap();
    let preview = fake.github.unfurl(&request, &ctx).await.unwrap();
    assert_eq!(text(&preview.attributes, "title"), Some(TITLE));
    assert_eq!(fake.hits(PR_PATH).await, 1);

    let asked = fake.server.received_requests().await.unwrap().len();
    request.captures.clear();
    let error = fake.github.unfurl(&request, &ctx).await.unwrap_err();
    assert_eq!(error, ProviderError::NotFound { hint: None });
    assert_eq!(fake.server.received_requests().await.unwrap().len(), asked);
}

#[tokio::test]
async fn the_patterns_are_ones_notion_can_use() {
    let fake = start(|_| {}).await;
    notion_unfurl_sdk::testing::assert_patterns_conform(&fake.github);
    let enterprise = start(|config| config.web_host = "github.acme.test".into()).await;
    notion_unfurl_sdk::testing::assert_patterns_conform(&enterprise.github);
}

#[tokio::test]
async fn other_github_links_are_not_routed_here() {
    let fake = start(|_| {}).await;
    let pattern = &fake.github.patterns()[0];
    assert_eq!(fake.github.id(), "github");
    assert_eq!(pattern.domain.as_deref(), Some("github.com"));
    for url in [
        "https://github.com/Codertocat/Hello-World",
        "https://github.com/Codertocat/Hello-World/",
        "https://github.com/Codertocat/Hello-World/pulls",
        "https://github.com/Codertocat/Hello-World/issues/2",
        "https://github.com/Codertocat/Hello-World/commit/ec26c3e",
        "https://github.com/Codertocat",
        "https://github.com/",
    ] {
        let parsed = Url::parse(url).unwrap();
        assert!(!pattern.regex.is_match(parsed.as_str()), "{url}");
    }
}

#[tokio::test]
async fn a_private_repository_is_cached_per_account_and_a_public_one_shared() {
    let public = require!(pull("pull_request.opened"));
    let private = with(public.clone(), "/base/repo/private", Value::Bool(true));
    let fake = start(|_| {}).await;
    fake.answer(PR_PATH, ok(&private)).await;
    fake.answer("/repos/Codertocat/Public/pulls/2", ok(&public))
        .await;
    let ctx = context(Some(TOKEN));
    let preview = fake.preview(PR_URL, &ctx).await;
    assert_eq!(preview.scope, CacheScope::Account);
    assert_eq!(text(&preview.attributes, "title"), Some(TITLE));
    let preview = fake
        .preview("https://github.com/Codertocat/Public/pull/2", &ctx)
        .await;
    assert_eq!(preview.scope, CacheScope::Public);
}

#[tokio::test]
async fn a_second_unfurl_revalidates_with_the_etag_and_reuses_a_304() {
    let pr = require!(pull("pull_request.opened"));
    let fake = start(|_| {}).await;
    Mock::given(method("GET"))
        .and(path(PR_PATH))
        .and(header("if-none-match", "W/\"pr-1\""))
        .respond_with(ResponseTemplate::new(304).insert_header("ETag", "W/\"pr-1\""))
        .with_priority(1)
        .expect(1)
        .named("revalidation answered 304")
        .mount(&fake.server)
        .await;
    Mock::given(method("GET"))
        .and(path(CHECKS_PATH))
        .and(header("if-none-match", "\"checks-1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .expect(1)
        .mount(&fake.server)
        .await;
    Mock::given(method("GET"))
        .and(path(STATUS_PATH))
        .and(header("if-none-match", "\"statuses-1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .expect(1)
        .named("statuses revalidation answered 304")
        .mount(&fake.server)
        .await;
    Mock::given(method("GET"))
        .and(path(REVIEWS_PATH))
        .and(header("if-none-match", "\"reviews-1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .expect(1)
        .mount(&fake.server)
        .await;
    serve(&fake, &pr, check_runs(&[]), reviews("COMMENTED")).await;
    serve_statuses(&fake, combined_status(&[("success", "ci/build")])).await;

    let ctx = context(Some(TOKEN));
    let first = fake.preview(PR_URL, &ctx).await;
    let second = fake.preview(PR_URL, &ctx).await;
    assert_eq!(first.attributes, second.attributes);
    // Both 304s reuse their stored summaries: the check run plus the status.
    assert_eq!(
        text(&second.attributes, "checks"),
        Some("✓ 2 checks passed")
    );
    assert_eq!(fake.hits(PR_PATH).await, 2);
    assert_eq!(fake.hits(STATUS_PATH).await, 2);

    // Another token's ETags are its own: it reads afresh.
    let other = fake.preview(PR_URL, &context(Some("gho_other"))).await;
    assert_eq!(other.attributes, first.attributes);
    fake.server.verify().await;
}

#[tokio::test]
async fn an_account_without_a_token_reads_public_prs_with_the_fallback_token() {
    let pr = require!(pull("pull_request.opened"));
    let fake = start(|c| c.fallback_token = Some(Secret::new(FALLBACK))).await;
    Mock::given(method("GET"))
        .and(path(PR_PATH))
        .and(header(
            "authorization",
            format!("Bearer {FALLBACK}").as_str(),
        ))
        .respond_with(ok(&pr))
        .expect(1)
        .named("read with the fallback token")
        .mount(&fake.server)
        .await;
    Mock::given(method("GET"))
        .and(path(PR_PATH))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ok(&pr))
        .expect(1)
        .named("read with the account's own token")
        .mount(&fake.server)
        .await;

    let preview = fake.preview(PR_URL, &context(None)).await;
    assert_eq!(preview.scope, CacheScope::Public);
    // An account with its own token never borrows the fallback.
    fake.preview(PR_URL, &context(Some(TOKEN))).await;
    fake.server.verify().await;
}

#[tokio::test]
async fn the_fallback_token_never_yields_a_private_pr() {
    let pr = require!(pull("pull_request.opened"));
    let private = with(pr, "/base/repo/private", Value::Bool(true));
    let fake = start(|c| c.fallback_token = Some(Secret::new(FALLBACK))).await;
    fake.answer(PR_PATH, ok(&private)).await;
    for _ in 0..2 {
        let error = fake.unfurl(PR_URL, &context(None)).await.unwrap_err();
        let ProviderError::NotFound { hint: Some(hint) } = &error else {
            panic!("NotFound expected, got {error:?}");
        };
        assert!(hint.contains("Connect a GitHub account"), "{hint}");
        assert!(!hint.contains(TITLE) && !hint.contains("README"), "{hint}");
    }
    // Nothing of it is kept to revalidate: each read starts afresh.
    let requests = fake.server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|r| !r.headers.contains_key("if-none-match"))
    );
    // Nor were checks or reviews read for it.
    assert_eq!(requests.len(), 2);
}

#[tokio::test]
async fn without_any_token_requests_are_anonymous() {
    let pr = require!(pull("pull_request.opened"));
    let fake = start(|_| {}).await;
    serve(&fake, &pr, check_runs(&[]), reviews("COMMENTED")).await;
    let mut ctx = context(None);
    ctx.account = None;
    let preview = fake.preview(PR_URL, &ctx).await;
    assert_eq!(preview.scope, CacheScope::Public);
    let requests = fake.server.received_requests().await.unwrap();
    // The PR, check runs, commit statuses (unserved, 404) and reviews.
    assert_eq!(requests.len(), 4);
    assert!(
        requests
            .iter()
            .all(|r| !r.headers.contains_key("authorization"))
    );
}

#[tokio::test]
async fn another_account_never_gets_a_private_preview_it_cannot_see() {
    let pr = require!(pull("pull_request.opened"));
    let private = with(pr, "/base/repo/private", Value::Bool(true));
    let fake = start(|_| {}).await;
    Mock::given(method("GET"))
        .and(path(PR_PATH))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ok(&private))
        .mount(&fake.server)
        .await;
    Mock::given(method("GET"))
        .and(path(PR_PATH))
        .and(header("authorization", "Bearer gho_outsider"))
        .respond_with(ResponseTemplate::new(404))
        .up_to_n_times(1)
        .mount(&fake.server)
        .await;
    Mock::given(method("GET"))
        .and(path(PR_PATH))
        .and(header("authorization", "Bearer gho_outsider"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("X-RateLimit-Remaining", "0")
                .insert_header("X-RateLimit-Reset", "4102444800"),
        )
        .mount(&fake.server)
        .await;

    let insider = fake.preview(PR_URL, &context(Some(TOKEN))).await;
    assert_eq!(insider.scope, CacheScope::Account);

    let outsider = context(Some("gho_outsider"));
    let error = fake.unfurl(PR_URL, &outsider).await.unwrap_err();
    assert!(matches!(error, ProviderError::NotFound { .. }), "{error:?}");
    // Rate limited, the outsider still gets an error, not the insider's recent preview.
    let error = fake.unfurl(PR_URL, &outsider).await.unwrap_err();
    assert!(
        matches!(error, ProviderError::RateLimited { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_renamed_repository_is_followed_to_its_new_home() {
    let pr = require!(pull("pull_request.opened"));
    let fake = start(|_| {}).await;
    let moved = format!("{}/repositories/186853002/pulls/2", fake.server.uri());
    fake.answer(
        "/repos/Codertocat/Old-Name/pulls/2",
        ResponseTemplate::new(301).insert_header("Location", moved.as_str()),
    )
    .await;
    fake.answer("/repositories/186853002/pulls/2", ok(&pr))
        .await;
    let preview = fake
        .preview(
            "https://github.com/Codertocat/Old-Name/pull/2",
            &context(Some(TOKEN)),
        )
        .await;
    // The identifier names the repository as it is called now.
    assert_eq!(
        text(&preview.attributes, "identifier"),
        Some("Codertocat/Hello-World#2")
    );
}

#[tokio::test]
async fn a_github_enterprise_api_base_with_a_path_works() {
    let pr = require!(pull("pull_request.opened"));
    let server = wiremock::MockServer::start().await;
    let api = Url::parse(&format!("{}/api/v3", server.uri())).unwrap();
    let mut config = GitHubConfig::new(api, USER_AGENT);
    config.web_host = "ghe.example".into();
    let github = GitHub::new(config).unwrap();
    Mock::given(method("GET"))
        .and(path(format!("/api/v3{PR_PATH}")))
        .respond_with(ok(&pr))
        .expect(1)
        .mount(&server)
        .await;
    let url = "https://ghe.example/Codertocat/Hello-World/pull/2/files";
    let preview = github
        .unfurl(&request(&github, url), &context(Some(TOKEN)))
        .await
        .unwrap();
    assert_eq!(text(&preview.attributes, "title"), Some(TITLE));
    assert_eq!(
        github.canonical_uri(&Url::parse(url).unwrap()),
        "https://ghe.example/codertocat/hello-world/pull/2"
    );
    assert!(github.patterns()[0].captures(PR_URL).is_none());
}
