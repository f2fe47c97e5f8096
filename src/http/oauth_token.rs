//! `POST /oauth/token` (Notion's OAuth Token URL) and `DELETE /oauth/revoke` (its Deleted
//! Token Callback): protocol.md §1 steps 6–7 and §4. The grants themselves are
//! [`crate::oauth::grants`]; this module parses, authenticates the client and answers.
//!
//! Every answer, success or error, is built by `oauth_response`, so each carries
//! `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1), and every error is one
//! [`OAuthError`] rendered as RFC 6749 §5.2 JSON. Codes, tokens and secrets never reach a
//! log line: only outcome kinds do.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder, ResponseError, web};
use base64::Engine;
use serde::Serialize;

use crate::http::limits::{Limits, retry_after_secs};
use crate::http::request::{BodyError, BodyLimit, bearer_token, read_limited};
use crate::oauth::grants::{GrantError, Grants, IssuedTokens, Refusal, Revocation};
use crate::platform::config::Settings;
use crate::platform::crypto::same_secret;
use crate::platform::metrics::RefreshOutcome;
use crate::state::AppState;

/// Largest request body accepted on either endpoint; Notion's are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The realm named in `WWW-Authenticate` on `invalid_client`.
const REALM: &str = r#"Basic realm="notion-unfurl""#;

/// Every error of the OAuth endpoints, rendered once as RFC 6749 §5.2 JSON.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("{0}")]
    InvalidRequest(&'static str),
    #[error("client authentication failed")]
    InvalidClient,
    /// Deliberately one description for every reason (the reason goes to the log).
    #[error(
        "the authorization code or refresh token is invalid, expired, revoked, or was issued to another client"
    )]
    InvalidGrant,
    #[error("only the authorization_code and refresh_token grant types are supported")]
    UnsupportedGrantType,
    /// HTTP 429 with `Retry-After`; the `error` code stays within RFC 6749 §5.2
    /// (`invalid_request`), since `slow_down` belongs to the device grant (RFC 8628).
    #[error("too many token requests from this client; retry after the time in Retry-After")]
    RateLimited { retry_after: Duration },
    #[error("this method is not allowed here")]
    MethodNotAllowed { allow: &'static str },
    #[error("the request body was not sent in time")]
    TooSlow,
    #[error("the service is temporarily unavailable; please retry")]
    Unavailable,
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    error: &'a str,
    error_description: String,
}

/// A response builder with the headers RFC 6749 §5.1 requires on every token response.
fn oauth_response(status: StatusCode) -> HttpResponseBuilder {
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")));
    response
}

impl OAuthError {
    fn rate_limited(retry_after: Duration) -> Self {
        Self::RateLimited { retry_after }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_)
            | Self::MethodNotAllowed { .. }
            | Self::RateLimited { .. }
            | Self::TooSlow => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::Unavailable => "temporarily_unavailable",
        }
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_) | Self::InvalidGrant | Self::UnsupportedGrantType => {
                StatusCode::BAD_REQUEST
            }
            Self::InvalidClient => StatusCode::UNAUTHORIZED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooSlow => StatusCode::REQUEST_TIMEOUT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = oauth_response(self.status_code());
        match self {
            // RFC 7235 requires the challenge on every 401, so it is sent whether the client
            // tried Basic, body credentials or nothing at all.
            Self::InvalidClient => {
                response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static(REALM)));
            }
            Self::RateLimited { retry_after } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs(*retry_after)));
            }
            Self::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, HeaderValue::from_static(allow)));
            }
            _ => {}
        }
        response.json(ErrorJson {
            error: self.code(),
            error_description: self.to_string(),
        })
    }
}

impl From<GrantError> for OAuthError {
    fn from(e: GrantError) -> Self {
        match e {
            GrantError::Refused(refusal) => {
                tracing::info!(outcome = %refusal, "grant refused");
                Self::InvalidGrant
            }
            GrantError::Store(e) => {
                tracing::error!(error = %e, "the store failed during a grant");
                Self::Unavailable
            }
            GrantError::Token(e) => {
                tracing::error!(error = %e, "could not sign an access token");
                Self::Unavailable
            }
        }
    }
}

