//! Malformed requests to `/unfurl`: 400, 413, 405, each with a JSON error body; the probes'
//! methods.

use reqwest::{Method, StatusCode};

use crate::helpers::{TestApp, spawn_app};

/// POST `body` as JSON with the app's token; the status and the JSON answer.
async fn post_body(app: &TestApp, body: Vec<u8>) -> (StatusCode, serde_json::Value) {
    let response = app
        .client
        .post(app.unfurl_url())
        .bearer_auth(&app.token)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn malformed_bodies_get_400_with_a_json_error() {
    let app = spawn_app().await;
    let long = format!("https://example.com/{}", "a".repeat(8 * 1024));
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"{not json".to_vec(), "malformed JSON"),
        (b"[]".to_vec(), "an array"),
        (
            br#"["https://example.com/"]"#.to_vec(),
            "an array holding a uri",
        ),
        (br#" "https://example.com/""#.to_vec(), "a bare string"),
        (b"{}".to_vec(), "missing uri"),
        (br#"{"uri": 42}"#.to_vec(), "non-string uri"),
        (br#"{"uri": null}"#.to_vec(), "null uri"),
        (br#"{"uri": "/relative/path"}"#.to_vec(), "relative uri"),
        (
            br#"{"uri": "ftp://example.com/file"}"#.to_vec(),
            "ftp scheme",
        ),
        (
            br#"{"uri": "javascript:alert(1)"}"#.to_vec(),
            "javascript scheme",
        ),
        (br#"{"uri": "file:///etc/passwd"}"#.to_vec(), "file scheme"),
        (
            serde_json::to_vec(&serde_json::json!({ "uri": long })).unwrap(),
            "uri over 8 KiB",
        ),
    ];
    for (body, what) in cases {
        let (status, json) = post_body(&app, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(json["error"], "invalid_request", "{what}");
        assert!(
            json["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
    }
    // The message says what is wrong.
    for (body, says) in [
        (r#"{}"#, "uri is missing"),
        (r#"{"uri": null}"#, "uri must be a string"),
        (r#"{"uri": 42}"#, "uri must be a string"),
        (
            r#"{"uri": "https://a.test/", "uri": "https://b.test/"}"#,
            "must be a JSON object",
        ),
    ] {
        let (status, json) = post_body(&app, body.as_bytes().to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let message = json["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{body}: {message}");
    }
    assert_eq!(app.origin.log.total(), 0);
}

#[tokio::test]
async fn a_body_over_64_kib_gets_413() {
    let app = spawn_app().await;
    let padding = "x".repeat(65 * 1024);
    let body = serde_json::json!({ "uri": "https://example.com/", "padding": padding });
    let response = app
        .client
        .post(app.unfurl_url())
        .bearer_auth(&app.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["error"], "payload_too_large");

    // The same without a Content-Length (chunked): still refused once the limit is passed.
    let stream = futures_util::stream::iter(
        (0..80).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 1024]))),
    );
    let response = app
        .client
        .post(app.unfurl_url())
        .bearer_auth(&app.token)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn other_methods_get_405() {
    let app = spawn_app().await;
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
    ] {
        let response = app
            .client
            .request(method.clone(), app.unfurl_url())
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
        assert!(response.headers().get("allow").is_some());
    }
}

#[tokio::test]
async fn healthz_answers() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn probes_answer_head_like_get_and_other_methods_with_405() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let url = format!("{}{path}", app.address);
        let get = app.client.get(&url).send().await.unwrap();
        assert_eq!(get.status(), StatusCode::OK, "GET {path}");
        let head = app.client.head(&url).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::OK, "HEAD {path}");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "HEAD {path}"
        );
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD {path} has a body"
        );
        for method in [Method::POST, Method::PUT, Method::DELETE] {
            let response = app
                .client
                .request(method.clone(), &url)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            let allow = response
                .headers()
                .get("allow")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            assert!(allow.contains("GET") && allow.contains("HEAD"), "{allow}");
        }
    }
}

#[tokio::test]
async fn metrics_count_unfurls_by_outcome() {
    let app = spawn_app().await;
    app.unfurl(&app.origin_url("/relative")).await;
    app.unfurl(&app.origin_url("/status/404")).await;
    app.client
        .post(app.unfurl_url())
        .json(&serde_json::json!({ "uri": "https://example.com/" }))
        .send()
        .await
        .unwrap();
    let response = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    for line in [
        r#"notion_unfurl_unfurl_requests_total{outcome="preview"} 1"#,
        r#"notion_unfurl_unfurl_requests_total{outcome="error_operation"} 1"#,
        r#"notion_unfurl_unfurl_requests_total{outcome="unauthorized"} 1"#,
        "notion_unfurl_outbox_pending 0",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    let cached: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("notion_unfurl_preview_cache_entries "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no cache gauge in:\n{text}"));
    assert!(cached >= 2, "both previews are cached: {cached}");
}
