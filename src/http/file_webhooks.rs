//! `POST /webhooks/{provider}`: a provider file's upstream tells us what changed
//! (docs/providers.md, "[webhook]").
//!
//! As for GitHub's webhook, nothing is trusted before the signature: the body is read
//! within the webhook read limits (slots per client address, a deadline, a size cap), its
//! HMAC-SHA256 under the file's secret is compared in constant time, and only then is the
//! JSON read. The links the file's `links` template names (only those its own patterns
//! accept) are queued for every subscriber through the durable outbox; 202 answers.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use notion_unfurl_declarative::webhook::Refusal;
use serde_json::json;

use crate::http::limits::Limits;
use crate::http::request::{BodyError, BodyLimit, read_limited};
use crate::live::files;
use crate::state::AppState;
use crate::store::Accepted;

/// Provider-file payloads are small documents; larger ones are refused unread.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

fn answer(status: StatusCode, error: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": error, "message": message }))
}

#[tracing::instrument(name = "file_webhook", skip_all, fields(provider, delivery))]
pub async fn receive(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
    limits: web::Data<Limits>,
) -> HttpResponse {
    let id = path.into_inner();
    tracing::Span::current().record("provider", id.as_str());
    let Some(provider) = state
        .unfurler
        .registry()
        .file(&id)
        .filter(|p| p.webhook().is_some())
    else {
        return answer(
            StatusCode::NOT_FOUND,
            "not_found",
            "no provider file with this id declares a webhook",
        );
    };
    let deadline = state.settings.webhook_read_timeout;
    let Some(_reading) = limits
        .webhook_reads
        .acquire(limits.client(&req), deadline / 3)
        .await
    else {
        tracing::warn!("webhook refused: too many bodies being read");
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the service is temporarily unavailable; please redeliver",
        );
    };
    let limit = BodyLimit {
        max_bytes: MAX_BODY_BYTES,
        within: deadline,
    };
    let body = match read_limited(&req, payload, limit).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is larger than 1 MiB",
            );
        }
        Err(BodyError::TooSlow) => {
            return answer(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the body was not sent in time",
            );
        }
        Err(BodyError::Unreadable) => {
            return answer(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the body could not be read",
            );
        }
    };
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned())
    };
    let delivery = match provider.receive(header, &body) {
        Ok(delivery) => delivery,
        Err(refusal @ Refusal::BadSignature) => {
            tracing::info!("webhook refused: signature missing or mismatched");
            return answer(
                StatusCode::UNAUTHORIZED,
                "invalid_signature",
                &refusal.to_string(),
            );
        }
        Err(refusal) => {
            tracing::info!(error = %refusal, "webhook refused");
            return answer(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &refusal.to_string(),
            );
        }
    };
    tracing::Span::current().record("delivery", delivery.id.as_str());
    let queued = files::queue(
        &state.store,
        &state.unfurler,
        &state.outbox,
        &id,
        &delivery.id,
        &delivery.links,
    )
    .await;
    match queued {
        Ok(Accepted::Duplicate) => HttpResponse::Ok().json(json!({ "status": "duplicate" })),
        Ok(Accepted::Queued { updates }) => {
            tracing::info!(updates, links = delivery.links.len(), "webhook accepted");
            HttpResponse::Accepted().json(json!({ "status": "queued", "updates": updates }))
        }
        Err(e) => {
            tracing::error!(error = %e, "could not record a webhook");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the service is temporarily unavailable; please redeliver",
            )
        }
    }
}
