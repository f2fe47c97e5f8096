//! The guarded client against raw local origins.
//!
//! The origins are plain `TcpListener`s writing HTTP/1.1 by hand, which gives full
//! control over timing (drip-feeding, stalling), encodings and what the client sent.
//! They listen on 127.0.0.1, reachable only because the test policy allows
//! `127.0.0.1/32` (`UNFURL_FETCH_ALLOW` in production); canaries on 127.0.0.2 and
//! `[::1]` are outside that list and must never see a connection.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use notion_unfurl_sdk::fetch::{BodyMode, FetchError, FetchPolicy, Fetched, GuardedClient};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use url::Url;

const MIB: usize = 1024 * 1024;

/// What an origin answers to one request.
enum Reply {
    /// The whole response, as bytes on the wire.
    Raw(Vec<u8>),
    /// `head`, then `chunk` written `times` times (large bodies without the memory).
    Repeat {
        head: String,
        chunk: Vec<u8>,
        times: usize,
    },
    /// `head`, then `body` one byte every `every`.
    Drip {
        head: String,
        body: Vec<u8>,
        every: Duration,
    },
    /// Reads the request, then never answers.
    Silent,
}

/// A response with `Content-Length` and `Connection: close` added.
fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let length = body.len().to_string();
    let mut headers = headers.to_vec();
    headers.push(("Content-Length", &length));
    let mut raw = head(status, &headers).into_bytes();
    raw.extend_from_slice(body);
    Reply::Raw(raw)
}

/// A status line and headers (with `Connection: close`) ending in the blank line.
fn head(status: &str, headers: &[(&str, &str)]) -> String {
    let mut text = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text
}

fn html(body: &str) -> Reply {
    response(
        "200 OK",
        &[("Content-Type", "text/html; charset=utf-8")],
        body.as_bytes(),
    )
}

fn redirect(location: &str) -> Reply {
    response("302 Found", &[("Location", location)], b"")
}

/// A local origin: counts accepted connections and records every request head.
struct Origin {
    addr: SocketAddr,
    accepts: Arc<AtomicUsize>,
    heads: mpsc::UnboundedReceiver<String>,
    task: JoinHandle<()>,
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Origin {
    async fn spawn(bind: &str, reply: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind(bind)
            .await
            .unwrap_or_else(|e| panic!("bind {bind}: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let accepts = Arc::new(AtomicUsize::new(0));
        let (tx, heads) = mpsc::unbounded_channel();
        let reply = Arc::new(reply);
        let counter = Arc::clone(&accepts);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let reply = Arc::clone(&reply);
                let tx = tx.clone();
                tokio::spawn(async move { serve(stream, |path| reply(path), tx).await });
            }
        });
        Self {
            addr,
            accepts,
            heads,
            task,
        }
    }

    /// Answers every request the same way.
    async fn fixed(reply: impl Fn() -> Reply + Send + Sync + 'static) -> Self {
        Self::spawn("127.0.0.1:0", move |_| reply()).await
    }

    fn url(&self, path: &str) -> Url {
        parse(&format!("http://{}{path}", self.addr))
    }

    fn accepts(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }

    /// The request heads received so far. Each is recorded before its reply is written,
    /// so once the client has its answer every request it made is here.
    fn requests(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.heads.try_recv().ok()).collect()
    }
}

async fn serve(
    mut stream: TcpStream,
    reply: impl Fn(&str) -> Reply,
    heads: mpsc::UnboundedSender<String>,
) {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let request = String::from_utf8_lossy(&request).into_owned();
    let path = request.split(' ').nth(1).unwrap_or("/").to_owned();
    let _ = heads.send(request);
    // Write errors mean the client hung up, which several tests expect it to do.
    match reply(&path) {
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes).await;
        }
        Reply::Repeat { head, chunk, times } => {
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for _ in 0..times {
                if stream.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        }
        Reply::Drip { head, body, every } => {
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for byte in body {
                tokio::time::sleep(every).await;
                if stream.write_all(&[byte]).await.is_err() {
                    return;
                }
            }
        }
        Reply::Silent => {
            // Hold the connection until the client gives up on it.
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    return;
                }
            }
        }
    }
    let _ = stream.shutdown().await;
}

