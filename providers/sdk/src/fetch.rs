//! The guarded HTTP client for URLs that come from users or pages.
//!
//! Such URLs may point anywhere, including at the server's own network (SSRF), so every
//! request and every redirect hop passes the same checks before a byte is sent:
//!
//! - **Scheme** `http` or `https`, checked first: other schemes (`gopher://127.0.0.1`)
//!   parse their host as an opaque name and would dodge the address check.
//! - **No userinfo** (`user:pass@host`) and at most [`MAX_URL_LEN`] bytes.
//! - **Addresses**: a literal IP host is classified from the parsed [`url::Host`], never
//!   the raw string (`url` turns `http://2130706433/` and `http://0x7f.1/` into
//!   127.0.0.1). Names go through a filtering resolver, which looks the name up once and
//!   hands reqwest exactly the addresses it checked; a name with any refused address is
//!   refused whole. Both use [`crate::ip::permitted`]: public, or inside
//!   [`FetchPolicy::allow`] (`UNFURL_FETCH_ALLOW`), the only exception there is.
//!   Both checks are needed: reqwest never calls a resolver for IP literals.
//! - **Port rule**: 80 or 443 (whatever the scheme), except that any port is allowed
//!   when the host is an IP literal inside [`FetchPolicy::allow`]. The resolver never
//!   sees the port, so a name always gets 80/443 only: `http://localhost:8080/` is
//!   refused even when 127.0.0.1 is allowed. Local test origins are reached by literal
//!   address (`http://127.0.0.1:PORT/`).
//! - **Redirects** are followed here, not by reqwest, so each hop is re-validated in
//!   full; at most [`FetchPolicy::max_redirects`] hops, relative `Location`s resolved
//!   against the current URL. No `Referer`, no cookies, no proxy from the environment.
//! - **Time**: a connect timeout, a first-byte timeout per hop (until the response
//!   headers arrive), and one total deadline over the whole exchange, redirects and body
//!   included: a drip-feeding origin defeats any per-read timeout.
//! - **A reused connection the origin had closed** (a reset or an early close before any
//!   answer) gets the GET sent once more on a new connection, within the same first-byte
//!   timeout; a failure after the answer's head began is never retried.
//! - **Body**: read only for status 200, as a stream of decoded bytes counted against
//!   [`FetchPolicy::max_body_bytes`] (a gzip bomb is stopped by what it decodes to, not
//!   by what it declares). See [`BodyMode`] for how much is read.
//!
//! Refusals are logged with the host only: query strings may carry tokens. Under a
//! [`crate::trace`] recorder every hop is noted (host and path, status, time, bytes).

use std::error::Error as _;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use ipnet::IpNet;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Response, StatusCode};
use url::{Host, Url};

use crate::{ip, trace, trusted};

/// Longest URL the guarded client accepts, in bytes (redirect targets included).
pub const MAX_URL_LEN: usize = 8 * 1024;

/// Ports a name (or a literal IP outside the allow-list) may use.
const STANDARD_PORTS: [u16; 2] = [80, 443];

const ACCEPT: &str = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8";

const HEAD_END: &[u8] = b"</head>";

/// What the guarded client may do. Built by the server from `UNFURL_*` settings.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Networks reachable although not public (`UNFURL_FETCH_ALLOW`); empty by default.
    pub allow: Vec<IpNet>,
    pub connect_timeout: Duration,
    /// Until the response headers arrive.
    pub first_byte_timeout: Duration,
    /// For the whole exchange, redirects and body included.
    pub total_timeout: Duration,
    /// Cap on decoded body bytes.
    pub max_body_bytes: usize,
    pub max_redirects: usize,
    pub user_agent: String,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            connect_timeout: Duration::from_secs(3),
            first_byte_timeout: Duration::from_secs(6),
            total_timeout: Duration::from_secs(10),
            max_body_bytes: 2 * 1024 * 1024,
            max_redirects: 5,
            user_agent: concat!(
                "notion-unfurl/",
                env!("CARGO_PKG_VERSION"),
                " (link preview bot; +https://github.com/notion-unfurl/notion-unfurl)"
            )
            .to_owned(),
        }
    }
}

