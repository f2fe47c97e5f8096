//! The storage story, told once and run against each backend: SQLite (a fresh file) always,
//! and PostgreSQL when one is reachable. `UNFURL_TEST_POSTGRES_URL` names the server to use
//! (then an unreachable server fails the test); without it, local trust auth at
//! `postgres://postgres@127.0.0.1:5432/postgres` is tried and the run is skipped with a line
//! saying so when nothing answers. Each PostgreSQL run works in its own new database,
//! dropped at the end, so parallel runs never meet.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::panic::AssertUnwindSafe;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::FutureExt;
use futures_util::future::join_all;
use notion_unfurl::platform::crypto::cipher::Cipher;
use notion_unfurl::platform::crypto::{random_token, token_hash};
use notion_unfurl::store::{
    Accepted, Backend, CodeOutcome, NewConnection, RotateOutcome, Store, StoreError,
    WebhookDelivery,
};
use notion_unfurl_sdk::Secret;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, Connection, Row};

const ROOT: &[u8] = b"store-test-root-secret-that-is-long-enough";
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

const CLIENT: &str = "notion-client";
const REDIRECT: &str = "https://www.notion.so/externalIntegrationAuthCallback";
const PR: &str = "https://github.com/octo/repo/pull/7";
const PR_FILES: &str = "https://github.com/octo/repo/pull/7/files";
const PR_CANONICAL: &str = "github:octo/repo/pull/7";

