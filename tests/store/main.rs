//! The storage story, told once and run against each backend: SQLite (a fresh file) always,
//! and PostgreSQL when one is reachable. `UNFURL_TEST_POSTGRES_URL` names the server to use
//! (then an unreachable server fails the test); without it, local trust auth at
//! `postgres://postgres@127.0.0.1:5432/postgres` is tried and the run is skipped with a line
//! saying so when nothing answers. Each PostgreSQL run works in its own new database,
//! dropped at the end, so parallel runs never meet.
//!
//! The story is told in chapters, one file each, in this order: [`accounts`],
//! [`connections`], [`codes`], [`refresh_tokens`], [`subscriptions`], [`revocation`],
//! [`sign_in_steps`], [`webhooks`], [`leases`]; then the store is closed and opened again, and
//! [`reopened`] finds what the chapters left behind. A chapter starts from the state the
//! ones before it left (its module says which), and returns what later ones need.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/postgres.rs"]
mod postgres;

mod accounts;
mod codes;
mod connections;
mod leases;
mod refresh_tokens;
mod reopened;
mod revocation;
mod sign_in_steps;
mod subscriptions;
mod webhooks;

use std::time::{SystemTime, UNIX_EPOCH};

use notion_unfurl::platform::crypto::cipher::Cipher;
use notion_unfurl::platform::crypto::{random_token, token_hash};
use notion_unfurl::store::{Backend, NewConnection, Store, StoreError};
use notion_unfurl_sdk::Secret;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

const ROOT: &[u8] = b"store-test-root-secret-that-is-long-enough";

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

/// What every chapter is given: the store, a raw connection to the same database (to look
/// at columns as an attacker with a copy of the database would), and the story's time.
struct Story<'a> {
    store: &'a Store,
    raw: AnyPool,
    now: i64,
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

/// The chapters in order, against one open store.
async fn story(store: &Store, url: &str) -> Facts {
    let story = Story {
        store,
        raw: raw_pool(url).await,
        now: now(),
    };
    store.ping().await.unwrap();

    accounts::chapter(&story).await;
    let (first, second) = connections::chapter(&story).await;
    let spent_code = codes::chapter(&story, &first, &second).await;
    let (revoked_refresh, live_refresh) = refresh_tokens::chapter(&story, &first).await;
    subscriptions::chapter(&story, &first, &second).await;
    revocation::chapter(&story, &first, &second).await;
    let spent_step = sign_in_steps::chapter(&story).await;
    webhooks::chapter(&story).await;
    leases::chapter(&story, &first.id).await;

    story.raw.close().await;
    Facts {
        first: first.id,
        second: second.id,
        spent_code,
        revoked_refresh,
        live_refresh,
        spent_step,
    }
}

/// The whole story against one database: connect several times at once on the fresh
/// database (as processes starting together do: the migrations must run exactly once, the
/// others waiting for them), connect again (changing nothing), tell it, close, reopen, check.
async fn run_against(url: &str, backend: Backend) {
    let together =
        futures_util::future::join_all((0..4).map(|_| Store::connect(url, cipher()))).await;
    for opened in together {
        let opened = opened.unwrap_or_else(|e| panic!("a store opened together failed: {e}"));
        opened.close().await;
    }
    let store = Store::connect(url, cipher()).await.unwrap();
    assert_eq!(store.backend(), backend);
    let again = Store::connect(url, cipher()).await.unwrap();
    let facts = story(&again, url).await;
    again.close().await;
    store.close().await;
    drop((store, again));

    let reopened = Store::connect(url, cipher()).await.unwrap();
    reopened::chapter(&reopened, url, &facts).await;
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

/// An older version kept the GitHub token on the account row; opening the store moves it
/// to `service_tokens` (opened and sealed again for its new row) and clears the old column.
#[tokio::test]
async fn github_tokens_on_account_rows_move_to_service_tokens_at_open() {
    let dir = std::env::temp_dir().join(format!("nu-store-{}", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}/legacy.db", dir.display());
    let store = Store::connect(&url, cipher()).await.unwrap();
    store
        .upsert_account("github:9", "GitHub - nine", None)
        .await
        .unwrap();
    store.close().await;
    let sealed = cipher()
        .seal_secret(
            &Secret::new("gho_legacy"),
            b"accounts.upstream_token:github:9",
        )
        .unwrap();
    let raw = raw_pool(&url).await;
    sqlx::query("UPDATE accounts SET upstream_token = $1, upstream_token_key_id = $2 WHERE key = 'github:9'")
        .bind(sealed.bytes.as_slice())
        .bind(i16::from(sealed.key_id))
        .execute(&raw)
        .await
        .unwrap();

    let store = Store::connect(&url, cipher()).await.unwrap();
    let account = store.account("github:9").await.unwrap().unwrap();
    assert_eq!(account.upstream_token.unwrap().expose(), "gho_legacy");
    let left: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT upstream_token FROM accounts WHERE key = 'github:9'")
            .fetch_one(&raw)
            .await
            .unwrap();
    assert!(left.is_none());
    // Opening again finds nothing left to move and changes nothing.
    assert_eq!(store.move_account_tokens().await.unwrap(), 0);
    store.close().await;
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

#[tokio::test]
async fn the_storage_story_holds_on_postgres() {
    postgres::with_fresh_database("nu_test", |url| async move {
        run_against(&url, Backend::Postgres).await;
    })
    .await;
}
