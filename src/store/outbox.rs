//! The update outbox and the webhook bookkeeping around it.
//!
//! An accepted webhook is one transaction: its delivery id, the pull-request heads it
//! teaches us, and one outbox row per subscription it affects commit together or not at
//! all, so an acknowledged webhook is never lost and a redelivered one queues nothing.
//!
//! Workers claim due rows by setting a lease (`locked_until_ms`) and their instance id
//! (`claimed_by`). The claim is a single statement per backend, so several instances can
//! share one outbox without a row being delivered by two of them at once (a lease that runs
//! out is the one exception: the row is delivered again, which is harmless because every
//! push carries the complete attribute set). An instance restarted after a crash releases
//! the leases recorded under its own id ([`Store::release_outbox_leases`]) instead of
//! waiting for them to run out; it alone can know that their holder is gone (see
//! `Instance` in `crate::platform::data_dir`).

use sqlx::Row;

use super::connect::Backend;
use super::database::{Result, Store};
use crate::platform::clock::unix_secs;

/// One GitHub webhook to record, reduced to what the outbox needs.
#[derive(Debug, Clone, Copy)]
pub struct WebhookDelivery<'a> {
    /// `X-GitHub-Delivery`.
    pub id: &'a str,
    /// `X-GitHub-Event`.
    pub event: &'a str,
    /// Canonical URIs of the pull requests the event names.
    pub canonical_uris: &'a [String],
    /// `(head commit, canonical URI)` pairs the event reveals.
    pub heads: &'a [(String, String)],
    /// Commits whose pull requests are affected (looked up in what earlier events taught).
    pub commits: &'a [String],
    /// When the first attempt is due (unix milliseconds): now, in practice.
    pub now_ms: i64,
}

/// What recording a webhook did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// First time this delivery id was seen; `updates` rows were queued.
    Queued { updates: u64 },
    /// The delivery id was recorded before: nothing was queued.
    Duplicate,
}

/// The outbox at a glance ([`Store::outbox_stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxStats {
    pub pending: u64,
    /// When the oldest waiting update was queued (unix seconds); `None` when none waits.
    pub oldest_queued_at: Option<i64>,
}

/// A claimed outbox row: the worker holds it until `lease_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub connection_id: String,
    pub uri: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// The lease this claim set; a reschedule only applies while it is still ours.
    pub lease_ms: i64,
}

// Only the oldest row of a subscription may be claimed: a newer one (queued while the
// older was in flight) waits until the older is gone, so two instances never push one
// link to one connection at once, and a later state can never land before an earlier
// one.
//
// SQLite runs one writer at a time, so one `UPDATE … WHERE id IN (SELECT … LIMIT n)` is
// atomic across instances sharing the file (RETURNING needs SQLite 3.35; sqlx bundles a
// newer one).
const CLAIM_SQLITE: &str = "UPDATE outbox SET locked_until_ms = $2, claimed_by = $4 \
     WHERE id IN ( \
         SELECT id FROM outbox \
         WHERE next_attempt_at_ms <= $1 AND (locked_until_ms IS NULL OR locked_until_ms <= $1) \
           AND NOT EXISTS (SELECT 1 FROM outbox older \
               WHERE older.connection_id = outbox.connection_id AND older.uri = outbox.uri \
                 AND older.id < outbox.id) \
         ORDER BY next_attempt_at_ms, id LIMIT $3) \
     RETURNING id, connection_id, uri, attempts";

// Under READ COMMITTED, two concurrent claims would pick the same ids in their subqueries
// and the second would take them over once the first commits; SKIP LOCKED makes each claim
// pass over rows another transaction is claiming, so concurrent workers get disjoint rows.
const CLAIM_POSTGRES: &str = "UPDATE outbox SET locked_until_ms = $2, claimed_by = $4 \
     WHERE id IN ( \
         SELECT id FROM outbox \
         WHERE next_attempt_at_ms <= $1 AND (locked_until_ms IS NULL OR locked_until_ms <= $1) \
           AND NOT EXISTS (SELECT 1 FROM outbox older \
               WHERE older.connection_id = outbox.connection_id AND older.uri = outbox.uri \
                 AND older.id < outbox.id) \
         ORDER BY next_attempt_at_ms, id LIMIT $3 \
         FOR UPDATE SKIP LOCKED) \
     RETURNING id, connection_id, uri, attempts";