fn cipher() -> Cipher {
    Cipher::from_root(ROOT, 1)
}

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// A raw connection to the same database, to look at columns as an attacker with a copy
/// of the database would.
async fn raw_pool(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn hash() -> [u8; 32] {
    token_hash(&random_token())
}

/// What the story left behind, to be found again after the store is reopened.
struct Facts {
    first: String,
    second: String,
    spent_code: [u8; 32],
    revoked_refresh: [u8; 32],
    live_refresh: [u8; 32],
    spent_step: [u8; 32],
}

fn new_connection(account_key: &str, token: &str) -> NewConnection {
    NewConnection {
        account_key: account_key.to_owned(),
        bot_id: format!("bot-of-{account_key}"),
        workspace_id: "ws-1".to_owned(),
        workspace_name: Some("Acme".to_owned()),
        workspace_icon: None,
        notion_token: Some(Secret::new(token)),
    }
}

async fn story(store: &Store, url: &str) -> Facts {
    let raw = raw_pool(url).await;
    let now = now();
    store.ping().await.unwrap();

    // Accounts: the key is stable, the name and the token follow the latest sign-in.
    store
        .upsert_account("github:1", "GitHub - old", Some(&Secret::new("gho_first")))
        .await
        .unwrap();
    let before = store.account("github:1").await.unwrap().unwrap();
    assert_eq!(before.upstream_token.unwrap().expose(), "gho_first");
    store
        .upsert_account(
            "github:1",
            "GitHub - octo",
            Some(&Secret::new("gho_second")),
        )
        .await
        .unwrap();
    let account = store.account("github:1").await.unwrap().unwrap();
    assert_eq!(account.key, "github:1");
    assert_eq!(account.name, "GitHub - octo");
    assert_eq!(account.upstream_token.unwrap().expose(), "gho_second");
    assert_eq!(account.created_at, before.created_at);
    assert!(account.updated_at >= account.created_at);
    let row = sqlx::query("SELECT upstream_token FROM accounts WHERE key = $1")
        .bind("github:1")
        .fetch_one(&raw)
        .await
        .unwrap();
    let stored: Vec<u8> = row.try_get("upstream_token").unwrap();
    assert!(!contains(&stored, b"gho_second"));

    store
        .upsert_account("local:abc", "Local", None)
        .await
        .unwrap();
    let local = store.account("local:abc").await.unwrap().unwrap();
    assert!(local.upstream_token.is_none());
    assert!(store.account("github:404").await.unwrap().is_none());

    // Connections: the Notion token opens again, and the column holds no plaintext.
    let unknown = store
        .create_connection(new_connection("github:404", "secret_x"))
        .await;
    assert!(
        matches!(unknown, Err(StoreError::UnknownAccount)),
        "{unknown:?}"
    );

    let first = store
        .create_connection(new_connection("github:1", "secret_notion_first"))
        .await
        .unwrap();
    let second = store
        .create_connection(new_connection("github:1", "secret_notion_second"))
        .await
        .unwrap();
    assert_eq!(first.id.len(), 32);
    assert_ne!(first.id, second.id);
    let read = store.connection(&first.id).await.unwrap().unwrap();
    assert_eq!(read.account_key, "github:1");
    assert_eq!(read.bot_id, "bot-of-github:1");
    assert_eq!(read.workspace_id, "ws-1");
    assert_eq!(read.workspace_name.as_deref(), Some("Acme"));
    assert_eq!(read.workspace_icon, None);
    assert_eq!(
        read.notion_token.as_ref().unwrap().expose(),
        "secret_notion_first"
    );
    assert!(!read.is_revoked());
    assert!(!format!("{read:?}").contains("secret_notion_first"));
    assert!(store.connection("no-such-id").await.unwrap().is_none());

    let row =
        sqlx::query("SELECT notion_token, notion_token_key_id FROM connections WHERE id = $1")
            .bind(&first.id)
            .fetch_one(&raw)
            .await
            .unwrap();
    let stored: Vec<u8> = row.try_get("notion_token").unwrap();
    let key_id: i64 = row.try_get("notion_token_key_id").unwrap();
    assert_eq!(key_id, 1);
    assert!(!contains(&stored, b"secret_notion_first"));
    assert_eq!(stored.len(), 24 + "secret_notion_first".len() + 16);

    // A ciphertext copied into another row does not open there.
    let decoy = store
        .create_connection(new_connection("local:abc", "secret_decoy"))
        .await
        .unwrap();
    sqlx::query("UPDATE connections SET notion_token = $1 WHERE id = $2")
        .bind(stored.as_slice())
        .bind(&decoy.id)
        .execute(&raw)
        .await
        .unwrap();
    let moved = store.connection(&decoy.id).await;
    assert!(matches!(moved, Err(StoreError::Crypto(_))), "{moved:?}");
    store.revoke_connection(&decoy.id).await.unwrap();

    let live: Vec<String> = store
        .connections_for_account("github:1")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(live.len(), 2);
    assert!(live.contains(&first.id) && live.contains(&second.id));

    // Authorisation codes: single use, expiry, and nothing for a missing connection.
    let spent_code = hash();
    store
        .insert_auth_code(&spent_code, &first.id, CLIENT, REDIRECT, now + 600)
        .await
        .unwrap();
    assert_eq!(
        store.consume_auth_code(&spent_code, now).await.unwrap(),
        CodeOutcome::Fresh {
            connection_id: first.id.clone(),
            client_id: CLIENT.to_owned(),
            redirect_uri: REDIRECT.to_owned(),
        }
    );
    assert_eq!(
        store.consume_auth_code(&spent_code, now + 1).await.unwrap(),
        CodeOutcome::Reused {
            connection_id: first.id.clone()
        }
    );
    let short_code = hash();
    store
        .insert_auth_code(&short_code, &first.id, CLIENT, REDIRECT, now + 10)
        .await
        .unwrap();
    assert_eq!(
        store
            .consume_auth_code(&short_code, now + 10)
            .await
            .unwrap(),
        CodeOutcome::Expired
    );
    assert_eq!(
        store.consume_auth_code(&hash(), now).await.unwrap(),
        CodeOutcome::Unknown
    );
    let orphan = store
        .insert_auth_code(&hash(), "no-such-id", CLIENT, REDIRECT, now + 600)
        .await;
    assert!(
        matches!(orphan, Err(StoreError::ConnectionRevoked)),
        "{orphan:?}"
    );

    // Refresh tokens: rotation, then reuse of a spent one revokes the whole family.
    let (r0, r1, r2) = (hash(), hash(), hash());
    store
        .insert_refresh_token(&r0, &first.id, "family-a", now + 3600)
        .await
        .unwrap();
    let rotated = RotateOutcome::Rotated {
        connection_id: first.id.clone(),
        family_id: "family-a".to_owned(),
    };
    assert_eq!(
        store
            .rotate_refresh_token(&r0, &r1, now, now + 3600)
            .await
            .unwrap(),
        rotated
    );
    assert_eq!(
        store
            .rotate_refresh_token(&r1, &r2, now, now + 3600)
            .await
            .unwrap(),
        rotated
    );
    // A live and a spent token both name their connection; unknown or expired ones do not.
    assert_eq!(
        store
            .refresh_token_connection(&r2, now)
            .await
            .unwrap()
            .as_deref(),
        Some(first.id.as_str())
    );
    assert_eq!(
        store
            .refresh_token_connection(&r0, now)
            .await
            .unwrap()
            .as_deref(),
        Some(first.id.as_str())
    );
    assert_eq!(
        store
            .refresh_token_connection(&r2, now + 7200)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.refresh_token_connection(&hash(), now).await.unwrap(),
        None
    );
    let stolen = hash();
    assert_eq!(
        store
            .rotate_refresh_token(&r0, &stolen, now, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Reused {
            family_id: "family-a".to_owned(),
            connection_id: first.id.clone(),
        }
    );
    assert_eq!(
        store
            .rotate_refresh_token(&r2, &hash(), now, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Revoked
    );
    assert_eq!(
        store.refresh_token_connection(&r2, now).await.unwrap(),
        None,
        "a revoked family names nothing"
    );
    assert_eq!(
        store
            .rotate_refresh_token(&r0, &hash(), now, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Revoked
    );
    assert_eq!(
        store
            .rotate_refresh_token(&stolen, &hash(), now, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Unknown,
        "a refused rotation stores no new token"
    );

    let short = hash();
    store
        .insert_refresh_token(&short, &first.id, "family-b", now + 5)
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate_refresh_token(&short, &hash(), now + 5, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Expired
    );
    store.revoke_family("family-b").await.unwrap();
    store.revoke_family("family-b").await.unwrap();
    assert_eq!(
        store
            .rotate_refresh_token(&short, &hash(), now, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Revoked
    );
    assert_eq!(
        store
            .rotate_refresh_token(&hash(), &hash(), now, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Unknown
    );

    // Concurrent presenters of one code or one refresh token: exactly one wins.
    let raced_code = hash();
    store
        .insert_auth_code(&raced_code, &first.id, CLIENT, REDIRECT, now + 600)
        .await
        .unwrap();
    let outcomes = join_all((0..8).map(|_| store.consume_auth_code(&raced_code, now))).await;
    let fresh = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(CodeOutcome::Fresh { .. })))
        .count();
    let reused = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(CodeOutcome::Reused { .. })))
        .count();
    assert_eq!((fresh, reused), (1, 7), "{outcomes:?}");

    let raced_refresh = hash();
    store
        .insert_refresh_token(&raced_refresh, &first.id, "family-race", now + 3600)
        .await
        .unwrap();
    let successors: Vec<[u8; 32]> = (0..8).map(|_| hash()).collect();
    let outcomes = join_all(
        successors
            .iter()
            .map(|next| store.rotate_refresh_token(&raced_refresh, next, now, now + 3600)),
    )
    .await;
    let rotated = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(RotateOutcome::Rotated { .. })))
        .count();
    let refused = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(RotateOutcome::Reused { .. } | RotateOutcome::Revoked)))
        .count();
    assert_eq!((rotated, refused), (1, 7), "{outcomes:?}");

    let live_refresh = hash();
    store
        .insert_refresh_token(&live_refresh, &first.id, "family-c", now + 3600)
        .await
        .unwrap();

    // Subscriptions: idempotent, and every form of one resource is found by its canonical uri.
    for _ in 0..2 {
        store.subscribe(&first.id, PR, PR_CANONICAL).await.unwrap();
        store
            .subscribe(&first.id, PR_FILES, PR_CANONICAL)
            .await
            .unwrap();
        store.subscribe(&second.id, PR, PR_CANONICAL).await.unwrap();
    }
    store
        .subscribe(&first.id, "https://example.com/", "https://example.com/")
        .await
        .unwrap();
    let mut expected = vec![
        (first.id.clone(), PR.to_owned()),
        (first.id.clone(), PR_FILES.to_owned()),
        (second.id.clone(), PR.to_owned()),
    ];
    expected.sort();
    let mut found = store.subscriptions_for(PR_CANONICAL).await.unwrap();
    found.sort();
    assert_eq!(found, expected);
    store.unsubscribe(&first.id, PR_FILES).await.unwrap();
    store.unsubscribe(&first.id, PR_FILES).await.unwrap();
    expected.retain(|(_, uri)| uri != PR_FILES);
    let mut found = store.subscriptions_for(PR_CANONICAL).await.unwrap();
    found.sort();
    assert_eq!(found, expected);
    assert!(
        store
            .subscriptions_for("github:none")
            .await
            .unwrap()
            .is_empty()
    );

    // Revoking a connection: its tokens stop working, its subscriptions go, and doing it
    // again changes nothing.
    let pending_code = hash();
    store
        .insert_auth_code(&pending_code, &second.id, CLIENT, REDIRECT, now + 600)
        .await
        .unwrap();
    let second_refresh = hash();
    store
        .insert_refresh_token(&second_refresh, &second.id, "family-d", now + 3600)
        .await
        .unwrap();
    assert!(!store.is_connection_revoked(&second.id).await.unwrap());

    store.revoke_connection(&second.id).await.unwrap();
    let revoked = store.connection(&second.id).await.unwrap().unwrap();
    let revoked_at = revoked.revoked_at.unwrap();
    assert!(revoked.notion_token.is_none());
    assert!(store.is_connection_revoked(&second.id).await.unwrap());
    assert!(!store.is_connection_revoked(&first.id).await.unwrap());
    assert!(store.is_connection_revoked("no-such-id").await.unwrap());
    assert_eq!(
        store
            .rotate_refresh_token(&second_refresh, &hash(), now, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Revoked
    );
    assert_eq!(
        store.consume_auth_code(&pending_code, now).await.unwrap(),
        CodeOutcome::Unknown
    );
    let late_code = store
        .insert_auth_code(&hash(), &second.id, CLIENT, REDIRECT, now + 600)
        .await;
    assert!(matches!(late_code, Err(StoreError::ConnectionRevoked)));
    let late_refresh = store
        .insert_refresh_token(&hash(), &second.id, "family-e", now + 3600)
        .await;
    assert!(matches!(late_refresh, Err(StoreError::ConnectionRevoked)));
    store.subscribe(&second.id, PR, PR_CANONICAL).await.unwrap();
    assert_eq!(
        store.subscriptions_for(PR_CANONICAL).await.unwrap(),
        vec![(first.id.clone(), PR.to_owned())]
    );
    let left: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM subscriptions WHERE connection_id = $1")
            .bind(&second.id)
            .fetch_one(&raw)
            .await
            .unwrap();
    assert_eq!(left, 0, "subscriptions are deleted, not merely hidden");
    let row = sqlx::query("SELECT notion_token FROM connections WHERE id = $1")
        .bind(&second.id)
        .fetch_one(&raw)
        .await
        .unwrap();
    assert!(
        row.try_get::<Option<Vec<u8>>, _>("notion_token")
            .unwrap()
            .is_none()
    );

    store.revoke_connection(&second.id).await.unwrap();
    store.revoke_connection("no-such-id").await.unwrap();
    let again = store.connection(&second.id).await.unwrap().unwrap();
    assert_eq!(again.revoked_at, Some(revoked_at));
    let live = store.connections_for_account("github:1").await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, first.id);
    // The account and its upstream token belong to other connections too.
    assert!(
        store
            .account("github:1")
            .await
            .unwrap()
            .unwrap()
            .upstream_token
            .is_some()
    );

    // A single-use sign-in step: of two racing takers exactly one wins.
    let spent_step = hash();
    let (a, b) = tokio::join!(
        store.spend_step(&spent_step, now + 600),
        store.spend_step(&spent_step, now + 600)
    );
    assert_eq!(
        [a.unwrap(), b.unwrap()].iter().filter(|&&won| won).count(),
        1
    );
    assert!(store.spend_step(&hash(), now + 600).await.unwrap());

    // An accepted webhook records which subscribed links went stale, for every instance's
    // cache; a redelivery records nothing more, and old records are purged.
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
        .claim_outbox(now_ms, now_ms + 60_000, 10)
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
            .claim_outbox(now_ms, now_ms + 60_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "the newer update waits while the older one is in flight"
    );
    // Even once the older lease has run out, the older row goes first, alone.
    let after_lease = now_ms + 120_000;
    let retried = store
        .claim_outbox(after_lease, after_lease + 60_000, 10)
        .await
        .unwrap();
    assert_eq!(
        retried.iter().map(|row| row.id).collect::<Vec<_>>(),
        [first_claim[0].id]
    );
    store.delete_outbox_row(first_claim[0].id).await.unwrap();
    let next = store
        .claim_outbox(after_lease, after_lease + 60_000, 10)
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

    raw.close().await;
    Facts {
        first: first.id,
        second: second.id,
        spent_code,
        revoked_refresh: r2,
        live_refresh,
        spent_step,
    }
}

