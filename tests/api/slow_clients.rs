//! Clients that send slowly or hold many connections (security.md "Slow and hostile
//! clients"): every body has a deadline, whoever sends it; one address may send only so
//! many at once; connections are bounded in total; and the server keeps answering.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::fakes::PATIENCE;
use crate::helpers::{TestApp, wait_until};

/// The body deadline the flood test runs with (`UNFURL_BODY_READ_TIMEOUT_SECS`).
const DEADLINE: Duration = Duration::from_secs(2);
/// How long after an answer to an unread body the server keeps the connection
/// (`LINGER` in `startup.rs`).
const LINGER: Duration = Duration::from_secs(1);
/// What a busy machine may add to either; the bounds asserted stay far below "forever".
const SLACK: Duration = Duration::from_secs(5);
/// How many connections the flood test opens at once.
const TRICKLERS: usize = 200;

#[derive(Default)]
struct Counts {
    sent: AtomicUsize,
    open: AtomicUsize,
}

/// How one trickling connection ended.
#[derive(Debug)]
struct Ended {
    kind: &'static str,
    /// From the last header byte sent to the server closing the connection.
    lifetime: Duration,
    /// Whether the server closed it before the test gave up (after [`PATIENCE`] and more).
    closed: bool,
    /// The status of the answer, if one came before the close.
    status: Option<u16>,
}

/// Send `head`, then a byte of body (a one-byte chunk when `chunked`) every 200 ms, reading
/// whatever the server answers, until it closes the connection. `counts` counts the heads
/// sent and the connections open (head sent, not yet closed).
async fn trickle(
    host: String,
    kind: &'static str,
    head: String,
    chunked: bool,
    counts: Arc<Counts>,
) -> Ended {
    let mut stream = TcpStream::connect(&host).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    counts.open.fetch_add(1, Ordering::SeqCst);
    counts.sent.fetch_add(1, Ordering::SeqCst);
    let started = Instant::now();
    let give_up = tokio::time::Instant::now() + PATIENCE + PATIENCE;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    let closed = loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => break true,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            },
            _ = tick.tick() => {
                let byte: &[u8] = if chunked { b"1\r\nx\r\n" } else { b"x" };
                if stream.write_all(byte).await.is_err() {
                    break true;
                }
            }
            _ = tokio::time::sleep_until(give_up) => break false,
        }
    };
    counts.open.fetch_sub(1, Ordering::SeqCst);
    let status = String::from_utf8_lossy(&answer)
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    Ended {
        kind,
        lifetime: started.elapsed(),
        closed,
        status,
    }
}

fn head(method: &str, path: &str, host: &str, extra: &str, length: Option<usize>) -> String {
    let framing = match length {
        Some(n) => format!("Content-Length: {n}"),
        None => "Transfer-Encoding: chunked".to_owned(),
    };
    format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}{framing}\r\n\r\n")
}

