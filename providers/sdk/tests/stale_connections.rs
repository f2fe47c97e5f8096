//! A kept-alive connection that the server closes just as the client reuses it: the request
//! was written, and the only answer is a reset. Both clients send an idempotent request once
//! more on a new connection; a POST is never sent twice.
//!
//! The origin answers the first request of every connection with keep-alive, then reads the
//! second request and resets the connection without answering, which makes the race of a
//! real server's idle timeout happen every time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use notion_unfurl_sdk::fetch::{BodyMode, FetchPolicy, GuardedClient};
use notion_unfurl_sdk::trusted::TrustedClient;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

struct Origin {
    base: Url,
    /// Requests read, over all connections.
    requests: Arc<AtomicUsize>,
}

async fn spawn_origin() -> Origin {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(first_answered_then_reset(stream, counted.clone()));
        }
    });
    Origin { base, requests }
}

/// Reads one request head (and a `Content-Length` body); `false` at end of stream.
async fn read_request(stream: &mut TcpStream) -> bool {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if seen.len() >= end + 4 + length {
                return true;
            }
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

async fn first_answered_then_reset(mut stream: TcpStream, requests: Arc<AtomicUsize>) {
    if !read_request(&mut stream).await {
        return;
    }
    requests.fetch_add(1, Ordering::SeqCst);
    let answer =
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<p>fresh</p>\n";
    if stream.write_all(answer.as_bytes()).await.is_err() {
        return;
    }
    if read_request(&mut stream).await {
        requests.fetch_add(1, Ordering::SeqCst);
    }
    let _ = stream.set_zero_linger();
}

fn policy() -> FetchPolicy {
    FetchPolicy {
        allow: vec!["127.0.0.1/32".parse().unwrap()],
        connect_timeout: Duration::from_secs(10),
        first_byte_timeout: Duration::from_secs(30),
        total_timeout: Duration::from_secs(60),
        ..FetchPolicy::default()
    }
}

#[tokio::test]
async fn the_guarded_client_sends_a_get_again_when_its_kept_alive_connection_was_reset() {
    let origin = spawn_origin().await;
    let client = GuardedClient::new(policy()).unwrap();
    let url = origin.base.join("page").unwrap();
    let first = client.get(&url, BodyMode::Full).await.unwrap();
    assert_eq!(first.status, 200);
    let second = client.get(&url, BodyMode::Full).await;
    let second = second.unwrap_or_else(|e| panic!("the reset connection was not retried: {e}"));
    assert_eq!(second.status, 200);
    assert_eq!(&second.body[..], b"<p>fresh</p>\n");
    // The first connection read two requests, the second connection one.
    assert_eq!(origin.requests.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn the_trusted_client_sends_a_get_again_but_never_a_post() {
    let origin = spawn_origin().await;
    let client = TrustedClient::new(origin.base.clone(), "test", Duration::from_secs(30)).unwrap();
    let get = || client.request(reqwest::Method::GET, "api").unwrap();
    assert_eq!(client.send(get()).await.unwrap().status(), 200);
    let again = client.send(get()).await;
    let again = again.unwrap_or_else(|e| panic!("the reset connection was not retried: {e}"));
    assert_eq!(again.text().await.unwrap(), "<p>fresh</p>\n");
    assert_eq!(origin.requests.load(Ordering::SeqCst), 3);

    // The pool now holds the second connection, answered once: a POST on it meets the reset.
    let post = client
        .request(reqwest::Method::POST, "api")
        .unwrap()
        .body("x");
    assert!(client.send(post).await.is_err(), "a POST was sent twice");
    assert_eq!(origin.requests.load(Ordering::SeqCst), 4);
}
