//! The client for an operator-configured API base (GitHub API, Notion API).
//!
//! Those hosts are trusted: no address filtering, but a fixed base, no redirects away
//! from it, timeouts, and no proxy from the environment. Requests sent with
//! [`TrustedClient::send`] and read with [`read_limited`] are noted for the preview lab
//! when a [`crate::trace`] recorder listens.

use std::time::{Duration, Instant};

use crate::trace;

use url::Url;

/// A `reqwest::Client` bound to one base URL.
#[derive(Debug, Clone)]
pub struct TrustedClient {
    base: Url,
    client: reqwest::Client,
}

/// Why a trusted host's response body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Declared or found to be over the limit; reading stopped there.
    #[error("the response is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the response could not be read: {0}")]
    Transport(#[source] reqwest::Error),
}

/// A response body, refused as soon as it passes `limit` bytes (never cut short and
/// handed on as if whole: half a JSON document is an error, not a smaller answer). Trusted
/// hosts are still bounded, since a proxy or an outage page can answer in their name.
pub async fn read_limited(response: reqwest::Response, limit: usize) -> Result<Vec<u8>, ReadError> {
    let noted = response.extensions().get::<trace::Noted>().copied();
    let read = read_body(response, limit).await;
    if let Some(noted) = noted {
        match &read {
            Ok(body) => noted.read(body),
            Err(e) => noted.failed(&e.to_string()),
        }
    }
    read
}

async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, ReadError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ReadError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ReadError::Transport(e.without_url()))?
    {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Why a trusted client could not be built or a path joined.
#[derive(Debug, thiserror::Error)]
pub enum TrustedError {
    #[error("could not build the HTTP client: {0}")]
    Build(#[from] reqwest::Error),
    #[error("path {0:?} does not stay under the API base")]
    OutsideBase(String),
}

/// `base` + `path`, refusing anything that would leave the base (another host, `..`):
/// what [`TrustedClient::url`] does, for callers that build URLs before choosing a client.
pub fn join(base: &Url, path: &str) -> Result<Url, TrustedError> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        let p = format!("{}/", base.path());
        base.set_path(&p);
    }
    let joined = base
        .join(path.trim_start_matches('/'))
        .map_err(|_| TrustedError::OutsideBase(path.to_owned()))?;
    if joined.origin() != base.origin() || !joined.path().starts_with(base.path()) {
        return Err(TrustedError::OutsideBase(path.to_owned()));
    }
    Ok(joined)
}

impl TrustedClient {
    pub fn new(base: Url, user_agent: &str, timeout: Duration) -> Result<Self, TrustedError> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(user_agent)
            .connect_timeout(Duration::from_secs(5).min(timeout))
            .timeout(timeout)
            .build()?;
        Ok(Self { base, client })
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `base` + `path`, refusing anything that would leave the base (another host, `..`).
    pub fn url(&self, path: &str) -> Result<Url, TrustedError> {
        join(&self.base, path)
    }

    /// Whether `url` lies under this client's base (same origin, path below the base's).
    pub fn is_under(&self, url: &Url) -> bool {
        join(&self.base, "")
            .is_ok_and(|base| url.origin() == base.origin() && url.path().starts_with(base.path()))
    }

    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, TrustedError> {
        Ok(self.client.request(method, self.url(path)?))
    }

    /// Sends `request` (built by [`TrustedClient::request`] or on [`TrustedClient::inner`]).
    /// Under a [`crate::trace`] recorder the request is noted when its answer's head
    /// arrives, and its body when [`read_limited`] reads it.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let (client, request) = request.build_split();
        let request = request?;
        let (method, url) = (request.method().to_string(), request.url().clone());
        let spare = matches!(
            *request.method(),
            reqwest::Method::GET | reqwest::Method::HEAD
        )
        .then(|| request.try_clone())
        .flatten();
        let started = Instant::now();
        let mut sent = client.execute(request).await;
        if let (Err(e), Some(spare)) = (&sent, spare)
            && closed_before_answer(e)
        {
            tracing::debug!(
                host = url.host_str(),
                "connection closed before the answer; sending again"
            );
            sent = client.execute(spare).await;
        }
        if !trace::active() {
            return sent;
        }
        match sent {
            Ok(mut response) => {
                let status = response.status().as_u16();
                if let Some(noted) = trace::sent(&method, &url, started, Ok(status)) {
                    response.extensions_mut().insert(noted);
                }
                Ok(response)
            }
            Err(e) => {
                let failure = if e.is_timeout() {
                    "timed out"
                } else {
                    "no answer"
                };
                trace::sent(&method, &url, started, Err(failure));
                Err(e)
            }
        }
    }

    /// The underlying client, for crates that need to drive it directly (e.g. oauth2).
    pub fn inner(&self) -> &reqwest::Client {
        &self.client
    }
}

