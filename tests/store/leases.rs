//! Leases: an instance restarted after a crash takes back, at once, the outbox leases it
//! held under its instance id, and only those: a live instance's lease stays until that
//! instance is done with it or the lease runs out.
//!
//! Starts from the webhooks chapter: `first` shows [`PR`] and the outbox is empty; leaves
//! the outbox empty and `first` subscribed to [`PR`] alone again.

use notion_unfurl::store::{Accepted, OutboxStats, WebhookDelivery};

use crate::{PR, PR_CANONICAL, Story};

const OTHER_PR: &str = "https://github.com/octo/repo/pull/8";
const OTHER_CANONICAL: &str = "github:octo/repo/pull/8";

/// The instance killed in the middle of a delivery, and later restarted with the same id.
const CRASHED: &str = "instance-that-was-killed";
/// Another instance, alive throughout (it may share the data directory and the database).
const LIVE: &str = "instance-still-running";

pub async fn chapter(story: &Story<'_>, first: &str) {
    let (store, now) = (story.store, story.now);
    store
        .subscribe(first, OTHER_PR, OTHER_CANONICAL)
        .await
        .unwrap();
    let delivery = WebhookDelivery {
        id: "delivery-of-the-lease-chapter",
        event: "pull_request",
        canonical_uris: &[PR_CANONICAL.to_owned(), OTHER_CANONICAL.to_owned()],
        heads: &[],
        commits: &[],
        now_ms: now * 1000,
    };
    assert_eq!(
        store.accept_webhook(delivery).await.unwrap(),
        Accepted::Queued { updates: 2 }
    );
    // What /metrics reports: both waiting, queued just now (the store stamps rows with the
    // wall clock, not the story's).
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!(stats.pending, 2);
    let queued = stats.oldest_queued_at.expect("a queued time");
    assert!(
        (queued - notion_unfurl::platform::clock::unix_secs()).abs() <= 5,
        "{queued}"
    );

    // Each instance claims one update, with a two-minute lease.
    let now_ms = now * 1000;
    let lease = now_ms + 120_000;
    let crashed = store.claim_outbox(CRASHED, now_ms, lease, 1).await.unwrap();
    let live = store.claim_outbox(LIVE, now_ms, lease, 1).await.unwrap();
    assert_eq!((crashed.len(), live.len()), (1, 1));
    assert_ne!(crashed[0].uri, live[0].uri);
    assert!(
        store
            .claim_outbox("a-third-instance", now_ms, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased rows wait for their lease"
    );

    // The crashed instance starts again: it releases what it held, and nothing else.
    assert_eq!(store.release_outbox_leases(CRASHED).await.unwrap(), 1);
    assert_eq!(store.release_outbox_leases(CRASHED).await.unwrap(), 0);
    assert_eq!(store.release_outbox_leases("nobody").await.unwrap(), 0);
    let restarted_ms = now_ms + 1_000;
    let retaken = store
        .claim_outbox(CRASHED, restarted_ms, restarted_ms + 120_000, 10)
        .await
        .unwrap();
    assert_eq!(
        retaken.iter().map(|row| row.id).collect::<Vec<_>>(),
        [crashed[0].id],
        "its own update is claimable at once, well inside the old lease; the live \
         instance's is not"
    );
    assert_eq!(
        retaken[0].attempts, 0,
        "an interrupted attempt is not counted"
    );

    // The live instance still owns its row: its reschedule applies, and only then does the
    // row become claimable by others.
    store
        .reschedule_outbox_row(&live[0], restarted_ms)
        .await
        .unwrap();
    let taken_over = store
        .claim_outbox(CRASHED, restarted_ms, restarted_ms + 120_000, 10)
        .await
        .unwrap();
    assert_eq!(
        taken_over.iter().map(|row| row.id).collect::<Vec<_>>(),
        [live[0].id]
    );
    // A reschedule under the old lease, by the instance that died, changes nothing.
    store
        .reschedule_outbox_row(&crashed[0], restarted_ms)
        .await
        .unwrap();
    assert!(
        store
            .claim_outbox("a-third-instance", restarted_ms, restarted_ms + 120_000, 10)
            .await
            .unwrap()
            .is_empty()
    );

    for row in retaken.iter().chain(&taken_over) {
        store.delete_outbox_row(row.id).await.unwrap();
    }
    assert_eq!(store.outbox_len().await.unwrap(), 0);
    assert_eq!(
        store.outbox_stats().await.unwrap(),
        OutboxStats {
            pending: 0,
            oldest_queued_at: None
        }
    );
    store.unsubscribe(first, OTHER_PR).await.unwrap();
    assert_eq!(
        store.subscriptions_for(PR_CANONICAL).await.unwrap(),
        vec![(first.to_owned(), PR.to_owned())]
    );
}
