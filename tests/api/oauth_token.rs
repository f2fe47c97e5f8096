//! `POST /oauth/token` and `DELETE /oauth/revoke`: Notion's side of the OAuth exchange,
//! driven against the real server with codes minted the way `/oauth/authorize` mints them.

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use notion_unfurl::oauth::grants;
use notion_unfurl::oauth::tokens::Claims;
use notion_unfurl::platform::crypto::keys::Keys;
use notion_unfurl::platform::crypto::token_hash;
use notion_unfurl::store::{NewConnection, Store};
use notion_unfurl_sdk::Secret;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{SECRET, TestApp, spawn_app};

const CLIENT_ID: &str = "notion-client";
const CLIENT_SECRET: &str = "s3cret-notion-client-secret";
const REDIRECT: &str = "https://www.notion.so/externalIntegrationAuthCallback";
const FORM: &str = "application/x-www-form-urlencoded";
const ACCOUNT: &str = "github:4242";
const UPSTREAM_TOKEN: &str = "gho_upstream-token-of-the-account";

struct OAuthApp {
    app: TestApp,
    connection: String,
}

/// A server with Notion as its OAuth client, and a connection of [`ACCOUNT`] to mint codes for.
async fn spawn() -> OAuthApp {
    let app = TestApp::builder()
        .with_env(&[
            ("UNFURL_OAUTH_CLIENT_ID", CLIENT_ID),
            ("UNFURL_OAUTH_CLIENT_SECRET", CLIENT_SECRET),
        ])
        .spawn()
        .await;
    let store = app.app_state.connections.store();
    store
        .upsert_account(ACCOUNT, "GitHub - octo", Some(&Secret::new(UPSTREAM_TOKEN)))
        .await
        .unwrap();
    let connection = store
        .create_connection(NewConnection {
            account_key: ACCOUNT.into(),
            bot_id: "bot-1".into(),
            workspace_id: "workspace-1".into(),
            workspace_name: Some("Acme".into()),
            workspace_icon: None,
            notion_token: Some(Secret::new("secret_notion-token")),
        })
        .await
        .unwrap()
        .id;
    OAuthApp { app, connection }
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn basic(id: &str, secret: &str) -> String {
    let pair = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// The status, headers and JSON body of an answer.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }

    fn str(&self, field: &str) -> String {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} missing from {}", self.body))
            .to_owned()
    }

    fn assert_error(&self, status: StatusCode, error: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.error(), error, "{}", self.body);
        assert!(self.body["error_description"].is_string(), "{}", self.body);
        self.assert_no_store();
    }

    fn assert_no_store(&self) {
        assert_eq!(self.header("cache-control"), Some("no-store"));
        assert_eq!(self.header("pragma"), Some("no-cache"));
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
    Answer {
        status,
        headers,
        body,
    }
}

impl OAuthApp {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.address)
    }

    fn store(&self) -> &Store {
        self.app.app_state.connections.store()
    }

    async fn mint(&self) -> String {
        grants::mint_code(self.store(), &self.connection, CLIENT_ID, REDIRECT)
            .await
            .unwrap()
    }

    /// POST /oauth/token with a raw body and optional Authorization header.
    async fn post_raw(
        &self,
        content_type: &str,
        body: String,
        authorization: Option<&str>,
    ) -> Answer {
        let mut request = self
            .app
            .client
            .post(self.url("/oauth/token"))
            .header("Content-Type", content_type)
            .body(body);
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        answer(request.send().await.unwrap()).await
    }

    /// POST /oauth/token with the client's credentials in the body, as Notion sends them.
    async fn token(&self, params: &[(&str, &str)]) -> Answer {
        let mut pairs = vec![("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)];
        pairs.extend_from_slice(params);
        self.post_raw(FORM, form(&pairs), None).await
    }

    async fn exchange(&self, code: &str) -> Answer {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ])
        .await
    }

    async fn refresh(&self, refresh_token: &str) -> Answer {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("redirect_uri", REDIRECT),
        ])
        .await
    }

    /// A successful code exchange: (access token, refresh token).
    async fn linked(&self) -> (String, String) {
        let code = self.mint().await;
        let issued = self.exchange(&code).await;
        assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
        (issued.str("access_token"), issued.str("refresh_token"))
    }

    /// The status of POST /unfurl for a local page with `access_token`.
    async fn unfurl_status(&self, access_token: &str) -> StatusCode {
        self.app
            .client
            .post(self.app.unfurl_url())
            .bearer_auth(access_token)
            .json(&serde_json::json!({ "uri": self.app.origin_url("/relative") }))
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn revoke(&self, bearer: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = self.app.client.delete(self.url("/oauth/revoke"));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await.unwrap()).await
    }

    /// The subscriptions recorded for the page `unfurl_status` previews.
    async fn subscriptions(&self) -> Vec<(String, String)> {
        let uri = self.app.origin_url("/relative");
        let url = url::Url::parse(&uri).unwrap();
        let canonical = self.app.app_state.unfurler.canonical_uri(&url);
        self.store().subscriptions_for(&canonical).await.unwrap()
    }

    async fn notion_token(&self) -> Option<String> {
        self.store()
            .connection(&self.connection)
            .await
            .unwrap()
            .and_then(|c| c.notion_token)
            .map(|t| t.expose().to_owned())
    }

    async fn upstream_token(&self) -> Option<String> {
        self.store()
            .account(ACCOUNT)
            .await
            .unwrap()
            .and_then(|a| a.upstream_token)
            .map(|t| t.expose().to_owned())
    }
}

