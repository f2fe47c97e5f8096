//! `POST /webhooks/github`: GitHub tells us something a preview shows changed (issue 4,
//! "Live updates", and issue 10 for issues, runs, releases, pushes and repositories;
//! security.md "Webhooks").
//!
//! Nothing about the request is trusted before its signature: the raw body is read (up to
//! GitHub's 25 MB cap), its HMAC-SHA256 under `UNFURL_GITHUB_WEBHOOK_SECRET` is compared in
//! constant time with `X-Hub-Signature-256`, and only then are the headers and the JSON
//! looked at. A verified event goes to `crate::live::webhooks`, which records it (delivery
//! id and one outbox row per subscription, one transaction); it is acknowledged with 202
//! and the outbox worker (`crate::live::outbox`) re-reads the links and pushes them to
//! Notion. A build without the `github` feature has no such route (404): nothing in it
//! could read the events.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use hmac::{Hmac, Mac};
use notion_unfurl_github::webhook::Event;
use serde::Serialize;
use sha2::Sha256;

use crate::http::error_json::ErrorJson;
use crate::http::limits::Limits;
use crate::http::request::{BodyError, BodyLimit, read_limited};
use crate::live::webhooks::{ReceiveError, Received};
use crate::platform::metrics::{Label, WebhookResult};
use crate::state::AppState;

/// GitHub caps webhook payloads at 25 MB; larger ones are never sent.
pub const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

/// Everything `/webhooks/github` answers with an HTTP error status.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhooks are not enabled on this server (UNFURL_GITHUB_WEBHOOK_SECRET is unset)")]
    NotConfigured,
    #[error("the X-Hub-Signature-256 signature is missing or does not match")]
    BadSignature,
    #[error("the request body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("the body was not sent in time")]
    TooSlow,
    #[error("{0}")]
    BadRequest(&'static str),
    #[error("the service is temporarily unavailable; please redeliver")]
    Unavailable,
}

impl ResponseError for WebhookError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotConfigured | Self::BadSignature => StatusCode::UNAUTHORIZED,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooSlow => StatusCode::REQUEST_TIMEOUT,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = match self {
            Self::NotConfigured | Self::BadSignature => "invalid_signature",
            Self::TooLarge => "payload_too_large",
            Self::TooSlow => "request_timeout",
            Self::BadRequest(_) => "invalid_request",
            Self::Unavailable => "temporarily_unavailable",
        };
        let mut response = HttpResponse::build(self.status_code()).json(ErrorJson {
            error: code,
            message: self.to_string(),
        });
        response.extensions_mut().insert(self.result());
        response
    }
}

impl WebhookError {
    fn result(&self) -> WebhookResult {
        match self {
            Self::NotConfigured => WebhookResult::NotConfigured,
            Self::BadSignature => WebhookResult::RefusedSignature,
            Self::TooLarge => WebhookResult::TooLarge,
            Self::TooSlow => WebhookResult::TooSlow,
            Self::BadRequest(_) => WebhookResult::Invalid,
            Self::Unavailable => WebhookResult::Unavailable,
        }
    }
}

/// Counts each delivery by what it came to (`notion_unfurl_webhook_deliveries_total`),
/// read from the [`WebhookResult`] its answer carries; wraps the route.
pub async fn count(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let response = next.call(req).await?;
    let result = response
        .response()
        .extensions()
        .get::<WebhookResult>()
        .copied();
    if let (Some(state), Some(result)) = (state, result) {
        state.metrics.count_webhook(result);
    }
    Ok(response)
}

/// What a 2xx answer says happened.
#[derive(Serialize)]
struct Ack {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    updates: Option<u64>,
}

