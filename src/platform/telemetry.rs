//! Logging: `tracing` with an `EnvFilter` (`RUST_LOG`, default `info`), text or JSON lines,
//! and one span per HTTP request carrying a request id.
//!
//! Request spans record the method and the path only: query strings can carry OAuth codes
//! and states, so they never reach a log line.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::platform::config::LogFormat;

/// Install the global subscriber writing to stdout. Safe to call twice (the second call
/// does nothing).
pub fn init(format: LogFormat) {
    init_with_writer(format, std::io::stdout);
}

/// Install the global subscriber with another writer.
pub fn init_with_writer<W>(format: LogFormat, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    init_with(format, filter, writer);
}

/// Install the global subscriber with an explicit filter and writer (tests capture logs
/// this way).
pub fn init_with<W>(format: LogFormat, filter: EnvFilter, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Request spans without query strings.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        // Field values are only formatted when the span is enabled: nothing is allocated
        // here on the hot path when request logging is off.
        let extensions = request.extensions();
        let request_id = extensions.get::<RequestId>();
        tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.path(),
            request_id = tracing::field::display(request_id.map_or(String::new(), ToString::to_string)),
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(response) => response.status().as_u16(),
            Err(error) => error.as_response_error().status_code().as_u16(),
        };
        span.record("status", status);
        let _entered = span.enter();
        if status >= 500 {
            tracing::error!(status, "request failed");
        } else {
            tracing::debug!(status, "request done");
        }
    }
}
