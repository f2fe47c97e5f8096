//! Link changes: links whose cached previews every instance must forget.
//!
//! Each instance caches previews in its own memory, keyed by the link as Notion sent it.
//! A row here says "this link's previews are out of date since then"; every instance reads
//! the recent rows each second (`crate::live::watch`) and drops what it cached for them.
//! Rows come from accepted webhooks (`Store::record_webhook`, in the same transaction as
//! the updates they queue) and from purges (`cache purge`, `POST /admin/cache/purge`).
//!
//! Refresh digests: what a provider file's `[cache] refresh` last read for a link, so a
//! restarted server can tell whether a link changed while it was down.

use sqlx::Row;

use super::database::{Result, Store};
use crate::platform::clock::unix_secs;

impl Store {
    /// Record that the previews of `links`, and of every subscribed link whose canonical
    /// form is `canonical_uri`, are out of date as of now; every link recorded, sorted and
    /// without duplicates.
    pub async fn record_link_changes(
        &self,
        links: &[String],
        canonical_uri: &str,
    ) -> Result<Vec<String>> {
        let now = unix_secs();
        let mut tx = self.pool.begin().await?;
        // The write comes first so SQLite takes its write lock before anything is read.
        sqlx::query(
            "INSERT INTO link_changes (uri, changed_at) \
             SELECT DISTINCT uri, $2 FROM subscriptions WHERE canonical_uri = $1",
        )
        .bind(canonical_uri)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let mut recorded: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT uri FROM subscriptions WHERE canonical_uri = $1")
                .bind(canonical_uri)
                .fetch_all(&mut *tx)
                .await?;
        for uri in links {
            if recorded.contains(uri) {
                continue;
            }
            sqlx::query("INSERT INTO link_changes (uri, changed_at) VALUES ($1, $2)")
                .bind(uri)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            recorded.push(uri.clone());
        }
        recorded.sort();
        tx.commit().await?;
        Ok(recorded)
    }

    /// Links whose previews were made stale at or after `since` (unix seconds), as
    /// `(id, uri)`; a link changed twice appears twice, with two ids.
    pub async fn link_changes_since(&self, since: i64) -> Result<Vec<(i64, String)>> {
        let rows = sqlx::query("SELECT id, uri FROM link_changes WHERE changed_at >= $1")
            .bind(since)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("id")?, row.try_get("uri")?)))
            .collect()
    }

    /// Forget link changes recorded before `before` (unix seconds); how many.
    pub async fn purge_link_changes(&self, before: i64) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM link_changes WHERE changed_at < $1")
                .bind(before)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

impl Store {
    /// The digest a provider file's refresh last kept for `uri` in `scope` (empty for a
    /// public preview, else the account key).
    pub async fn refresh_digest(
        &self,
        provider: &str,
        scope: &str,
        uri: &str,
    ) -> Result<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar(
            "SELECT digest FROM refresh_digests WHERE provider = $1 AND scope = $2 AND uri = $3",
        )
        .bind(provider)
        .bind(scope)
        .bind(uri)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Keep `digest` as what the refresh of `uri` in `scope` last read.
    pub async fn put_refresh_digest(
        &self,
        provider: &str,
        scope: &str,
        uri: &str,
        digest: &[u8],
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO refresh_digests (provider, scope, uri, digest, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (provider, scope, uri) DO UPDATE SET \
                 digest = excluded.digest, updated_at = excluded.updated_at",
        )
        .bind(provider)
        .bind(scope)
        .bind(uri)
        .bind(digest)
        .bind(unix_secs())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl Store {
    /// Forget the refresh digests last written before `before` (unix seconds) of links no
    /// connection subscribes to any more; how many. A link still shown keeps its digest
    /// however old (an unchanged link is written once).
    pub async fn purge_refresh_digests(&self, before: i64) -> Result<u64> {
        Ok(sqlx::query(
            "DELETE FROM refresh_digests WHERE updated_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.canonical_uri = refresh_digests.uri)",
        )
        .bind(before)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}
