//! How a declarative provider reaches its upstream: [`Live`] through trusted clients pinned
//! to each request's base and the guarded fetcher for pages, or [`Playback`] from
//! recorded answers, failing on any request nobody recorded and counting the rest; and
//! [`Tape`], which passes requests to another upstream and keeps each answer, to be saved
//! as a recorded test.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use notion_unfurl_sdk::fetch::BodyMode;
use notion_unfurl_sdk::trusted::{ReadError, read_limited};
use notion_unfurl_sdk::{Context, ProviderError, TrustedClient, Url, async_trait, reqwest};

/// One request a provider is about to send.
#[derive(Debug, Clone)]
pub struct Call {
    /// The request's name in the provider file.
    pub name: String,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub max_bytes: usize,
    pub timeout: Duration,
}

/// An upstream answer, read whole (or refused over the cap).
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Served from the kept answer after a `304`: no body bytes were read.
    pub reused: bool,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[async_trait]
pub trait Upstream: Send + Sync + std::fmt::Debug {
    /// Sends one API request.
    async fn call(&self, call: &Call) -> Result<Answer, ProviderError>;
    /// Reads the link's own page.
    async fn page(
        &self,
        url: &Url,
        max_bytes: usize,
        ctx: &Context,
    ) -> Result<Answer, ProviderError>;
}

/// The real upstream: one trusted client per base, and the last answer with an `ETag` per
/// request (URL and headers, so one account's answer never serves another's request),
/// asked for again with `If-None-Match`: an unchanged answer costs the upstream a `304`.
#[derive(Debug)]
pub struct Live {
    clients: BTreeMap<String, TrustedClient>,
    tagged: Mutex<BTreeMap<[u8; 32], (String, Answer)>>,
}

/// Answers kept for conditional requests; past this many the memory starts over.
const MAX_TAGGED: usize = 1024;

/// What identifies a request for its `ETag`: the URL and every header (credentials too).
fn request_key(call: &Call) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(call.url.as_str());
    for (k, v) in &call.headers {
        hash.update([0]);
        hash.update(k.to_ascii_lowercase());
        hash.update([0]);
        hash.update(v);
    }
    hash.finalize().into()
}

impl Live {
    /// Clients for every `(name, base)`; `user_agent` names the server.
    pub fn new<'a>(
        bases: impl IntoIterator<Item = (&'a str, &'a Url)>,
        user_agent: &str,
    ) -> Result<Self, String> {
        let mut clients = BTreeMap::new();
        for (name, base) in bases {
            // The per-request timeout is set on each request; this one is the ceiling.
            let client = TrustedClient::new(base.clone(), user_agent, Duration::from_secs(60))
                .map_err(|e| e.to_string())?;
            clients.insert(name.to_owned(), client);
        }
        Ok(Self {
            clients,
            tagged: Mutex::new(BTreeMap::new()),
        })
    }
}

fn transport(e: &reqwest::Error) -> ProviderError {
    if e.is_timeout() {
        ProviderError::Timeout
    } else {
        ProviderError::Unreachable {
            reason: notion_unfurl_sdk::trusted::error_chain(e),
        }
    }
}

#[async_trait]
impl Upstream for Live {
    async fn call(&self, call: &Call) -> Result<Answer, ProviderError> {
        let client = self
            .clients
            .get(&call.name)
            .ok_or_else(|| ProviderError::Invalid {
                reason: format!("no client for request {:?}", call.name),
            })?;
        // The URL was built under the base by the provider; checked again here.
        if !client.is_under(&call.url) {
            return Err(ProviderError::Blocked {
                reason: "request outside the API base".into(),
            });
        }
        let mut request = client.inner().get(call.url.clone()).timeout(call.timeout);
        for (k, v) in &call.headers {
            request = request.header(k, v);
        }
        let key = request_key(call);
        let known = self
            .tagged
            .lock()
            .ok()
            .and_then(|tagged| tagged.get(&key).cloned());
        if let Some((etag, _)) = &known {
            request = request.header("if-none-match", etag);
        }
        let response = client
            .send(request)
            .await
            .map_err(|e| transport(&e.without_url()))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = match read_limited(response, call.max_bytes).await {
            Ok(body) => body,
            Err(ReadError::TooLarge { limit }) => {
                return Err(ProviderError::Unreachable {
                    reason: format!("answer larger than {limit} bytes"),
                });
            }
            Err(ReadError::Transport(e)) => return Err(transport(&e)),
        };
        if status == 304
            && let Some((_, answer)) = known
        {
            // Unchanged: the answer kept with its tag, read again for nothing.
            return Ok(Answer {
                reused: true,
                ..answer
            });
        }
        let answer = Answer {
            status,
            headers,
            body,
            reused: false,
        };
        if status == 200
            && let Some(etag) = answer.header("etag")
            && let Ok(mut tagged) = self.tagged.lock()
        {
            if tagged.len() >= MAX_TAGGED {
                tagged.clear();
            }
            tagged.insert(key, (etag.to_owned(), answer.clone()));
        }
        Ok(answer)
    }

