//! Code permalinks through a fake GitHub serving a file's raw contents, as
//! `GET /repos/{owner}/{repo}/contents/{path}?ref={ref}` does for
//! `Accept: application/vnd.github.raw+json`, and its branches, as
//! `GET /repos/{owner}/{repo}/git/ref/heads/{name}` does. Anything not served answers
//! 404 with an empty body, as GitHub's "Not Found" does for what cannot be seen.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod fake_github;

use fake_github::*;
use notion_unfurl_sdk::{CacheScope, Provider, ProviderError, Secret, Url};
use serde_json::Value;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const FILE_PATH: &str = "/repos/Codertocat/Hello-World/contents/src/main.rs";
const REPO_PATH: &str = "/repos/Codertocat/Hello-World";
const SHA: &str = "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d";
const SOURCE: &str = "use std::io;\n\nfn main() {\n    let name = \"world\";\n    println!(\"Hello, {name}!\");\n}\n";

async fn serve_file(fake: &Fake, reference: &str) {
    serve_file_at(fake, FILE_PATH, reference).await;
}

async fn serve_file_at(fake: &Fake, file_path: &str, reference: &str) {
    Mock::given(method("GET"))
        .and(path(file_path))
        .and(query_param("ref", reference))
        .and(header("accept", "application/vnd.github.raw+json"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(SOURCE.as_bytes().to_vec(), "application/vnd.github.raw")
                .insert_header("ETag", "\"file-1\""),
        )
        .mount(&fake.server)
        .await;
}

/// `git/ref/heads/{name}` answers: `name` is a branch.
async fn serve_branch(fake: &Fake, name: &str) {
    Mock::given(method("GET"))
        .and(path(format!("{REPO_PATH}/git/ref/heads/{name}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({
                    "ref": format!("refs/heads/{name}"),
                    "node_id": "MDM6UmVmcmVmcy9oZWFkcy9mZWF0dXJlQQ==",
                    "url": format!("https://api.github.com{REPO_PATH}/git/refs/heads/{name}"),
                    "object": {"sha": SHA, "type": "commit",
                               "url": format!("https://api.github.com{REPO_PATH}/git/commits/{SHA}")}
                }))
                .insert_header("ETag", "\"ref-1\""),
        )
        .mount(&fake.server)
        .await;
}

/// The contents API's answer for a ref that names no commit: the path under it is never
/// looked at.
async fn no_commit_for(fake: &Fake, reference: &str) {
    Mock::given(method("GET"))
        .and(query_param("ref", reference))
        .respond_with(ResponseTemplate::new(404).set_body_json(serde_json::json!({
            "message": format!("No commit found for the ref {reference}"),
            "documentation_url": "https://docs.github.com/rest/repos/contents#get-repository-content",
            "status": "404"
        })))
        .mount(&fake.server)
        .await;
}

/// `url` previews as a file the account's token does not find.
async fn assert_file_not_found(fake: &Fake, url: &str) {
    let error = fake.unfurl(url, &context(Some(TOKEN))).await.unwrap_err();
    let ProviderError::NotFound { hint: Some(hint) } = &error else {
        panic!("{error:?}")
    };
    assert!(hint.starts_with("This file was not found"), "{hint}");
}

