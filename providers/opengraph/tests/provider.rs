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
    // The head names the date and author: reading stopped at `</head>`.
    let head_len = PAGE.find("</head>").unwrap() + "</head>".len();
    assert_eq!(preview.bytes_read, head_len as u64);
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

/// oEmbed answers in the shapes the providers document (fields as published; the values
/// are made up): YouTube and Vimeo answer `video`, Loom `video` with a `rich`-style iframe.
const YOUTUBE_OEMBED: &str = r#"{"title":"A talk","author_name":"Some Channel",
"author_url":"https://www.youtube.com/@somechannel","type":"video","height":113,"width":200,
"version":"1.0","provider_name":"YouTube","provider_url":"https://www.youtube.com/",
"thumbnail_height":360,"thumbnail_width":480,
"thumbnail_url":"https://i.ytimg.com/vi/abc123/hqdefault.jpg",
"html":"<iframe width=\"200\" height=\"113\" src=\"https://www.youtube.com/embed/abc123?feature=oembed\" frameborder=\"0\" allow=\"accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; picture-in-picture; web-share\" referrerpolicy=\"strict-origin-when-cross-origin\" allowfullscreen title=\"A talk\"></iframe>"}"#;

const VIMEO_OEMBED: &str = r#"{"type":"video","version":"1.0","provider_name":"Vimeo",
"provider_url":"https://vimeo.com/","title":"A film","author_name":"Someone",
"author_url":"https://vimeo.com/someone","is_plus":"0","account_type":"basic",
"html":"<iframe src=\"https://player.vimeo.com/video/76979871?h=8272103f6e&amp;app_id=122963\" width=\"640\" height=\"360\" frameborder=\"0\" allow=\"autoplay; fullscreen; picture-in-picture; clipboard-write\" title=\"A film\"></iframe>",
"width":640,"height":360,"duration":62,"description":"",
"thumbnail_url":"https://i.vimeocdn.com/video/452001751-640","thumbnail_width":640,
"thumbnail_height":360,"video_id":76979871,"uri":"/videos/76979871"}"#;

const LOOM_OEMBED: &str = r#"{"type":"video","version":"1.0","html":"<iframe src=\"https://www.loom.com/embed/0281766fa2d04bb788eaf19e65135184\" frameborder=\"0\" width=\"1920\" height=\"1080\" webkitallowfullscreen mozallowfullscreen allowfullscreen></iframe>",
"height":1080,"width":1920,"provider_name":"Loom","provider_url":"https://www.loom.com",
"thumbnail_height":1080,"thumbnail_width":1920,
"thumbnail_url":"https://cdn.loom.com/sessions/thumbnails/0281766fa2d04bb788eaf19e65135184-00001.gif",
"duration":265.64,"title":"A walkthrough","description":""}"#;

fn page_with_oembed(endpoint: &str) -> String {
    format!(
        r#"<!doctype html><html><head><title>Watch</title>
        <meta property="og:image" content="https://img.example.com/cover.jpg">
        <link rel="alternate" type="application/json+oembed" href="{endpoint}">
        </head><body></body></html>"#
    )
}

fn embed_of(json: &serde_json::Value) -> Option<(&str, &str)> {
    let attribute = json.as_array()?.iter().find(|a| a["id"] == "embed")?;
    let embed = attribute.get("embed")?.as_object()?;
    let kind = embed.keys().find(|k| *k != "src_url")?;
    Some((kind.as_str(), embed.get("src_url")?.as_str()?))
}

async fn preview_json(server: &MockServer, page: &str) -> serde_json::Value {
    let provider = OpenGraph::new();
    let request = testing::request(&provider, &format!("{}{page}", server.uri())).unwrap();
    let ctx = testing::context().allow_loopback().build();
    let preview = provider.unfurl(&request, &ctx).await.unwrap();
    assert_preview_conforms(&preview);
    serde_json::to_value(&preview.attributes).unwrap()
}

#[tokio::test]
async fn a_discovered_oembed_player_becomes_the_embed() {
    let server = MockServer::start().await;
    for (name, answer) in [
        ("youtube", YOUTUBE_OEMBED),
        ("vimeo", VIMEO_OEMBED),
        ("loom", LOOM_OEMBED),
    ] {
        let endpoint = format!("{}/oembed/{name}?format=json", server.uri());
        Mock::given(method("GET"))
            .and(path(format!("/watch/{name}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(page_with_oembed(&endpoint), "text/html; charset=utf-8"),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/oembed/{name}")))
            .respond_with(ResponseTemplate::new(200).set_body_raw(answer, "application/json"))
            .expect(1)
            .mount(&server)
            .await;
    }

    let expected = [
        (
            "youtube",
            "https://www.youtube.com/embed/abc123?feature=oembed",
        ),
        (
            "vimeo",
            "https://player.vimeo.com/video/76979871?h=8272103f6e&app_id=122963",
        ),
        (
            "loom",
            "https://www.loom.com/embed/0281766fa2d04bb788eaf19e65135184",
        ),
    ];
    for (name, src) in expected {
        let json = preview_json(&server, &format!("/watch/{name}")).await;
        assert_eq!(embed_of(&json), Some(("html", src)), "{name}");
        // The player takes the large media area the image would have had.
        assert!(
            json.as_array().unwrap().iter().all(|a| a["id"] != "image"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_declared_player_needs_no_oembed_and_a_failed_oembed_costs_nothing() {
    let server = MockServer::start().await;
    let endpoint = format!("{}/oembed", server.uri());
    let declared = format!(
        r#"<html><head><title>Clip</title>
        <meta property="og:video:secure_url" content="https://player.example.com/embed/7">
        <meta property="og:video:type" content="text/html">
        <link rel="alternate" type="application/json+oembed" href="{endpoint}"></head></html>"#
    );
    Mock::given(method("GET"))
        .and(path("/declared"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(declared, "text/html"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/broken"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(page_with_oembed(&endpoint), "text/html"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/oembed"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;

    let json = preview_json(&server, "/declared").await;
    assert_eq!(
        embed_of(&json),
        Some(("html", "https://player.example.com/embed/7"))
    );

    let json = preview_json(&server, "/broken").await;
    assert_eq!(embed_of(&json), None);
    assert_eq!(text(&json, "title"), Some("Watch"));
    assert!(json.as_array().unwrap().iter().any(|a| a["id"] == "image"));
}

#[tokio::test]
async fn an_oembed_answer_over_the_cap_is_not_read() {
    let server = MockServer::start().await;
    let endpoint = format!("{}/oembed", server.uri());
    Mock::given(method("GET"))
        .and(path("/big"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(page_with_oembed(&endpoint), "text/html"),
        )
        .mount(&server)
        .await;
    let padded = YOUTUBE_OEMBED.replace(
        "\"title\":\"A talk\"",
        &format!(
            "\"title\":\"{}\"",
            "x".repeat(notion_unfurl_opengraph::oembed::OEMBED_MAX_BYTES)
        ),
    );
    Mock::given(method("GET"))
        .and(path("/oembed"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(padded, "application/json"))
        .mount(&server)
        .await;

    let json = preview_json(&server, "/big").await;
    assert_eq!(embed_of(&json), None);
}