fn parse(s: &str) -> Url {
    Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Generous timeouts (a busy 2-core machine must not flake) and loopback allowed.
fn local_policy() -> FetchPolicy {
    FetchPolicy {
        allow: vec!["127.0.0.1/32".parse().unwrap_or_else(|e| panic!("{e}"))],
        connect_timeout: Duration::from_secs(10),
        first_byte_timeout: Duration::from_secs(30),
        total_timeout: Duration::from_secs(60),
        ..FetchPolicy::default()
    }
}

fn client(policy: FetchPolicy) -> GuardedClient {
    GuardedClient::new(policy).unwrap_or_else(|e| panic!("{e}"))
}

async fn get(policy: FetchPolicy, url: &Url, mode: BodyMode) -> Result<Fetched, FetchError> {
    client(policy).get(url, mode).await
}

#[track_caller]
fn ok(result: Result<Fetched, FetchError>) -> Fetched {
    result.unwrap_or_else(|e| panic!("expected a response, got {e:?}"))
}

fn blocked(reason: &str) -> Result<(), FetchError> {
    Err(FetchError::Blocked(reason.into()))
}

fn discard(result: Result<Fetched, FetchError>) -> Result<(), FetchError> {
    result.map(|_| ())
}

fn header<'a>(request: &'a str, name: &str) -> Option<&'a str> {
    request.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test]
async fn loopback_is_refused_without_the_allow_list_and_never_connected() {
    let origin = Origin::fixed(|| html("<head></head>")).await;
    let policy = FetchPolicy::default();
    let result = get(policy, &origin.url("/"), BodyMode::HtmlHead).await;
    assert_eq!(discard(result), blocked("address not allowed"));
    assert_eq!(origin.accepts(), 0);
}

#[tokio::test]
async fn an_allowed_origin_is_read_up_to_the_end_of_its_head() {
    let page = format!(
        "<!doctype html><html><head><title>Hi</title></HEAD><body>{}</body></html>",
        "x".repeat(MIB)
    );
    let mut origin = Origin::fixed(move || html(&page)).await;
    let fetched = ok(get(local_policy(), &origin.url("/page"), BodyMode::HtmlHead).await);
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.final_url, origin.url("/page"));
    assert_eq!(
        fetched.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert!(fetched.truncated);
    assert_eq!(
        fetched.body.as_ref(),
        b"<!doctype html><html><head><title>Hi</title></HEAD>"
    );
    assert_eq!(origin.requests().len(), 1);
}

#[tokio::test]
async fn a_head_end_split_across_reads_is_found() {
    let origin = Origin::fixed(|| {
        let body = b"<html><head><title>t</title></head><body>rest</body></html>".to_vec();
        Reply::Drip {
            head: head(
                "200 OK",
                &[
                    ("Content-Type", "text/html"),
                    ("Content-Length", &body.len().to_string()),
                ],
            ),
            body,
            every: Duration::from_millis(2),
        }
    })
    .await;
    let fetched = ok(get(local_policy(), &origin.url("/"), BodyMode::HtmlHead).await);
    assert_eq!(
        fetched.body.as_ref(),
        b"<html><head><title>t</title></head>"
    );
    assert!(fetched.truncated);
}

#[tokio::test]
async fn a_page_without_head_end_is_read_whole_when_short() {
    let origin = Origin::fixed(|| html("<title>no head end</title>")).await;
    let fetched = ok(get(local_policy(), &origin.url("/"), BodyMode::HtmlHead).await);
    assert_eq!(fetched.body.as_ref(), b"<title>no head end</title>");
    assert!(!fetched.truncated);
}