impl Store {
    /// Record a webhook and queue one update per affected subscription, atomically.
    ///
    /// A subscription that already has an update waiting and not yet claimed gets no
    /// second one: the waiting row re-reads the resource when it runs, so it already
    /// carries this change. A claimed (in flight) row may have read the old state, so a
    /// new row is queued beside it.
    pub async fn accept_webhook(&self, delivery: WebhookDelivery<'_>) -> Result<Accepted> {
        let now = unix_secs();
        let mut tx = self.pool.begin().await?;
        // The write comes first so SQLite takes its write lock before anything is read.
        if !record_delivery(&mut tx, delivery.id, delivery.event).await? {
            tx.rollback().await?;
            return Ok(Accepted::Duplicate);
        }

        for (sha, canonical_uri) in delivery.heads {
            sqlx::query(
                "INSERT INTO pull_heads (head_sha, canonical_uri, seen_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (head_sha, canonical_uri) DO UPDATE SET seen_at = excluded.seen_at",
            )
            .bind(sha)
            .bind(canonical_uri)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }

        let mut canonical_uris: Vec<String> = delivery.canonical_uris.to_vec();
        for sha in delivery.commits {
            let known: Vec<String> =
                sqlx::query_scalar("SELECT canonical_uri FROM pull_heads WHERE head_sha = $1")
                    .bind(sha)
                    .fetch_all(&mut *tx)
                    .await?;
            canonical_uris.extend(known);
        }
        canonical_uris.sort();
        canonical_uris.dedup();

        let payload = serde_json::json!({
            "source": "github",
            "event": delivery.event,
            "delivery": delivery.id,
        })
        .to_string();
        let mut updates = 0;
        for canonical_uri in &canonical_uris {
            updates +=
                queue_subscribers(&mut tx, canonical_uri, &payload, delivery.now_ms, None).await?;
        }
        tx.commit().await?;
        Ok(Accepted::Queued { updates })
    }

    /// Record delivery `id` (a change one account's view of `canonical_uri` went through,
    /// found by re-reading it as that account) and queue an update for `connection`'s
    /// subscriptions to it only, atomically; a delivery seen before queues nothing.
    pub async fn accept_change_for(
        &self,
        id: &str,
        event: &str,
        connection: &str,
        canonical_uri: &str,
        now_ms: i64,
    ) -> Result<Accepted> {
        let mut tx = self.pool.begin().await?;
        if !record_delivery(&mut tx, id, event).await? {
            tx.rollback().await?;
            return Ok(Accepted::Duplicate);
        }
        let payload = serde_json::json!({ "source": event, "delivery": id }).to_string();
        let updates =
            queue_subscribers(&mut tx, canonical_uri, &payload, now_ms, Some(connection)).await?;
        tx.commit().await?;
        Ok(Accepted::Queued { updates })
    }