/// How much of the body to read.
#[derive(Debug, Clone, Copy)]
pub enum BodyMode {
    /// HTML: stop once `</head>` has been read (or at the cap); other types: read nothing.
    ///
    /// HTML means `text/html`, `application/xhtml+xml` or no `Content-Type` at all.
    /// Reaching the cap is not an error here: the body is cut there and `truncated` set,
    /// so a 40 MiB page is still answered from its first bytes.
    HtmlHead,
    /// Like [`BodyMode::HtmlHead`], but stop at `</head>` only when `enough` accepts the
    /// bytes read so far (the whole head); otherwise read on to the end of the body, still
    /// cut (not failed) at the cap. For callers whose metadata is often in the body, such
    /// as JSON-LD blocks that news sites place after `<body>`.
    HtmlHeadIf(fn(&[u8]) -> bool),
    /// Read to the end, up to the cap.
    Full,
    /// Read to the end, up to the cap or this many bytes, whichever is smaller: for small
    /// documents (an oEmbed answer) that have no business being large.
    FullUpTo(usize),
    /// Headers only.
    None,
}

/// A response the guarded client read.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL after redirects.
    pub final_url: Url,
    pub status: u16,
    /// The `Content-Type` header as sent.
    pub content_type: Option<String>,
    /// Decoded body (only for status 200), at most the cap.
    pub body: Bytes,
    /// Whether reading stopped before the end of the body.
    ///
    /// Set when [`BodyMode::HtmlHead`] stopped at `</head>` (the body then ends with it)
    /// or at the cap. A body that was deliberately not read (another status,
    /// [`BodyMode::None`], a non-HTML type in [`BodyMode::HtmlHead`]) is empty, not
    /// truncated.
    pub truncated: bool,
}

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    #[error("blocked: {0}")]
    Blocked(String),
    #[error("timed out")]
    Timeout,
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("too many redirects")]
    TooManyRedirects,
    #[error("body larger than the cap")]
    TooLarge,
    #[error("transfer failed: {0}")]
    Transfer(String),
    /// Only from [`GuardedClient::new`]: the policy cannot make a client (for instance
    /// a user agent that is not a valid header value).
    #[error("could not build the HTTP client: {0}")]
    Build(String),
}

/// Cheap to clone; all clones share one connection pool.
#[derive(Debug, Clone)]
pub struct GuardedClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    policy: FetchPolicy,
    client: reqwest::Client,
}

