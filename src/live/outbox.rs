//! The outbox worker: pushes queued preview updates to Notion (protocol.md §3).
//!
//! `POST /webhooks/github` only records work (crate::store's outbox); this background task
//! does it. For each claimed row it forgets the cached preview, unfurls the link again with
//! the subscribed connection's account, and sends the complete response body to Notion with
//! that connection's Notion token. The row goes once Notion accepted it or refused it for
//! good; a 429, 5xx or timeout puts it back with exponential backoff and jitter.
//!
//! Delivery is at least once: a worker killed after Notion answered but before the row was
//! deleted leaves a lease, and the update is pushed again once it is released: at once when
//! the same instance starts again (it releases the leases held under its own id before its
//! first round), otherwise when the lease runs out and another worker claims the row. That
//! is harmless because every push is the complete attribute set.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::clients::notion::{NotionClient, NotionError};
use crate::oauth::connections::Connections;
use crate::oauth::grants::Grants;
use crate::oauth::tokens::Tokens;
use crate::platform::clock::unix_ms;
use crate::platform::config::Settings;
use crate::platform::metrics::{DeliveryOutcome, Metrics};
use crate::platform::telemetry::Streak;
use crate::store::{CHANGE_WINDOW_SECS, OutboxRow, Store, StoreError};
use crate::unfurl::Unfurler;
use crate::unfurl::body::validate_uri;
use crate::unfurl::entry::Outcome as EntryOutcome;

/// The longest pause between attempts computed from the backoff.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// The longest `Retry-After` we wait for; a larger one is taken as this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// How far each backoff is moved at random, so updates refused together do not come back
/// together.
const JITTER: f64 = 0.2;

/// Attempts before an update is given up: the backoff reaches its hourly cap after about
/// a dozen, so this is a little over a day of failures.
pub const MAX_ATTEMPTS: i64 = 36;

/// The least wait before an update whose upstream answered 429 is tried again.
const UPSTREAM_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// How long webhook delivery ids and learnt commit heads are kept.
const WEBHOOK_HISTORY: Duration = Duration::from_secs(7 * 24 * 3600);

/// How often that history is purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// How the worker paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxOptions {
    /// Pause between looks at the outbox when nothing woke the worker.
    pub poll: Duration,
    /// Rows claimed at once; they are delivered concurrently.
    pub batch: usize,
    /// How long a claim holds a row before another worker may take it over.
    pub lease: Duration,
    /// The first retry delay; doubled per attempt up to [`MAX_BACKOFF`].
    pub base_backoff: Duration,
}

impl OutboxOptions {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            poll: settings.outbox_poll,
            batch: 16,
            lease: settings.outbox_lease,
            base_backoff: settings.outbox_backoff,
        }
    }
}

/// Wakes this instance's worker when new rows were queued, so an update does not wait for
/// the next poll.
#[derive(Debug, Clone, Default)]
pub struct Wakeup(Arc<Notify>);

impl Wakeup {
    pub fn wake(&self) {
        // One stored permit: a wake-up during a delivery round is seen by the next wait.
        self.0.notify_one();
    }

    async fn woken(&self) {
        self.0.notified().await;
    }
}

/// What the worker works with.
#[derive(Debug, Clone)]
pub struct Deps {
    pub store: Store,
    pub connections: Connections,
    /// For revoking a connection whose Notion token Notion no longer accepts.
    pub tokens: Tokens,
    pub unfurler: Unfurler,
    pub notion: NotionClient,
    pub metrics: Arc<Metrics>,
    /// Woken by whoever queues updates on this instance.
    pub wakeup: Wakeup,
    pub options: OutboxOptions,
    /// This instance's id, recorded with every claim. Whoever builds the worker holds the
    /// lock that makes it this process's alone (`crate::platform::data_dir::Instance`), so
    /// leases already recorded under it belong to a dead process and are released at start.
    pub instance: String,
}