/// The body, at most [`MAX_BODY_BYTES`]; `None` when it is larger.
async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    settings: &Settings,
) -> Result<Option<Vec<u8>>, OAuthError> {
    let limit = BodyLimit {
        max_bytes: MAX_BODY_BYTES,
        within: settings.body_read_timeout,
    };
    match read_limited(req, payload, limit).await {
        Ok(body) => Ok(Some(body)),
        Err(BodyError::TooLarge) => Ok(None),
        Err(BodyError::TooSlow) => Err(OAuthError::TooSlow),
        Err(BodyError::Unreadable) => Err(OAuthError::InvalidRequest("the body could not be read")),
    }
}

/// The form parameters, each at most once. RFC 6749 §3.1: a parameter without a value is
/// treated as omitted, and none may be repeated.
fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let mut params = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        match params.entry(name.into_owned()) {
            Entry::Occupied(_) => {
                return Err(OAuthError::InvalidRequest(
                    "a parameter was sent more than once",
                ));
            }
            Entry::Vacant(slot) => {
                slot.insert(value.into_owned());
            }
        }
    }
    params.retain(|_, value| !value.is_empty());
    Ok(params)
}

/// Client credentials as presented, before they are checked.
struct Presented {
    id: String,
    secret: String,
    /// The same pair as sent in a Basic header, before form-decoding (see `authenticate`).
    raw: Option<(String, String)>,
}

fn basic_credentials(req: &HttpRequest) -> Result<Option<Presented>, OAuthError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || OAuthError::InvalidRequest("the Authorization header is malformed");
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::InvalidRequest(
            "only Basic client authentication is supported in the Authorization header",
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| OAuthError::InvalidClient)?;
    let decoded = String::from_utf8(decoded).map_err(|_| OAuthError::InvalidClient)?;
    let (id, secret) = decoded.split_once(':').ok_or(OAuthError::InvalidClient)?;
    Ok(Some(Presented {
        id: form_decode(id),
        secret: form_decode(secret),
        raw: Some((id.to_owned(), secret.to_owned())),
    }))
}

/// RFC 6749 §2.3.1 form-encodes the id and secret before Basic encoding them.
fn form_decode(value: &str) -> String {
    percent_encoding::percent_decode_str(&value.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The credentials of this request: HTTP Basic or the body's `client_id` and
/// `client_secret`, never both (RFC 6749 §2.3).
fn presented_credentials(
    req: &HttpRequest,
    params: &HashMap<String, String>,
) -> Result<Presented, OAuthError> {
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    match basic_credentials(req)? {
        Some(basic) => {
            if body_secret.is_some() {
                return Err(OAuthError::InvalidRequest(
                    "use one client authentication method: HTTP Basic or the request body",
                ));
            }
            if body_id.is_some_and(|id| *id != basic.id) {
                return Err(OAuthError::InvalidRequest(
                    "client_id differs from the authenticated client",
                ));
            }
            Ok(basic)
        }
        None => match (body_id, body_secret) {
            (Some(id), Some(secret)) => Ok(Presented {
                id: id.clone(),
                secret: secret.clone(),
                raw: None,
            }),
            _ => Err(OAuthError::InvalidClient),
        },
    }
}

/// The authenticated client id. Both id and secret are always compared, so the timing says
/// nothing about which one was wrong. A Basic pair also matches as sent: clients that skip
/// §2.3.1's form-encoding are common, and either form proves knowledge of the secret.
fn authenticate(settings: &Settings, presented: &Presented) -> Result<String, OAuthError> {
    let (Some(id), Some(secret)) = (&settings.oauth_client_id, &settings.oauth_client_secret)
    else {
        tracing::warn!("a token request arrived but UNFURL_OAUTH_CLIENT_ID/SECRET are not set");
        return Err(OAuthError::InvalidClient);
    };
    let mut ok = same_secret(&presented.id, id) & same_secret(&presented.secret, secret.expose());
    if let Some((raw_id, raw_secret)) = &presented.raw {
        ok |= same_secret(raw_id, id) & same_secret(raw_secret, secret.expose());
    }
    if bool::from(ok) {
        Ok(id.clone())
    } else {
        tracing::info!(outcome = "invalid_client", "client authentication failed");
        Err(OAuthError::InvalidClient)
    }
}

#[derive(Serialize)]
struct TokenJson<'a> {
    access_token: &'a str,
    token_type: &'static str,
    refresh_token: &'a str,
    expires_in: u64,
}

fn token_response(issued: &IssuedTokens) -> HttpResponse {
    oauth_response(StatusCode::OK).json(TokenJson {
        access_token: issued.access_token.expose(),
        token_type: "bearer",
        refresh_token: issued.refresh_token.expose(),
        expires_in: issued.expires_in.as_secs(),
    })
}

fn required<'a>(
    params: &'a HashMap<String, String>,
    name: &str,
    missing: &'static str,
) -> Result<&'a str, OAuthError> {
    params
        .get(name)
        .map(String::as_str)
        .ok_or(OAuthError::InvalidRequest(missing))
}