    async fn page(
        &self,
        url: &Url,
        max_bytes: usize,
        ctx: &Context,
    ) -> Result<Answer, ProviderError> {
        let fetched = ctx.guarded.get(url, BodyMode::FullUpTo(max_bytes)).await?;
        let mut headers = Vec::new();
        if let Some(t) = fetched.content_type {
            headers.push(("content-type".to_owned(), t));
        }
        Ok(Answer {
            status: fetched.status,
            headers,
            body: fetched.body.to_vec(),
            reused: false,
        })
    }
}

/// Recorded answers by request name (`page` for the page); any other request fails.
#[derive(Debug, Default)]
pub struct Playback {
    answers: BTreeMap<String, Answer>,
    sent: AtomicUsize,
    seen: Mutex<Vec<Call>>,
}

impl Playback {
    pub fn new(answers: BTreeMap<String, Answer>) -> Self {
        Self {
            answers,
            ..Self::default()
        }
    }

    /// Reads the recorded answers of a test: files are relative to `dir`.
    pub fn from_recorded(
        dir: &Path,
        recorded: &BTreeMap<String, toml::Spanned<crate::spec::Recorded>>,
    ) -> Result<Self, String> {
        let mut answers = BTreeMap::new();
        for (name, r) in recorded {
            let (file, body, status, headers) = match r.get_ref() {
                crate::spec::Recorded::File(f) => (Some(f.clone()), None, 200, BTreeMap::new()),
                crate::spec::Recorded::Full {
                    file,
                    body,
                    status,
                    headers,
                } => (file.clone(), body.clone(), *status, headers.clone()),
            };
            let body = match (file, body) {
                (_, Some(body)) => body.into_bytes(),
                (Some(f), None) => {
                    if Path::new(&f).is_absolute() || f.contains("..") {
                        return Err(format!(
                            "recorded file {f:?} must be a path beside the provider file"
                        ));
                    }
                    std::fs::read(dir.join(&f)).map_err(|e| format!("recorded file {f:?}: {e}"))?
                }
                (None, None) => Vec::new(),
            };
            answers.insert(
                name.clone(),
                Answer {
                    status,
                    headers: headers.into_iter().collect(),
                    body,
                    reused: false,
                },
            );
        }
        Ok(Self::new(answers))
    }

    /// The recorded answer for request `name`, if any.
    pub fn recorded(&self, name: &str) -> Option<&Answer> {
        self.answers.get(name)
    }

    /// How many requests were answered.
    pub fn sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

    /// The requests seen, in order, headers included.
    pub fn seen(&self) -> Vec<Call> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn answer(&self, name: &str) -> Result<Answer, ProviderError> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.answers
            .get(name)
            .cloned()
            .ok_or_else(|| ProviderError::Invalid {
                reason: format!("unrecorded request {name:?}: record its answer in the test"),
            })
    }
}

#[async_trait]
impl Upstream for Playback {
    async fn call(&self, call: &Call) -> Result<Answer, ProviderError> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(call.clone());
        }
        self.answer(&call.name)
    }

    async fn page(&self, _: &Url, _: usize, _: &Context) -> Result<Answer, ProviderError> {
        self.answer("page")
    }
}

/// An upstream that sends every request on to `inner` and keeps each answer by request
/// name (the last one, for a name asked twice), within a budget of body bytes.
#[derive(Debug)]
pub struct Tape {
    inner: std::sync::Arc<dyn Upstream>,
    max_bytes: usize,
    kept: Mutex<(BTreeMap<String, Answer>, usize)>,
}

impl Tape {
    pub fn new(inner: std::sync::Arc<dyn Upstream>, max_bytes: usize) -> Self {
        Self {
            inner,
            max_bytes,
            kept: Mutex::new((BTreeMap::new(), 0)),
        }
    }

    /// The answers kept, by request name; `None` when they passed the budget together.
    pub fn answers(&self) -> Option<BTreeMap<String, Answer>> {
        let kept = self.kept.lock().ok()?;
        (kept.1 <= self.max_bytes).then(|| kept.0.clone())
    }

    fn keep(&self, name: &str, answer: &Answer) {
        if let Ok(mut kept) = self.kept.lock() {
            kept.1 = kept.1.saturating_add(answer.body.len());
            if kept.1 <= self.max_bytes {
                kept.0.insert(name.to_owned(), answer.clone());
            }
        }
    }
}

#[async_trait]
impl Upstream for Tape {
    async fn call(&self, call: &Call) -> Result<Answer, ProviderError> {
        let answer = self.inner.call(call).await?;
        self.keep(&call.name, &answer);
        Ok(answer)
    }

    async fn page(
        &self,
        url: &Url,
        max_bytes: usize,
        ctx: &Context,
    ) -> Result<Answer, ProviderError> {
        let answer = self.inner.page(url, max_bytes, ctx).await?;
        self.keep("page", &answer);
        Ok(answer)
    }
}
