//! Code permalinks through a fake GitHub serving a file's raw contents, as
//! `GET /repos/{owner}/{repo}/contents/{path}?ref={ref}` does for
//! `Accept: application/vnd.github.raw+json`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod fake_github;

use fake_github::*;
use notion_unfurl_sdk::{CacheScope, Provider, ProviderError, Secret, Url};
use serde_json::Value;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const TOKEN: &str = "gho_account_token";
const FILE_PATH: &str = "/repos/Codertocat/Hello-World/contents/src/main.rs";
const REPO_PATH: &str = "/repos/Codertocat/Hello-World";
const SHA: &str = "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d";
const SOURCE: &str = "use std::io;\n\nfn main() {\n    let name = \"world\";\n    println!(\"Hello, {name}!\");\n}\n";

async fn serve_file(fake: &Fake, reference: &str) {
    Mock::given(method("GET"))
        .and(path(FILE_PATH))
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

#[tokio::test]
async fn a_branch_permalink_shows_the_selected_lines_and_says_they_may_change() {
    let fake = start(|_| {}).await;
    serve_file(&fake, "main").await;
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
    assert_eq!(fake.server.received_requests().await.unwrap().len(), 1);

    // Read again: revalidated with the ETag, the answer a free 304.
    Mock::given(method("GET"))
        .and(path(FILE_PATH))
        .and(header("if-none-match", "\"file-1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let again = fake.preview(url, &context(Some(TOKEN))).await;
    assert_eq!(again.attributes, preview.attributes);
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
    Mock::given(method("GET"))
        .and(path(REPO_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(&repo))
        .mount(&fake.server)
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
    Mock::given(method("GET"))
        .and(path(REPO_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(&repo))
        .mount(&public.server)
        .await;
    let preview = public.preview(url, &context(None)).await;
    assert_eq!(preview.scope, CacheScope::Public);
}

#[tokio::test]
async fn a_missing_file_is_not_found() {
    let fake = start(|_| {}).await;
    let error = fake
        .unfurl(
            "https://github.com/Codertocat/Hello-World/blob/main/gone.rs",
            &context(Some(TOKEN)),
        )
        .await
        .unwrap_err();
    let ProviderError::NotFound { hint: Some(hint) } = &error else {
        panic!("{error:?}")
    };
    assert!(hint.starts_with("This file was not found"), "{hint}");
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
