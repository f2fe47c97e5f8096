//! Several servers over one database: one after another (a graceful stop, a kill) or side
//! by side (one outbox, one delivery each, caches forgetting what another instance changed).

use std::time::{Duration, Instant};

use notion_unfurl::store::{NewConnection, WebhookDelivery};

use crate::fakes::{FakeNotion, PATIENCE, Reply};
use crate::helpers::TempDir;
use crate::postgres;
use crate::webhook_setup::{PR, PR_FILES, delivery_id, fixture_or_skip, spawn_live};

#[tokio::test]
async fn an_update_pending_at_shutdown_is_delivered_after_a_restart() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    let notion = FakeNotion::spawn();
    notion.answer_always(Some(503));
    let dir = TempDir::unique();
    let first = spawn_live(&dir.0, &notion, &[]).await;
    let (_, token) = first.connect("local:alice", "secret_notion_alice").await;
    first.subscribe(&token, PR).await;
    assert_eq!(
        first.webhook("pull_request", &delivery_id(), &body).await.0,
        202
    );
    notion.wait_for("a failed attempt", |p| !p.is_empty()).await;
    first.app.shutdown().await;
    assert!(notion.delivered().is_empty());

    notion.answer_always(None);
    let second = spawn_live(&dir.0, &notion, &[]).await;
    second.pulls.retitle("Seen after the restart");
    let delivered = notion.wait_for_deliveries(1).await;
    assert!(delivered[0].title().starts_with("Seen after the restart"));
    assert_eq!(delivered[0].authorization, "Bearer secret_notion_alice");
    second.wait_until_outbox_is_empty().await;
}

#[tokio::test]
async fn a_delivery_cut_short_by_a_kill_is_resumed_once_its_lease_runs_out() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    let notion = FakeNotion::spawn();
    notion.script(&[Reply::Stall]);
    let dir = TempDir::unique();
    let lease = [("UNFURL_OUTBOX_LEASE_MS", "1000")];
    let first = spawn_live(&dir.0, &notion, &lease).await;
    let (_, token) = first.connect("local:alice", "secret_notion_alice").await;
    first.subscribe(&token, PR).await;
    assert_eq!(
        first.webhook("pull_request", &delivery_id(), &body).await.0,
        202
    );
    notion
        .wait_for("the PATCH in flight", |p| !p.is_empty())
        .await;
    first.app.kill().await;
    let killed_at = Instant::now();

    let second = spawn_live(&dir.0, &notion, &lease).await;
    second.pulls.retitle("Resumed");
    let delivered = notion.wait_for_deliveries(1).await;
    assert!(delivered[0].title().starts_with("Resumed"));
    assert!(
        delivered[0].at > killed_at,
        "delivered by the second server"
    );
    second.wait_until_outbox_is_empty().await;
}

#[tokio::test]
async fn an_instance_that_did_not_take_the_webhook_stops_showing_the_old_preview_within_seconds() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    let notion = FakeNotion::spawn();
    let dir = TempDir::unique();
    // Two instances on one database, behind one public URL (one token is good on both).
    let public = ("UNFURL_PUBLIC_URL", "https://unfurl.example.test");
    let first = spawn_live(&dir.0, &notion, &[public]).await;
    // The second instance's worker looks at the outbox only every ten minutes, so the first
    // one delivers the update and nothing but the shared database tells the second.
    let idle_worker = ("UNFURL_OUTBOX_POLL_MS", "600000");
    let second = spawn_live(&dir.0, &notion, &[public, idle_worker]).await;
    let (_, token) = first.connect("local:alice", "secret_notion_alice").await;
    let shown = second.subscribe(&token, PR).await;
    assert_eq!(shown, "Update the README (read 1)");

    first.pulls.retitle("Update the README, rebased");
    second.pulls.retitle("Update the README, rebased");
    let (status, ack) = first.webhook("pull_request", &delivery_id(), &body).await;
    assert_eq!(status, 202, "{ack}");
    let delivered = notion.wait_for_deliveries(1).await;
    assert!(
        delivered[0]
            .title()
            .starts_with("Update the README, rebased")
    );

    // Notion revisiting the page asks the second instance, which cached the preview for an
    // hour: it must read the pull request again instead of undoing the pushed update.
    let started = Instant::now();
    loop {
        let shown = second.subscribe(&token, PR).await;
        if shown.starts_with("Update the README, rebased") {
            break;
        }
        assert_eq!(shown, "Update the README (read 1)");
        assert!(
            started.elapsed() < PATIENCE,
            "the second instance still shows the old preview"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("forgotten after {:?}", started.elapsed());
}

/// Two servers on one database: each update is pushed once, by one of them.
async fn two_servers_share_the_outbox(extra: &[(&str, &str)], body: &[u8]) {
    let notion = FakeNotion::spawn();
    notion.answer_always(Some(503));
    let dir = TempDir::unique();
    let first = spawn_live(&dir.0, &notion, extra).await;
    let second = spawn_live(&dir.0, &notion, extra).await;
    for n in 0..12 {
        let (_, token) = first
            .connect(&format!("local:user{n}"), &format!("secret_notion_{n}"))
            .await;
        let uri = if n % 2 == 0 { PR } else { PR_FILES };
        first.subscribe(&token, uri).await;
    }
    // Queued while Notion is down, so both workers find all of them due at once.
    let delivery = delivery_id();
    assert_eq!(first.webhook("pull_request", &delivery, body).await.0, 202);
    notion.wait_for("first attempts", |p| !p.is_empty()).await;
    notion.answer_always(None);

    let delivered = notion.wait_for_deliveries(12).await;
    first.wait_until_outbox_is_empty().await;
    let mut bearers: Vec<String> = delivered.iter().map(|p| p.authorization.clone()).collect();
    bearers.sort();
    let before = bearers.len();
    bearers.dedup();
    assert_eq!(before, bearers.len(), "an update was delivered twice");
    assert_eq!(notion.delivered().len(), 12);
    // The same delivery sent to the other server is a duplicate there too.
    let (status, ack) = second.webhook("pull_request", &delivery, body).await;
    assert_eq!((status, ack["status"].as_str()), (200, Some("duplicate")));
}

#[tokio::test]
async fn two_servers_on_one_sqlite_file_deliver_each_update_once() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    two_servers_share_the_outbox(&[], &body).await;
}

