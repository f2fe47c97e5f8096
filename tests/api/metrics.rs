//! `GET /metrics`: every family is there at zero before any traffic and moves with it; and
//! who may read it (the loopback default, the token, the listener of its own).

use notion_unfurl::oauth::grants;
use notion_unfurl::store::NewConnection;
use notion_unfurl_sdk::Secret;
use reqwest::StatusCode;

use crate::helpers::TestApp;
use crate::webhook_setup::{WEBHOOK_SECRET, sign};

const CLIENT_ID: &str = "notion-client";
const CLIENT_SECRET: &str = "s3cret-notion-client-secret";
const REDIRECT: &str = "https://www.notion.so/externalIntegrationAuthCallback";
const METRICS_TOKEN: &str = "metrics-token-for-tests-0123456789";

/// Every family README documents.
const FAMILIES: [&str; 13] = [
    "notion_unfurl_http_requests",
    "notion_unfurl_http_request_duration_seconds",
    "notion_unfurl_unfurl_requests",
    "notion_unfurl_unfurls",
    "notion_unfurl_upstream_request_duration_seconds",
    "notion_unfurl_preview_cache_lookups",
    "notion_unfurl_preview_cache_entries",
    "notion_unfurl_preview_cache_bytes",
    "notion_unfurl_outbox_pending",
    "notion_unfurl_outbox_oldest_pending_age_seconds",
    "notion_unfurl_outbox_deliveries",
    "notion_unfurl_token_refreshes",
    "notion_unfurl_webhook_deliveries",
];

/// The value of one series (`name{labels}` exactly as exposed), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

fn expect(text: &str, series: &str) -> f64 {
    value(text, series).unwrap_or_else(|| panic!("{series} missing from\n{text}"))
}