#[tokio::test]
async fn a_branch_permalink_shows_the_selected_lines_and_says_they_may_change() {
    let fake = start(|_| {}).await;
    serve_file(&fake, "main").await;
    serve_branch(&fake, "main").await;
    let url = "https://github.com/Codertocat/Hello-World/blob/main/src/main.rs#L3-L5";
    let preview = fake.preview(url, &context(Some(TOKEN))).await;
    assert_eq!(
        text(&preview.attributes, "title"),
        Some("src/main.rs, lines 3–5")
    );
    assert_eq!(text(&preview.attributes, "language"), Some("Rust"));
    assert_eq!(
        text(&preview.attributes, "ref"),
        Some("Branch main (may change)")
    );
    assert_eq!(
        text(&preview.attributes, "code"),
        Some("fn main() {\n    let name = \"world\";\n    println!(\"Hello, {name}!\");")
    );
    assert_eq!(preview.scope, CacheScope::Account);
    insta::assert_json_snapshot!("file_branch", json(&preview.attributes));
    // The contents and, side by side, whether `main` is a branch.
    assert_eq!(fake.server.received_requests().await.unwrap().len(), 2);

    // Read again: both revalidated with their ETags, the answers free 304s.
    for (at, etag) in [
        (FILE_PATH.to_owned(), "\"file-1\""),
        (format!("{REPO_PATH}/git/ref/heads/main"), "\"ref-1\""),
    ] {
        Mock::given(method("GET"))
            .and(path(at))
            .and(header("if-none-match", etag))
            .respond_with(ResponseTemplate::new(304))
            .with_priority(1)
            .mount(&fake.server)
            .await;
    }
    let again = fake.preview(url, &context(Some(TOKEN))).await;
    assert_eq!(again.attributes, preview.attributes);
    assert_eq!(fake.server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_branch_with_a_slash_is_found_one_segment_further() {
    let fake = start(|_| {}).await;
    no_commit_for(&fake, "feature").await;
    serve_file(&fake, "feature/x").await;
    serve_branch(&fake, "feature/x").await;
    let url = "https://github.com/Codertocat/Hello-World/blob/feature/x/src/main.rs#L3-L5";
    let preview = fake.preview(url, &context(Some(TOKEN))).await;
    assert_eq!(
        text(&preview.attributes, "title"),
        Some("src/main.rs, lines 3–5")
    );
    assert_eq!(
        text(&preview.attributes, "ref"),
        Some("Branch feature/x (may change)")
    );
    assert_eq!(
        text(&preview.attributes, "identifier"),
        Some("Codertocat/Hello-World@feature/x")
    );
    assert!(
        text(&preview.attributes, "code")
            .unwrap()
            .starts_with("fn main()")
    );
    // Two rounds: `feature` (no such commit) and `feature/x`, each with its branch read.
    let requests = fake.server.received_requests().await.unwrap();
    let asked: Vec<String> = requests
        .iter()
        .map(|r| match r.url.query() {
            Some(query) => format!("{}?{query}", r.url.path()),
            None => r.url.path().to_owned(),
        })
        .collect();
    assert_eq!(requests.len(), 4, "{asked:?}");
    assert!(
        asked.contains(&format!("{REPO_PATH}/contents/x/src/main.rs?ref=feature")),
        "{asked:?}"
    );
    assert!(
        asked.contains(&format!("{REPO_PATH}/contents/src/main.rs?ref=feature%2Fx")),
        "{asked:?}"
    );
    assert_eq!(
        fake.github.canonical_uri(&Url::parse(url).unwrap()),
        "https://github.com/codertocat/hello-world/blob/feature/x/src/main.rs#L3-L5"
    );

    // Read again (a push to the branch): `feature/x` is tried first, one round.
    let again = fake.preview(url, &context(Some(TOKEN))).await;
    assert_eq!(again.attributes, preview.attributes);
    let requests = fake.server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 6);
    assert!(
        requests[4..]
            .iter()
            .all(|r| r.url.as_str().contains("feature%2Fx")
                || r.url.path().ends_with("/git/ref/heads/feature/x")),
        "{:?}",
        requests[4..]
            .iter()
            .map(|r| r.url.as_str())
            .collect::<Vec<_>>()
    );

    // The branch is gone and a tag `feature` holds `x/src/main.rs`: found again from the
    // shortest ref.
    Mock::given(method("GET"))
        .and(query_param("ref", "feature/x"))
        .respond_with(ResponseTemplate::new(404).set_body_json(serde_json::json!({
            "message": "No commit found for the ref feature/x"
        })))
        .with_priority(1)
        .mount(&fake.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO_PATH}/contents/x/src/main.rs")))
        .and(query_param("ref", "feature"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "one\ntwo\nthree\n".as_bytes().to_vec(),
            "application/vnd.github.raw",
        ))
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let moved = fake.preview(url, &context(Some(TOKEN))).await;
    assert_eq!(text(&moved.attributes, "ref"), Some("Tag feature"));
    assert_eq!(
        text(&moved.attributes, "title"),
        Some("x/src/main.rs, line 3")
    );
    assert_eq!(text(&moved.attributes, "code"), Some("three"));
}

#[tokio::test]
async fn tags_are_labelled_as_tags_and_may_hold_slashes_too() {
    let fake = start(|_| {}).await;
    serve_file(&fake, "v1.2").await;
    let preview = fake
        .preview(
            "https://github.com/Codertocat/Hello-World/blob/v1.2/src/main.rs#L3",
            &context(Some(TOKEN)),
        )
        .await;
    assert_eq!(text(&preview.attributes, "ref"), Some("Tag v1.2"));
    assert_eq!(preview.ttl, notion_unfurl_github::CACHE_TTL);
    assert!(!preview.stale);

    no_commit_for(&fake, "release").await;
    serve_file(&fake, "release/v2").await;
    let nested = fake
        .preview(
            "https://github.com/Codertocat/Hello-World/blob/release/v2/src/main.rs",
            &context(Some(TOKEN)),
        )
        .await;
    assert_eq!(text(&nested.attributes, "ref"), Some("Tag release/v2"));
    assert_eq!(text(&nested.attributes, "title"), Some("src/main.rs"));
}

#[tokio::test]
async fn a_failed_branch_read_leaves_the_label_open_and_the_preview_stale() {
    let fake = start(|_| {}).await;
    serve_file(&fake, "main").await;
    fake.answer(
        format!("{REPO_PATH}/git/ref/heads/main"),
        ResponseTemplate::new(503),
    )
    .await;
    let preview = fake
        .preview(
            "https://github.com/Codertocat/Hello-World/blob/main/src/main.rs#L3",
            &context(Some(TOKEN)),
        )
        .await;
    assert_eq!(
        text(&preview.attributes, "ref"),
        Some("Branch or tag main (may change)")
    );
    assert!(preview.stale);
    assert_eq!(preview.ttl, notion_unfurl_github::STALE_TTL);
}

#[tokio::test]
async fn a_missing_file_under_a_deep_path_costs_one_round() {
    let fake = start(|_| {}).await;
    serve_branch(&fake, "main").await;
    assert_file_not_found(
        &fake,
        "https://github.com/Codertocat/Hello-World/blob/main/a/b/c/d/gone.rs",
    )
    .await;
    // "Not Found", not "no commit for the ref": no longer ref is tried.
    assert_eq!(fake.server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_ref_github_does_not_know_at_any_depth_is_not_found_after_a_bounded_search() {
    let fake = start(|_| {}).await;
    for reference in ["nope", "nope/a", "nope/a/b", "nope/a/b/c", "nope/a/b/c/d"] {
        no_commit_for(&fake, reference).await;
    }
    assert_file_not_found(
        &fake,
        "https://github.com/Codertocat/Hello-World/blob/nope/a/b/c/d/e.rs",
    )
    .await;
    let contents = fake
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().contains("/contents/"))
        .count();
    assert_eq!(contents, notion_unfurl_github::blob::MAX_REF_SEGMENTS);
}

#[tokio::test]
async fn a_commit_permalink_names_its_commit_and_a_line_past_the_end_says_so() {
    let fake = start(|_| {}).await;
    serve_file(&fake, SHA).await;
    let at = |fragment: &str| {
        format!("https://github.com/Codertocat/Hello-World/blob/{SHA}/src/main.rs{fragment}")
    };
    let preview = fake.preview(&at("#L4"), &context(Some(TOKEN))).await;
    assert_eq!(text(&preview.attributes, "ref"), Some("Commit 7fd1a60"));
    // A full commit id is no branch: nothing but the contents is read.
    assert_eq!(fake.server.received_requests().await.unwrap().len(), 1);
    assert_eq!(
        text(&preview.attributes, "identifier"),
        Some("Codertocat/Hello-World@7fd1a60")
    );
    assert_eq!(
        text(&preview.attributes, "title"),
        Some("src/main.rs, line 4")
    );
    let past = fake.preview(&at("#L40"), &context(Some(TOKEN))).await;
    assert_eq!(text(&past.attributes, "note"), Some("The file has 6 lines"));
    assert!(!ids(&past.attributes).contains(&"code"));
    // No selection: the first lines.
    let whole = fake.preview(&at(""), &context(Some(TOKEN))).await;
    assert_eq!(text(&whole.attributes, "title"), Some("src/main.rs"));
    assert!(
        text(&whole.attributes, "code")
            .unwrap()
            .starts_with("use std::io;")
    );
}

#[tokio::test]
async fn a_private_file_is_never_read_through_the_fallback_token() {
    let mut repo = require!(payload("push"))["repository"].clone();
    repo["private"] = Value::Bool(true);
    let fake = start(|c| c.fallback_token = Some(Secret::new("ghp_fallback"))).await;
    serve_file(&fake, "main").await;
    fake.answer(REPO_PATH, ResponseTemplate::new(200).set_body_json(&repo))
        .await;
    let url = "https://github.com/Codertocat/Hello-World/blob/main/src/main.rs#L3";
    let error = fake.unfurl(url, &context(None)).await.unwrap_err();
    let ProviderError::NotFound { hint: Some(hint) } = &error else {
        panic!("{error:?}")
    };
    assert!(hint.starts_with("This file is not public"), "{hint}");
    assert!(!format!("{error:?}").contains("main()"));

    // Made public, the same read is shared.
    repo["private"] = Value::Bool(false);
    let public = start(|c| c.fallback_token = Some(Secret::new("ghp_fallback"))).await;
    serve_file(&public, "main").await;
    public
        .answer(REPO_PATH, ResponseTemplate::new(200).set_body_json(&repo))
        .await;
    let preview = public.preview(url, &context(None)).await;
    assert_eq!(preview.scope, CacheScope::Public);
}

#[tokio::test]
async fn a_missing_file_is_not_found() {
    let fake = start(|_| {}).await;
    assert_file_not_found(
        &fake,
        "https://github.com/Codertocat/Hello-World/blob/main/gone.rs",
    )
    .await;
}

#[tokio::test]
async fn every_form_of_a_permalink_shares_one_canonical_form() {
    let fake = start(|_| {}).await;
    for url in [
        "https://github.com/Codertocat/Hello-World/blob/main/src/main.rs#L3-L5",
        "https://github.com/codertocat/hello-world/blob/main/src/main.rs?plain=1#L3-L5",
        "https://github.com/Codertocat/Hello-World/blob/main/src/main.rs#L5-L3",
        "https://github.com/Codertocat/Hello-World/blob/main/src/main.rs#L3C1-L5C9",
    ] {
        assert_eq!(
            fake.github.canonical_uri(&Url::parse(url).unwrap()),
            "https://github.com/codertocat/hello-world/blob/main/src/main.rs#L3-L5",
            "{url}"
        );
    }
}
