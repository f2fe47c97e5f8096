//! What `POST /webhooks/github` accepts and refuses before any work is queued: signatures,
//! redeliveries, events we ignore, bodies too big, and senders too slow or too many.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::fakes::{FakeNotion, PATIENCE};
use crate::helpers::{TempDir, wait_until};
use crate::webhook_setup::{
    PR, WEBHOOK_SECRET, alice_showing_pr, delivery_id, fixture_or_skip, sign, spawn_live,
};

#[tokio::test]
async fn bad_or_missing_signatures_are_refused_and_record_nothing() {
    let body = fixture_or_skip!("pull_request.opened.json");
    let alice = alice_showing_pr().await;
    let (notion, app) = (&alice.notion, &alice.app);
    let delivery = delivery_id();

    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let good = sign(WEBHOOK_SECRET, &body);
    let attempts: [(&[u8], Option<String>); 5] = [
        (&body, None),
        (&body, Some(sign("another-secret", &body))),
        (&tampered, Some(good.clone())),
        (&body, Some(good.trim_start_matches("sha256=").to_owned())),
        (&body, Some("sha256=not-hex".to_owned())),
    ];
    for (sent, signature) in attempts {
        let response = app
            .post_webhook("pull_request", &delivery, sent, signature.as_deref())
            .await;
        assert_eq!(response.status(), 401, "signature {signature:?}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], "invalid_signature");
    }
    assert_eq!(app.outbox_len().await, 0);

    // The refused attempts did not spend the delivery id either.
    let (status, _) = app.webhook("pull_request", &delivery, &body).await;
    assert_eq!(status, 202);
    notion.wait_for_deliveries(1).await;
    assert_eq!(notion.patches().len(), 1);
}

#[tokio::test]
async fn webhooks_are_refused_when_no_secret_is_configured() {
    let body = fixture_or_skip!("pull_request.opened.json");
    let notion = FakeNotion::spawn();
    let dir = TempDir::unique();
    let app = spawn_live(&dir.0, &notion, &[("UNFURL_GITHUB_WEBHOOK_SECRET", "")]).await;
    let (_, token) = app.connect("local:alice", "secret_notion_alice").await;
    app.subscribe(&token, PR).await;
    for signature in [
        Some(sign(WEBHOOK_SECRET, &body)),
        Some(sign("", &body)),
        None,
    ] {
        let response = app
            .post_webhook("pull_request", &delivery_id(), &body, signature.as_deref())
            .await;
        assert_eq!(response.status(), 401);
    }
    assert_eq!(app.outbox_len().await, 0);
    assert!(notion.patches().is_empty());
}

#[tokio::test]
async fn a_redelivered_webhook_pushes_nothing_more() {
    let body = fixture_or_skip!("pull_request.closed.json");
    let alice = alice_showing_pr().await;
    let (notion, app) = (&alice.notion, &alice.app);
    let delivery = delivery_id();

    assert_eq!(app.webhook("pull_request", &delivery, &body).await.0, 202);
    notion.wait_for_deliveries(1).await;
    app.wait_until_outbox_is_empty().await;

    let (status, ack) = app.webhook("pull_request", &delivery, &body).await;
    assert_eq!(status, 200);
    assert_eq!(ack["status"], "duplicate");
    assert_eq!(
        app.outbox_len().await,
        0,
        "nothing was queued for the redelivery"
    );
    assert_eq!(notion.patches().len(), 1);
}

#[tokio::test]
async fn ping_is_answered_other_events_ignored_and_unshown_links_queue_nothing() {
    let ping = fixture_or_skip!("ping.json");
    let comment_on_issue = fixture_or_skip!("issue_comment.created.json");
    let alice = alice_showing_pr().await;
    let (notion, app) = (&alice.notion, &alice.app);

    let (status, ack) = app.webhook("ping", &delivery_id(), &ping).await;
    assert_eq!((status, ack["status"].as_str()), (200, Some("pong")));
    let (status, ack) = app.webhook("star", &delivery_id(), &ping).await;
    assert_eq!((status, ack["status"].as_str()), (202, Some("ignored")));
    // The fixture comments on an issue, which issue links now preview (issue 10); nobody
    // shows that issue, so nothing is queued for it.
    let (status, ack) = app
        .webhook("issue_comment", &delivery_id(), &comment_on_issue)
        .await;
    assert_eq!(
        (status, ack["status"].as_str(), ack["updates"].as_u64()),
        (202, Some("queued"), Some(0))
    );
    assert_eq!(app.outbox_len().await, 0);
    assert!(notion.patches().is_empty());
}

#[tokio::test]
async fn a_body_over_25_megabytes_is_refused() {
    let notion = FakeNotion::spawn();
    let dir = TempDir::unique();
    let app = spawn_live(&dir.0, &notion, &[]).await;
    let huge = vec![b' '; 25 * 1024 * 1024 + 1];
    let response = app
        .post_webhook(
            "pull_request",
            &delivery_id(),
            &huge,
            Some(&sign(WEBHOOK_SECRET, &huge)),
        )
        .await;
    assert_eq!(response.status(), 413);
    // Just under the cap is read and verified (and then is no valid payload).
    let big = vec![b' '; 25 * 1024 * 1024 - 1];
    let response = app
        .post_webhook(
            "pull_request",
            &delivery_id(),
            &big,
            Some(&sign(WEBHOOK_SECRET, &big)),
        )
        .await;
    assert_eq!(response.status(), 400);
}

/// A delivery from someone without the secret, as anyone can send one: it announces a
/// kilobyte, sends a few bytes of it and stalls (the signature is only checked once the
/// body is in). `from` goes in the client-address header the server is told to trust.
async fn stall_a_delivery(host: &str, from: &str) -> TcpStream {
    let mut stream = TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST /webhooks/github HTTP/1.1\r\nHost: {host}\r\n{CLIENT_HEADER}: {from}\r\n\
         X-GitHub-Event: ping\r\nX-GitHub-Delivery: {}\r\nX-Hub-Signature-256: sha256=00\r\n\
         Content-Type: application/json\r\nContent-Length: 1024\r\n\r\n{{\"zen\":",
        delivery_id()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// The header the servers of these tests take the client's address from.
const CLIENT_HEADER: &str = "X-Test-Client";

#[tokio::test]
async fn slow_unverified_bodies_hold_at_most_eight_reading_slots_for_a_bounded_time() {
    let notion = FakeNotion::spawn();
    let dir = TempDir::unique();
    // Bodies get 6 s to arrive; a delivery waits 2 s for a reading slot. (The margin
    // keeps a slow machine from freeing a stalled slot while the ninth still waits.)
    let app = spawn_live(
        &dir.0,
        &notion,
        &[
            ("UNFURL_WEBHOOK_READ_TIMEOUT_SECS", "6"),
            ("UNFURL_CLIENT_IP_HEADER", CLIENT_HEADER),
        ],
    )
    .await;
    let host = app.address.trim_start_matches("http://").to_owned();
    // Eight stalled senders, two from each of four addresses (an address holds two slots
    // at most), take every slot.
    let mut stalled = Vec::new();
    for i in 0..8 {
        let from = format!("198.51.100.{}", i / 2 + 1);
        stalled.push(stall_a_delivery(&host, &from).await);
    }
    wait_until("the stalled senders taking every slot", || {
        app.limits.webhook_reads.available() == 0
    })
    .await;

    // A ninth, correctly signed delivery finds no slot in time and is told to retry
    // (GitHub redelivers), without its body being read.
    let ping = br#"{"zen":"Keep it logically awesome."}"#;
    let refused = app
        .post_webhook(
            "ping",
            &delivery_id(),
            ping,
            Some(&sign(WEBHOOK_SECRET, ping)),
        )
        .await;
    assert_eq!(refused.status(), 503);

    // Each stalled sender is cut off at the deadline, and its slot is freed.
    for mut stream in stalled {
        let mut answer = vec![0u8; 512];
        let read = tokio::time::timeout(PATIENCE, stream.read(&mut answer))
            .await
            .expect("a stalled sender was never cut off")
            .unwrap();
        let answer = String::from_utf8_lossy(&answer[..read]);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
    wait_until("the reading slots coming back", || {
        app.limits.webhook_reads.available() == 8
    })
    .await;
    let (status, ack) = app.webhook("ping", &delivery_id(), ping).await;
    assert_eq!((status, ack["status"].as_str()), (200, Some("pong")));
}

#[tokio::test]
async fn stalled_senders_from_one_address_cannot_keep_a_github_delivery_out() {
    let body = fixture_or_skip!("pull_request.opened.json");
    let notion = FakeNotion::spawn();
    let dir = TempDir::unique();
    // The default 30 s read deadline: the stalled senders outlast the test.
    let app = spawn_live(
        &dir.0,
        &notion,
        &[("UNFURL_CLIENT_IP_HEADER", CLIENT_HEADER)],
    )
    .await;
    let (_, token) = app.connect("local:alice", "secret_notion_alice").await;
    app.subscribe(&token, PR).await;
    let host = app.address.trim_start_matches("http://").to_owned();

    // As many stalled senders as there are slots, all from one address: two are read, the
    // other six wait behind them for that address's share, not for GitHub's slots. (All
    // eight have reached the server once each holds a share of arriving bodies.)
    let flooder: std::net::IpAddr = "198.51.100.7".parse().unwrap();
    let mut stalled = Vec::new();
    for _ in 0..8 {
        stalled.push(stall_a_delivery(&host, &flooder.to_string()).await);
    }
    wait_until("two stalled senders being read", || {
        app.limits.arriving_bodies.held(flooder) == 8
            && app.limits.webhook_reads.held_by(flooder) == 2
            && app.limits.webhook_reads.available() == 6
    })
    .await;

    // GitHub's delivery, from another address, is read, verified and queued at once.
    let started = Instant::now();
    let response = app
        .client
        .post(format!("{}/webhooks/github", app.address))
        .header(CLIENT_HEADER, "192.30.252.1")
        .header("X-GitHub-Event", "pull_request")
        .header("X-GitHub-Delivery", delivery_id())
        .header("X-Hub-Signature-256", sign(WEBHOOK_SECRET, &body))
        .header("Content-Type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the delivery took {:?}",
        started.elapsed()
    );
    let ack: Value = response.json().await.unwrap();
    assert_eq!(ack["status"], "queued");
    notion.wait_for_deliveries(1).await;
    assert_eq!(app.limits.webhook_reads.held_by(flooder), 2);
    drop(stalled);
}