#[tokio::test]
async fn redirects_to_non_public_addresses_are_refused_before_any_request() {
    let other_loopback = Origin::spawn("127.0.0.2:0", |_| html("<head></head>")).await;
    let v6_loopback = Origin::spawn("[::1]:0", |_| html("<head></head>")).await;
    let targets = Arc::new([
        "http://10.0.0.1/".to_owned(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://[::ffff:10.0.0.1]/".to_owned(),
        "http://0x7f000002/".to_owned(),
        format!("http://[::1]:{}/", v6_loopback.addr.port()),
        format!("http://127.0.0.2:{}/", other_loopback.addr.port()),
    ]);
    let mut origin = Origin::spawn("127.0.0.1:0", {
        let targets = Arc::clone(&targets);
        move |path| {
            let index: usize = path.trim_start_matches('/').parse().unwrap_or(0);
            redirect(&targets[index])
        }
    })
    .await;
    let client = client(local_policy());
    for index in 0..targets.len() {
        let result = client
            .get(&origin.url(&format!("/{index}")), BodyMode::HtmlHead)
            .await;
        assert_eq!(
            discard(result),
            blocked("address not allowed"),
            "{}",
            targets[index]
        );
    }
    assert_eq!(origin.requests().len(), targets.len());
    assert_eq!(other_loopback.accepts(), 0);
    assert_eq!(v6_loopback.accepts(), 0);
}

/// `/hop/N` redirects to `/hop/N-1`; `/hop/0` is the page.
async fn hop_origin() -> Origin {
    Origin::spawn("127.0.0.1:0", |path| {
        match path.trim_start_matches("/hop/").parse::<usize>() {
            Ok(0) | Err(_) => html("<head></head>"),
            Ok(n) => redirect(&format!("/hop/{}", n - 1)),
        }
    })
    .await
}

#[tokio::test]
async fn five_redirects_are_followed() {
    let mut origin = hop_origin().await;
    let fetched = ok(get(local_policy(), &origin.url("/hop/5"), BodyMode::HtmlHead).await);
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.final_url, origin.url("/hop/0"));
    assert_eq!(origin.requests().len(), 6);
}

#[tokio::test]
async fn a_sixth_redirect_is_refused_without_following_it() {
    let mut origin = hop_origin().await;
    let result = get(local_policy(), &origin.url("/hop/6"), BodyMode::HtmlHead).await;
    assert_eq!(discard(result), Err(FetchError::TooManyRedirects));
    let requests = origin.requests();
    assert_eq!(requests.len(), 6);
    assert!(requests.iter().all(|r| !r.starts_with("GET /hop/0 ")));
}

#[tokio::test]
async fn relative_locations_are_resolved_against_the_current_url() {
    let origin = Origin::spawn("127.0.0.1:0", |path| match path {
        "/dir/start" => redirect("next?x=1"),
        "/dir/next?x=1" => redirect("/final"),
        "/final" => response(
            "301 Moved Permanently",
            &[("Location", "../done#frag")],
            b"",
        ),
        "/done" => html("<head></head>"),
        _ => response("404 Not Found", &[], b""),
    })
    .await;
    let fetched = ok(get(
        local_policy(),
        &origin.url("/dir/start"),
        BodyMode::HtmlHead,
    )
    .await);
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.final_url.path(), "/done");
}

