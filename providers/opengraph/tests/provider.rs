//! The OpenGraph provider as the server drives it, through the SDK's test helpers: pages
//! served by a local fake (wiremock) on loopback, which only the explicit allow-list opens.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use notion_unfurl_opengraph::OpenGraph;
use notion_unfurl_sdk::testing::{self, assert_patterns_conform, assert_preview_conforms};
use notion_unfurl_sdk::{CacheScope, Provider, ProviderError};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PAGE: &str = r#"<!doctype html><html><head>
<meta charset="utf-8">
<title>Fallback title</title>
<meta property="og:title" content="Launch &amp; Learn">
<meta property="og:description" content="What we shipped   this week.">
<meta property="og:image" content="/images/cover.png">
<meta property="og:site_name" content="Acme Blog">
<meta property="article:published_time" content="2026-03-01T09:30:00Z">
<meta name="author" content="Ada Lovelace">
</head><body><p>Hello</p></body></html>"#;

async fn origin() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/post"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(PAGE, "text/html; charset=utf-8"))
        .mount(&server)
        .await;
    server
}

fn text<'a>(json: &'a serde_json::Value, id: &str) -> Option<&'a str> {
    let attribute = json.as_array()?.iter().find(|a| a["id"] == id)?;
    let inline = attribute.get("inline")?.as_object()?;
    inline.values().next()?["value"].as_str()
}

#[test]
fn the_pattern_is_one_notion_can_use() {
    assert_patterns_conform(&OpenGraph::new());
}

#[tokio::test]
async fn a_page_previews_with_its_metadata() {
    let server = origin().await;
    let provider = OpenGraph::new();
    let url = format!("{}/post", server.uri());
    let request = testing::request(&provider, &url).expect("every http URL is routed here");
    let ctx = testing::context().allow_loopback().build();

    let preview = provider.unfurl(&request, &ctx).await.unwrap();

    assert_preview_conforms(&preview);
    assert_eq!(preview.scope, CacheScope::Public);
    let json = serde_json::to_value(&preview.attributes).unwrap();
    assert_eq!(text(&json, "title"), Some("Launch & Learn"));
    assert_eq!(
        text(&json, "description"),
        Some("What we shipped this week.")
    );
    assert_eq!(text(&json, "author"), Some("Ada Lovelace"));
    assert_eq!(text(&json, "site"), Some("Acme Blog"));
    // `dev` is the server's to add, to every preview alike.
    assert_eq!(text(&json, "dev"), None);
}

#[tokio::test]
async fn loopback_stays_blocked_without_the_allow_list() {
    let server = origin().await;
    let provider = OpenGraph::new();
    let request = testing::request(&provider, &format!("{}/post", server.uri())).unwrap();

    let refused = provider.unfurl(&request, &testing::context().build()).await;

    assert!(
        matches!(refused, Err(ProviderError::Blocked { .. })),
        "{refused:?}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_missing_page_is_not_found() {
    let server = origin().await;
    let provider = OpenGraph::new();
    let request = testing::request(&provider, &format!("{}/gone", server.uri())).unwrap();
    let ctx = testing::context().allow_loopback().build();

    let missing = provider.unfurl(&request, &ctx).await;

    assert!(
        matches!(missing, Err(ProviderError::NotFound { .. })),
        "{missing:?}"
    );
}