impl GuardedClient {
    pub fn new(policy: FetchPolicy) -> Result<Self, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT));
        let resolver = GuardedResolver::new(policy.allow.clone().into());
        // No `.timeout()`: the total deadline lives in `get`, around redirects too.
        // Cookies stay off because the `cookies` feature is not enabled.
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .dns_resolver(resolver)
            .connect_timeout(policy.connect_timeout)
            .user_agent(policy.user_agent.as_str())
            .default_headers(headers)
            .gzip(true)
            .brotli(true)
            .deflate(true)
            .build()
            .map_err(|e| FetchError::Build(trusted::error_chain(&e.without_url())))?;
        Ok(Self {
            inner: Arc::new(Inner { policy, client }),
        })
    }

    pub fn policy(&self) -> &FetchPolicy {
        &self.inner.policy
    }

    /// GET `url` under the policy. Any final status is `Ok`; the body is read only for 200.
    pub async fn get(&self, url: &Url, mode: BodyMode) -> Result<Fetched, FetchError> {
        // One timer for the whole exchange: per-hop or per-read timers would restart.
        match tokio::time::timeout(self.policy().total_timeout, self.exchange(url, mode)).await {
            Ok(Err(
                e @ (FetchError::Connect(_) | FetchError::Transfer(_) | FetchError::TooLarge),
            )) => {
                // The user is told only that the site failed; the operator gets the cause
                // (refused connection, TLS, reset, oversized body). Never the URL: its
                // query may hold tokens.
                tracing::info!(host = url.host_str(), error = %e, "guarded fetch failed");
                Err(e)
            }
            Ok(result) => result,
            Err(_) => {
                tracing::info!(
                    host = url.host_str(),
                    "guarded fetch hit the total deadline"
                );
                if trace::active() {
                    let failure = "hit the total deadline";
                    trace::sent("GET", url, Instant::now(), Err(failure));
                }
                Err(FetchError::Timeout)
            }
        }
    }

    async fn exchange(&self, url: &Url, mode: BodyMode) -> Result<Fetched, FetchError> {
        let policy = self.policy();
        let mut current = url.clone();
        let mut redirects = 0;
        loop {
            let started = Instant::now();
            let response = match check_url(&current, &policy.allow) {
                Ok(()) => self.send(&current).await,
                Err(e) => Err(e),
            };
            let response = response.inspect_err(|e| {
                trace::sent("GET", &current, started, Err(&e.to_string()));
            })?;
            let noted = trace::sent("GET", &current, started, Ok(response.status().as_u16()));
            let Some(next) = redirect_target(&current, &response)? else {
                let read = read_response(current, response, mode, policy.max_body_bytes).await;
                if let Some(noted) = noted {
                    match &read {
                        Ok(fetched) => noted.read(&fetched.body),
                        Err(e) => noted.failed(&e.to_string()),
                    }
                }
                return read;
            };
            if redirects >= policy.max_redirects {
                tracing::info!(
                    host = current.host_str(),
                    max = policy.max_redirects,
                    "guarded fetch refused: too many redirects"
                );
                return Err(FetchError::TooManyRedirects);
            }
            redirects += 1;
            current = next;
        }
    }

    /// One GET, sent a second time (once) when a kept-alive connection turns out to have been
    /// closed by the server before it answered; both within one first-byte deadline.
    async fn send(&self, url: &Url) -> Result<Response, FetchError> {
        let sending = async {
            match self.inner.client.get(url.clone()).send().await {
                Err(e) if trusted::closed_before_answer(&e) => {
                    tracing::debug!(
                        host = url.host_str(),
                        "connection closed before the answer; sending again"
                    );
                    self.inner.client.get(url.clone()).send().await
                }
                sent => sent,
            }
        };
        match tokio::time::timeout(self.policy().first_byte_timeout, sending).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(fetch_error(e)),
            Err(_) => {
                tracing::info!(
                    host = url.host_str(),
                    "guarded fetch got no headers in time"
                );
                Err(FetchError::Timeout)
            }
        }
    }
}