#[tokio::test]
async fn a_redirect_to_a_name_on_another_port_is_refused_by_the_port_rule() {
    // localhost is 127.0.0.1, which is allowed, but only literal allowed addresses may
    // use ports other than 80/443: the resolver never sees the port.
    let mut origin = Origin::spawn("127.0.0.1:0", |_| html("<head></head>")).await;
    let port = origin.addr.port();
    let mut redirecting =
        Origin::fixed(move || redirect(&format!("http://localhost:{port}/"))).await;
    let result = get(local_policy(), &redirecting.url("/"), BodyMode::HtmlHead).await;
    assert_eq!(discard(result), blocked("port not allowed"));
    assert_eq!(redirecting.requests().len(), 1);
    assert_eq!(origin.accepts(), 0);
    assert!(origin.requests().is_empty());
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_by_the_resolver() {
    // Port 80 passes the port rule, so only the resolver stands in the way; if it let
    // the name through, this would be a connection error rather than `Blocked`.
    let result = get(
        FetchPolicy::default(),
        &parse("http://localhost/"),
        BodyMode::None,
    )
    .await;
    assert_eq!(discard(result), blocked("address not allowed"));
}

#[tokio::test]
async fn a_forty_mib_page_without_head_end_is_answered_from_a_small_cap() {
    forty_mib_page_is_cut_at(100_000).await;
}

#[tokio::test]
async fn a_forty_mib_page_without_head_end_is_answered_from_the_default_cap() {
    forty_mib_page_is_cut_at(FetchPolicy::default().max_body_bytes).await;
}

async fn forty_mib_page_is_cut_at(cap: usize) {
    let origin = Origin::fixed(|| Reply::Repeat {
        head: head(
            "200 OK",
            &[
                ("Content-Type", "text/html"),
                ("Content-Length", &(40 * MIB).to_string()),
            ],
        ),
        chunk: vec![b'a'; 64 * 1024],
        times: 40 * 16,
    })
    .await;
    let policy = FetchPolicy {
        max_body_bytes: cap,
        ..local_policy()
    };
    let fetched = ok(get(policy, &origin.url("/"), BodyMode::HtmlHead).await);
    assert!(fetched.truncated);
    assert_eq!(fetched.body.len(), cap);
}

#[tokio::test]
async fn full_mode_refuses_a_declared_length_over_the_cap_before_reading() {
    // The body would take minutes: only a refusal before reading answers in time.
    let origin = Origin::fixed(|| Reply::Drip {
        head: head(
            "200 OK",
            &[
                ("Content-Type", "application/json"),
                ("Content-Length", "3000000"),
            ],
        ),
        body: vec![b' '; 3_000_000],
        every: Duration::from_secs(1),
    })
    .await;
    let policy = FetchPolicy {
        total_timeout: Duration::from_secs(5),
        ..local_policy()
    };
    let result = get(policy, &origin.url("/"), BodyMode::Full).await;
    assert_eq!(discard(result), Err(FetchError::TooLarge));
}

#[tokio::test]
async fn full_mode_refuses_an_undeclared_body_over_the_cap() {
    // No Content-Length: the body runs until the origin closes the connection.
    let origin = Origin::fixed(|| Reply::Repeat {
        head: head("200 OK", &[("Content-Type", "application/json")]),
        chunk: vec![b' '; 1000],
        times: 3000,
    })
    .await;
    let result = get(local_policy(), &origin.url("/"), BodyMode::Full).await;
    assert_eq!(discard(result), Err(FetchError::TooLarge));
}

#[tokio::test]
async fn full_mode_reads_a_body_up_to_the_cap() {
    let origin = Origin::fixed(|| {
        response(
            "200 OK",
            &[("Content-Type", "application/json")],
            &[b'1'; 1000],
        )
    })
    .await;
    let policy = FetchPolicy {
        max_body_bytes: 1000,
        ..local_policy()
    };
    let fetched = ok(get(policy, &origin.url("/"), BodyMode::Full).await);
    assert_eq!(fetched.body.len(), 1000);
    assert!(!fetched.truncated);
}

/// 50 MiB of zeros, gzipped (about 50 KiB), built once for the tests that need it.
fn gzip_bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let zeros = vec![0u8; MIB];
        for _ in 0..50 {
            encoder.write_all(&zeros).unwrap_or_else(|e| panic!("{e}"));
        }
        encoder.finish().unwrap_or_else(|e| panic!("{e}"))
    })
}

