//! What one unfurl asked of its upstreams, for the preview lab.
//!
//! [`record`] runs a future with a recorder in its task; while it runs, the SDK's clients
//! note each request they send ([`crate::TrustedClient::send`] with
//! [`crate::trusted::read_limited`], and [`crate::GuardedClient::get`]): the host, the path,
//! the status, the time and the body bytes read. Outside [`record`] noting is one
//! task-local lookup that finds nothing.
//!
//! What is noted is meant to be shown to an operator, so it holds no credential: the path
//! without its query (a query may carry a key) and no header at all. Bodies are kept only
//! when the recorder asks ([`record_bodies`]), within a total budget, for the lab's "save
//! as test" ([`Saved`]); they are what the upstream sent, so whoever saves them decides
//! where they go. Such a recorder wants whole answers: a provider that revalidates what it
//! keeps should not send a conditional request under it ([`keeps_bodies`]), since a `304`
//! carries no body to replay.
//!
//! A recorder sees what runs in its own task: a request made from a spawned task, or an
//! unfurl answered by another caller's read already in flight, notes nothing.

use std::future::Future;
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use url::Url;

/// One upstream request, as far as it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub method: String,
    /// The host, with the port when it is not the scheme's default.
    pub host: String,
    /// The path, never the query.
    pub path: String,
    /// `None` when no answer came (a timeout, a refused connection, a blocked address).
    pub status: Option<u16>,
    /// From sending the request to the end of its body (or to the failure).
    pub millis: u64,
    /// Body bytes read (decoded); 0 when the body was not read.
    pub bytes: usize,
    /// Why no answer came, in a few words, when none did.
    pub failure: Option<String>,
    /// The body read, when the recorder keeps bodies and it fitted the budget.
    pub body: Option<Vec<u8>>,
}

impl Call {
    /// A `304 Not Modified`: the client served the answer it kept for the `ETag` it sent.
    pub fn is_conditional_hit(&self) -> bool {
        self.status == Some(304)
    }
}

/// Everything a [`record`] saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    pub calls: Vec<Call>,
    /// Some body was not kept because the bodies together passed the budget.
    pub bodies_cut: bool,
}

struct Recorder {
    state: Mutex<Recorded>,
    /// Body bytes still to keep; `None` when bodies are not kept.
    budget: Mutex<Option<usize>>,
}

tokio::task_local! {
    static RECORDER: Recorder;
}

/// Runs `future`, noting every upstream request the SDK's clients send while it runs.
pub async fn record<F: Future>(future: F) -> (F::Output, Recorded) {
    scoped(None, future).await
}

/// [`record`], keeping the bodies read too, up to `max_bytes` together: past that a
/// body is left out and [`Recorded::bodies_cut`] set.
pub async fn record_bodies<F: Future>(max_bytes: usize, future: F) -> (F::Output, Recorded) {
    scoped(Some(max_bytes), future).await
}

async fn scoped<F: Future>(budget: Option<usize>, future: F) -> (F::Output, Recorded) {
    let recorder = Recorder {
        state: Mutex::new(Recorded::default()),
        budget: Mutex::new(budget),
    };
    let (output, recorder) = RECORDER
        .scope(recorder, async move {
            let output = future.await;
            // The recorder cannot be moved out of its scope; its calls can.
            let taken = RECORDER
                .try_with(|r| r.state.lock().map(|mut s| std::mem::take(&mut *s)).ok())
                .ok()
                .flatten()
                .unwrap_or_default();
            (output, taken)
        })
        .await;
    (output, recorder)
}

/// Whether a recorder is listening in this task.
pub fn active() -> bool {
    RECORDER.try_with(|_| ()).is_ok()
}

/// Whether a recorder keeping bodies listens: answers should then be asked for whole,
/// not revalidated with `If-None-Match`.
pub fn keeps_bodies() -> bool {
    RECORDER
        .try_with(|r| r.budget.lock().is_ok_and(|b| b.is_some()))
        .unwrap_or(false)
}

/// One unfurl saved as a test for a Rust provider: its requests with their answers, and
/// what the provider made of them. Read back by the SDK's `testing::playback`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Saved {
    pub url: String,
    pub requests: Vec<SavedRequest>,
    /// The attributes the provider returned (no `dev`: the server adds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<serde_json::Value>,
    /// Instead of attributes: the kind of error it ended in (`not_found`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One request of a [`Saved`] unfurl: the path (no query) and the answer's status and body
/// (text). No header is saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedRequest {
    pub method: String,
    pub path: String,
    pub status: u16,
    #[serde(default)]
    pub body: String,
}

/// Why a [`Recorded`] unfurl cannot be saved as a test.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaveError {
    #[error("the answers are larger than the budget together")]
    TooLarge,
    #[error("request {0} got no answer")]
    NoAnswer(String),
    #[error("the answer to {0} is not text")]
    NotText(String),
}

