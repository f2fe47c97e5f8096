//! When Notion or the upstream fails: what the outbox worker retries, how long it waits,
//! when it gives up, and which refusals end an update (or a connection) at once.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use notion_unfurl::store::WebhookDelivery;

use crate::fakes::{FakeNotion, PATIENCE, Reply};
use crate::helpers::TempDir;
use crate::webhook_setup::{PR, alice_showing_pr, delivery_id, fixture_or_skip, spawn_live};

#[tokio::test]
async fn notion_503s_and_conflicts_are_retried_until_the_update_is_delivered_once() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    let notion = FakeNotion::spawn();
    // Notion's 409 `conflict_error` asks the caller to try again, like a 503.
    notion.script(&[Reply::Status(503), Reply::Status(409), Reply::Status(503)]);
    let dir = TempDir::unique();
    let app = spawn_live(&dir.0, &notion, &[]).await;
    let (_, token) = app.connect("local:alice", "secret_notion_alice").await;
    app.subscribe(&token, PR).await;

    app.pulls.retitle("Retried");
    assert_eq!(
        app.webhook("pull_request", &delivery_id(), &body).await.0,
        202
    );
    notion.wait_for_deliveries(1).await;
    app.wait_until_outbox_is_empty().await;
    let patches = notion.patches();
    let answers: Vec<u16> = patches.iter().map(|p| p.answered).collect();
    assert_eq!(answers, [503, 409, 503, 200]);
    assert!(patches.iter().all(|p| p.title().starts_with("Retried")));
    // Operators see the same story in /metrics.
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"notion_unfurl_outbox_deliveries_total{outcome="retried"} 3"#,
        r#"notion_unfurl_outbox_deliveries_total{outcome="delivered"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
}

#[tokio::test]
async fn retry_after_from_notion_is_honoured() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    let alice = alice_showing_pr().await;
    let (notion, app) = (&alice.notion, &alice.app);
    notion.script(&[Reply::RetryAfter(1)]);

    assert_eq!(
        app.webhook("pull_request", &delivery_id(), &body).await.0,
        202
    );
    let patches = notion.wait_for("the retry", |p| p.len() >= 2).await;
    let waited = patches[1].at - patches[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?} despite Retry-After: 1 (backoff alone is 20 ms)"
    );
    assert_eq!(patches[1].answered, 200);
}

#[tokio::test]
async fn a_stale_preview_is_not_pushed_and_the_update_waits_for_a_fresh_read() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    let alice = alice_showing_pr().await;
    let (notion, app) = (&alice.notion, &alice.app);

    // The upstream fails twice: the provider can only offer its earlier read.
    app.pulls.stale_reads.store(2, Ordering::SeqCst);
    app.pulls.retitle("Fresh after the outage");
    assert_eq!(
        app.webhook("pull_request", &delivery_id(), &body).await.0,
        202
    );
    let delivered = notion.wait_for_deliveries(1).await;
    app.wait_until_outbox_is_empty().await;
    assert_eq!(notion.patches().len(), 1, "nothing stale was pushed");
    assert!(
        delivered[0].title().starts_with("Fresh after the outage"),
        "{}",
        delivered[0].title()
    );
}