#[tokio::test]
async fn trickling_bodies_are_cut_off_at_the_deadline_while_the_server_keeps_answering() {
    let app = TestApp::builder()
        .with_env(&[
            ("UNFURL_BODY_READ_TIMEOUT_SECS", "2"),
            // Every trickler here comes from 127.0.0.1: let them all reach their handler,
            // so that it is the deadline, not the per-address bound, that ends them.
            ("UNFURL_MAX_BODIES_PER_ADDRESS", "1000"),
        ])
        .spawn()
        .await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let bearer = format!("Authorization: Bearer {}\r\n", app.token);
    let json = "Content-Type: application/json\r\n";
    let form = "Content-Type: application/x-www-form-urlencoded\r\n";
    // Each announces a kilobyte and sends a byte of it every 200 ms.
    let kinds: [(&'static str, String, bool); 5] = [
        // An authenticated caller's body is read, and given up on at the deadline.
        (
            "unfurl",
            head(
                "POST",
                "/unfurl",
                &host,
                &format!("{bearer}{json}"),
                Some(1024),
            ),
            false,
        ),
        // Unauthenticated bodies are read too, until each endpoint's rate limit refuses
        // the rest unread.
        (
            "token",
            head("POST", "/oauth/token", &host, form, Some(1024)),
            false,
        ),
        (
            "consent",
            head("POST", "/oauth/authorize", &host, form, Some(1024)),
            false,
        ),
        (
            "revoke",
            head("DELETE", "/oauth/revoke", &host, json, Some(1024)),
            false,
        ),
        // Refused before its body is read (no token): a chunked body that nobody reads
        // must not be drained for as long as it dribbles.
        (
            "unread chunked",
            head("POST", "/unfurl", &host, json, None),
            true,
        ),
    ];
    let counts = Arc::new(Counts::default());
    let mut tricklers = Vec::new();
    for i in 0..TRICKLERS {
        let (kind, head, chunked) = kinds[i % kinds.len()].clone();
        tricklers.push(tokio::spawn(trickle(
            host.clone(),
            kind,
            head,
            chunked,
            counts.clone(),
        )));
    }
    wait_until("sending every head", || {
        counts.sent.load(Ordering::SeqCst) == TRICKLERS
    })
    .await;
    let open = &counts.open;

    // While they trickle, the server answers its probe and an unfurl at once.
    let mut trickling_meanwhile = 0;
    for _ in 0..3 {
        let started = Instant::now();
        let health = app
            .client
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        let took = started.elapsed();
        trickling_meanwhile = trickling_meanwhile.max(open.load(Ordering::SeqCst));
        eprintln!("/healthz answered in {took:?} with {trickling_meanwhile} trickling");
        assert!(took < Duration::from_secs(2), "/healthz took {took:?}");
    }
    let started = Instant::now();
    app.unfurl(&app.origin_url("/relative")).await;
    let took = started.elapsed();
    eprintln!("/unfurl answered in {took:?}");
    assert!(took < Duration::from_secs(3), "/unfurl took {took:?}");
    assert!(
        trickling_meanwhile >= 50,
        "the flood was over before it was measured ({trickling_meanwhile} open)"
    );

    // Every trickler is closed by the server: those read, at the deadline; the others as
    // soon as they are answered.
    let mut longest = Duration::ZERO;
    for trickler in tricklers {
        let ended = trickler.await.unwrap();
        assert!(ended.closed, "never closed: {ended:?}");
        assert!(
            ended.lifetime < DEADLINE + LINGER + SLACK,
            "closed late: {ended:?}"
        );
        let expected: &[u16] = match ended.kind {
            "unfurl" => &[408],
            "token" | "consent" => &[408, 429],
            "revoke" => &[200, 429],
            _ => &[401],
        };
        assert!(
            ended.status.is_some_and(|s| expected.contains(&s)),
            "{ended:?}"
        );
        longest = longest.max(ended.lifetime);
    }
    eprintln!("the longest trickling connection lived {longest:?}");
    assert_eq!(open.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn one_address_may_send_only_so_many_bodies_at_once() {
    let app = TestApp::builder()
        .with_env(&[
            ("UNFURL_MAX_BODIES_PER_ADDRESS", "4"),
            ("UNFURL_CLIENT_IP_HEADER", "X-Test-Client"),
            ("UNFURL_BODY_READ_TIMEOUT_SECS", "60"),
        ])
        .spawn()
        .await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let flooder: std::net::IpAddr = "203.0.113.1".parse().unwrap();
    let revoke = |from: &str| {
        app.client
            .delete(format!("{}/oauth/revoke", app.address))
            .header("X-Test-Client", from)
            .header("Content-Type", "application/json")
            .body("{}")
            .send()
    };

    // Four bodies from one address stall half-way; their handlers wait for the rest.
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(&host).await.unwrap();
        let head = head(
            "DELETE",
            "/oauth/revoke",
            &host,
            "X-Test-Client: 203.0.113.1\r\nContent-Type: application/json\r\n",
            Some(1024),
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(b"{\"token\":").await.unwrap();
        stalled.push(stream);
    }
    wait_until("four bodies arriving from one address", || {
        app.limits.arriving_bodies.held(flooder) == 4
    })
    .await;

    // A fifth body still arriving from that address is refused at once, unread; a body
    // that comes whole holds nothing and is served, as is another address.
    let started = Instant::now();
    let mut fifth = TcpStream::connect(&host).await.unwrap();
    let fifth_head = head(
        "DELETE",
        "/oauth/revoke",
        &host,
        "X-Test-Client: 203.0.113.1\r\nContent-Type: application/json\r\n",
        Some(1024),
    );
    fifth.write_all(fifth_head.as_bytes()).await.unwrap();
    fifth.write_all(b"{\"token\":").await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), fifth.read(&mut answer))
        .await
        .expect("the fifth body is answered at once")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).to_lowercase();
    assert!(answer.starts_with("http/1.1 429"), "{answer}");
    assert!(answer.contains("retry-after: 1\r\n"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(revoke("203.0.113.1").await.unwrap().status(), 200);
    let served = revoke("203.0.113.2").await.unwrap();
    assert_eq!(served.status(), 200);

    // Once the stalled senders go, the address has its shares back.
    drop(stalled);
    wait_until("the shares coming back", || {
        app.limits.arriving_bodies.held(flooder) == 0
    })
    .await;
    assert_eq!(revoke("203.0.113.1").await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_kept_alive_connection_that_dribbles_its_next_head_is_closed() {
    let app = TestApp::builder().spawn().await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&host).await.unwrap();
    // One whole request, answered; the connection is kept alive.
    let first = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n");
    stream.write_all(first.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 1024];
    let n = stream.read(&mut answer).await.unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"));

    // The next head, one byte every 200 ms: cut off at the head deadline (5 s), where
    // actix alone would wait for it forever.
    let started = Instant::now();
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: {host}\r\nX-Slow: {}",
        "a".repeat(200)
    );
    let mut closed = false;
    for byte in head.bytes() {
        if stream.write_all(&[byte]).await.is_err() {
            closed = true;
            break;
        }
        let mut probe = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut probe));
        if let Ok(Ok(0) | Err(_)) = read.await {
            closed = true;
            break;
        }
    }
    let took = started.elapsed();
    assert!(closed, "the connection stayed open for {took:?}");
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(5) + PATIENCE,
        "closed after {took:?}"
    );
    // And the server answers others all along.
    assert_eq!(
        probe_health(&host)
            .await
            .map(|a| a.starts_with(b"HTTP/1.1 200"))
            .ok(),
        Some(true)
    );
}