impl Saved {
    /// The requests of `recorded` (made under [`record_bodies`]) with their bodies.
    pub fn requests_of(recorded: &Recorded) -> Result<Vec<SavedRequest>, SaveError> {
        if recorded.bodies_cut {
            return Err(SaveError::TooLarge);
        }
        recorded
            .calls
            .iter()
            .map(|call| {
                let status = call
                    .status
                    .filter(|_| call.failure.is_none())
                    .ok_or_else(|| SaveError::NoAnswer(call.path.clone()))?;
                let body = String::from_utf8(call.body.clone().unwrap_or_default())
                    .map_err(|_| SaveError::NotText(call.path.clone()))?;
                Ok(SavedRequest {
                    method: call.method.clone(),
                    path: call.path.clone(),
                    status,
                    body,
                })
            })
            .collect()
    }
}

/// A request noted when its answer's head arrived, whose body may be noted later
/// ([`Noted::read`]). Cheap to copy: it travels in the response's extensions.
#[derive(Debug, Clone, Copy)]
pub struct Noted {
    index: usize,
    started: Instant,
}

/// Notes a request to `url` that got `status` (or failed with `failure`), started at
/// `started`; `None` when no recorder listens.
pub fn sent(method: &str, url: &Url, started: Instant, status: Result<u16, &str>) -> Option<Noted> {
    RECORDER
        .try_with(|recorder| {
            let mut state = recorder.state.lock().ok()?;
            state.calls.push(Call {
                method: method.to_owned(),
                host: host_of(url),
                path: url.path().to_owned(),
                status: status.ok(),
                millis: millis_since(started),
                bytes: 0,
                failure: status.err().map(str::to_owned),
                body: None,
            });
            Some(Noted {
                index: state.calls.len() - 1,
                started,
            })
        })
        .ok()
        .flatten()
}

impl Noted {
    /// The body of the noted request was read: its size, the time so far, and the body
    /// itself when bodies are kept and it fits what is left of the budget.
    pub fn read(self, body: &[u8]) {
        let _ = RECORDER.try_with(|recorder| {
            let kept = recorder.budget.lock().ok().and_then(|mut budget| {
                let left = (*budget)?;
                if body.len() > left {
                    *budget = Some(0);
                    return Some(Err(()));
                }
                *budget = Some(left - body.len());
                Some(Ok(body.to_vec()))
            });
            if let Ok(mut state) = recorder.state.lock() {
                if matches!(kept, Some(Err(()))) {
                    state.bodies_cut = true;
                }
                if let Some(call) = state.calls.get_mut(self.index) {
                    call.bytes = body.len();
                    call.millis = millis_since(self.started);
                    call.body = kept.and_then(Result::ok);
                }
            }
        });
    }

    /// The noted request failed while its body was read.
    pub fn failed(self, failure: &str) {
        let _ = RECORDER.try_with(|recorder| {
            if let Ok(mut state) = recorder.state.lock()
                && let Some(call) = state.calls.get_mut(self.index)
            {
                call.millis = millis_since(self.started);
                call.failure = Some(failure.to_owned());
            }
        });
    }
}

fn host_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

fn millis_since(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn calls_are_noted_only_inside_a_recorder_and_without_the_query() {
        assert!(!active());
        assert!(sent("GET", &url("https://a.test/x"), Instant::now(), Ok(200)).is_none());
        let ((), recorded) = record(async {
            assert!(active());
            let noted = sent(
                "GET",
                &url("https://api.test:8443/v1/t/1?key=secret"),
                Instant::now(),
                Ok(200),
            );
            if let Some(noted) = noted {
                noted.read(b"hello");
            }
            sent(
                "GET",
                &url("https://b.test/"),
                Instant::now(),
                Err("timed out"),
            );
        })
        .await;
        assert_eq!(recorded.calls.len(), 2);
        let first = &recorded.calls[0];
        assert_eq!(
            (first.host.as_str(), first.path.as_str()),
            ("api.test:8443", "/v1/t/1")
        );
        assert_eq!((first.status, first.bytes), (Some(200), 5));
        assert_eq!(first.body, None, "bodies are kept only when asked");
        assert_eq!(recorded.calls[1].failure.as_deref(), Some("timed out"));
        assert!(!active());
    }

    #[tokio::test]
    async fn bodies_are_kept_within_the_budget() {
        let ((), recorded) = record_bodies(8, async {
            for body in [&b"12345"[..], b"123456", b"12"] {
                if let Some(noted) = sent("GET", &url("https://a.test/"), Instant::now(), Ok(200)) {
                    noted.read(body);
                }
            }
        })
        .await;
        let bodies: Vec<_> = recorded.calls.iter().map(|c| c.body.clone()).collect();
        assert_eq!(bodies, vec![Some(b"12345".to_vec()), None, None]);
        assert!(recorded.bodies_cut);
        assert_eq!(recorded.calls[1].bytes, 6);
    }
}