async fn bomb_origin() -> Origin {
    Origin::fixed(|| {
        response(
            "200 OK",
            &[("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
            gzip_bomb(),
        )
    })
    .await
}

#[tokio::test]
async fn a_gzip_bomb_is_cut_at_the_cap_in_head_mode() {
    let origin = bomb_origin().await;
    let fetched = ok(get(local_policy(), &origin.url("/"), BodyMode::HtmlHead).await);
    assert!(fetched.truncated);
    assert_eq!(fetched.body.len(), FetchPolicy::default().max_body_bytes);
    assert!(fetched.body.iter().all(|&b| b == 0));
}

#[tokio::test]
async fn a_gzip_bomb_is_too_large_in_full_mode() {
    let origin = bomb_origin().await;
    let result = get(local_policy(), &origin.url("/"), BodyMode::Full).await;
    assert_eq!(discard(result), Err(FetchError::TooLarge));
}

#[tokio::test]
async fn a_small_gzipped_page_is_decoded() {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all(b"<html><head><title>z</title></head><body></body></html>")
        .unwrap_or_else(|e| panic!("{e}"));
    let gzipped = encoder.finish().unwrap_or_else(|e| panic!("{e}"));
    let mut origin = Origin::fixed(move || {
        response(
            "200 OK",
            &[("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
            &gzipped,
        )
    })
    .await;
    let fetched = ok(get(local_policy(), &origin.url("/"), BodyMode::HtmlHead).await);
    assert_eq!(
        fetched.body.as_ref(),
        b"<html><head><title>z</title></head>"
    );
    let requests = origin.requests();
    let accept_encoding = header(&requests[0], "accept-encoding").unwrap_or_default();
    assert!(accept_encoding.contains("gzip"), "{accept_encoding}");
}

#[tokio::test]
async fn a_drip_feeding_origin_is_stopped_by_the_total_deadline() {
    let origin = Origin::fixed(|| Reply::Drip {
        head: head(
            "200 OK",
            &[("Content-Type", "text/html"), ("Content-Length", "1000")],
        ),
        body: vec![b'a'; 1000],
        every: Duration::from_millis(100),
    })
    .await;
    let policy = FetchPolicy {
        total_timeout: Duration::from_secs(1),
        ..local_policy()
    };
    for mode in [BodyMode::Full, BodyMode::HtmlHead] {
        let started = Instant::now();
        let result = get(policy.clone(), &origin.url("/"), mode).await;
        assert_eq!(discard(result), Err(FetchError::Timeout), "{mode:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "{mode:?}");
    }
}

#[tokio::test]
async fn an_origin_that_never_answers_is_stopped_by_the_first_byte_timeout() {
    let origin = Origin::fixed(|| Reply::Silent).await;
    let policy = FetchPolicy {
        first_byte_timeout: Duration::from_millis(500),
        ..local_policy()
    };
    let started = Instant::now();
    let result = get(policy, &origin.url("/"), BodyMode::HtmlHead).await;
    assert_eq!(discard(result), Err(FetchError::Timeout));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn refused_url_forms_never_reach_the_network() {
    let origin = Origin::fixed(|| html("<head></head>")).await;
    let port = origin.addr.port();
    let client = client(local_policy());
    let cases = [
        (
            format!("http://user:secret@127.0.0.1:{port}/"),
            "credentials in URL",
        ),
        (
            format!("http://user@127.0.0.1:{port}/"),
            "credentials in URL",
        ),
        (
            format!("ftp://127.0.0.1:{port}/"),
            "only http and https URLs",
        ),
        ("gopher://127.0.0.1/".to_owned(), "only http and https URLs"),
        (
            format!("gopher://127.0.0.1:{port}/_GET%20/"),
            "only http and https URLs",
        ),
        ("http://example.com:8080/".to_owned(), "port not allowed"),
        (
            format!("http://127.0.0.1:{port}/{}", "a".repeat(9000)),
            "URL too long",
        ),
    ];
    for (url, reason) in cases {
        let result = client.get(&parse(&url), BodyMode::HtmlHead).await;
        assert_eq!(discard(result), blocked(reason), "{reason}");
    }
    assert_eq!(origin.accepts(), 0);
}

#[tokio::test]
async fn spellings_of_internal_addresses_are_refused() {
    let client = client(FetchPolicy::default());
    for url in [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://0/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::]/",
        "http://[::1]/",
        "http://169.254.169.254/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:a9fe:a9fe::]/",
    ] {
        let result = client.get(&parse(url), BodyMode::HtmlHead).await;
        assert_eq!(discard(result), blocked("address not allowed"), "{url}");
    }
}

#[tokio::test]
async fn requests_carry_the_user_agent_and_no_referer_or_cookie() {
    let mut origin = Origin::spawn("127.0.0.1:0", |path| match path {
        "/login?token=x" => response(
            "302 Found",
            &[("Location", "/page"), ("Set-Cookie", "session=abc; Path=/")],
            b"",
        ),
        _ => html("<head></head>"),
    })
    .await;
    let policy = local_policy();
    let user_agent = policy.user_agent.clone();
    ok(get(policy, &origin.url("/login?token=x"), BodyMode::HtmlHead).await);
    let requests = origin.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(header(request, "user-agent"), Some(user_agent.as_str()));
        assert_eq!(
            header(request, "accept"),
            Some("text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
        );
        assert_eq!(header(request, "referer"), None, "{request}");
        assert_eq!(header(request, "cookie"), None, "{request}");
    }
    assert!(requests[1].starts_with("GET /page HTTP/1.1\r\n"));
}

#[tokio::test]
async fn other_statuses_are_answers_without_a_body() {
    let origin = Origin::fixed(|| {
        response(
            "404 Not Found",
            &[("Content-Type", "text/html")],
            b"<head></head>",
        )
    })
    .await;
    let fetched = ok(get(local_policy(), &origin.url("/"), BodyMode::Full).await);
    assert_eq!(fetched.status, 404);
    assert!(fetched.body.is_empty());
    assert!(!fetched.truncated);
}

#[tokio::test]
async fn a_redirect_without_location_is_the_final_answer() {
    let origin = Origin::fixed(|| response("302 Found", &[], b"")).await;
    let fetched = ok(get(local_policy(), &origin.url("/"), BodyMode::HtmlHead).await);
    assert_eq!(fetched.status, 302);
}

#[tokio::test]
async fn head_mode_reads_nothing_of_other_types() {
    let origin = Origin::fixed(|| {
        response(
            "200 OK",
            &[("Content-Type", "application/json")],
            b"{\"a\":1}",
        )
    })
    .await;
    let fetched = ok(get(local_policy(), &origin.url("/"), BodyMode::HtmlHead).await);
    assert_eq!(fetched.content_type.as_deref(), Some("application/json"));
    assert!(fetched.body.is_empty());
    assert!(!fetched.truncated);
}

#[tokio::test]
async fn head_mode_reads_a_page_without_content_type() {
    let origin = Origin::fixed(|| response("200 OK", &[], b"<head></head><body>")).await;
    let fetched = ok(get(local_policy(), &origin.url("/"), BodyMode::HtmlHead).await);
    assert_eq!(fetched.content_type, None);
    assert_eq!(fetched.body.as_ref(), b"<head></head>");
}

#[tokio::test]
async fn none_mode_reads_headers_only() {
    let origin = Origin::fixed(|| html("<head></head>")).await;
    let fetched = ok(get(local_policy(), &origin.url("/"), BodyMode::None).await);
    assert_eq!(fetched.status, 200);
    assert!(fetched.body.is_empty());
}