/// After the store was closed and opened again: everything is still there.
async fn still_there(store: &Store, url: &str, facts: &Facts) {
    let now = now();
    let account = store.account("github:1").await.unwrap().unwrap();
    assert_eq!(account.name, "GitHub - octo");
    assert_eq!(account.upstream_token.unwrap().expose(), "gho_second");
    let first = store.connection(&facts.first).await.unwrap().unwrap();
    assert_eq!(first.notion_token.unwrap().expose(), "secret_notion_first");
    assert!(store.is_connection_revoked(&facts.second).await.unwrap());
    assert_eq!(
        store.subscriptions_for(PR_CANONICAL).await.unwrap(),
        vec![(facts.first.clone(), PR.to_owned())]
    );
    assert_eq!(
        store
            .consume_auth_code(&facts.spent_code, now)
            .await
            .unwrap(),
        CodeOutcome::Reused {
            connection_id: facts.first.clone()
        }
    );
    assert_eq!(
        store
            .rotate_refresh_token(&facts.revoked_refresh, &hash(), now, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Revoked
    );
    assert_eq!(
        store
            .rotate_refresh_token(&facts.live_refresh, &hash(), now, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Rotated {
            connection_id: facts.first.clone(),
            family_id: "family-c".to_owned(),
        }
    );

    // A spent step stays spent across the restart.
    assert!(
        !store
            .spend_step(&facts.spent_step, now + 600)
            .await
            .unwrap()
    );

    // Far in the future every code, token and spent step has expired and can go.
    assert!(store.purge_expired(now + 365 * 86_400).await.unwrap() > 0);
    let raw = raw_pool(url).await;
    let spent_steps: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM spent_steps")
        .fetch_one(&raw)
        .await
        .unwrap();
    raw.close().await;
    assert_eq!(spent_steps, 0);
    assert_eq!(
        store
            .consume_auth_code(&facts.spent_code, now)
            .await
            .unwrap(),
        CodeOutcome::Unknown
    );
}

/// The whole story against one database: connect twice (the second run of the migrations
/// must change nothing), tell it, close, reopen, check.
async fn run_against(url: &str, backend: Backend) {
    let store = Store::connect(url, cipher()).await.unwrap();
    assert_eq!(store.backend(), backend);
    let again = Store::connect(url, cipher()).await.unwrap();
    let facts = story(&again, url).await;
    again.close().await;
    store.close().await;
    drop((store, again));

    let reopened = Store::connect(url, cipher()).await.unwrap();
    still_there(&reopened, url, &facts).await;
    reopened.close().await;
}

#[tokio::test]
async fn the_storage_story_holds_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("nu-store-{}", uuid::Uuid::new_v4()));
    // A directory that does not exist yet: the store creates it and the file.
    let url = format!("sqlite://{}/data/notion-unfurl.db", dir.display());
    run_against(&url, Backend::Sqlite).await;

    let raw = raw_pool(&url).await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    raw.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_store_opened_with_a_rotated_key_still_reads_old_rows() {
    let dir = std::env::temp_dir().join(format!("nu-store-{}", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}/rotate.db", dir.display());
    let old = Store::connect(&url, cipher()).await.unwrap();
    old.upsert_account("local:k", "Local", Some(&Secret::new("tok_old")))
        .await
        .unwrap();
    old.close().await;

    let next_root = b"the-next-root-secret-also-long-enough-0123";
    let rotated = Cipher::from_root(next_root, 2).with_previous(ROOT, 1);
    let store = Store::connect(&url, rotated).await.unwrap();
    let account = store.account("local:k").await.unwrap().unwrap();
    assert_eq!(account.upstream_token.unwrap().expose(), "tok_old");
    store.close().await;

    let forgetful = Store::connect(&url, Cipher::from_root(next_root, 2))
        .await
        .unwrap();
    let refused = forgetful.account("local:k").await;
    assert!(matches!(refused, Err(StoreError::Crypto(_))), "{refused:?}");
    forgetful.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_in_memory_store_keeps_its_rows_while_open() {
    let store = Store::connect("sqlite::memory:", cipher()).await.unwrap();
    store
        .upsert_account("local:m", "Memory", None)
        .await
        .unwrap();
    let connection = store
        .create_connection(new_connection("local:m", "secret_m"))
        .await
        .unwrap();
    store
        .subscribe(&connection.id, PR, PR_CANONICAL)
        .await
        .unwrap();
    assert_eq!(
        store.subscriptions_for(PR_CANONICAL).await.unwrap(),
        vec![(connection.id, PR.to_owned())]
    );
    store.close().await;
}

/// The URL without its password, for messages.
fn shown(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_password(None);
    shown.to_string()
}

#[tokio::test]
async fn the_storage_story_holds_on_postgres() {
    let configured = std::env::var("UNFURL_TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let admin_url = url::Url::parse(configured.as_deref().unwrap_or(DEFAULT_POSTGRES))
        .expect("UNFURL_TEST_POSTGRES_URL is not a URL");
    sqlx::any::install_default_drivers();
    // One plain connection rather than a pool, so a refusal reports its real cause.
    let connecting = AnyConnection::connect(admin_url.as_str());
    let mut admin = match tokio::time::timeout(Duration::from_secs(5), connecting).await {
        Ok(Ok(connection)) => connection,
        failed => {
            let why = match failed {
                Ok(Err(e)) => e.to_string(),
                _ => "no answer within 5 s".to_owned(),
            };
            assert!(
                configured.is_none(),
                "UNFURL_TEST_POSTGRES_URL is set but {} is not reachable: {why}",
                shown(&admin_url)
            );
            println!(
                "skipped: PostgreSQL not reachable at {} ({why})",
                shown(&admin_url)
            );
            return;
        }
    };

    let database = format!("nu_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut url = admin_url.clone();
    url.set_path(&format!("/{database}"));
    // Drop the database even when the story fails, then report the failure.
    let told = AssertUnwindSafe(run_against(url.as_str(), Backend::Postgres))
        .catch_unwind()
        .await;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE {database} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    let _ = admin.close().await;
    if let Err(panic) = told {
        std::panic::resume_unwind(panic);
    }
}