/// An error and its causes on one line, joined by `: `. reqwest's own `Display` stops at
/// the outermost ("error sending request"), which hides what an operator needs ("invalid
/// peer certificate: UnknownIssuer", "Connection refused"). Strip URLs first
/// (`reqwest::Error::without_url`): their queries may hold tokens.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // hyper and reqwest repeat a cause inside their own text now and then.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Whether a request failed because its connection closed before any answer came: a kept-alive
/// connection the server had already closed (a reset, a broken pipe, or hyper's "connection
/// closed before message completed"). Such a request never reached the server's application,
/// so an idempotent one (GET, HEAD) may be sent again once, on a new connection, as RFC 9110
/// section 9.2.2 allows. Connect errors and timeouts are not this.
pub(crate) fn closed_before_answer(e: &reqwest::Error) -> bool {
    use std::error::Error as _;
    use std::io::ErrorKind;
    if e.is_connect() || e.is_timeout() || e.is_body() || e.is_decode() {
        return false;
    }
    let mut source = e.source();
    while let Some(cause) = source {
        if cause
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_incomplete_message)
        {
            return true;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
            )
        {
            return true;
        }
        source = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> TrustedClient {
        let base = Url::parse(base).unwrap_or_else(|e| panic!("{e}"));
        TrustedClient::new(base, "t", Duration::from_secs(1)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn paths_join_under_the_base() {
        let c = client("https://ghe.example/api/v3");
        assert_eq!(
            c.url("/repos/a/b/pulls/1").map(|u| u.to_string()).ok(),
            Some("https://ghe.example/api/v3/repos/a/b/pulls/1".to_owned())
        );
    }

    #[test]
    fn paths_cannot_leave_the_base() {
        let c = client("https://ghe.example/api/v3/");
        assert!(c.url("../../admin").is_err());
        assert_eq!(
            c.url("//evil.example/x")
                .map(|u| u.host_str().map(str::to_owned))
                .ok(),
            Some(Some("ghe.example".to_owned()))
        );
        assert!(c.url("https://evil.example/").is_err());
    }

    /// Serves `response` raw to one connection on loopback; the URL to fetch it from.
    async fn serve_once(response: &'static [u8]) -> Url {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(async move {
            if let Ok((mut socket, _)) = listener.accept().await {
                let mut request = [0u8; 1024];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(response).await;
                let _ = socket.shutdown().await;
            }
        });
        Url::parse(&format!("http://{address}/")).unwrap_or_else(|e| panic!("{e}"))
    }

    async fn read(response: &'static [u8], limit: usize) -> Result<Vec<u8>, ReadError> {
        let base = serve_once(response).await;
        let client =
            TrustedClient::new(base, "t", Duration::from_secs(5)).unwrap_or_else(|e| panic!("{e}"));
        let response = client
            .request(reqwest::Method::GET, "/")
            .unwrap_or_else(|e| panic!("{e}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        read_limited(response, limit).await
    }

    #[tokio::test]
    async fn a_recorder_sees_the_request_without_its_query() {
        let base = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").await;
        let client =
            TrustedClient::new(base, "t", Duration::from_secs(5)).unwrap_or_else(|e| panic!("{e}"));
        let (body, recorded) = trace::record(async {
            let request = client
                .request(reqwest::Method::GET, "/v1/x?key=secret")
                .unwrap_or_else(|e| panic!("{e}"))
                .bearer_auth("a-token");
            let response = client.send(request).await.unwrap_or_else(|e| panic!("{e}"));
            read_limited(response, 100).await
        })
        .await;
        assert_eq!(body.ok().as_deref(), Some(&b"hello"[..]));
        let [call] = recorded.calls.as_slice() else {
            panic!("{recorded:?}");
        };
        assert_eq!(
            (
                call.method.as_str(),
                call.path.as_str(),
                call.status,
                call.bytes
            ),
            ("GET", "/v1/x", Some(200), 5)
        );
        assert!(call.host.starts_with("127.0.0.1:"));
        assert!(
            !format!("{call:?}").contains("secret") && !format!("{call:?}").contains("a-token")
        );
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_not_cut_short() {
        let small = read(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 5).await;
        assert_eq!(small.ok().as_deref(), Some(&b"hello"[..]));
        let declared = read(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello!", 5).await;
        assert!(matches!(declared, Err(ReadError::TooLarge { limit: 5 })));
        // No length declared: found out while reading.
        let chunked = read(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
            5,
        )
        .await;
        assert!(matches!(chunked, Err(ReadError::TooLarge { limit: 5 })));
    }
}
