//! The HTTP surface, and only that: each handler parses its request, calls one service,
//! and renders one error type.
//!
//! May import: `state` and everything below it; never `startup`.
//!
//! # Errors
//!
//! Each surface has one error type implementing actix's `ResponseError`, which maps every
//! variant to its status, headers and body once. Handlers return `Result<_, ThatType>` and
//! never write an error status or body themselves.
//!
//! - [`unfurl::UnfurlHttpError`] (`/unfurl`): JSON `{error, message}`; 400, 401 (with
//!   `WWW-Authenticate: Bearer`), 405 (with `Allow`), 408, 413, 503. A provider failure is not
//!   an HTTP error: `200` with Notion's `error` operation
//!   (`crate::unfurl::body::error_operation`).
//! - [`oauth_token::OAuthError`] (`/oauth/token`, `/oauth/revoke`): RFC 6749 §5.2 JSON
//!   `{error, error_description}` with `Cache-Control: no-store` and `Pragma: no-cache`;
//!   400, 401 (with `WWW-Authenticate: Basic`), 405 (with `Allow`), 408, 429 (with
//!   `Retry-After`), 503.
//! - [`webhooks::WebhookError`] (`/webhooks/github`): JSON `{error, message}`; 400, 401,
//!   408, 413, 503.
//! - [`metrics::MetricsError`] (`/metrics`): plain text; 401 (with
//!   `WWW-Authenticate: Bearer`) without the metrics token, 404 on a listener that does not
//!   serve metrics.
//! - [`admin::AdminError`] (`/admin/*`): JSON `{error, message}`, `no-store`; 400, 401
//!   (with `WWW-Authenticate: Bearer`), 404 (off: no token and not on loopback), 405 (with
//!   `Allow`), 413, 503.
//! - [`lab::LabError`] (`/lab`, `/lab/save`, `/lab/login`): the token form (HTML) with 401 when
//!   `UNFURL_LAB_TOKEN` is set and not presented; plain text otherwise: 404 (off: no token
//!   and not on loopback), 405 (with `Allow`), 408, 413. Bad input (a link that cannot be
//!   previewed, JSON that cannot be read) is a lab page with a sentence and status 400.
//! - [`pages::PageError`] (`/oauth/authorize`, `/oauth/github/callback`, `/oauth/services`,
//!   `/oauth/services/{id}/callback`): an HTML page in
//!   the [`pages`] shell (no-store, never framed, no referrer) with one sentence the user
//!   can act on; 400, 403, 404, 408, 413, 415, 429 (with `Retry-After`), 500, 502, 503.
//!   Redirects back to Notion (`error=invalid_request` / `access_denied`, with `state`)
//!   are answers, not error pages.
//!
//! The probes answer for themselves: `/readyz` says `503 {"status":"unavailable"}`; a
//! method other than GET or HEAD gets actix's own `405` with `Allow`.
//!
//! Before any of them, [`bodies::BodyRefusal`] answers a request whose client address is
//! already sending too many bodies: JSON `{error, message}`, 429 (with `Retry-After`).
//!
//! What is logged:
//! - A cause (store, Notion, GitHub, signing) is logged once with `error = %e`, never put
//!   in a body: 5xx bodies say nothing internal. `PageError`
//!   logs in its `error_response`, adding the whole `source()` chain (`chain`); the JSON
//!   types log where the cause is converted (`map_err`, `From<GrantError>`).
//! - A 4xx refusal is logged where it is decided, at info (warn for misconfiguration),
//!   saying why.
//! - Never a token, code, client secret, CSRF token or `state`.
//! - Around all of them, the request span records the status and tracing-actix-web logs
//!   each error response's `Debug` (which, for `PageError`, leaves the cause out).

pub mod admin;
pub mod bodies;
pub mod error_json;
#[cfg(feature = "declarative")]
pub mod file_webhooks;
pub mod head_deadline;
pub mod health;
pub mod lab;
pub mod limits;
pub mod metrics;
pub mod oauth_authorize;
pub mod oauth_services;
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
    .route("/oauth/services", web::post().to(oauth_services::decide))
    .route(
        "/oauth/services/{service}/callback",
        web::get().to(oauth_services::callback),
    )
    // Probes answer HEAD like GET (actix sends the headers and drops the body): load
    // balancers and `curl -I` probe that way. Any other method gets actix's 405 with `Allow`.
    .service(
        web::resource("/healthz")
            .route(web::get().to(health::healthz))
            .route(web::head().to(health::healthz)),
    )
    .service(
        web::resource("/readyz")
            .route(web::get().to(health::readyz))
            .route(web::head().to(health::readyz)),
    )
    // Who may read it depends on the listener: see `metrics::MetricsAccess`.
    .route("/metrics", web::get().to(metrics::scrape))
    .service(
        web::resource("/admin/cache/purge")
            .route(web::post().to(admin::cache_purge))
            .default_service(web::to(admin::method_not_allowed)),
    )
    // Who may open it depends on the listener and `UNFURL_LAB_TOKEN`: see `lab::gate`.
    .service(
        web::resource("/lab")
            .route(web::get().to(lab::show))
            .route(web::post().to(lab::render_json))
            .default_service(web::to(lab::method_not_allowed)),
    )
    .service(
        web::resource("/lab/save")
            .route(web::get().to(lab::save_test))
            .default_service(web::to(lab::method_not_allowed)),
    )
    .service(
        web::resource("/lab/login")
            .route(web::post().to(lab::login))
            .default_service(web::to(lab::method_not_allowed)),
    );
    // The only route with a large body limit (GitHub's 25 MB), enforced while reading.
    // Without the GitHub crate nothing could read the events, so the route is left out.
    #[cfg(feature = "github")]
    cfg.service(
        web::resource("/webhooks/github")
            .wrap(actix_web::middleware::from_fn(webhooks::count))
            .route(web::post().to(webhooks::github)),
    );
    // Provider files' webhooks; `github` above is matched first (registered first).
    #[cfg(feature = "declarative")]
    cfg.service(
        web::resource("/webhooks/{provider}").route(web::post().to(file_webhooks::receive)),
    );
}