/// The form of a token request and the client it authenticates as.
async fn authenticated_form(
    req: &HttpRequest,
    payload: web::Payload,
    settings: &Settings,
) -> Result<(String, HashMap<String, String>), OAuthError> {
    let form = req.mime_type().ok().flatten().is_some_and(|mime| {
        mime.essence_str() == actix_web::mime::APPLICATION_WWW_FORM_URLENCODED.as_ref()
    });
    if !form {
        return Err(OAuthError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let body = read_body(req, payload, settings)
        .await?
        .ok_or(OAuthError::InvalidRequest("the request body is too large"))?;
    let params = parse_form(&body)?;
    let presented = presented_credentials(req, &params)?;
    let client_id = authenticate(settings, &presented)?;
    Ok((client_id, params))
}

#[tracing::instrument(name = "oauth_token", skip_all, fields(grant_type))]
pub async fn token(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    limits: web::Data<Limits>,
) -> Result<HttpResponse, OAuthError> {
    // Only what fails before the client is authenticated counts against its address: Notion
    // refreshes every connection from a few addresses, and must never be slowed by this.
    let limit = &limits.token;
    let address = limit.key(&req);
    limit.admit(address).map_err(OAuthError::rate_limited)?;
    let (client_id, params) = authenticated_form(&req, payload, &state.settings)
        .await
        .map_err(|e| match limit.failed(address) {
            Ok(()) => e,
            Err(retry_after) => OAuthError::rate_limited(retry_after),
        })?;

    let grant_type = required(&params, "grant_type", "grant_type is missing")?;
    let grants = Grants::new(&state.connections, &state.tokens);
    let issued = match grant_type {
        "authorization_code" => {
            tracing::Span::current().record("grant_type", "authorization_code");
            let code = required(&params, "code", "code is missing")?;
            let redirect_uri = params.get("redirect_uri").map(String::as_str);
            grants.exchange_code(&client_id, code, redirect_uri).await?
        }
        "refresh_token" => {
            tracing::Span::current().record("grant_type", "refresh_token");
            // Notion also sends `redirect_uri` here; RFC 6749 §6 has no use for it.
            let refresh_token = required(&params, "refresh_token", "refresh_token is missing")
                .inspect_err(|_| state.metrics.count_refresh(RefreshOutcome::InvalidRequest))?;
            let refreshed = grants.refresh(refresh_token).await;
            state.metrics.count_refresh(refresh_outcome(&refreshed));
            refreshed?
        }
        _ => return Err(OAuthError::UnsupportedGrantType),
    };
    tracing::info!(outcome = "issued", "tokens issued");
    Ok(token_response(&issued))
}

fn refresh_outcome(refreshed: &Result<IssuedTokens, GrantError>) -> RefreshOutcome {
    match refreshed {
        Ok(_) => RefreshOutcome::Issued,
        Err(GrantError::Refused(refusal)) => match refusal {
            Refusal::ExpiredRefreshToken => RefreshOutcome::Expired,
            Refusal::RevokedRefreshToken | Refusal::ConnectionRevoked => RefreshOutcome::Revoked,
            Refusal::ReusedRefreshToken => RefreshOutcome::Reused,
            // The rest concern codes, which a refresh never meets.
            Refusal::UnknownRefreshToken
            | Refusal::UnknownCode
            | Refusal::ExpiredCode
            | Refusal::ReusedCode
            | Refusal::ClientMismatch
            | Refusal::RedirectMismatch => RefreshOutcome::Unknown,
        },
        Err(_) => RefreshOutcome::Unavailable,
    }
}

/// The token fields a revocation body may carry; other fields are ignored.
#[derive(serde::Deserialize)]
struct RevokeBody {
    access_token: Option<String>,
    token: Option<String>,
}

/// Notion's Deleted Token Callback. Its body is undocumented, so every place a token may
/// be is read, and the answer is `200 {}` whether or not anything was found: a caller
/// learns nothing about which tokens exist. Only a store failure is reported (503), so
/// that a caller that retries does not lose the revocation. A request carrying one of our
/// authentic access tokens is never rate-limited (Notion may remove many previews at
/// once, from few addresses); the limit is for the rest, whose lookups cost a query.
#[tracing::instrument(name = "oauth_revoke", skip_all)]
pub async fn revoke(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    limits: web::Data<Limits>,
) -> Result<HttpResponse, OAuthError> {
    let mut presented: Vec<String> = bearer_token(&req).map(str::to_owned).into_iter().collect();
    // A body that is absent, unreadable, too large or not the JSON we expect adds no
    // token; the header alone may still name one.
    if let Ok(Some(body)) = read_body(&req, payload, &state.settings).await
        && let Ok(fields) = serde_json::from_slice::<RevokeBody>(&body)
    {
        presented.extend(fields.access_token);
        presented.extend(fields.token);
    }
    presented.retain(|token| !token.trim().is_empty());
    presented.sort_unstable();
    presented.dedup();
    let authentic = presented
        .iter()
        .any(|token| state.signature.subject(token.trim()).is_some());
    if !authentic {
        limits
            .revoke
            .check(&req)
            .map_err(OAuthError::rate_limited)?;
    }

    if !presented.is_empty() {
        let signature = &state.signature;
        let grants = Grants::new(&state.connections, &state.tokens);
        for token in &presented {
            match grants.revoke(token.trim(), signature).await {
                Ok(Revocation::Revoked { .. }) => tracing::info!(outcome = "revoked", "revocation"),
                Ok(Revocation::NotOurs) => tracing::info!(outcome = "not_ours", "revocation"),
                Err(e) => {
                    tracing::error!(error = %e, "revocation failed");
                    return Err(OAuthError::Unavailable);
                }
            }
        }
    }
    Ok(oauth_response(StatusCode::OK).json(serde_json::json!({})))
}

pub async fn token_method_not_allowed() -> Result<HttpResponse, OAuthError> {
    Err(OAuthError::MethodNotAllowed { allow: "POST" })
}

pub async fn revoke_method_not_allowed() -> Result<HttpResponse, OAuthError> {
    Err(OAuthError::MethodNotAllowed { allow: "DELETE" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_empty_parameters() {
        assert!(matches!(
            parse_form(b"grant_type=a&grant_type=b"),
            Err(OAuthError::InvalidRequest(_))
        ));
        let params = parse_form(b"code=&grant_type=refresh_token").unwrap_or_default();
        assert_eq!(params.get("code"), None);
        assert_eq!(
            params.get("grant_type").map(String::as_str),
            Some("refresh_token")
        );
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(form_decode("a%2Bb+c%3A"), "a+b c:");
    }

    #[test]
    fn errors_are_rfc_6749_json_with_no_store() {
        let response = OAuthError::InvalidClient.error_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let headers = response.headers();
        assert_eq!(
            headers
                .get(header::CACHE_CONTROL)
                .map(HeaderValue::as_bytes),
            Some(&b"no-store"[..])
        );
        assert_eq!(
            headers.get(header::PRAGMA).map(HeaderValue::as_bytes),
            Some(&b"no-cache"[..])
        );
        assert_eq!(
            headers
                .get(header::WWW_AUTHENTICATE)
                .map(HeaderValue::as_bytes),
            Some(REALM.as_bytes())
        );
        let slow = OAuthError::RateLimited {
            retry_after: Duration::from_millis(1500),
        }
        .error_response();
        assert_eq!(
            slow.headers()
                .get(header::RETRY_AFTER)
                .map(HeaderValue::as_bytes),
            Some(&b"2"[..])
        );
    }
}
