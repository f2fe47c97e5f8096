//! What the unfurl path needs to know about a connection, kept briefly in memory.
//!
//! Every unfurl names a connection (the `sub` of its access token). Looking it and its
//! account up in the database each time would put a query on the hot path, so the answer
//! is cached for [`CONNECTION_TTL`]. A revocation handled by this instance forgets the
//! entry at once; one handled by another instance (several Fly machines sharing
//! PostgreSQL) is found by [`crate::live::watch::Watch`], which calls
//! [`Connections::sync_revocations`] every second.
//!
//! Subscriptions are recorded on unfurl; a recently recorded (connection, uri) pair is
//! remembered with the cached connection, so repeated unfurls of one link do not write
//! each time (at most once per [`CONNECTION_TTL`]).

use std::sync::Arc;
use std::time::Duration;

use std::collections::HashSet;
use std::sync::Mutex;

use notion_unfurl_sdk::Account;

use crate::clients::services::ServiceLogins;
use crate::oauth::services::account_with_services;
use crate::unfurl::Requester;

use crate::platform::memo::Epoch;
use crate::store::{CHANGE_WINDOW_SECS, Store, StoreError};

/// How long a connection's state is trusted without asking the database.
pub const CONNECTION_TTL: Duration = Duration::from_secs(30);

/// An active connection and the account it acts for.
#[derive(Debug)]
pub struct ActiveConnection {
    pub id: String,
    pub requester: Requester,
    /// URIs recently recorded as subscribed, so repeated unfurls of one link do not write
    /// each time. Lives as long as this cache entry ([`CONNECTION_TTL`]), bounded.
    subscribed: Mutex<HashSet<String>>,
}

/// Most URIs remembered per connection before the memo starts over.
const SUBSCRIBED_MEMO: usize = 1024;

impl ActiveConnection {
    pub fn account(&self) -> &Account {
        &self.requester.account
    }

    fn is_known_subscribed(&self, uri: &str) -> bool {
        self.subscribed.lock().is_ok_and(|set| set.contains(uri))
    }

    fn remember_subscribed(&self, uri: &str) {
        if let Ok(mut set) = self.subscribed.lock() {
            if set.len() >= SUBSCRIBED_MEMO {
                set.clear();
            }
            set.insert(uri.to_owned());
        }
    }

    fn forget_subscribed(&self, uri: &str) {
        if let Ok(mut set) = self.subscribed.lock() {
            set.remove(uri);
        }
    }
}

#[derive(Clone)]
pub struct Connections {
    store: Store,
    /// The services provider files declare, to refresh their tokens.
    services: ServiceLogins,
    active: moka::future::Cache<String, Option<Arc<ActiveConnection>>>,
    /// Ids forgotten within the last [`CONNECTION_TTL`]: a lookup that raced a revocation
    /// (read before it committed, cached after it was forgotten) must not be cached.
    forgotten: moka::sync::Cache<String, ()>,
    /// Revocations already handled here, so each poll forgets only new ones.
    seen_revoked: moka::sync::Cache<String, ()>,
    /// Moved by every [`Connections::forget`]; copies of cached state made under an older
    /// value (the per-thread memo of [`crate::oauth::access`]) are stale.
    epoch: Epoch,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections")
            .field("cached", &self.active.entry_count())
            .finish()
    }
}

impl Connections {
    pub fn new(store: Store, services: ServiceLogins) -> Self {
        Self {
            store,
            services,
            active: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(CONNECTION_TTL)
                .build(),
            forgotten: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(CONNECTION_TTL)
                .build(),
            seen_revoked: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(2 * CHANGE_WINDOW_SECS.unsigned_abs()))
                .build(),
            epoch: Epoch::default(),
        }
    }

    /// The services provider files declare.
    pub fn services(&self) -> &ServiceLogins {
        &self.services
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The connection `id` if it exists and is not revoked.
    pub async fn active(&self, id: &str) -> Result<Option<Arc<ActiveConnection>>, StoreError> {
        if let Some(hit) = self.active.get(id).await {
            return Ok(hit);
        }
        let found = self.load(id).await?;
        self.active.insert(id.to_owned(), found.clone()).await;
        // Checked after inserting: a `forget` before this line is seen here, one after it
        // removes what was inserted.
        if self.forgotten.contains_key(id) {
            self.active.invalidate(id).await;
        }
        Ok(found)
    }

    async fn load(&self, id: &str) -> Result<Option<Arc<ActiveConnection>>, StoreError> {
        let Some(connection) = self.store.connection(id).await? else {
            return Ok(None);
        };
        if connection.is_revoked() {
            return Ok(None);
        }
        let requester = match self.requester(&connection.account_key).await? {
            Some(requester) => requester,
            // A connection outliving its account reads as one without a token, as before.
            None => Requester::new(Account::new(connection.account_key, None)),
        };
        Ok(Some(Arc::new(ActiveConnection {
            id: connection.id,
            requester,
            subscribed: Mutex::new(HashSet::new()),
        })))
    }

    /// Who unfurls as the stored account `key`, with the upstream credentials it linked;
    /// `None` when there is no such account. The one way an account becomes a requester:
    /// connections, the `unfurl --account` command and the preview lab all come here.
    /// Every service it linked comes along (GitHub's as its upstream token), each token
    /// refreshed first when about to run out ([`account_with_services`]).
    pub async fn requester(&self, key: &str) -> Result<Option<Requester>, StoreError> {
        if !self.store.account_exists(key).await? {
            return Ok(None);
        }
        let account = account_with_services(&self.store, &self.services, key).await?;
        Ok(Some(Requester::new(account)))
    }

    /// Forget what is cached about `id` (after a revocation or a token change).
    pub async fn forget(&self, id: &str) {
        self.forgotten.insert(id.to_owned(), ());
        self.active.invalidate(id).await;
        // After the invalidation: a copy taken before it carries the old epoch.
        self.epoch.advance();
    }

    /// The current epoch (see the field); it changes whenever anything is forgotten.
    pub fn epoch(&self) -> u64 {
        self.epoch.current()
    }

    /// Forget the connections revoked (anywhere) at or after `since`, unix seconds, that
    /// this instance has not handled yet; how many there were.
    pub async fn sync_revocations(&self, since: i64) -> Result<usize, StoreError> {
        let mut fresh = 0;
        for id in self.store.revoked_since(since).await? {
            if self.seen_revoked.contains_key(&id) {
                continue;
            }
            self.forget(&id).await;
            self.seen_revoked.insert(id, ());
            fresh += 1;
        }
        Ok(fresh)
    }

    /// Record that `connection` shows a preview of `uri`, so updates can be pushed.
    /// `canonical_uri` is only computed when the pair is not already known.
    pub async fn subscribe(
        &self,
        connection: &ActiveConnection,
        uri: &str,
        canonical_uri: impl FnOnce() -> String,
    ) -> Result<(), StoreError> {
        if connection.is_known_subscribed(uri) {
            return Ok(());
        }
        self.store
            .subscribe(&connection.id, uri, &canonical_uri())
            .await?;
        connection.remember_subscribed(uri);
        Ok(())
    }

    pub async fn unsubscribe(
        &self,
        connection: &ActiveConnection,
        uri: &str,
    ) -> Result<(), StoreError> {
        connection.forget_subscribed(uri);
        self.store.unsubscribe(&connection.id, uri).await
    }
}