/// The running worker. [`Worker::stop`] lets a delivery in progress finish; dropping it
/// aborts at once, like a killed process (leases then run out and another worker resumes).
pub struct Worker {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Worker {
    pub fn start(deps: Deps) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(deps, stopped));
        Self {
            stop,
            task: Some(task),
        }
    }

    /// Ask the worker to stop after the round in progress and wait up to `grace` for it.
    pub async fn stop(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(grace, &mut task).await.is_err()
        {
            tracing::warn!("outbox worker did not stop in time; abandoning its deliveries");
            task.abort();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

async fn run(state: Deps, mut stopped: watch::Receiver<bool>) {
    release_leases_of_previous_run(&state).await;
    let options = state.options;
    let batch = options.batch.max(1);
    let mut next_purge = tokio::time::Instant::now();
    let mut claims = Streak::new("claiming outbox rows");
    loop {
        if *stopped.borrow() {
            break;
        }
        let claimed = round(&state, &options, batch, &mut claims).await;
        if tokio::time::Instant::now() >= next_purge {
            purge(&state).await;
            next_purge = tokio::time::Instant::now() + PURGE_EVERY;
        }
        if claimed >= batch {
            // A full batch: more rows are probably due already.
            continue;
        }
        tokio::select! {
            () = state.wakeup.woken() => {}
            () = tokio::time::sleep(options.poll) => {}
            _ = stopped.changed() => break,
        }
    }
    tracing::debug!("outbox worker stopped");
}

/// Take back what this instance held when it last stopped (killed mid-delivery, say), so
/// those links are updated now rather than when their leases run out.
async fn release_leases_of_previous_run(state: &Deps) {
    match state.store.release_outbox_leases(&state.instance).await {
        Ok(0) => {}
        Ok(released) => tracing::info!(
            released,
            "released the update leases this instance held when it last stopped"
        ),
        // They run out by themselves; nothing is lost but time.
        Err(e) => tracing::warn!(error = %e, "could not release this instance's old leases"),
    }
}

/// Housekeeping: old webhook history, codes and refresh tokens that expired more than a
/// day ago (kept that long so a late replay is still recognised as one and revokes),
/// refresh digests of links no one has shown for a day, and connections whose linking was
/// never finished.
async fn purge(state: &Deps) {
    let store = &state.store;
    let before = (unix_ms() - millis(WEBHOOK_HISTORY)) / 1000;
    if let Err(e) = store.purge_webhook_history(before).await {
        tracing::warn!(error = %e, "could not purge old webhook deliveries");
    }
    let changed_before = unix_ms() / 1000 - 2 * CHANGE_WINDOW_SECS;
    if let Err(e) = store.purge_link_changes(changed_before).await {
        tracing::warn!(error = %e, "could not purge old link changes");
    }
    let expired_before = unix_ms() / 1000 - 24 * 60 * 60;
    if let Err(e) = store.purge_expired(expired_before).await {
        tracing::warn!(error = %e, "could not purge expired codes and refresh tokens");
    }
    if let Err(e) = store.purge_refresh_digests(expired_before).await {
        tracing::warn!(error = %e, "could not purge refresh digests of links no one shows");
    }
    let grants = Grants::new(&state.connections, &state.tokens);
    if let Err(e) = grants.revoke_unfinished(unix_ms() / 1000).await {
        tracing::warn!(error = %e, "could not revoke connections whose linking was never finished");
    }
}

/// Claim and deliver one batch; how many rows were claimed.
async fn round(state: &Deps, options: &OutboxOptions, batch: usize, claims: &mut Streak) -> usize {
    let now = unix_ms();
    let limit = i64::try_from(batch).unwrap_or(i64::MAX);
    let claimed = match state
        .connections
        .store()
        .claim_outbox(
            &state.instance,
            now,
            now.saturating_add(millis(options.lease)),
            limit,
        )
        .await
    {
        Ok(rows) => {
            claims.succeeded();
            rows
        }
        Err(e) => {
            claims.failed(&e);
            return 0;
        }
    };
    if claimed.is_empty() {
        return 0;
    }
    // Once per link and round: every cached answer for the link (any account) is from before
    // the change. Each row then reads afresh with its own connection's credentials
    // (`Unfurler::refresh`), which replaces the cached answer for later unfurls.
    let mut uris: Vec<&str> = claimed.iter().map(|row| row.uri.as_str()).collect();
    uris.sort_unstable();
    uris.dedup();
    for uri in uris {
        if let Err(e) = state.unfurler.cache().invalidate_uri(uri) {
            tracing::warn!(error = %e, "could not invalidate a cached preview");
        }
    }
    futures_util::future::join_all(claimed.iter().map(|row| deliver(state, options, row))).await;
    claimed.len()
}

/// What one attempt at a row came to.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Delivered,
    /// Nothing to deliver, or Notion refused it for good.
    Dropped(&'static str),
    /// Worth another attempt later; `retry_after` is Notion's own hint.
    Retry {
        reason: &'static str,
        retry_after: Option<Duration>,
    },
    /// Notion no longer accepts this connection's token.
    Revoked,
}

#[tracing::instrument(name = "outbox_delivery", skip_all, fields(row = row.id, attempts = row.attempts))]
async fn deliver(state: &Deps, options: &OutboxOptions, row: &OutboxRow) {
    let outcome = match attempt(state, row).await {
        Ok(outcome) => outcome,
        Err(e @ (StoreError::Crypto(_) | StoreError::Corrupt(_))) => {
            tracing::error!(error = %e, "the connection's stored token cannot be used");
            Outcome::Dropped("unreadable connection")
        }
        Err(e) => {
            // The lease runs out and the row is tried again then.
            tracing::warn!(error = %e, "outbox delivery interrupted by a database error");
            return;
        }
    };
    let store = &state.store;
    let given_up = row.attempts + 1 >= MAX_ATTEMPTS;
    state.metrics.count_delivery(match &outcome {
        Outcome::Delivered => DeliveryOutcome::Delivered,
        Outcome::Dropped(_) => DeliveryOutcome::Dropped,
        Outcome::Revoked => DeliveryOutcome::Revoked,
        Outcome::Retry { .. } if given_up => DeliveryOutcome::GivenUp,
        Outcome::Retry { .. } => DeliveryOutcome::Retried,
    });
    let applied = match outcome {
        Outcome::Delivered => {
            tracing::info!("preview update delivered to Notion");
            store.delete_outbox_row(row.id).await
        }
        Outcome::Dropped(reason) => {
            tracing::info!(reason, "preview update dropped");
            store.delete_outbox_row(row.id).await
        }
        Outcome::Revoked => {
            tracing::warn!("Notion refused the connection's token; revoking the connection");
            // Revocation deletes the connection's queued updates, this row included, and
            // the account's GitHub token once no connection of it is left.
            Grants::new(&state.connections, &state.tokens)
                .revoke_connection(&row.connection_id)
                .await
        }
        Outcome::Retry { reason, .. } if given_up => {
            // A day and more of failures: the cause is not passing. The next change (or
            // Notion's next visit) brings the preview up to date.
            tracing::warn!(
                reason,
                attempts = row.attempts + 1,
                "preview update given up"
            );
            store.delete_outbox_row(row.id).await
        }
        Outcome::Retry {
            reason,
            retry_after,
        } => {
            let delay = retry_delay(
                row.attempts,
                options.base_backoff,
                retry_after,
                rand::random_range(-1.0..=1.0),
            );
            tracing::info!(
                reason,
                delay_ms = millis(delay),
                "preview update rescheduled"
            );
            store
                .reschedule_outbox_row(row, unix_ms().saturating_add(millis(delay)))
                .await
        }
    };
    if let Err(e) = applied {
        tracing::warn!(error = %e, "could not record the outcome of an outbox delivery");
    }
}

async fn attempt(state: &Deps, row: &OutboxRow) -> Result<Outcome, StoreError> {
    let store = &state.store;
    let Some(connection) = store.connection(&row.connection_id).await? else {
        return Ok(Outcome::Dropped("unknown connection"));
    };
    if connection.is_revoked() {
        return Ok(Outcome::Dropped("revoked connection"));
    }
    let Some(notion_token) = connection.notion_token else {
        // A connection made without Notion (`token issue`): nowhere to push to.
        return Ok(Outcome::Dropped("connection without a Notion token"));
    };
    if !store.is_subscribed(&row.connection_id, &row.uri).await? {
        return Ok(Outcome::Dropped("no longer subscribed"));
    }
    let Some(active) = state.connections.active(&row.connection_id).await? else {
        return Ok(Outcome::Dropped("revoked connection"));
    };
    let Ok(url) = validate_uri(&row.uri) else {
        return Ok(Outcome::Dropped("invalid uri"));
    };
    let entry = state
        .unfurler
        .refresh(&row.uri, &url, Some(&active.requester))
        .await;
    let status = match entry.outcome {
        EntryOutcome::Preview { stale: true, .. } => {
            // The provider could only offer an earlier read: pushing it would report the
            // state before the change as current. Wait for a fresh one.
            return Ok(Outcome::Retry {
                reason: "only a stale preview",
                retry_after: None,
            });
        }
        EntryOutcome::Preview { stale: false, .. } => None,
        EntryOutcome::Failed { status } => Some(status),
    };
    if status.is_some_and(is_transient) {
        // Pushing "could not be reached" would replace a good preview with an error over a
        // passing upstream hiccup; a permanent error (lost access, deleted) is pushed. A
        // rate-limited upstream is not asked again within the minute GitHub asks for.
        return Ok(Outcome::Retry {
            reason: "upstream unavailable",
            retry_after: (status == Some(429)).then_some(UPSTREAM_RATE_LIMIT_WAIT),
        });
    }
    Ok(
        match state
            .notion
            .update_preview(&notion_token, entry.body.clone())
            .await
        {
            Ok(()) => Outcome::Delivered,
            Err(NotionError::Unavailable {
                status,
                retry_after,
                cause,
            }) => {
                tracing::info!(status, cause = cause.as_deref(), "Notion is unavailable");
                Outcome::Retry {
                    reason: "Notion unavailable",
                    retry_after,
                }
            }
            Err(NotionError::Refused { status: 401, .. }) => Outcome::Revoked,
            Err(NotionError::Refused { status, code }) => {
                tracing::warn!(
                    status,
                    code = code.as_deref(),
                    "Notion refused a preview update"
                );
                Outcome::Dropped("refused by Notion")
            }
            Err(e) => {
                tracing::warn!(error = %e, "preview update not sent");
                Outcome::Retry {
                    reason: "Notion call failed",
                    retry_after: None,
                }
            }
        },
    )
}

fn is_transient(status: u16) -> bool {
    matches!(status, 429 | 502..=504)
}

/// How long to wait before the next attempt, after `attempts` earlier failed ones and this
/// one: `base · 2^attempts`, at most [`MAX_BACKOFF`], moved by `jitter` (in `-1..=1`) times
/// 20%. A `Retry-After` is never undercut.
pub fn retry_delay(
    attempts: i64,
    base: Duration,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Duration {
    let doublings = u32::try_from(attempts.clamp(0, 31)).unwrap_or(31);
    let backoff = base
        .checked_mul(1u32 << doublings)
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF);
    let jittered = backoff.mul_f64((1.0 + JITTER * jitter.clamp(-1.0, 1.0)).max(0.0));
    match retry_after {
        Some(hint) => jittered.max(hint.min(MAX_RETRY_AFTER)),
        None => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_secs(2);

    #[test]
    fn backoff_doubles_per_attempt_up_to_an_hour() {
        let delays: Vec<u64> = (0..14)
            .map(|n| retry_delay(n, BASE, None, 0.0).as_secs())
            .collect();
        assert_eq!(
            delays,
            [
                2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600, 3600
            ]
        );
        assert_eq!(retry_delay(i64::MAX, BASE, None, 0.0), MAX_BACKOFF);
        assert_eq!(retry_delay(-5, BASE, None, 0.0), BASE);
    }

    #[test]
    fn jitter_moves_a_delay_by_at_most_a_fifth() {
        let at = |jitter| retry_delay(3, BASE, None, jitter);
        assert_eq!(at(-1.0), Duration::from_millis(12_800));
        assert_eq!(at(1.0), Duration::from_millis(19_200));
        assert_eq!(at(7.0), at(1.0));
        assert_eq!(retry_delay(40, BASE, None, 1.0), MAX_BACKOFF.mul_f64(1.2));
    }

    #[test]
    fn retry_after_is_never_undercut() {
        let hint = Some(Duration::from_secs(30));
        assert_eq!(retry_delay(0, BASE, hint, 1.0), Duration::from_secs(30));
        assert_eq!(
            retry_delay(10, BASE, hint, 0.0),
            Duration::from_secs(2048),
            "a longer backoff still applies"
        );
        let absurd = Some(Duration::from_secs(10 * 24 * 3600));
        assert_eq!(retry_delay(0, BASE, absurd, 0.0), MAX_RETRY_AFTER);
    }

    #[test]
    fn only_unreachable_upstreams_hold_an_update_back() {
        assert!(is_transient(502) && is_transient(429) && is_transient(503) && is_transient(504));
        for lasting in [401, 403, 404, 410] {
            assert!(!is_transient(lasting), "{lasting} is pushed, not retried");
        }
    }
}
