//! A fresh PostgreSQL database for one test, shared by the test binaries that need one
//! (each includes this file with `#[path]`, since test binaries cannot share a module).
//!
//! `UNFURL_TEST_POSTGRES_URL` names the server (then an unreachable one fails the test);
//! without it, local trust auth at `postgres://postgres@127.0.0.1:5432/postgres` is tried
//! and the test is skipped with a line saying so when nothing answers. Each run works in its
//! own new database, dropped at the end even when the test fails, so parallel runs never
//! meet.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;
use sqlx::{AnyConnection, AssertSqlSafe, Connection};

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The URL without its password, for messages.
fn shown(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_password(None);
    shown.to_string()
}

/// Run `story` with the URL of a fresh database whose name starts with `prefix`; the
/// database is dropped afterwards and a failure of the story is then reported.
pub async fn with_fresh_database<F, Fut>(prefix: &str, story: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let configured = std::env::var("UNFURL_TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let admin_url = url::Url::parse(configured.as_deref().unwrap_or(DEFAULT_POSTGRES))
        .unwrap_or_else(|e| panic!("UNFURL_TEST_POSTGRES_URL is not a URL: {e}"));
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
    let database = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {database}: {e}"));
    let mut url = admin_url.clone();
    url.set_path(&format!("/{database}"));
    let told = AssertUnwindSafe(story(url.to_string()))
        .catch_unwind()
        .await;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE {database} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap_or_else(|e| panic!("DROP DATABASE {database}: {e}"));
    let _ = admin.close().await;
    if let Err(panic) = told {
        std::panic::resume_unwind(panic);
    }
}
