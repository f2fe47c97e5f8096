//! A playback upstream for provider tests: recorded answers served on loopback, every
//! request counted, and any request nobody recorded answered `501` and listed, so a test
//! fails on it ([`Playback::assert_all_recorded`]).
//!
//! ```no_run
//! # async fn demo() {
//! use notion_unfurl_sdk::testing::playback::{Playback, Recording};
//! let upstream = Playback::start(vec![
//!     Recording::get("/v1/tickets/42").json(r#"{"title": "Printer jams"}"#),
//!     Recording::get("/v1/tickets/7").status(404),
//! ])
//! .await;
//! // Point the provider's TrustedClient at `upstream.base()`, unfurl, then:
//! assert_eq!(upstream.requests().await, 1);
//! upstream.assert_all_recorded().await;
//! # }
//! ```
//!
//! An unfurl saved from the preview lab ("save as test", a [`Saved`] JSON file) plays back
//! the same way: [`read_saved`] reads it, [`Playback::from_saved`] serves its answers, and
//! its `expected` attributes are what the provider must make of them. Its paths are the
//! full paths the provider requested, so point the provider at [`Playback::base`] plus the
//! path its API base had (nothing for `https://api.github.com`).

use url::Url;

pub use crate::trace::{Saved, SavedRequest};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The status an unrecorded request gets.
pub const UNRECORDED: u16 = 501;

/// One recorded answer: the request it answers (method, path, optional query pairs) and
/// the answer (status, headers, body).
#[derive(Debug, Clone)]
pub struct Recording {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Recording {
    /// A `GET` of `path`, answered `200` with an empty body until told otherwise.
    pub fn get(path: &str) -> Self {
        Self {
            method: "GET".into(),
            path: path.into(),
            query: Vec::new(),
            status: 200,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Answers only a request with this query parameter.
    #[must_use]
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    #[must_use]
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// A JSON body (with its content type).
    #[must_use]
    pub fn json(self, body: &str) -> Self {
        self.header("content-type", "application/json")
            .body(body.as_bytes())
    }

    /// A body read from a recorded file.
    ///
    /// # Panics
    /// When the file cannot be read: the test is wrong, not the provider.
    #[must_use]
    pub fn file(self, path: impl AsRef<std::path::Path>) -> Self {
        let path = path.as_ref();
        let body =
            std::fs::read(path).unwrap_or_else(|e| panic!("recorded file {}: {e}", path.display()));
        self.body(&body)
    }

    #[must_use]
    pub fn body(mut self, body: &[u8]) -> Self {
        self.body = body.to_vec();
        self
    }

    /// A request of a saved unfurl, answered as it was then.
    pub fn from_saved(saved: &SavedRequest) -> Self {
        Self {
            method: saved.method.clone(),
            ..Self::get(&saved.path)
        }
        .status(saved.status)
        .body(saved.body.as_bytes())
    }
}

/// A saved unfurl (the preview lab's "save as test" JSON).
///
/// # Panics
/// When the file cannot be read or is not a saved unfurl: the test is wrong.
pub fn read_saved(path: impl AsRef<std::path::Path>) -> Saved {
    let path = path.as_ref();
    let text =
        std::fs::read(path).unwrap_or_else(|e| panic!("saved unfurl {}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("saved unfurl {}: {e}", path.display()))
}

/// A fake upstream on loopback that answers only what was recorded.
pub struct Playback {
    server: MockServer,
    /// What each recording answers (its answer left out).
    recorded: Vec<Recording>,
}

impl std::fmt::Debug for Playback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Playback")
            .field("base", &self.server.uri())
            .finish()
    }
}

impl Playback {
    /// Serves `recordings`; the first that fits a request answers it.
    pub async fn start(recordings: Vec<Recording>) -> Self {
        let server = MockServer::start().await;
        let mut recorded = Vec::with_capacity(recordings.len());
        for r in recordings {
            let mut answer = ResponseTemplate::new(r.status).set_body_bytes(r.body.clone());
            for (k, v) in &r.headers {
                answer = answer.insert_header(k.as_str(), v.as_str());
            }
            let mut mock = Mock::given(method(r.method.as_str())).and(path(r.path.as_str()));
            for (k, v) in &r.query {
                mock = mock.and(query_param(k.as_str(), v.as_str()));
            }
            mock.respond_with(answer)
                .with_priority(1)
                .mount(&server)
                .await;
            recorded.push(Recording {
                body: Vec::new(),
                ..r
            });
        }
        Mock::given(wiremock::matchers::any())
            .respond_with(
                ResponseTemplate::new(UNRECORDED)
                    .set_body_string("unrecorded request: record its answer in the test"),
            )
            .with_priority(u8::MAX)
            .mount(&server)
            .await;
        Self { server, recorded }
    }

    /// Serves the answers of a saved unfurl, each to the request it answered.
    pub async fn from_saved(saved: &Saved) -> Self {
        Self::start(saved.requests.iter().map(Recording::from_saved).collect()).await
    }

    /// The address to use as the provider's API base (`http://127.0.0.1:PORT/`).
    ///
    /// # Panics
    /// Never in practice: the mock server's address is a URL.
    pub fn base(&self) -> Url {
        Url::parse(&self.server.uri()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Requests received, recorded or not.
    pub async fn requests(&self) -> usize {
        self.server.received_requests().await.map_or(0, |r| r.len())
    }

    /// `METHOD /path?query` of every request no recording answered.
    pub async fn unrecorded(&self) -> Vec<String> {
        let received = self.server.received_requests().await.unwrap_or_default();
        received
            .iter()
            .filter(|request| {
                !self.recorded.iter().any(|r| {
                    r.method.eq_ignore_ascii_case(request.method.as_str())
                        && r.path == request.url.path()
                        && r.query.iter().all(|(k, v)| {
                            request
                                .url
                                .query_pairs()
                                .any(|(qk, qv)| qk == *k && qv == *v)
                        })
                })
            })
            .map(|request| match request.url.query() {
                Some(q) => format!("{} {}?{q}", request.method, request.url.path()),
                None => format!("{} {}", request.method, request.url.path()),
            })
            .collect()
    }

    /// Every `Authorization` header the upstream was sent, in order.
    pub async fn authorizations(&self) -> Vec<String> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .flat_map(|r| {
                r.headers
                    .get_all("authorization")
                    .iter()
                    .filter_map(|v| v.to_str().ok().map(str::to_owned))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// # Panics
    /// When any request was not recorded, listing them all.
    pub async fn assert_all_recorded(&self) {
        let unrecorded = self.unrecorded().await;
        assert!(
            unrecorded.is_empty(),
            "requests nobody recorded:\n  {}",
            unrecorded.join("\n  ")
        );
    }
}