#[tokio::test]
async fn a_code_is_exchanged_with_body_credentials_for_a_working_access_token() {
    let oauth = spawn().await;
    let code = oauth.mint().await;
    let issued = oauth.exchange(&code).await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    issued.assert_no_store();
    let mut fields: Vec<&str> = issued
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["access_token", "expires_in", "refresh_token", "token_type"]
    );
    assert_eq!(issued.body["token_type"], "bearer");
    assert_eq!(issued.body["expires_in"], 3600);
    assert_eq!(issued.str("refresh_token").len(), 64);
    assert_eq!(
        oauth.unfurl_status(&issued.str("access_token")).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_code_is_exchanged_with_http_basic_credentials() {
    let oauth = spawn().await;
    let code = oauth.mint().await;
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
    ]);
    let issued = oauth
        .post_raw(FORM, body, Some(&basic(CLIENT_ID, CLIENT_SECRET)))
        .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    assert_eq!(
        oauth.unfurl_status(&issued.str("access_token")).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn wrong_or_unknown_client_credentials_are_invalid_client() {
    let oauth = spawn().await;
    let code = oauth.mint().await;
    let grant = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let with = |id: &'static str, secret: &'static str| {
        let mut pairs = vec![("client_id", id), ("client_secret", secret)];
        pairs.extend_from_slice(&grant);
        form(&pairs)
    };
    for body in [
        with(CLIENT_ID, "wrong-secret"),
        with("someone-else", CLIENT_SECRET),
        with(CLIENT_ID, ""),
        form(&grant),
    ] {
        let refused = oauth.post_raw(FORM, body, None).await;
        refused.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let refused = oauth
        .post_raw(FORM, form(&grant), Some(&basic(CLIENT_ID, "wrong-secret")))
        .await;
    refused.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(
        refused.header("www-authenticate"),
        Some(r#"Basic realm="notion-unfurl""#)
    );

    // None of the refusals spent the code.
    assert_eq!(oauth.exchange(&code).await.status, StatusCode::OK);
}

#[tokio::test]
async fn basic_and_body_credentials_together_are_invalid_request() {
    let oauth = spawn().await;
    let code = oauth.mint().await;
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ]);
    let refused = oauth
        .post_raw(FORM, body, Some(&basic(CLIENT_ID, CLIENT_SECRET)))
        .await;
    refused.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn no_configured_client_means_every_request_is_invalid_client() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(format!("{}/oauth/token", app.address))
        .header("Content-Type", FORM)
        .body(form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", ""),
            ("client_secret", ""),
        ]))
        .send()
        .await
        .unwrap();
    answer(response)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn malformed_requests_are_invalid_request_or_unsupported_grant_type() {
    let oauth = spawn().await;
    let code = oauth.mint().await;

    oauth
        .token(&[("code", &code), ("redirect_uri", REDIRECT)])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    oauth
        .token(&[
            ("grant_type", "password"),
            ("username", "u"),
            ("password", "p"),
        ])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    oauth
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    oauth
        .token(&[
            ("grant_type", "authorization_code"),
            ("redirect_uri", REDIRECT),
        ])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");

    let json = serde_json::json!({
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    });
    oauth
        .post_raw("application/json", json.to_string(), None)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");

    let huge = format!(
        "{}&pad={}",
        form(&[("grant_type", "refresh_token")]),
        "a".repeat(20_000)
    );
    oauth
        .post_raw(FORM, huge, Some(&basic(CLIENT_ID, CLIENT_SECRET)))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");

    let get = oauth
        .app
        .client
        .get(oauth.url("/oauth/token"))
        .send()
        .await
        .unwrap();
    let get = answer(get).await;
    get.assert_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    assert_eq!(get.header("allow"), Some("POST"));

    // None of these reached the code: it still works once.
    assert_eq!(oauth.exchange(&code).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_redirect_uri_or_an_expired_code_is_invalid_grant() {
    let oauth = spawn().await;
    let code = oauth.mint().await;
    oauth
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            (
                "redirect_uri",
                "https://notion.so/externalIntegrationAuthCallback",
            ),
        ])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    let code = oauth.mint().await;
    oauth
        .token(&[("grant_type", "authorization_code"), ("code", &code)])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    let expired = "e".repeat(64);
    let an_hour_ago = jsonwebtoken::get_current_timestamp() as i64 - 3600;
    oauth
        .store()
        .insert_auth_code(
            &token_hash(&expired),
            &oauth.connection,
            CLIENT_ID,
            REDIRECT,
            an_hour_ago,
        )
        .await
        .unwrap();
    oauth
        .exchange(&expired)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    oauth
        .exchange(&"0".repeat(64))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_the_tokens_it_issued() {
    let oauth = spawn().await;
    let code = oauth.mint().await;
    let first = oauth.exchange(&code).await;
    assert_eq!(first.status, StatusCode::OK);
    let access = first.str("access_token");
    assert_eq!(oauth.unfurl_status(&access).await, StatusCode::OK);

    oauth
        .exchange(&code)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(oauth.unfurl_status(&access).await, StatusCode::UNAUTHORIZED);
    oauth
        .refresh(&first.str("refresh_token"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn refresh_rotates_the_refresh_token_and_returns_a_working_access_token() {
    let oauth = spawn().await;
    let (_, refresh) = oauth.linked().await;
    let rotated = oauth.refresh(&refresh).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    rotated.assert_no_store();
    assert_eq!(rotated.body["token_type"], "bearer");
    assert_ne!(rotated.str("refresh_token"), refresh);
    assert_eq!(
        oauth.unfurl_status(&rotated.str("access_token")).await,
        StatusCode::OK
    );
    let again = oauth.refresh(&rotated.str("refresh_token")).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
}

#[tokio::test]
async fn reusing_a_spent_refresh_token_revokes_the_whole_chain() {
    let oauth = spawn().await;
    let (first_access, first_refresh) = oauth.linked().await;
    let rotated = oauth.refresh(&first_refresh).await;
    assert_eq!(rotated.status, StatusCode::OK);
    let latest_access = rotated.str("access_token");
    let latest_refresh = rotated.str("refresh_token");

    oauth
        .refresh(&first_refresh)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    oauth
        .refresh(&latest_refresh)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    for access in [&first_access, &latest_access] {
        assert_eq!(oauth.unfurl_status(access).await, StatusCode::UNAUTHORIZED);
    }
}

/// After a revocation: nothing of the connection is left, and revoking again still works.
async fn assert_fully_revoked(oauth: &OAuthApp, access: &str, refresh: &str, again: Answer) {
    assert_eq!(oauth.unfurl_status(access).await, StatusCode::UNAUTHORIZED);
    oauth
        .refresh(refresh)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(oauth.subscriptions().await.is_empty());
    assert_eq!(oauth.notion_token().await, None);
    assert_eq!(oauth.upstream_token().await, None);
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, serde_json::json!({}));
}

/// A linked connection that has previewed a page (so it holds a subscription).
async fn linked_with_subscription(oauth: &OAuthApp) -> (String, String) {
    let (access, refresh) = oauth.linked().await;
    assert_eq!(oauth.unfurl_status(&access).await, StatusCode::OK);
    assert_eq!(oauth.subscriptions().await.len(), 1);
    assert_eq!(
        oauth.notion_token().await.as_deref(),
        Some("secret_notion-token")
    );
    (access, refresh)
}

#[tokio::test]
async fn revoking_with_a_bearer_access_token_removes_the_connection() {
    let oauth = spawn().await;
    let (access, refresh) = linked_with_subscription(&oauth).await;
    let revoked = oauth.revoke(Some(&access), None).await;
    assert_eq!(revoked.status, StatusCode::OK);
    revoked.assert_no_store();
    assert_eq!(revoked.body, serde_json::json!({}));
    let again = oauth.revoke(Some(&access), None).await;
    assert_fully_revoked(&oauth, &access, &refresh, again).await;
}

#[tokio::test]
async fn revoking_with_a_refresh_token_in_the_body_removes_the_connection() {
    let oauth = spawn().await;
    let (access, refresh) = linked_with_subscription(&oauth).await;
    let revoked = oauth
        .revoke(None, Some(serde_json::json!({ "token": refresh })))
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let again = oauth
        .revoke(None, Some(serde_json::json!({ "token": refresh })))
        .await;
    assert_fully_revoked(&oauth, &access, &refresh, again).await;
}

#[tokio::test]
async fn revoking_with_an_access_token_in_the_body_removes_the_connection() {
    let oauth = spawn().await;
    let (access, refresh) = linked_with_subscription(&oauth).await;
    let body = serde_json::json!({ "access_token": access, "bot_id": "bot-1" });
    let revoked = oauth.revoke(None, Some(body.clone())).await;
    assert_eq!(revoked.status, StatusCode::OK);
    let again = oauth.revoke(None, Some(body)).await;
    assert_fully_revoked(&oauth, &access, &refresh, again).await;
}

#[tokio::test]
async fn revoking_with_an_expired_access_token_still_removes_the_connection() {
    let oauth = spawn().await;
    let (access, refresh) = linked_with_subscription(&oauth).await;
    let claims = (*oauth.app.app_state.tokens.verify(&access).unwrap()).clone();
    let now = jsonwebtoken::get_current_timestamp();
    let sign = |secret: &str| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &Claims {
                exp: now - 7200,
                iat: now - 10_800,
                ..claims.clone()
            },
            &EncodingKey::from_secret(&Keys::derive(secret.as_bytes()).jwt),
        )
        .unwrap()
    };
    let expired = sign(SECRET);
    assert_eq!(
        oauth.unfurl_status(&expired).await,
        StatusCode::UNAUTHORIZED
    );

    // The same claims under another key prove nothing: the connection stays.
    let forged = sign("another-secret-key-that-is-long-enough-xyz");
    assert_eq!(
        oauth.revoke(Some(&forged), None).await.status,
        StatusCode::OK
    );
    assert_eq!(oauth.unfurl_status(&access).await, StatusCode::OK);

    let revoked = oauth.revoke(Some(&expired), None).await;
    assert_eq!(revoked.status, StatusCode::OK);
    let again = oauth.revoke(Some(&expired), None).await;
    assert_fully_revoked(&oauth, &access, &refresh, again).await;
}

#[tokio::test]
async fn revoking_a_token_that_is_not_ours_answers_200_and_revokes_nothing() {
    let oauth = spawn().await;
    let (access, refresh) = oauth.linked().await;
    for (bearer, body) in [
        (Some("garbage"), None),
        (None, Some(serde_json::json!({ "token": "a".repeat(64) }))),
        (
            None,
            Some(serde_json::json!({ "access_token": &oauth.connection })),
        ),
        (None, Some(serde_json::json!({ "unrelated": true }))),
        (None, None),
    ] {
        let answer = oauth.revoke(bearer, body).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body, serde_json::json!({}));
    }
    let not_json = oauth
        .app
        .client
        .delete(oauth.url("/oauth/revoke"))
        .bearer_auth("garbage")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::OK);

    assert_eq!(oauth.unfurl_status(&access).await, StatusCode::OK);
    assert_eq!(oauth.refresh(&refresh).await.status, StatusCode::OK);
    assert_eq!(
        oauth.upstream_token().await.as_deref(),
        Some(UPSTREAM_TOKEN)
    );

    let post = oauth
        .app
        .client
        .post(oauth.url("/oauth/revoke"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn many_rapid_bad_token_requests_are_eventually_rate_limited() {
    let oauth = spawn().await;
    let bad = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", "x"),
        ("client_id", CLIENT_ID),
        ("client_secret", "guess"),
    ]);
    let mut limited = None;
    for _ in 0..200 {
        let answer = oauth.post_raw(FORM, bad.clone(), None).await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(answer);
            break;
        }
        answer.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let limited = limited.unwrap_or_else(|| panic!("200 bad requests were never limited"));
    limited.assert_error(StatusCode::TOO_MANY_REQUESTS, "invalid_request");
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // While the address is over its budget, even the right secret is not judged: a guess
    // past the limit tells the guesser nothing.
    let right_secret = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", "x"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ]);
    oauth
        .post_raw(FORM, right_secret, None)
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "invalid_request");
}

#[tokio::test]
async fn an_authenticated_client_is_never_rate_limited() {
    let oauth = spawn().await;
    // Notion refreshes every connection from a few addresses: far more requests than the
    // failure budget, each from the real client, are each judged on their grant.
    let unknown_grant = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", "not-one-of-ours"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ]);
    for _ in 0..80 {
        oauth
            .post_raw(FORM, unknown_grant.clone(), None)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let (_, refresh) = oauth.linked().await;
    assert_eq!(oauth.refresh(&refresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn revocations_with_our_access_tokens_are_never_rate_limited() {
    let OAuthApp { app, connection } = spawn().await;
    // Far more than the unauthenticated burst, as when a workspace removes many previews.
    for _ in 0..80 {
        let token = app.app_state.tokens.issue(&connection).unwrap();
        let response = app
            .client
            .delete(format!("{}/oauth/revoke", app.address))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}
