//! `POST /unfurl` and `DELETE /unfurl`: Notion's unfurl callback (protocol.md §2).
//!
//! Authentication comes first, from the `Authorization` header only; the body is read
//! (bounded) only for an authenticated caller, and no provider ever runs for a bad token
//! or a malformed body.

use std::borrow::Cow;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::http::error_json::ErrorJson;
use crate::http::request::{BodyError, BodyLimit, bearer_token, read_limited};
use crate::oauth::access;
use crate::oauth::connections::ActiveConnection;
use crate::platform::metrics::UnfurlOutcome;
use crate::state::AppState;
use crate::unfurl::body::{UriError, validate_uri};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Everything `/unfurl` answers with an HTTP error status. The provider-level failures are
/// not here: they are `200` with an `error` operation (crate::unfurl).
#[derive(Debug, thiserror::Error)]
pub enum UnfurlHttpError {
    #[error("missing or invalid access token")]
    InvalidToken,
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("the request body was not sent in time")]
    TooSlow,
    #[error("only POST and DELETE are allowed here")]
    MethodNotAllowed,
    #[error("the service is temporarily unavailable; please retry")]
    Unavailable,
}

impl ResponseError for UnfurlHttpError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooSlow => StatusCode::REQUEST_TIMEOUT,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = match self {
            Self::InvalidToken => "invalid_token",
            Self::BadRequest(_) => "invalid_request",
            Self::TooLarge => "payload_too_large",
            Self::TooSlow => "request_timeout",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Unavailable => "temporarily_unavailable",
        };
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::InvalidToken => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#),
                ));
            }
            Self::MethodNotAllowed => {
                response.insert_header((header::ALLOW, HeaderValue::from_static("POST, DELETE")));
            }
            _ => {}
        }
        response.json(ErrorJson {
            error: code,
            message: self.to_string(),
        })
    }
}

/// The active connection the bearer token acts for. A token whose connection was revoked
/// is refused like any invalid token.
async fn authenticate(
    req: &HttpRequest,
    state: &AppState,
) -> Result<Arc<ActiveConnection>, UnfurlHttpError> {
    let Some(token) = bearer_token(req) else {
        tracing::debug!(reason = "missing", "access token refused");
        return Err(UnfurlHttpError::InvalidToken);
    };
    access::check(&state.tokens, &state.connections, token)
        .await
        .map_err(|e| match e.reason() {
            // Debug: Notion retries a refused token, and each try would repeat the line.
            Some(reason) => {
                tracing::debug!(reason, "access token refused");
                UnfurlHttpError::InvalidToken
            }
            None => {
                tracing::error!(error = %e, "the access check failed");
                UnfurlHttpError::Unavailable
            }
        })
}

async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<Vec<u8>, UnfurlHttpError> {
    let limit = BodyLimit {
        max_bytes: MAX_BODY_BYTES,
        within: state.settings.body_read_timeout,
    };
    read_limited(req, payload, limit)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => UnfurlHttpError::TooLarge,
            BodyError::TooSlow => UnfurlHttpError::TooSlow,
            BodyError::Unreadable => {
                UnfurlHttpError::BadRequest("the body could not be read".into())
            }
        })
}

/// The `uri` field of a `{"uri": ...}` body, as sent.
fn uri_of(body: &[u8]) -> Result<Cow<'_, str>, UnfurlHttpError> {
    // serde reads a struct from a JSON array too (`["https://…"]`): only an object is a
    // request.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(UnfurlHttpError::BadRequest(
            "the body must be a JSON object like {\"uri\": \"https://…\"}".into(),
        ));
    }
    // The usual body borrows its string straight from the request bytes; anything else is
    // parsed again, loosely, only to say what is wrong with it.
    #[derive(serde::Deserialize)]
    struct Usual<'a> {
        #[serde(borrow)]
        uri: Cow<'a, str>,
    }
    if let Ok(usual) = serde_json::from_slice::<Usual<'_>>(body) {
        return Ok(usual.uri);
    }
    let shape = || "the body must be a JSON object like {\"uri\": \"https://…\"}".to_owned();
    let parsed: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| UnfurlHttpError::BadRequest(shape()))?;
    Err(UnfurlHttpError::BadRequest(match parsed.get("uri") {
        None => "uri is missing".to_owned(),
        // A string the strict read refused: `uri` given twice, say.
        Some(serde_json::Value::String(_)) => shape(),
        Some(_) => "uri must be a string".to_owned(),
    }))
}

fn checked_uri(body: &[u8]) -> Result<(String, url::Url), UnfurlHttpError> {
    let uri = uri_of(body)?;
    let url =
        validate_uri(&uri).map_err(|e: UriError| UnfurlHttpError::BadRequest(e.to_string()))?;
    Ok((uri.into_owned(), url))
}

#[tracing::instrument(name = "unfurl", skip_all)]
pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, UnfurlHttpError> {
    // Borrowed, not extracted: extracting clones the shared `Arc`, whose count every
    // worker thread would then update on every request.
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        tracing::error!("the application state is missing");
        return Err(UnfurlHttpError::Unavailable);
    };
    let result = unfurl(&req, payload, state).await;
    state.metrics.count_unfurl(match &result {
        Ok((_, true)) => UnfurlOutcome::Preview,
        Ok((_, false)) => UnfurlOutcome::ErrorOperation,
        Err(UnfurlHttpError::InvalidToken) => UnfurlOutcome::Unauthorized,
        Err(_) => UnfurlOutcome::Invalid,
    });
    result.map(|(response, _)| response)
}

/// The answer, and whether it holds attributes (not only an `error` operation).
async fn unfurl(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<(HttpResponse, bool), UnfurlHttpError> {
    let connection = authenticate(req, state).await?;
    let body = read_body(req, payload, state).await?;
    let link = state
        .unfurler
        .link(&uri_of(&body)?)
        .map_err(|e: UriError| UnfurlHttpError::BadRequest(e.to_string()))?;
    let entry = state
        .unfurler
        .unfurl_link(&link, Some(&connection.requester))
        .await;
    if entry.is_preview()
        && let Err(e) = state
            .connections
            .subscribe(&connection, &link.uri, || {
                state.unfurler.canonical_uri(&link.url)
            })
            .await
    {
        // The preview itself is fine; only later updates of it would be missed.
        tracing::warn!(error = %e, "could not record the subscription");
    }
    let response = HttpResponse::Ok()
        .content_type("application/json")
        .body(entry.body.clone());
    Ok((response, entry.is_preview()))
}

/// Notion removed every preview of a URL: stop pushing updates for it. Idempotent.
#[tracing::instrument(name = "unfurl_delete", skip_all)]
pub async fn delete(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UnfurlHttpError> {
    let connection = authenticate(&req, &state).await?;
    let body = read_body(&req, payload, &state).await?;
    let (uri, _) = checked_uri(&body)?;
    state
        .connections
        .unsubscribe(&connection, &uri)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "could not remove the subscription");
            UnfurlHttpError::Unavailable
        })?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn method_not_allowed() -> Result<HttpResponse, UnfurlHttpError> {
    Err(UnfurlHttpError::MethodNotAllowed)
}
