//! Liveness and readiness probes, and metrics.

use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// The process is up and serving.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ok"}"#)
}

/// Ready for traffic: the database answers.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.store.ping().await {
        Ok(()) => healthz().await,
        Err(e) => {
            tracing::error!(error = %e, "database unreachable");
            HttpResponse::ServiceUnavailable()
                .content_type("application/json")
                .body(r#"{"status":"unavailable"}"#)
        }
    }
}

/// Prometheus / OpenMetrics text.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let cache = state.unfurler.cache();
    cache.run_pending_tasks().await;
    let pending = match state.store.outbox_len().await {
        Ok(pending) => Some(pending),
        Err(e) => {
            tracing::warn!(error = %e, "could not count the outbox");
            None
        }
    };
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render(cache.entry_count(), pending))
}