#[tokio::test]
async fn two_servers_on_one_postgres_deliver_each_update_once() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    postgres::with_fresh_database("nu_webhooks", |url| async move {
        let extra = [("UNFURL_DATABASE_URL", url.as_str())];
        two_servers_share_the_outbox(&extra, &body).await;
    })
    .await;
}

/// Claimers on separate pools (as on separate instances) racing for one outbox, on several
/// threads so their claims overlap: every row is claimed exactly once.
async fn concurrent_claims_never_overlap(url: &str) {
    use notion_unfurl::platform::crypto::cipher::Cipher;
    use notion_unfurl::store::Store;

    const ROWS: usize = 120;
    let cipher = || Cipher::from_root(b"webhook-test-root-secret-long-enough", 1);
    let store = Store::connect(url, cipher()).await.unwrap();
    store.upsert_account("local:a", "a", None).await.unwrap();
    let connection = store
        .create_connection(NewConnection::notion("local:a"))
        .await
        .unwrap();
    let canonical = "https://github.com/o/r/pull/1".to_owned();
    for n in 0..ROWS {
        let uri = format!("https://github.com/o/r/pull/1?variant={n}");
        store
            .subscribe(&connection.id, &uri, &canonical)
            .await
            .unwrap();
    }
    let accepted = store
        .accept_webhook(WebhookDelivery {
            id: "race",
            event: "pull_request",
            canonical_uris: std::slice::from_ref(&canonical),
            heads: &[],
            commits: &[],
            now_ms: 0,
        })
        .await
        .unwrap();
    assert_eq!(
        accepted,
        notion_unfurl::store::Accepted::Queued {
            updates: ROWS as u64
        }
    );

    let mut claimers = Vec::new();
    for claimer in 0..12 {
        let store = Store::connect(url, cipher()).await.unwrap();
        let instance = format!("claimer-{claimer}");
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let now = i64::try_from(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_millis(),
                )
                .unwrap();
                let rows = store
                    .claim_outbox(&instance, now, now + 600_000, 2)
                    .await
                    .unwrap();
                if rows.is_empty() {
                    break;
                }
                mine.extend(rows.into_iter().map(|row| row.id));
            }
            store.close().await;
            mine
        }));
    }
    let mut claimed = Vec::new();
    for claimer in claimers {
        claimed.extend(claimer.await.unwrap());
    }
    claimed.sort_unstable();
    let total = claimed.len();
    claimed.dedup();
    assert_eq!(total, claimed.len(), "a row was claimed twice");
    assert_eq!(total, ROWS);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_on_sqlite_never_overlap() {
    let dir = TempDir::unique();
    let url = format!("sqlite://{}/race.db", dir.0.display());
    concurrent_claims_never_overlap(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_on_postgres_never_overlap() {
    postgres::with_fresh_database("nu_webhooks", |url| async move {
        concurrent_claims_never_overlap(&url).await;
    })
    .await;
}
