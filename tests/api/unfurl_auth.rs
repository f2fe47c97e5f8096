//! `/unfurl` refuses every request without a valid access token, before any provider runs.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use notion_unfurl::oauth::tokens::Claims;
use notion_unfurl::platform::crypto::keys::Keys;
use reqwest::StatusCode;

use crate::helpers::{SECRET, TestApp, spawn_app};

async fn assert_refused(app: &TestApp, authorization: Option<String>, query: &str) {
    let uri = app.origin_url("/corpus/metascraper-bbc");
    let mut request = app
        .client
        .post(format!("{}{query}", app.unfurl_url()))
        .json(&serde_json::json!({ "uri": uri }));
    if let Some(value) = &authorization {
        request = request.header("Authorization", value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "{authorization:?}"
    );
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some(r#"Bearer error="invalid_token""#)
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
}

fn sign(claims: &Claims, header: Header, secret: &[u8]) -> String {
    let keys = Keys::derive(secret);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(&keys.jwt)).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401_and_reach_no_provider() {
    let app = spawn_app().await;
    let claims = (*app.app_state.tokens.verify(&app.token).unwrap()).clone();
    let now = jsonwebtoken::get_current_timestamp();

    let expired = sign(
        &Claims {
            exp: now - 600,
            iat: now - 4200,
            ..claims.clone()
        },
        Header::new(Algorithm::HS256),
        SECRET.as_bytes(),
    );
    let wrong_key = sign(
        &claims,
        Header::new(Algorithm::HS256),
        b"another-secret-key-that-is-long-enough-xyz",
    );
    let wrong_audience = sign(
        &Claims {
            aud: "https://elsewhere.example/unfurl".into(),
            ..claims.clone()
        },
        Header::new(Algorithm::HS256),
        SECRET.as_bytes(),
    );
    let alg_none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(&serde_json::to_vec(&claims).unwrap())
    );
    let mut tampered_claims = claims.clone();
    tampered_claims.sub = "local:somebody-else".into();
    let signature = app.token.rsplit('.').next().unwrap();
    let tampered = format!(
        "{}.{}.{}",
        app.token.split('.').next().unwrap(),
        b64(&serde_json::to_vec(&tampered_claims).unwrap()),
        signature
    );

    let cases = [
        None,
        Some(String::new()),
        Some("Bearer".into()),
        Some("Bearer ".into()),
        Some(format!("Basic {}", app.token)),
        Some("Bearer not-a-jwt".into()),
        Some(format!("Bearer {expired}")),
        Some(format!("Bearer {wrong_key}")),
        Some(format!("Bearer {wrong_audience}")),
        Some(format!("Bearer {alg_none}")),
        Some(format!("Bearer {tampered}")),
    ];
    for authorization in cases {
        assert_refused(&app, authorization, "").await;
    }
    // A token in the query string is never read.
    assert_refused(&app, None, &format!("?access_token={}", app.token)).await;
    assert_eq!(
        app.origin.log.total(),
        0,
        "a provider ran for a refused request"
    );
}

#[tokio::test]
async fn delete_needs_the_same_token_and_is_idempotent() {
    let app = spawn_app().await;
    let body = serde_json::json!({ "uri": "https://example.com/x" });
    let refused = app
        .client
        .delete(app.unfurl_url())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    for _ in 0..2 {
        let response = app
            .client
            .delete(app.unfurl_url())
            .bearer_auth(&app.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }
}

#[tokio::test]
async fn a_token_issued_by_the_server_is_accepted_with_any_scheme_case() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.unfurl_url())
        .header("Authorization", format!("bearer {}", app.token))
        .json(&serde_json::json!({ "uri": app.origin_url("/relative") }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_revoked_connection_is_refused_at_once() {
    let app = spawn_app().await;
    let uri = app.origin_url("/relative");
    app.unfurl(&uri).await;
    let claims = app.app_state.tokens.verify(&app.token).unwrap();
    app.app_state
        .connections
        .store()
        .revoke_connection(&claims.sub)
        .await
        .unwrap();
    app.app_state.connections.forget(&claims.sub).await;
    assert_refused(&app, Some(format!("Bearer {}", app.token)), "").await;
}

#[tokio::test]
async fn a_revocation_on_another_instance_is_applied_within_seconds() {
    // Two instances behind one public URL (so one token is good on both), on one database.
    let public = ("UNFURL_PUBLIC_URL", "https://unfurl.example.test");
    let first = TestApp::builder().with_env(&[public]).spawn().await;
    let database = format!("sqlite://{}/notion-unfurl.db", first.data_dir.display());
    let second = TestApp::builder()
        .with_env(&[public, ("UNFURL_DATABASE_URL", database.as_str())])
        .spawn()
        .await;
    // The second instance caches the connection behind the first one's token.
    let unfurl_on_second = || {
        second
            .client
            .post(second.unfurl_url())
            .bearer_auth(&first.token)
            .json(&serde_json::json!({ "uri": second.origin_url("/relative") }))
            .send()
    };
    let warm = unfurl_on_second().await.unwrap();
    assert_eq!(warm.status(), StatusCode::OK, "{:?}", warm.text().await);

    // Notion's deleted-token callback reaches the first instance.
    let revoked = first
        .client
        .delete(format!("{}/oauth/revoke", first.address))
        .bearer_auth(&first.token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);

    // The second instance finds it by polling, long before its 30 s cache would expire.
    let started = std::time::Instant::now();
    loop {
        let status = unfurl_on_second().await.unwrap().status();
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "the revocation was not applied on the second instance"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    eprintln!("applied after {:?}", started.elapsed());
}

#[tokio::test]
async fn an_unfurl_subscribes_and_delete_unsubscribes() {
    let app = spawn_app().await;
    let uri = app.origin_url("/relative");
    let store = app.app_state.connections.store().clone();
    app.unfurl(&uri).await;
    let claims = app.app_state.tokens.verify(&app.token).unwrap();
    let subscribed = store.subscriptions_for(&uri).await.unwrap();
    assert_eq!(subscribed, vec![(claims.sub.clone(), uri.clone())]);

    // A failed preview is not subscribed.
    let failing = app.origin_url("/status/404");
    app.unfurl(&failing).await;
    assert!(store.subscriptions_for(&failing).await.unwrap().is_empty());

    let response = app
        .client
        .delete(app.unfurl_url())
        .bearer_auth(&app.token)
        .json(&serde_json::json!({ "uri": uri }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(store.subscriptions_for(&uri).await.unwrap().is_empty());

    // Unfurled again, it is recorded again (the in-memory memo was cleared).
    app.unfurl(&uri).await;
    assert_eq!(store.subscriptions_for(&uri).await.unwrap().len(), 1);
}