/// Applies every per-URL rule of the module doc; the address rule for names is the
/// resolver's.
fn check_url(url: &Url, allow: &[IpNet]) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        tracing::info!(scheme = url.scheme(), "guarded fetch refused: scheme");
        return Err(FetchError::Blocked("only http and https URLs".into()));
    }
    let host = url.host_str().unwrap_or_default();
    if url.as_str().len() > MAX_URL_LEN {
        tracing::info!(host, "guarded fetch refused: URL too long");
        return Err(FetchError::Blocked("URL too long".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        tracing::info!(host, "guarded fetch refused: credentials in URL");
        return Err(FetchError::Blocked("credentials in URL".into()));
    }
    let literal = match url.host() {
        None => return Err(FetchError::InvalidUrl("URL has no host".into())),
        Some(Host::Domain(_)) => None,
        Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
    };
    if let Some(addr) = literal
        && !ip::permitted(addr, allow)
    {
        tracing::warn!(host, range = ?ip::classify(addr), "guarded fetch refused: address");
        return Err(FetchError::Blocked("address not allowed".into()));
    }
    // http/https always have a known default port.
    let port = url.port_or_known_default().unwrap_or_default();
    let any_port = literal.is_some_and(|addr| ip::in_allow_list(addr, allow));
    if !any_port && !STANDARD_PORTS.contains(&port) {
        tracing::info!(host, port, "guarded fetch refused: port");
        return Err(FetchError::Blocked("port not allowed".into()));
    }
    Ok(())
}

/// The next URL when `response` is a redirect we follow; `None` for a final response.
fn redirect_target(current: &Url, response: &Response) -> Result<Option<Url>, FetchError> {
    let followed = matches!(
        response.status(),
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    );
    // A redirect without a `Location` is a final answer, as browsers treat it.
    let Some(location) = response
        .headers()
        .get(header::LOCATION)
        .filter(|_| followed)
    else {
        return Ok(None);
    };
    let location = location
        .to_str()
        .map_err(|_| FetchError::InvalidUrl("redirect Location is not ASCII".into()))?;
    current
        .join(location)
        .map(Some)
        .map_err(|_| FetchError::InvalidUrl("redirect Location is not a URL".into()))
}

async fn read_response(
    final_url: Url,
    response: Response,
    mode: BodyMode,
    cap: usize,
) -> Result<Fetched, FetchError> {
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let mut fetched = Fetched {
        final_url,
        status: response.status().as_u16(),
        content_type,
        body: Bytes::new(),
        truncated: false,
    };
    if response.status() != StatusCode::OK {
        return Ok(fetched);
    }
    let cap = match mode {
        BodyMode::FullUpTo(limit) => cap.min(limit),
        _ => cap,
    };
    let stop = match mode {
        BodyMode::None => return Ok(fetched),
        BodyMode::HtmlHead | BodyMode::HtmlHeadIf(_)
            if !is_html(fetched.content_type.as_deref()) =>
        {
            return Ok(fetched);
        }
        BodyMode::HtmlHead => Stop::AtHead,
        BodyMode::HtmlHeadIf(enough) => Stop::AtHeadIf(enough),
        BodyMode::Full | BodyMode::FullUpTo(_) => {
            // Only an undecoded body has an exact length: reqwest drops it when decoding.
            if response
                .content_length()
                .is_some_and(|len| len > cap as u64)
            {
                tracing::info!(
                    host = fetched.final_url.host_str(),
                    "declared body over the cap"
                );
                return Err(FetchError::TooLarge);
            }
            Stop::Never
        }
    };
    let (body, truncated) = read_body(response, cap, stop).await?;
    fetched.body = body;
    fetched.truncated = truncated;
    Ok(fetched)
}

/// Where [`read_body`] may stop early.
#[derive(Clone, Copy)]
enum Stop {
    /// Read everything; over the cap is an error.
    Never,
    /// Stop after `</head>`; cut at the cap.
    AtHead,
    /// Stop after `</head>` if the head satisfies the check, else read on; cut at the cap.
    AtHeadIf(fn(&[u8]) -> bool),
}

/// Reads decoded bytes up to `cap`, stopping early as `stop` says. Returns the body and
/// whether reading stopped before its end. Dropping the stream on return closes the
/// connection.
async fn read_body(
    response: Response,
    cap: usize,
    stop: Stop,
) -> Result<(Bytes, bool), FetchError> {
    let mut stream = response.bytes_stream();
    let mut body = BytesMut::with_capacity(cap.min(64 * 1024));
    let cut_at_cap = !matches!(stop, Stop::Never);
    let mut look_for_head = cut_at_cap;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(fetch_error)?;
        let room = cap - body.len();
        if chunk.len() > room && !cut_at_cap {
            return Err(FetchError::TooLarge);
        }
        let taken = chunk.len().min(room);
        // `</head>` may straddle two chunks: look back by one byte less than its length,
        // so the search stays linear in the body size.
        let search_from = body.len().saturating_sub(HEAD_END.len() - 1);
        body.extend_from_slice(&chunk[..taken]);
        if look_for_head && let Some(at) = find_head_end(&body[search_from..]) {
            let end = search_from + at + HEAD_END.len();
            let enough = match stop {
                Stop::AtHeadIf(enough) => enough(&body[..end]),
                _ => true,
            };
            if enough {
                body.truncate(end);
                return Ok((body.freeze(), true));
            }
            look_for_head = false;
        }
        if taken < chunk.len() {
            return Ok((body.freeze(), true));
        }
    }
    Ok((body.freeze(), false))
}

fn find_head_end(haystack: &[u8]) -> Option<usize> {
    haystack
        .windows(HEAD_END.len())
        .position(|window| window.eq_ignore_ascii_case(HEAD_END))
}

/// Whether a `Content-Type` promises HTML; a missing one might (servers omit it).
fn is_html(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return true;
    };
    content_type.parse::<mime::Mime>().is_ok_and(|m| {
        let essence = m.essence_str();
        essence.eq_ignore_ascii_case("text/html")
            || essence.eq_ignore_ascii_case("application/xhtml+xml")
    })
}