async fn get(app: &TestApp, base: &str, bearer: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(format!("{base}/metrics"));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn scrape(app: &TestApp) -> String {
    let response = get(app, &app.address, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    response.text().await.unwrap()
}

/// A refresh token of a fresh connection, through a real code exchange.
async fn linked(app: &TestApp) -> String {
    let store = app.app_state.connections.store();
    store
        .upsert_account("local:metrics", "Metrics", None)
        .await
        .unwrap();
    let connection = store
        .create_connection(NewConnection {
            account_key: "local:metrics".into(),
            bot_id: "bot-metrics".into(),
            workspace_id: "workspace-metrics".into(),
            workspace_name: None,
            workspace_icon: None,
            notion_token: Some(Secret::new("secret_notion-token")),
        })
        .await
        .unwrap()
        .id;
    let code = grants::mint_code(store, &connection, CLIENT_ID, REDIRECT)
        .await
        .unwrap();
    let issued: serde_json::Value = token(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    issued["refresh_token"].as_str().unwrap().to_owned()
}

async fn token(app: &TestApp, params: &[(&str, &str)]) -> reqwest::Response {
    let mut pairs = vec![("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)];
    pairs.extend_from_slice(params);
    app.client
        .post(format!("{}/oauth/token", app.address))
        .form(&pairs)
        .send()
        .await
        .unwrap()
}

const PING: &[u8] = br#"{"zen":"Keep it logically awesome.","hook_id":1}"#;

async fn webhook(app: &TestApp, event: &str, signature: Option<&str>) -> StatusCode {
    let body = PING;
    let mut request = app
        .client
        .post(format!("{}/webhooks/github", app.address))
        .header("X-GitHub-Event", event)
        .header("X-GitHub-Delivery", uuid::Uuid::new_v4().to_string())
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("X-Hub-Signature-256", signature);
    }
    request.send().await.unwrap().status()
}

#[tokio::test]
async fn every_family_starts_at_zero_and_counts_unfurls_refreshes_and_webhooks() {
    let app = TestApp::builder()
        .with_env(&[
            ("UNFURL_OAUTH_CLIENT_ID", CLIENT_ID),
            ("UNFURL_OAUTH_CLIENT_SECRET", CLIENT_SECRET),
            ("UNFURL_GITHUB_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ])
        .spawn()
        .await;

    // Before any traffic: every family is there, every series of it at zero.
    let before = scrape(&app).await;
    for family in FAMILIES {
        assert!(
            before
                .lines()
                .any(|line| line.starts_with("# TYPE ")
                    && line[7..].starts_with(&format!("{family} "))),
            "{family} missing from\n{before}"
        );
        let samples: Vec<&str> = before
            .lines()
            .filter(|line| !line.starts_with('#') && line.starts_with(family))
            .collect();
        assert!(!samples.is_empty(), "{family} has no series in\n{before}");
        for sample in samples {
            let zero = sample
                .rsplit_once(' ')
                .and_then(|(_, v)| v.parse::<f64>().ok())
                == Some(0.0);
            assert!(zero, "not zero before any traffic: {sample}");
        }
    }
    for series in [
        r#"notion_unfurl_http_requests_total{route="/unfurl",status="2xx"}"#,
        r#"notion_unfurl_http_requests_total{route="/webhooks/github",status="4xx"}"#,
        r#"notion_unfurl_http_requests_total{route="unmatched",status="4xx"}"#,
        r#"notion_unfurl_unfurls_total{provider="opengraph",outcome="preview"}"#,
        r#"notion_unfurl_unfurls_total{provider="github",outcome="error"}"#,
        r#"notion_unfurl_upstream_request_duration_seconds_count{provider="opengraph",outcome="ok"}"#,
        r#"notion_unfurl_upstream_request_duration_seconds_count{provider="github",outcome="rate_limited"}"#,
        r#"notion_unfurl_preview_cache_lookups_total{result="hit"}"#,
        r#"notion_unfurl_outbox_deliveries_total{outcome="given_up"}"#,
        r#"notion_unfurl_token_refreshes_total{outcome="reused"}"#,
        r#"notion_unfurl_webhook_deliveries_total{result="refused_signature"}"#,
        "notion_unfurl_outbox_oldest_pending_age_seconds",
    ] {
        assert_eq!(expect(&before, series), 0.0, "{series}");
    }

    // An unfurl (a miss, then a hit), a code exchange and a refresh, two webhooks, a stray.
    let page = app.origin_url("/relative");
    app.unfurl(&page).await;
    app.unfurl(&page).await;
    let refresh = linked(&app).await;
    let refreshed = token(
        &app,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let spent = token(
        &app,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(spent.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        webhook(&app, "ping", Some(&sign(WEBHOOK_SECRET, PING))).await,
        StatusCode::OK
    );
    assert_eq!(webhook(&app, "ping", None).await, StatusCode::UNAUTHORIZED);
    let stray = app
        .client
        .get(format!("{}/wp-login.php", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(stray.status(), StatusCode::NOT_FOUND);

    let after = scrape(&app).await;
    for (series, expected) in [
        (
            r#"notion_unfurl_unfurl_requests_total{outcome="preview"}"#,
            2.0,
        ),
        (
            r#"notion_unfurl_unfurls_total{provider="opengraph",outcome="preview"}"#,
            2.0,
        ),
        (
            r#"notion_unfurl_preview_cache_lookups_total{result="miss"}"#,
            1.0,
        ),
        (
            r#"notion_unfurl_preview_cache_lookups_total{result="hit"}"#,
            1.0,
        ),
        (
            r#"notion_unfurl_upstream_request_duration_seconds_count{provider="opengraph",outcome="ok"}"#,
            1.0,
        ),
        (
            r#"notion_unfurl_token_refreshes_total{outcome="issued"}"#,
            1.0,
        ),
        (
            r#"notion_unfurl_token_refreshes_total{outcome="reused"}"#,
            1.0,
        ),
        (
            r#"notion_unfurl_webhook_deliveries_total{result="pong"}"#,
            1.0,
        ),
        (
            r#"notion_unfurl_webhook_deliveries_total{result="refused_signature"}"#,
            1.0,
        ),
        (
            r#"notion_unfurl_webhook_deliveries_total{result="queued"}"#,
            0.0,
        ),
        (
            r#"notion_unfurl_http_requests_total{route="/unfurl",status="2xx"}"#,
            2.0,
        ),
        (
            r#"notion_unfurl_http_requests_total{route="/oauth/token",status="2xx"}"#,
            2.0,
        ),
        (
            r#"notion_unfurl_http_requests_total{route="/oauth/token",status="4xx"}"#,
            1.0,
        ),
        (
            r#"notion_unfurl_http_requests_total{route="/webhooks/github",status="2xx"}"#,
            1.0,
        ),
        (
            r#"notion_unfurl_http_requests_total{route="/webhooks/github",status="4xx"}"#,
            1.0,
        ),
        (
            r#"notion_unfurl_http_requests_total{route="/metrics",status="2xx"}"#,
            1.0,
        ),
        (
            r#"notion_unfurl_http_requests_total{route="unmatched",status="4xx"}"#,
            1.0,
        ),
        (
            r#"notion_unfurl_http_request_duration_seconds_count{route="/unfurl",status="2xx"}"#,
            2.0,
        ),
    ] {
        assert_eq!(expect(&after, series), expected, "{series} in\n{after}");
    }
    // The latency landed in a finite bucket, and the raw stray path made no series.
    assert!(
        expect(
            &after,
            r#"notion_unfurl_http_request_duration_seconds_bucket{le="10.0",route="/unfurl",status="2xx"}"#
        ) >= 2.0,
        "{after}"
    );
    assert!(!after.contains("wp-login"), "{after}");
    assert!(expect(&after, "notion_unfurl_preview_cache_entries") >= 1.0);
    assert!(expect(&after, "notion_unfurl_preview_cache_bytes") > 0.0);
}

#[tokio::test]
async fn the_metrics_token_is_required_on_the_public_listener() {
    let app = TestApp::builder()
        .with_env(&[("UNFURL_METRICS_TOKEN", METRICS_TOKEN)])
        .spawn()
        .await;
    let refused = get(&app, &app.address, None).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.headers()["www-authenticate"],
        r#"Bearer realm="metrics""#
    );
    let text = refused.text().await.unwrap();
    assert!(!text.contains(METRICS_TOKEN) && !text.contains("notion_unfurl_"));
    let wrong = get(
        &app,
        &app.address,
        Some("metrics-token-for-tests-012345678"),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let served = get(&app, &app.address, Some(METRICS_TOKEN)).await;
    assert_eq!(served.status(), StatusCode::OK);
    assert!(
        served
            .text()
            .await
            .unwrap()
            .contains("notion_unfurl_http_requests_total")
    );
}

#[tokio::test]
async fn a_metrics_listener_serves_metrics_alone_and_the_public_listener_none() {
    let app = TestApp::builder()
        .with_env(&[("UNFURL_METRICS_LISTEN", "127.0.0.1:0")])
        .spawn()
        .await;
    let metrics = app.metrics_address.clone().expect("a metrics listener");
    assert_ne!(metrics, app.address);
    assert_eq!(
        get(&app, &app.address, None).await.status(),
        StatusCode::NOT_FOUND
    );
    let served = get(&app, &metrics, None).await;
    assert_eq!(served.status(), StatusCode::OK);
    let text = served.text().await.unwrap();
    assert_eq!(
        expect(
            &text,
            r#"notion_unfurl_http_requests_total{route="/metrics",status="4xx"}"#
        ),
        1.0,
        "the public listener's refusal is counted"
    );
    // Nothing but /metrics is served there.
    for path in ["/unfurl", "/healthz", "/oauth/token"] {
        let response = app
            .client
            .get(format!("{metrics}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn a_metrics_listener_with_a_token_requires_it_too() {
    let app = TestApp::builder()
        .with_env(&[
            ("UNFURL_METRICS_LISTEN", "127.0.0.1:0"),
            ("UNFURL_METRICS_TOKEN", METRICS_TOKEN),
        ])
        .spawn()
        .await;
    let metrics = app.metrics_address.clone().expect("a metrics listener");
    assert_eq!(
        get(&app, &metrics, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&app, &metrics, Some(METRICS_TOKEN)).await.status(),
        StatusCode::OK
    );
    // Not on the public listener, token or not.
    assert_eq!(
        get(&app, &app.address, Some(METRICS_TOKEN)).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn without_a_token_or_listener_a_listener_off_loopback_serves_no_metrics() {
    let app = TestApp::builder()
        .with_env(&[("UNFURL_LISTEN", "0.0.0.0:0")])
        .spawn()
        .await;
    assert_eq!(
        get(&app, &app.address, None).await.status(),
        StatusCode::NOT_FOUND
    );
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK, "the rest is served");
}