#[tokio::test]
async fn an_update_whose_upstream_is_rate_limited_waits_a_minute() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    let alice = alice_showing_pr().await;
    let (notion, dir, app) = (&alice.notion, &alice.dir, &alice.app);

    app.pulls.rate_limited_reads.store(1, Ordering::SeqCst);
    let reads_before = app.pulls.reads.load(Ordering::SeqCst);
    let queued_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert_eq!(
        app.webhook("pull_request", &delivery_id(), &body).await.0,
        202
    );
    // The one attempt met the rate limit; with a 20 ms backoff it would be retried at
    // once, but GitHub asks for a minute.
    let deadline = Instant::now() + PATIENCE;
    while app.pulls.reads.load(Ordering::SeqCst) == reads_before {
        assert!(Instant::now() < deadline, "the update was never tried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.pulls.reads.load(Ordering::SeqCst), reads_before + 1);
    assert!(
        notion.patches().is_empty(),
        "no rate-limit error was pushed"
    );
    let mut raw = crate::helpers::raw_database(&dir.0).await;
    let (attempts, next_at): (i64, i64) =
        sqlx::query_as("SELECT attempts, next_attempt_at_ms FROM outbox")
            .fetch_one(&mut raw)
            .await
            .unwrap();
    assert_eq!(attempts, 1);
    assert!(
        next_at >= queued_at + 59_000,
        "retried {} ms after queueing",
        next_at - queued_at
    );
}

#[tokio::test]
async fn an_update_failing_for_a_day_is_given_up() {
    let alice = alice_showing_pr().await;
    let (notion, dir, app) = (&alice.notion, &alice.dir, &alice.app);
    notion.answer_always(Some(503));
    // An update queued to run far in the future, then made due with all its attempts but
    // one already spent.
    let store = app.app_state.connections.store();
    let canonical = "https://github.com/codertocat/hello-world/pull/2".to_owned();
    let accepted = store
        .accept_webhook(WebhookDelivery {
            id: "long-failing",
            event: "pull_request",
            canonical_uris: std::slice::from_ref(&canonical),
            heads: &[],
            commits: &[],
            now_ms: i64::MAX / 2,
        })
        .await
        .unwrap();
    assert_eq!(
        accepted,
        notion_unfurl::store::Accepted::Queued { updates: 1 }
    );
    let mut raw = crate::helpers::raw_database(&dir.0).await;
    sqlx::query("UPDATE outbox SET attempts = $1, next_attempt_at_ms = 0")
        .bind(notion_unfurl::live::outbox::MAX_ATTEMPTS - 1)
        .execute(&mut raw)
        .await
        .unwrap();

    app.wait_until_outbox_is_empty().await;
    let answers: Vec<u16> = notion.patches().iter().map(|p| p.answered).collect();
    assert_eq!(
        answers,
        [503],
        "one last attempt, then the update is dropped"
    );
}

#[tokio::test]
async fn a_401_from_notion_revokes_the_connection() {
    let body = fixture_or_skip!("pull_request.opened.json");
    let notion = FakeNotion::spawn();
    notion.script(&[Reply::Status(401)]);
    let dir = TempDir::unique();
    let app = spawn_live(&dir.0, &notion, &[]).await;
    let (connection, token) = app.connect("local:alice", "secret_notion_alice").await;
    app.subscribe(&token, PR).await;

    assert_eq!(
        app.webhook("pull_request", &delivery_id(), &body).await.0,
        202
    );
    notion
        .wait_for("the refused PATCH", |p| !p.is_empty())
        .await;
    let store = app.app_state.connections.store();
    let deadline = Instant::now() + PATIENCE;
    while !store.is_connection_revoked(&connection).await.unwrap() {
        assert!(
            Instant::now() < deadline,
            "the connection was never revoked"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The revocation commits, then this instance forgets its cached connection: the token
    // is refused from that moment on, a moment after the database says so.
    while app.unfurl_as(&token, PR).await.status() != 401 {
        assert!(
            Instant::now() < deadline,
            "the revoked connection's token is still accepted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.outbox_len().await, 0);
    assert_eq!(notion.patches().len(), 1, "no retry for a refused token");
}

#[tokio::test]
async fn a_400_from_notion_drops_the_update_without_retrying() {
    let body = fixture_or_skip!("pull_request.opened.json");
    let notion = FakeNotion::spawn();
    notion.script(&[Reply::Status(400)]);
    let dir = TempDir::unique();
    let app = spawn_live(&dir.0, &notion, &[]).await;
    let (connection, token) = app.connect("local:alice", "secret_notion_alice").await;
    app.subscribe(&token, PR).await;

    assert_eq!(
        app.webhook("pull_request", &delivery_id(), &body).await.0,
        202
    );
    notion
        .wait_for("the refused PATCH", |p| !p.is_empty())
        .await;
    app.wait_until_outbox_is_empty().await;
    assert_eq!(notion.patches().len(), 1);
    let store = app.app_state.connections.store();
    assert!(!store.is_connection_revoked(&connection).await.unwrap());
    assert_eq!(app.unfurl_as(&token, PR).await.status(), 200);
}

#[tokio::test]
async fn an_update_queued_before_the_preview_was_deleted_is_dropped() {
    let body = fixture_or_skip!("pull_request.opened.json");
    let alice = alice_showing_pr().await;
    let (notion, app, token) = (&alice.notion, &alice.app, alice.token.as_str());
    notion.answer_always(Some(503));
    assert_eq!(
        app.webhook("pull_request", &delivery_id(), &body).await.0,
        202
    );
    notion.wait_for("a first attempt", |p| !p.is_empty()).await;

    let deleted = app.delete_preview(token, PR).await;
    assert_eq!(deleted.status(), 204);
    notion.answer_always(None);
    app.wait_until_outbox_is_empty().await;
    assert!(notion.delivered().is_empty());
}