fn fetch_error(e: reqwest::Error) -> FetchError {
    // The URL may carry tokens in its query: keep it out of messages.
    let e = e.without_url();
    let mut source = e.source();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<AddressRefused>() {
            return FetchError::Blocked(refused.to_string());
        }
        source = cause.source();
    }
    if e.is_timeout() {
        FetchError::Timeout
    } else if e.is_connect() {
        FetchError::Connect(trusted::error_chain(&e))
    } else {
        FetchError::Transfer(trusted::error_chain(&e))
    }
}

/// Resolves names for the guarded client and refuses any name with a non-permitted
/// address. reqwest dials exactly what this returns, so there is no second lookup to
/// race (DNS rebinding), and it is never consulted for IP literals (see `check_url`).
///
/// Lookups go to the system resolver on a blocking thread, which a fetch past its deadline
/// cannot stop: a name server that never answers would hold one thread per pasted link
/// until the resolver's own timeout. At most [`MAX_LOOKUPS`] lookups run at once; past
/// that, fetches wait for a free slot within their deadline and then fail as timeouts,
/// and the runtime's blocking threads stay free for everything else.
struct GuardedResolver {
    allow: Arc<[IpNet]>,
    lookups: Arc<tokio::sync::Semaphore>,
}

/// Most name lookups in flight at once, per client.
pub const MAX_LOOKUPS: usize = 32;

impl GuardedResolver {
    fn new(allow: Arc<[IpNet]>) -> Self {
        Self {
            allow,
            lookups: Arc::new(tokio::sync::Semaphore::new(MAX_LOOKUPS)),
        }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = Arc::clone(&self.allow);
        let lookups = Arc::clone(&self.lookups);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let slot = lookups.acquire_owned().await?;
            let name = host.clone();
            let addrs: Vec<SocketAddr> = tokio::task::spawn_blocking(move || {
                // Held until the system resolver answers, however long after our caller
                // gave up. Port 0: reqwest puts the URL's port in.
                let _slot = slot;
                std::net::ToSocketAddrs::to_socket_addrs(&(name.as_str(), 0)).map(Iterator::collect)
            })
            .await??;
            if let Some(refused) = addrs.iter().find(|a| !ip::permitted(a.ip(), &allow)) {
                tracing::warn!(
                    host,
                    address = %refused.ip(),
                    range = ?ip::classify(refused.ip()),
                    "guarded fetch refused: name resolves to a non-public address"
                );
                return Err(AddressRefused.into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The resolver's refusal, recognised again in `fetch_error` to report `Blocked`.
#[derive(Debug)]
struct AddressRefused;

impl fmt::Display for AddressRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("address not allowed")
    }
}

impl std::error::Error for AddressRefused {}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::dns::Resolve as _;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn blocked(s: &str, allow: &[IpNet]) -> bool {
        matches!(check_url(&url(s), allow), Err(FetchError::Blocked(_)))
    }

    #[test]
    fn only_http_and_https_pass() {
        assert!(check_url(&url("http://example.com/"), &[]).is_ok());
        assert!(check_url(&url("https://example.com/a?b=c"), &[]).is_ok());
        for s in [
            "ftp://example.com/",
            "gopher://127.0.0.1/",
            "file:///etc/passwd",
            "data:text/html,hi",
            "ws://example.com/",
        ] {
            assert!(blocked(s, &[]), "{s}");
        }
    }

    #[test]
    fn userinfo_is_refused() {
        assert!(blocked("http://user@example.com/", &[]));
        assert!(blocked("http://user:pass@example.com/", &[]));
        assert!(blocked("http://:pass@example.com/", &[]));
    }

    #[test]
    fn urls_over_the_length_cap_are_refused() {
        let base = "https://example.com/";
        let fits = format!("{base}{}", "a".repeat(MAX_URL_LEN - base.len()));
        let over = format!("{fits}a");
        assert!(check_url(&url(&fits), &[]).is_ok());
        assert!(blocked(&over, &[]));
    }

    #[test]
    fn literal_hosts_are_classified_after_parsing() {
        for s in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://0/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::]/",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.1/",
            "https://[fd00::1]/",
        ] {
            assert!(blocked(s, &[]), "{s}");
        }
        assert!(check_url(&url("http://8.8.8.8/"), &[]).is_ok());
        assert!(check_url(&url("https://[2606:4700::1111]/"), &[]).is_ok());
    }