    /// Lease up to `limit` due rows to `claimant` (an instance id) until `lease_ms` (unix
    /// milliseconds), oldest due first.
    pub async fn claim_outbox(
        &self,
        claimant: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<OutboxRow>> {
        let claim = match self.backend {
            Backend::Sqlite => CLAIM_SQLITE,
            Backend::Postgres => CLAIM_POSTGRES,
        };
        let rows = sqlx::query(claim)
            .bind(now_ms)
            .bind(lease_ms)
            .bind(limit)
            .bind(claimant)
            .fetch_all(&self.pool)
            .await?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                Ok(OutboxRow {
                    id: row.try_get("id")?,
                    connection_id: row.try_get("connection_id")?,
                    uri: row.try_get("uri")?,
                    attempts: row.try_get("attempts")?,
                    lease_ms,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // RETURNING gives no order guarantee.
        claimed.sort_by_key(|row| row.id);
        Ok(claimed)
    }

    /// The row is done with (delivered, or dropped for good).
    pub async fn delete_outbox_row(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM outbox WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Release the row for another attempt at `next_attempt_at_ms`. Nothing happens when
    /// the lease ran out and another worker claimed the row meanwhile: that worker owns it.
    pub async fn reschedule_outbox_row(
        &self,
        row: &OutboxRow,
        next_attempt_at_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at_ms = $2, \
                 locked_until_ms = NULL, claimed_by = NULL \
             WHERE id = $1 AND locked_until_ms = $3",
        )
        .bind(row.id)
        .bind(next_attempt_at_ms)
        .bind(row.lease_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Release every lease `claimant` holds, so its rows can be claimed at once; how many.
    ///
    /// Only for a claimant known to be dead: the caller holds its instance id's lock (see
    /// `Instance` in `crate::platform::data_dir`), so whoever claimed under that id before
    /// is gone, maybe mid-delivery. The attempt is not counted: whether Notion got it is
    /// unknown, and pushing the complete attribute set again is harmless.
    pub async fn release_outbox_leases(&self, claimant: &str) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE outbox SET locked_until_ms = NULL, claimed_by = NULL \
             WHERE claimed_by = $1 AND locked_until_ms IS NOT NULL",
        )
        .bind(claimant)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// Whether `connection_id` still shows a preview of `uri` (Notion may have deleted it
    /// after the update was queued).
    pub async fn is_subscribed(&self, connection_id: &str, uri: &str) -> Result<bool> {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT uri FROM subscriptions WHERE connection_id = $1 AND uri = $2",
        )
        .bind(connection_id)
        .bind(uri)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// How many updates are waiting, claimed or not.
    pub async fn outbox_len(&self) -> Result<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// How many updates are waiting (claimed or not), and when the oldest was queued: what
    /// `/metrics` reports. One scan of a table that is empty when all is well.
    pub async fn outbox_stats(&self) -> Result<OutboxStats> {
        let row = sqlx::query("SELECT COUNT(*) AS pending, MIN(created_at) AS oldest FROM outbox")
            .fetch_one(&self.pool)
            .await?;
        let pending: i64 = row.try_get("pending")?;
        Ok(OutboxStats {
            pending: u64::try_from(pending).unwrap_or(0),
            oldest_queued_at: row.try_get("oldest")?,
        })
    }

    /// Forget delivery ids and commit heads older than `before` (unix seconds). GitHub
    /// redelivers within days, and a redelivery after this only refreshes previews once
    /// more; a forgotten head only means a later `status` for that commit goes unmatched.
    pub async fn purge_webhook_history(&self, before: i64) -> Result<u64> {
        let mut purged = 0;
        for delete in [
            "DELETE FROM webhook_deliveries WHERE received_at < $1",
            "DELETE FROM pull_heads WHERE seen_at < $1",
        ] {
            purged += sqlx::query(delete)
                .bind(before)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(purged)
    }
}

/// Queue one update per subscription to `canonical_uri` (of `connection` only, when given)
/// that has none waiting unclaimed, and record the links as changed so every instance
/// drops its cached previews of them (`Store::link_changes_since`), whichever instance
/// delivers the updates. How many were queued.
async fn queue_subscribers(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    canonical_uri: &str,
    payload: &str,
    now_ms: i64,
    connection: Option<&str>,
) -> Result<u64> {
    let now = unix_secs();
    // `$5 IS NULL` lets one statement serve both: every subscriber, or one connection's.
    let queued = sqlx::query(
        "INSERT INTO outbox \
             (connection_id, uri, payload, attempts, next_attempt_at_ms, created_at) \
         SELECT s.connection_id, s.uri, $2, 0, $3, $4 \
         FROM subscriptions s JOIN connections c ON c.id = s.connection_id \
         WHERE s.canonical_uri = $1 AND c.revoked_at IS NULL \
           AND (CAST($5 AS TEXT) IS NULL OR s.connection_id = $5) \
           AND NOT EXISTS ( \
               SELECT 1 FROM outbox o \
               WHERE o.connection_id = s.connection_id AND o.uri = s.uri \
                 AND o.locked_until_ms IS NULL)",
    )
    .bind(canonical_uri)
    .bind(payload)
    .bind(now_ms)
    .bind(now)
    .bind(connection)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    sqlx::query(
        "INSERT INTO link_changes (uri, changed_at) \
         SELECT DISTINCT uri, $2 FROM subscriptions \
         WHERE canonical_uri = $1 AND (CAST($3 AS TEXT) IS NULL OR connection_id = $3)",
    )
    .bind(canonical_uri)
    .bind(now)
    .bind(connection)
    .execute(&mut **tx)
    .await?;
    Ok(queued)
}

/// Record delivery `id`; `false` when it was recorded before (a redelivery).
async fn record_delivery(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    event: &str,
) -> Result<bool> {
    Ok(sqlx::query(
        "INSERT INTO webhook_deliveries (id, event, received_at) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(event)
    .bind(unix_secs())
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}
