//! The HTTP surface, and only that: each handler parses its request, calls one service,
//! and renders one error type.
//!
//! May import: `state` and everything below it; never `startup`.

pub mod error_json;
pub mod health;
pub mod limits;
pub mod oauth_authorize;
pub mod oauth_token;
pub mod pages;
pub mod request;
pub mod unfurl;
#[cfg(feature = "github")]
pub mod webhooks;

use actix_web::web;

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