/// The answer, tagged for [`count`]: its `status` word is also the result's label value.
fn ack(status: StatusCode, what: &'static str, updates: Option<u64>) -> HttpResponse {
    let mut response = HttpResponse::build(status).json(Ack {
        status: what,
        updates,
    });
    if let Some(result) = WebhookResult::ALL.iter().find(|r| r.label() == what) {
        response.extensions_mut().insert(*result);
    }
    response
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get(name)?
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret`.
pub fn signature_matches(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Some(expected) = signature
        .strip_prefix("sha256=")
        .and_then(|hex| hex::decode(hex).ok())
    else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

#[tracing::instrument(name = "github_webhook", skip_all, fields(event, delivery))]
pub async fn github(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    limits: web::Data<Limits>,
) -> Result<HttpResponse, WebhookError> {
    let Some(secret) = state.settings.github_webhook_secret.as_ref() else {
        tracing::warn!("webhook refused: UNFURL_GITHUB_WEBHOOK_SECRET is not set");
        return Err(WebhookError::NotConfigured);
    };
    let signature = header(&req, "x-hub-signature-256").ok_or_else(|| {
        tracing::info!("webhook refused: no signature");
        WebhookError::BadSignature
    })?;
    // Bodies are read before they can be verified; bounding how many are read at once, and
    // for how long, bounds what an unauthenticated sender can make us hold. The slots are
    // shared fairly among client addresses, so stalled senders from one address cannot keep
    // GitHub's deliveries (which GitHub does not retry) out.
    // A delivery waits up to a third of the read deadline for a slot, then its body gets the
    // whole deadline (`UNFURL_WEBHOOK_READ_TIMEOUT_SECS`).
    let deadline = state.settings.webhook_read_timeout;
    let address = limits.client(&req);
    let Some(_reading) = limits.webhook_reads.acquire(address, deadline / 3).await else {
        tracing::warn!("webhook refused: too many bodies being read");
        return Err(WebhookError::Unavailable);
    };
    let limit = BodyLimit {
        max_bytes: MAX_BODY_BYTES,
        within: deadline,
    };
    let body = read_limited(&req, payload, limit)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => WebhookError::TooLarge,
            BodyError::TooSlow => WebhookError::TooSlow,
            BodyError::Unreadable => WebhookError::BadRequest("the body could not be read"),
        })?;
    if !signature_matches(secret.expose().as_bytes(), &body, signature) {
        tracing::info!("webhook refused: signature mismatch");
        return Err(WebhookError::BadSignature);
    }

    let name = header(&req, "x-github-event").unwrap_or_default();
    let span = tracing::Span::current();
    span.record("event", name);
    let Some(event) = Event::from_header(name) else {
        return Ok(ack(StatusCode::ACCEPTED, "ignored", None));
    };
    if event == Event::Ping {
        return Ok(ack(StatusCode::OK, "pong", None));
    }
    let delivery = header(&req, "x-github-delivery")
        .filter(|id| id.len() <= 128)
        .ok_or(WebhookError::BadRequest(
            "X-GitHub-Delivery is missing or too long",
        ))?;
    span.record("delivery", delivery);

    match state.webhooks.receive(event, delivery, &body).await {
        Ok(Received::Ignored) => Ok(ack(StatusCode::ACCEPTED, "ignored", None)),
        Ok(Received::Duplicate) => {
            tracing::info!("duplicate webhook delivery ignored");
            Ok(ack(StatusCode::OK, "duplicate", None))
        }
        Ok(Received::Queued { updates }) => {
            tracing::info!(updates, "webhook accepted");
            Ok(ack(StatusCode::ACCEPTED, "queued", Some(updates)))
        }
        Err(ReceiveError::Payload) => Err(WebhookError::BadRequest(
            "the body is not a GitHub event payload",
        )),
        Err(e @ ReceiveError::Store(_)) => {
            tracing::error!(error = %e, "could not record a webhook");
            Err(WebhookError::Unavailable)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|e| panic!("{e}"));
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn only_the_exact_signature_is_accepted() {
        let body = br#"{"zen":"Keep it logically awesome."}"#;
        let good = sign(b"s3cret", body);
        assert!(signature_matches(b"s3cret", body, &good));
        assert!(!signature_matches(b"other", body, &good));
        assert!(!signature_matches(b"s3cret", b"{}", &good));
        assert!(!signature_matches(
            b"s3cret",
            body,
            good.trim_start_matches("sha256=")
        ));
        assert!(!signature_matches(
            b"s3cret",
            body,
            &good.replace("sha256=", "sha1=")
        ));
        assert!(!signature_matches(b"s3cret", body, "sha256=zz"));
        assert!(!signature_matches(b"s3cret", body, &good[..good.len() - 2]));
    }
}
