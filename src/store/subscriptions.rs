//! Subscriptions: which connection shows a preview of which link, by the link as pasted
//! and by its canonical form (what updates are matched on).

use super::database::{Result, Store};
use crate::platform::clock::unix_secs;

impl Store {
    /// Remember that `connection_id` shows a preview of `uri`, a form of the resource
    /// `canonical_uri`. Idempotent; ignored for a revoked or unknown connection.
    pub async fn subscribe(
        &self,
        connection_id: &str,
        uri: &str,
        canonical_uri: &str,
    ) -> Result<()> {
        // The conditional update keeps a repeated subscribe from writing (and syncing) a
        // page when nothing changed; it only rewrites rows whose canonical form changed.
        sqlx::query(
            "INSERT INTO subscriptions (connection_id, uri, canonical_uri, created_at) \
             SELECT $1, $2, $3, $4 \
             WHERE EXISTS (SELECT 1 FROM connections WHERE id = $1 AND revoked_at IS NULL) \
             ON CONFLICT (connection_id, uri) DO UPDATE \
                 SET canonical_uri = excluded.canonical_uri \
                 WHERE subscriptions.canonical_uri <> excluded.canonical_uri",
        )
        .bind(connection_id)
        .bind(uri)
        .bind(canonical_uri)
        .bind(unix_secs())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forget one subscription. Idempotent.
    pub async fn unsubscribe(&self, connection_id: &str, uri: &str) -> Result<()> {
        sqlx::query("DELETE FROM subscriptions WHERE connection_id = $1 AND uri = $2")
            .bind(connection_id)
            .bind(uri)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Those of `canonical_uris` that some subscription is stored under, each once: one
    /// query, each form looked up on the canonical URI's index (a webhook naming the
    /// 33 abbreviations of a commit id costs no table scan).
    pub async fn subscribed_among(&self, canonical_uris: &[String]) -> Result<Vec<String>> {
        // A few hundred placeholders per statement stay far below both backends' limits.
        const CHUNK: usize = 200;
        let mut found = Vec::new();
        for chunk in canonical_uris.chunks(CHUNK) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT DISTINCT canonical_uri FROM subscriptions WHERE canonical_uri IN ({})",
                placeholders.join(", ")
            );
            // Audited: the statement is built from placeholder numbers alone; every URI
            // is a bound parameter.
            let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
            for uri in chunk {
                query = query.bind(uri);
            }
            found.extend(query.fetch_all(&self.pool).await?);
        }
        found.sort();
        found.dedup();
        Ok(found)
    }

    /// The distinct canonical URIs subscribed to that start with `prefix` (every link into
    /// one repository, every file link at one branch), for webhooks that name a whole
    /// group of links. `substr` rather than `LIKE`: repository names hold `_`, a `LIKE`
    /// wildcard; it scans the table, which a push or a repository change can afford.
    pub async fn canonical_uris_under(&self, prefix: &str) -> Result<Vec<String>> {
        let length = i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX);
        let uris: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT canonical_uri FROM subscriptions \
             WHERE substr(canonical_uri, 1, $2) = $1",
        )
        .bind(prefix)
        .bind(length)
        .fetch_all(&self.pool)
        .await?;
        Ok(uris)
    }

    /// Every `(connection_id, uri)` showing a form of `canonical_uri`, on connections that
    /// are not revoked, in a stable order.
    pub async fn subscriptions_for(&self, canonical_uri: &str) -> Result<Vec<(String, String)>> {
        use sqlx::Row;
        let rows = sqlx::query(
            "SELECT s.connection_id, s.uri FROM subscriptions s \
             JOIN connections c ON c.id = s.connection_id \
             WHERE s.canonical_uri = $1 AND c.revoked_at IS NULL \
             ORDER BY s.connection_id, s.uri",
        )
        .bind(canonical_uri)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("connection_id")?, row.try_get("uri")?)))
            .collect()
    }
}