#[tokio::test]
async fn many_slow_requests_with_whole_bodies_from_one_address_are_all_served() {
    // Notion sends its unfurl requests from a few addresses, each body whole; answers that
    // take long (a slow origin) must not make the address's later requests 429.
    let app = TestApp::builder()
        .with_env(&[("UNFURL_MAX_BODIES_PER_ADDRESS", "1")])
        .spawn()
        .await;
    let uris: Vec<String> = (0..12)
        .map(|i| app.origin_url(&format!("/slow/{i}")))
        .collect();
    let unfurls = uris.iter().map(|uri| app.unfurl_response(uri));
    for (status, body) in futures_util::future::join_all(unfurls).await {
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("Slow but fine"), "{body}");
    }
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_until_one_closes() {
    let app = TestApp::builder()
        .with_env(&[("UNFURL_WORKERS", "1"), ("UNFURL_MAX_CONNECTIONS", "4")])
        .spawn()
        .await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let probe = || {
        let host = host.clone();
        async move { probe_health(&host).await }
    };
    assert!(
        String::from_utf8_lossy(&probe().await.unwrap()).starts_with("HTTP/1.1 200"),
        "a free server answers"
    );

    // Four connections that say nothing take every slot (actix would close them after the
    // 5 s head timeout)...
    let mut silent = Vec::new();
    for _ in 0..4 {
        silent.push(TcpStream::connect(&host).await.unwrap());
    }
    // ...so a fifth is not even accepted...
    let mut waiting = tokio::spawn(probe());
    assert!(
        tokio::time::timeout(Duration::from_millis(500), &mut waiting)
            .await
            .is_err(),
        "a fifth connection was served"
    );
    // ...until one of them goes.
    drop(silent.pop());
    let answer = tokio::time::timeout(PATIENCE, waiting)
        .await
        .expect("the waiting connection was never served")
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
}

/// `GET /healthz` on a connection of its own; the whole answer.
async fn probe_health(host: &str) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(host).await?;
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    Ok(answer)
}
