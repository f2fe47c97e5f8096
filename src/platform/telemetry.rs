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
    init_with(format, quiet_libraries(filter), writer);
}

/// Libraries that log at ERROR what is a user's input, not a fault of this server: the
/// certificate verifier writes "failed to verify TLS certificate" for every page with a
/// bad certificate that someone pastes. The failure still reaches the log once, as the
/// cause in the `unfurl failed` line. `RUST_LOG` naming the library turns it back on.
const QUIET: &[&str] = &["rustls_platform_verifier"];

fn quiet_libraries(mut filter: EnvFilter) -> EnvFilter {
    let named = std::env::var("RUST_LOG").unwrap_or_default();
    for target in QUIET {
        if named.contains(target) {
            continue;
        }
        if let Ok(directive) = format!("{target}=off").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
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

/// How often a failure that goes on is logged again.
pub const STILL_FAILING_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// One background task's run of failures, so that a database down for an hour costs a
/// task sixty lines, not thousands: the first failure is logged with its cause
/// (`"<task> failed"`, warn), then one line a minute while failures go on
/// (`"<task> still failing"`, with how many and for how long), and one when the task works
/// again (`"<task> works again"`, info).
#[derive(Debug)]
pub struct Streak {
    task: &'static str,
    failures: u64,
    since: Option<std::time::Instant>,
    logged: Option<std::time::Instant>,
}

/// What [`Streak`] logged for an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logged {
    Nothing,
    Failed,
    StillFailing,
    WorksAgain,
}

impl Streak {
    /// `task` names what failed, as a gerund phrase: "claiming outbox rows".
    pub const fn new(task: &'static str) -> Self {
        Self {
            task,
            failures: 0,
            since: None,
            logged: None,
        }
    }

    pub fn failed(&mut self, error: &dyn std::fmt::Display) -> Logged {
        self.failed_at(error, std::time::Instant::now())
    }

    pub fn succeeded(&mut self) -> Logged {
        self.succeeded_at(std::time::Instant::now())
    }

    fn failed_at(&mut self, error: &dyn std::fmt::Display, now: std::time::Instant) -> Logged {
        self.failures += 1;
        let since = *self.since.get_or_insert(now);
        match self.logged {
            None => {
                self.logged = Some(now);
                tracing::warn!(error = %error, "{} failed", self.task);
                Logged::Failed
            }
            Some(last) if now.duration_since(last) >= STILL_FAILING_EVERY => {
                self.logged = Some(now);
                tracing::warn!(
                    error = %error,
                    failures = self.failures,
                    for_secs = now.duration_since(since).as_secs(),
                    "{} still failing",
                    self.task
                );
                Logged::StillFailing
            }
            Some(_) => Logged::Nothing,
        }
    }

    fn succeeded_at(&mut self, now: std::time::Instant) -> Logged {
        let Some(since) = self.since.take() else {
            return Logged::Nothing;
        };
        tracing::info!(
            failures = self.failures,
            for_secs = now.duration_since(since).as_secs(),
            "{} works again",
            self.task
        );
        self.failures = 0;
        self.logged = None;
        Logged::WorksAgain
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn a_run_of_failures_is_logged_first_then_once_a_minute_then_when_it_ends() {
        let mut streak = Streak::new("claiming outbox rows");
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        assert_eq!(streak.succeeded_at(at(0)), Logged::Nothing);
        assert_eq!(streak.failed_at(&"down", at(1)), Logged::Failed);
        // One failure a second for two minutes: two more lines, not 120.
        let lines = (2..122)
            .map(|s| streak.failed_at(&"down", at(s)))
            .filter(|l| *l != Logged::Nothing)
            .collect::<Vec<_>>();
        assert_eq!(lines, [Logged::StillFailing, Logged::StillFailing]);
        assert_eq!(streak.succeeded_at(at(122)), Logged::WorksAgain);
        assert_eq!(streak.succeeded_at(at(123)), Logged::Nothing);
        // A new run starts over with its first line.
        assert_eq!(streak.failed_at(&"down again", at(124)), Logged::Failed);
    }
}