    #[test]
    fn names_and_outside_literals_use_ports_80_and_443_only() {
        assert!(check_url(&url("http://example.com:443/"), &[]).is_ok());
        assert!(check_url(&url("https://example.com:80/"), &[]).is_ok());
        assert!(blocked("http://example.com:8080/", &[]));
        assert!(blocked("https://8.8.8.8:8443/", &[]));
        let allow = [net("127.0.0.1/32")];
        assert!(blocked("http://localhost:8080/", &allow));
        assert!(blocked("http://8.8.8.8:8080/", &allow));
    }

    #[test]
    fn allowed_literals_may_use_any_port() {
        let allow = [net("127.0.0.1/32"), net("8.8.8.8/32")];
        assert!(check_url(&url("http://127.0.0.1:8080/"), &allow).is_ok());
        assert!(check_url(&url("http://127.0.0.1/"), &allow).is_ok());
        assert!(check_url(&url("http://8.8.8.8:22/"), &allow).is_ok());
        assert!(blocked("http://127.0.0.2:8080/", &allow));
        assert!(blocked("http://[::1]:8080/", &allow));
    }

    #[test]
    fn head_end_is_found_case_insensitively() {
        assert_eq!(find_head_end(b"<head></head>"), Some(6));
        assert_eq!(find_head_end(b"<HEAD></HeAd><body>"), Some(6));
        assert_eq!(find_head_end(b"</head"), None);
    }

    #[test]
    fn html_types_are_recognised_by_their_essence() {
        assert!(is_html(None));
        assert!(is_html(Some("text/html")));
        assert!(is_html(Some("Text/HTML; charset=utf-8")));
        assert!(is_html(Some("application/xhtml+xml")));
        assert!(!is_html(Some("application/json")));
        assert!(!is_html(Some("image/png")));
        assert!(!is_html(Some("text/htmlx")));
        assert!(!is_html(Some("garbage")));
    }

    #[test]
    fn an_invalid_user_agent_fails_at_build() {
        let policy = FetchPolicy {
            user_agent: "bad\nagent".into(),
            ..FetchPolicy::default()
        };
        assert!(matches!(
            GuardedClient::new(policy),
            Err(FetchError::Build(_))
        ));
    }

    fn resolve(host: &str, allow: &[IpNet]) -> Result<Vec<SocketAddr>, String> {
        let resolver = GuardedResolver::new(allow.to_vec().into());
        let name = host
            .parse::<reqwest::dns::Name>()
            .unwrap_or_else(|e| panic!("{host}: {e:?}"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        runtime.block_on(async {
            resolver
                .resolve(name)
                .await
                .map(Iterator::collect)
                .map_err(|e| e.to_string())
        })
    }

    #[test]
    fn lookups_wait_for_a_free_slot() {
        let resolver = GuardedResolver::new(vec![net("127.0.0.0/8"), net("::1/128")].into());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        runtime.block_on(async {
            let name = || {
                "localhost"
                    .parse::<reqwest::dns::Name>()
                    .unwrap_or_else(|e| panic!("{e:?}"))
            };
            // Every slot held, as by lookups stuck on a silent name server.
            let stuck = Arc::clone(&resolver.lookups)
                .acquire_many_owned(MAX_LOOKUPS as u32)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let waited =
                tokio::time::timeout(Duration::from_millis(300), resolver.resolve(name())).await;
            assert!(waited.is_err(), "a lookup ran with no free slot");
            drop(stuck);
            let answered = resolver
                .resolve(name())
                .await
                .map(|addrs| addrs.count())
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(answered > 0);
        });
    }

    #[test]
    fn the_resolver_refuses_a_name_with_a_loopback_address() {
        assert_eq!(resolve("localhost", &[]), Err("address not allowed".into()));
    }

    #[test]
    fn the_resolver_returns_the_checked_addresses_when_allowed() {
        let allow = [net("127.0.0.0/8"), net("::1/128")];
        let addrs = resolve("localhost", &allow).unwrap_or_else(|e| panic!("{e}"));
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 0));
    }
}
