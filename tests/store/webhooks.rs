//! Webhooks: an accepted delivery queues one update per subscription and records which
//! subscribed links went stale, for every instance's cache; a redelivery records nothing
//! more. Updates of one subscription go out one at a time, oldest first, and old link
//! changes are purged. A purge of a link (`cache purge`) records it with every subscribed
//! form of its resource, once each.
//!
//! Starts from the revocation chapter: only `first` still shows [`PR`].

use notion_unfurl::store::{Accepted, WebhookDelivery};

use crate::{PR, PR_CANONICAL, Story};

/// The instance id this chapter claims under.
const INSTANCE: &str = "instance-of-the-story";

pub async fn chapter(story: &Story<'_>) {
    let (store, now) = (story.store, story.now);
    let delivery = WebhookDelivery {
        id: "delivery-of-the-story",
        event: "pull_request",
        canonical_uris: &[PR_CANONICAL.to_owned()],
        heads: &[],
        commits: &[],
        now_ms: now * 1000,
    };
    let changed_since = now - 5;
    assert_eq!(
        store.accept_webhook(delivery).await.unwrap(),
        Accepted::Queued { updates: 1 }
    );
    assert_eq!(
        store.accept_webhook(delivery).await.unwrap(),
        Accepted::Duplicate
    );
    // Updates of one subscription are delivered one at a time, oldest first: a change that
    // arrives while the first update is in flight queues a second, which waits for it.
    let now_ms = now * 1000;
    let first_claim = store
        .claim_outbox(INSTANCE, now_ms, now_ms + 60_000, 10)
        .await
        .unwrap();
    assert_eq!(first_claim.len(), 1);
    let second_change = WebhookDelivery {
        id: "delivery-of-the-story-2",
        ..delivery
    };
    assert_eq!(
        store.accept_webhook(second_change).await.unwrap(),
        Accepted::Queued { updates: 1 }
    );
    assert!(
        store
            .claim_outbox(INSTANCE, now_ms, now_ms + 60_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "the newer update waits while the older one is in flight"
    );
    // Even once the older lease has run out, the older row goes first, alone.
    let after_lease = now_ms + 120_000;
    let retried = store
        .claim_outbox(INSTANCE, after_lease, after_lease + 60_000, 10)
        .await
        .unwrap();
    assert_eq!(
        retried.iter().map(|row| row.id).collect::<Vec<_>>(),
        [first_claim[0].id]
    );
    store.delete_outbox_row(first_claim[0].id).await.unwrap();
    let next = store
        .claim_outbox(INSTANCE, after_lease, after_lease + 60_000, 10)
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    assert!(next[0].id > first_claim[0].id);
    store.delete_outbox_row(next[0].id).await.unwrap();

    let changes = store.link_changes_since(changed_since).await.unwrap();
    let changed: Vec<&str> = changes.iter().map(|(_, uri)| uri.as_str()).collect();
    assert_eq!(
        changed,
        [PR, PR],
        "first's one subscription to the pull request, changed twice"
    );
    assert!(
        store
            .link_changes_since(now + 3600)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.purge_link_changes(now + 3600).await.unwrap(), 2);
    assert!(
        store
            .link_changes_since(changed_since)
            .await
            .unwrap()
            .is_empty()
    );

    let given = [
        "https://github.com/octo/repo/pull/7?tab=x".to_owned(),
        PR.to_owned(),
        PR_CANONICAL.to_owned(),
        PR.to_owned(),
    ];
    let recorded = store
        .record_link_changes(&given, PR_CANONICAL)
        .await
        .unwrap();
    assert_eq!(
        recorded,
        [
            PR_CANONICAL,
            PR,
            "https://github.com/octo/repo/pull/7?tab=x"
        ]
    );
    let mut changed: Vec<String> = store
        .link_changes_since(changed_since)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, uri)| uri)
        .collect();
    changed.sort();
    assert_eq!(changed, recorded, "one change per link");
    assert_eq!(store.purge_link_changes(now + 3600).await.unwrap(), 3);

    // What a provider file's refresh last read: per provider, scope and link, replaced.
    let link = "https://tickets.example.com/t/42";
    assert_eq!(
        store.refresh_digest("tickets", "", link).await.unwrap(),
        None
    );
    store
        .put_refresh_digest("tickets", "", link, &[1; 32])
        .await
        .unwrap();
    store
        .put_refresh_digest("tickets", "local:alice", link, &[2; 32])
        .await
        .unwrap();
    store
        .put_refresh_digest("tickets", "", link, &[3; 32])
        .await
        .unwrap();
    assert_eq!(
        store.refresh_digest("tickets", "", link).await.unwrap(),
        Some(vec![3; 32])
    );
    assert_eq!(
        store
            .refresh_digest("tickets", "local:alice", link)
            .await
            .unwrap(),
        Some(vec![2; 32])
    );
    assert_eq!(store.refresh_digest("other", "", link).await.unwrap(), None);
    // Nobody shows the link: its digests go once old enough, and not before.
    assert_eq!(store.purge_refresh_digests(now - 60).await.unwrap(), 0);
    assert_eq!(store.purge_refresh_digests(now + 3600).await.unwrap(), 2);
    assert_eq!(
        store.refresh_digest("tickets", "", link).await.unwrap(),
        None
    );
    // A link someone shows keeps its digest however old.
    let shown: String = sqlx::query_scalar("SELECT canonical_uri FROM subscriptions LIMIT 1")
        .fetch_one(&story.raw)
        .await
        .unwrap();
    store
        .put_refresh_digest("github", "", &shown, &[4; 32])
        .await
        .unwrap();
    assert_eq!(store.purge_refresh_digests(now + 3600).await.unwrap(), 0);
    assert!(
        store
            .refresh_digest("github", "", &shown)
            .await
            .unwrap()
            .is_some()
    );
}
