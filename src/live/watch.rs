//! What one instance learns from the others through the shared database.
//!
//! Several instances (Fly machines sharing PostgreSQL, or processes sharing one SQLite
//! file) each keep their own view in memory: cached connections and cached previews.
//! Another instance's revocation, or a webhook another instance accepted, makes part of
//! that view wrong. [`Watch`] asks the database every [`POLL`] what changed lately and
//! forgets the entries concerned: two indexed queries a second per instance, whatever the
//! traffic. A change handled by this instance itself is applied at once where it happens;
//! the watch sees it again a moment later, which costs one needless cache miss at most.

use std::collections::HashSet;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::oauth::connections::Connections;
use crate::platform::clock::unix_secs;
use crate::platform::telemetry::Streak;
use crate::store::{CHANGE_WINDOW_SECS, Store, StoreError};
use crate::unfurl::cache::PreviewCache;

/// How often each instance looks at what the others changed.
pub const POLL: Duration = Duration::from_secs(1);

/// What the watch works with.
#[derive(Debug, Clone)]
pub struct Deps {
    pub store: Store,
    pub connections: Connections,
    pub cache: PreviewCache,
}

/// The background task; it stops when dropped.
#[derive(Debug)]
pub struct Watch(JoinHandle<()>);

impl Watch {
    pub fn start(deps: Deps) -> Self {
        let Deps {
            store,
            connections,
            cache,
        } = deps;
        Self(tokio::spawn(async move {
            let mut links = LinkChanges::default();
            let mut streaks = Streaks::default();
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                look(&store, &connections, &cache, &mut links, &mut streaks).await;
            }
        }))
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The two looks' failures, each logged as one run (a database that is down fails both
/// every second).
struct Streaks {
    revocations: Streak,
    links: Streak,
}

impl Default for Streaks {
    fn default() -> Self {
        Self {
            revocations: Streak::new("looking for revoked connections"),
            links: Streak::new("looking for changed links"),
        }
    }
}

/// One look at the shared database.
async fn look(
    store: &Store,
    connections: &Connections,
    cache: &PreviewCache,
    links: &mut LinkChanges,
    streaks: &mut Streaks,
) {
    let since = unix_secs() - CHANGE_WINDOW_SECS;
    match connections.sync_revocations(since).await {
        Ok(n) => {
            streaks.revocations.succeeded();
            if n > 0 {
                tracing::debug!(connections = n, "revocations applied");
            }
        }
        Err(e) => {
            streaks.revocations.failed(&e);
        }
    }
    match links.sync(store, cache, since).await {
        Ok(n) => {
            streaks.links.succeeded();
            if n > 0 {
                tracing::debug!(links = n, "changed links forgotten");
            }
        }
        Err(e) => {
            streaks.links.failed(&e);
        }
    }
}

/// The link changes (rows of `link_changes`) already applied to this instance's cache.
#[derive(Debug, Default)]
pub struct LinkChanges {
    /// Ids seen in the last look; a change that left the window never comes back, so the
    /// set holds one window's changes at most.
    seen: HashSet<i64>,
}

impl LinkChanges {
    /// Forget the cached previews of links changed (anywhere) at or after `since`, unix
    /// seconds, that were not forgotten for that change yet; how many changes were new.
    pub async fn sync(
        &mut self,
        store: &Store,
        cache: &PreviewCache,
        since: i64,
    ) -> Result<usize, StoreError> {
        let recent = store.link_changes_since(since).await?;
        let mut seen = HashSet::with_capacity(recent.len());
        let mut fresh = 0;
        for (id, uri) in recent {
            if !self.seen.contains(&id) {
                if let Err(e) = cache.invalidate_uri(&uri) {
                    tracing::warn!(error = %e, "could not invalidate a cached preview");
                }
                fresh += 1;
            }
            seen.insert(id);
        }
        self.seen = seen;
        Ok(fresh)
    }
}
