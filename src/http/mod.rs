//! HTTP routes, one module per route group.

pub mod health;
pub mod oauth_authorize;
pub mod oauth_token;
pub mod pages;
pub mod unfurl;
#[cfg(feature = "github")]
pub mod webhooks;

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;

/// The token of an `Authorization: Bearer …` header (scheme case-insensitive). Tokens are
/// read from this header only, never from the query string.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    // Bytes rather than `HeaderValue::to_str`, which checks a JWT's few hundred characters
    // one at a time on every request; a token that is not UTF-8 is refused just the same.
    let value = req.headers().get(header::AUTHORIZATION)?.as_bytes();
    let value = value.trim_ascii();
    let space = value.iter().position(|b| *b == b' ')?;
    let (scheme, token) = value.split_at(space);
    let token = token.trim_ascii();
    if !scheme.eq_ignore_ascii_case(b"bearer") || token.is_empty() {
        return None;
    }
    std::str::from_utf8(token).ok()
}

/// Why a request body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Declared or found to be over the limit (reading stops there).
    TooLarge,
    /// The connection failed while the body was read.
    Unreadable,
}

/// The request body, read as a stream and refused as soon as it passes `limit` bytes.
pub async fn read_limited(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    // Reserve for what is declared only up to a small bound: an unauthenticated caller
    // must send the bytes before it can make us hold them.
    let mut body = Vec::with_capacity(declared.unwrap_or(256).min(limit).min(64 * 1024));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Every route of the server.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/unfurl")
            .route(web::post().to(unfurl::post))
            .route(web::delete().to(unfurl::delete))
            .default_service(web::to(unfurl::method_not_allowed)),
    )
    .service(
        web::resource("/oauth/authorize")
            .route(web::get().to(oauth_authorize::authorize))
            .route(web::post().to(oauth_authorize::decide)),
    )
    .service(
        web::resource("/oauth/token")
            .route(web::post().to(oauth_token::token))
            .default_service(web::to(oauth_token::token_method_not_allowed)),
    )
    .service(
        web::resource("/oauth/revoke")
            .route(web::delete().to(oauth_token::revoke))
            .default_service(web::to(oauth_token::revoke_method_not_allowed)),
    )
    .route(
        "/oauth/github/callback",
        web::get().to(oauth_authorize::github_callback),
    )
    .route("/healthz", web::get().to(health::healthz))
    .route("/readyz", web::get().to(health::readyz))
    .route("/metrics", web::get().to(health::metrics));
    // The only route with a large body limit (GitHub's 25 MB), enforced while reading.
    // Without the GitHub crate nothing could read the events, so the route is left out.
    #[cfg(feature = "github")]
    cfg.service(web::resource("/webhooks/github").route(web::post().to(webhooks::github)));
}
