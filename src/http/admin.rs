//! `POST /admin/cache/purge`: the operator's endpoint for what `notion-unfurl cache purge`
//! does from a shell (one service, [`crate::live::purge`]), for operators who have none.
//!
//! Who may call it (security.md, "Operator pages"):
//! - with `UNFURL_ADMIN_TOKEN` set, whoever presents it as `Authorization: Bearer …`, on
//!   any listener; it is compared in constant time and read from that header only, never
//!   from the URL, and never logged;
//! - without it, only callers of a loopback listener, and of those only requests that
//!   carry no forwarding header: a reverse proxy on the same machine would otherwise turn
//!   the whole internet into loopback callers;
//! - otherwise nobody: `404`, as if the route did not exist, with a sentence saying how
//!   to turn it on.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::http::error_json::ErrorJson;
use crate::http::request::{BodyError, BodyLimit, bearer_token, forwarded, read_limited};
use crate::live::purge::{PurgeError, purge};
use crate::platform::config::Settings;
use crate::platform::crypto::same_secret;
use crate::state::AppState;

/// Largest request body accepted: one link and its JSON.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Everything the admin endpoints answer with an error status.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("missing or wrong admin token")]
    Unauthorized,
    #[error(
        "the admin endpoints are off: set UNFURL_ADMIN_TOKEN to use them other than from the server's own machine"
    )]
    Off,
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("the body was not sent in time")]
    TooSlow,
    #[error("only POST is allowed here")]
    MethodNotAllowed,
    #[error("the service is temporarily unavailable; please retry")]
    Unavailable,
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Off => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooSlow => StatusCode::REQUEST_TIMEOUT,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = match self {
            Self::Unauthorized => "invalid_token",
            Self::Off => "not_found",
            Self::BadRequest(_) => "invalid_request",
            Self::TooLarge => "payload_too_large",
            Self::TooSlow => "request_timeout",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Unavailable => "temporarily_unavailable",
        };
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        match self {
            Self::Unauthorized => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer realm="admin", error="invalid_token""#),
                ));
            }
            Self::MethodNotAllowed => {
                response.insert_header((header::ALLOW, HeaderValue::from_static("POST")));
            }
            _ => {}
        }
        response.json(ErrorJson {
            error: code,
            message: self.to_string(),
        })
    }
}

/// Whether `req` may use the admin endpoints under `settings` (see the module's list).
fn authorize(req: &HttpRequest, settings: &Settings) -> Result<(), AdminError> {
    if let Some(expected) = &settings.admin_token {
        let presented = bearer_token(req);
        let same: bool = same_secret(presented.unwrap_or_default(), expected.expose()).into();
        if presented.is_some() && same {
            return Ok(());
        }
        tracing::info!(
            reason = if presented.is_some() {
                "wrong"
            } else {
                "missing"
            },
            "admin token refused"
        );
        return Err(AdminError::Unauthorized);
    }
    if !settings.listen.ip().is_loopback() {
        tracing::info!("admin request refused: no UNFURL_ADMIN_TOKEN and not on loopback");
        return Err(AdminError::Off);
    }
    if forwarded(req, settings) {
        tracing::info!("admin request refused: no UNFURL_ADMIN_TOKEN and forwarded by a proxy");
        return Err(AdminError::Off);
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct PurgeRequest {
    uri: String,
}

/// Drop every cached preview of the link `{"uri": …}` on every instance; answers
/// `{"purged": [every form of the link dropped]}`.
#[tracing::instrument(name = "admin_cache_purge", skip_all)]
pub async fn cache_purge(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    authorize(&req, &state.settings)?;
    let limit = BodyLimit {
        max_bytes: MAX_BODY_BYTES,
        within: state.settings.body_read_timeout,
    };
    let body = read_limited(&req, payload, limit)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => AdminError::TooLarge,
            BodyError::TooSlow => AdminError::TooSlow,
            BodyError::Unreadable => AdminError::BadRequest("the body could not be read".into()),
        })?;
    let request: PurgeRequest = match body.trim_ascii_start().first() {
        Some(b'{') => serde_json::from_slice(&body).ok(),
        _ => None,
    }
    .ok_or_else(|| {
        AdminError::BadRequest(
            "the body must be a JSON object like {\"uri\": \"https://…\"}".into(),
        )
    })?;
    let purged = purge(&state.store, &state.unfurler, &request.uri)
        .await
        .map_err(|e| match e {
            PurgeError::Uri(e) => AdminError::BadRequest(e.to_string()),
            PurgeError::Store(e) => {
                tracing::error!(error = %e, "could not record a purge");
                AdminError::Unavailable
            }
        })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(serde_json::json!({ "purged": purged.links })))
}

pub async fn method_not_allowed() -> Result<HttpResponse, AdminError> {
    Err(AdminError::MethodNotAllowed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        Settings::from_vars(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    const TOKEN: &str = "an-admin-token-long-enough";

    #[test]
    fn without_a_token_only_unforwarded_loopback_requests_pass() {
        let loopback = settings(&[("UNFURL_LISTEN", "127.0.0.1:8080")]);
        assert!(authorize(&TestRequest::default().to_http_request(), &loopback).is_ok());
        for header in ["Forwarded", "X-Forwarded-For", "X-Real-IP"] {
            let proxied = TestRequest::default()
                .insert_header((header, "203.0.113.7"))
                .to_http_request();
            assert!(
                matches!(authorize(&proxied, &loopback), Err(AdminError::Off)),
                "{header}"
            );
        }
        let behind_fly = settings(&[
            ("UNFURL_LISTEN", "[::1]:8080"),
            ("UNFURL_CLIENT_IP_HEADER", "Fly-Client-IP"),
        ]);
        let proxied = TestRequest::default()
            .insert_header(("Fly-Client-IP", "203.0.113.7"))
            .to_http_request();
        assert!(matches!(
            authorize(&proxied, &behind_fly),
            Err(AdminError::Off)
        ));

        let public = settings(&[("UNFURL_LISTEN", "0.0.0.0:8080")]);
        let plain = TestRequest::default().to_http_request();
        assert!(matches!(authorize(&plain, &public), Err(AdminError::Off)));
    }

    #[test]
    fn with_a_token_every_request_must_present_it() {
        for listen in ["127.0.0.1:8080", "0.0.0.0:8080"] {
            let with_token = settings(&[("UNFURL_LISTEN", listen), ("UNFURL_ADMIN_TOKEN", TOKEN)]);
            let bearer = |token: &str| {
                TestRequest::default()
                    .insert_header(("Authorization", format!("Bearer {token}")))
                    .to_http_request()
            };
            assert!(authorize(&bearer(TOKEN), &with_token).is_ok(), "{listen}");
            for refused in [
                TestRequest::default().to_http_request(),
                bearer("an-admin-token-long-enougH"),
                bearer(&format!("{TOKEN}x")),
            ] {
                assert!(matches!(
                    authorize(&refused, &with_token),
                    Err(AdminError::Unauthorized)
                ));
            }
        }
    }
}
