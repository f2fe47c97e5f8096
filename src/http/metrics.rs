//! `GET /metrics`, who may read it, and the middleware that counts every request.
//!
//! Who may read it is decided per listener, once, from the settings
//! (`Settings::metrics_exposure`): [`MetricsAccess`] is each listener's answer, handed to
//! its app as app data. A token is compared in constant time over its SHA-256, so neither
//! its content nor its length shows in the timing, and it is never logged. A listener
//! given no [`MetricsAccess`] serves no metrics.
//!
//! [`Measure`] counts each request and its latency by route pattern (never the raw path,
//! which would make one series per path a client cares to send) and status class. It runs
//! on every request, the cached `/unfurl` included, so it allocates nothing: the route is
//! found by comparing the path with [`ROUTES`], and the series are handles resolved once
//! ([`RequestMetrics`]); only a route missing from the table costs a lookup by pattern.

use std::future::{Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{Error, HttpRequest, HttpResponse, ResponseError, web};
use notion_unfurl_sdk::Secret;

use crate::http::request::bearer_token;
use crate::platform::crypto::same_secret;
use crate::platform::metrics::{OutboxGauges, RequestMetrics, Route, Scrape};
use crate::state::AppState;

/// Every route pattern `crate::http::routes` registers: these start at zero in
/// `notion_unfurl_http_requests_total`. A route added there but not here is still counted,
/// under its pattern, from its first request.
pub const ROUTES: &[&str] = &[
    "/unfurl",
    "/oauth/token",
    "/oauth/revoke",
    "/oauth/authorize",
    "/oauth/github/callback",
    "/webhooks/github",
    "/healthz",
    "/readyz",
    "/metrics",
    "/admin/cache/purge",
    "/lab",
    "/lab/login",
];

/// Who may read `/metrics` on one listener.
#[derive(Clone)]
pub enum MetricsAccess {
    /// Anyone who reaches the listener.
    Open,
    /// Only a request with `Authorization: Bearer <token>`.
    Token(Secret),
    /// Nobody: `404`, as if the route did not exist.
    Closed,
}

/// Why `/metrics` was not served.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("metrics need the bearer token set in UNFURL_METRICS_TOKEN")]
    Unauthorized,
    #[error("not found")]
    NotServedHere,
}

impl ResponseError for MetricsError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotServedHere => StatusCode::NOT_FOUND,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Self::Unauthorized = self {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="metrics""#),
            ));
        }
        response
            .content_type("text/plain; charset=utf-8")
            .body(self.to_string())
    }
}

fn admitted(req: &HttpRequest) -> Result<(), MetricsError> {
    match req.app_data::<MetricsAccess>() {
        Some(MetricsAccess::Open) => Ok(()),
        Some(MetricsAccess::Token(expected)) => {
            let presented = bearer_token(req).unwrap_or_default();
            if bool::from(same_secret(presented, expected.expose())) {
                Ok(())
            } else {
                tracing::info!("metrics refused: missing or wrong token");
                Err(MetricsError::Unauthorized)
            }
        }
        Some(MetricsAccess::Closed) | None => Err(MetricsError::NotServedHere),
    }
}

/// Prometheus / OpenMetrics text; the cache and outbox gauges are read now.
pub async fn scrape(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, MetricsError> {
    admitted(&req)?;
    let cache = state.unfurler.cache();
    cache.run_pending_tasks().await;
    let outbox = match state.store.outbox_stats().await {
        Ok(stats) => Some(OutboxGauges {
            pending: stats.pending,
            oldest_age: stats
                .oldest_queued_at
                .map(|queued| {
                    let age = crate::platform::clock::unix_secs().saturating_sub(queued);
                    std::time::Duration::from_secs(age.max(0).unsigned_abs())
                })
                .unwrap_or_default(),
        }),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the outbox for the metrics");
            None
        }
    };
    let text = state.metrics.render(&Scrape {
        cache_entries: cache.entry_count(),
        cache_bytes: cache.weighted_size(),
        outbox,
    });
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(text))
}

/// Counts every request of the app it wraps (see the module docs). Made once per worker.
pub struct Measure {
    metrics: Rc<RequestMetrics>,
}

impl Measure {
    pub fn new(metrics: RequestMetrics) -> Self {
        Self {
            metrics: Rc::new(metrics),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for Measure
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = MeasureService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(MeasureService {
            service,
            metrics: self.metrics.clone(),
        }))
    }
}

pub struct MeasureService<S> {
    service: S,
    metrics: Rc<RequestMetrics>,
}

impl<S, B> Service<ServiceRequest> for MeasureService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = Measured<S::Future>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let started = Instant::now();
        let route = self.metrics.known(req.path());
        Measured {
            inner: self.service.call(req),
            started,
            route,
            metrics: self.metrics.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// A request being answered; counted when its response (head) is ready. A body
    /// streamed after that is not waited for: ours are small and sent at once.
    pub struct Measured<F> {
        #[pin]
        inner: F,
        started: Instant,
        route: Option<usize>,
        metrics: Rc<RequestMetrics>,
    }
}

impl<F, B> Future for Measured<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        let known = *this.route;
        let (status, route) = match &result {
            Ok(response) => (
                response.status(),
                match known {
                    Some(at) => Route::Known(at),
                    None => response
                        .request()
                        .match_pattern()
                        .map_or(Route::Unmatched, Route::Pattern),
                },
            ),
            Err(error) => (
                error.as_response_error().status_code(),
                known.map_or(Route::Unmatched, Route::Known),
            ),
        };
        this.metrics
            .observe(route, status.as_u16(), this.started.elapsed());
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn request(access: Option<MetricsAccess>, authorization: Option<&str>) -> HttpRequest {
        let mut request = TestRequest::get().uri("/metrics");
        if let Some(access) = access {
            request = request.app_data(access);
        }
        if let Some(value) = authorization {
            request = request.insert_header((header::AUTHORIZATION, value));
        }
        request.to_http_request()
    }

    #[test]
    fn the_token_is_required_exactly_and_a_listener_without_access_serves_nothing() {
        let token = || {
            Some(MetricsAccess::Token(Secret::new(
                "0123456789abcdef-metrics",
            )))
        };
        assert!(admitted(&request(token(), Some("Bearer 0123456789abcdef-metrics"))).is_ok());
        assert!(admitted(&request(token(), Some("bearer  0123456789abcdef-metrics "))).is_ok());
        for wrong in [
            None,
            Some("Bearer 0123456789abcdef-metric"),
            Some("Bearer 0123456789abcdef-metricsX"),
            Some("Basic 0123456789abcdef-metrics"),
            Some("Bearer "),
        ] {
            assert!(
                matches!(
                    admitted(&request(token(), wrong)),
                    Err(MetricsError::Unauthorized)
                ),
                "{wrong:?}"
            );
        }
        assert!(admitted(&request(Some(MetricsAccess::Open), None)).is_ok());
        assert!(matches!(
            admitted(&request(Some(MetricsAccess::Closed), None)),
            Err(MetricsError::NotServedHere)
        ));
        assert!(matches!(
            admitted(&request(None, None)),
            Err(MetricsError::NotServedHere)
        ));
    }

    #[test]
    fn a_refusal_challenges_for_a_bearer_token_and_says_nothing_of_it() {
        let response = MetricsError::Unauthorized.error_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE),
            Some(&HeaderValue::from_static(r#"Bearer realm="metrics""#))
        );
        assert_eq!(
            MetricsError::NotServedHere.error_response().status(),
            StatusCode::NOT_FOUND
        );
    }
}
