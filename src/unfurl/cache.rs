//! The preview cache: moka, bounded by bytes, a time-to-live per entry.
//!
//! A value is the finished `/unfurl` response body, so a hit costs one hash lookup and a
//! reference-count increment. Keys carry the provider's cache scope: a `Public` preview is
//! shared by every account, an `Account` preview only by the account it was read for.
//!
//! The scope is only known once the provider has answered, so a miss runs under the
//! requester's own key (moka's `get_with` makes concurrent misses for one key share one
//! fetch), and a `Public` result is then also stored under the shared key. The
//! requester's copy of a public result lives only briefly: it exists to finish the flight.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use moka::Expiry;
use moka::future::Cache;

use crate::platform::memo::{Epoch, EpochMemo};

/// Who may read an entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    Public,
    Account(Arc<str>),
    /// No account (the `unfurl` CLI command).
    Anonymous,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub provider: &'static str,
    pub scope: Scope,
    pub uri: Arc<str>,
}

/// A cached answer: the response body, how long it stays, and what it holds.
#[derive(Debug, Clone)]
pub struct Entry {
    pub body: Bytes,
    pub ttl: Duration,
    pub outcome: Outcome,
}

/// What a cached body holds, so nobody reads the JSON back to find out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Attributes. `public` when the provider declared them shareable (then also stored
    /// under the shared key); `stale` for an earlier read served because the upstream
    /// failed just now (see `Preview::stale`).
    Preview { public: bool, stale: bool },
    /// Only an `error` operation, with this status.
    Failed { status: u16 },
}

impl Entry {
    /// Whether the body holds attributes (not only an `error` operation).
    pub fn is_preview(&self) -> bool {
        matches!(self.outcome, Outcome::Preview { .. })
    }

    /// Whether every account may be served this entry.
    pub fn is_public(&self) -> bool {
        matches!(self.outcome, Outcome::Preview { public: true, .. })
    }
}

/// How long the requester's own copy of a public result is kept.
const FLIGHT_COPY_TTL: Duration = Duration::from_secs(1);

struct PerEntryTtl;

impl PerEntryTtl {
    fn ttl(key: &Key, value: &Entry) -> Duration {
        if value.is_public() && key.scope != Scope::Public {
            FLIGHT_COPY_TTL.min(value.ttl)
        } else {
            value.ttl
        }
    }
}

// A replaced entry lives as long as its own TTL says, counted from its replacement: moka
// would otherwise keep the expiry of the entry it replaced (a stale preview put over a
// five-minute one would then live five minutes, not one).
impl Expiry<Key, Arc<Entry>> for PerEntryTtl {
    fn expire_after_create(
        &self,
        key: &Key,
        value: &Arc<Entry>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(Self::ttl(key, value))
    }

    fn expire_after_update(
        &self,
        key: &Key,
        value: &Arc<Entry>,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(Self::ttl(key, value))
    }
}

/// How long a worker thread answers a key from its own memo before asking moka again,
/// and how many keys it remembers. A hit memoised here outlives its moka entry by at most
/// this long; a change (`put`, `invalidate_uri`) empties every thread's memo at once.
const HIT_MEMO_LIFE: Duration = Duration::from_secs(1);
const HIT_MEMO_ENTRIES: usize = 1024;

thread_local! {
    /// Recent hits of one worker thread: a cached unfurl then costs no concurrent lookup.
    static HITS: RefCell<EpochMemo<Key, Arc<Entry>>> =
        RefCell::new(EpochMemo::new(HIT_MEMO_ENTRIES));
}

#[derive(Clone)]
pub struct PreviewCache {
    inner: Cache<Key, Arc<Entry>>,
    /// Moved by every change to what is cached; memoised hits from before are dropped.
    epoch: Epoch,
}

impl std::fmt::Debug for PreviewCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreviewCache")
            .field("entries", &self.inner.entry_count())
            .finish()
    }
}

impl PreviewCache {
    pub fn new(max_bytes: u64) -> Self {
        let inner = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &Key, value: &Arc<Entry>| {
                let bytes = 96 + key.uri.len() + value.body.len();
                u32::try_from(bytes).unwrap_or(u32::MAX)
            })
            .expire_after(PerEntryTtl)
            .support_invalidation_closures()
            .build();
        Self {
            inner,
            epoch: Epoch::default(),
        }
    }

    /// The cached entry for (`provider`, `uri`) visible to `requester`, or the result of
    /// `fetch`, shared with every concurrent caller asking under the same key.
    pub async fn get_or_fetch<F>(
        &self,
        provider: &'static str,
        requester: Scope,
        uri: Arc<str>,
        fetch: F,
    ) -> Arc<Entry>
    where
        F: Future<Output = Entry>,
    {
        // Read before the lookups: a change while they run moves the epoch past what the
        // memoised hit is stored under.
        let epoch = self.epoch.current();
        let now = Instant::now();
        let own = Key {
            provider,
            scope: requester,
            uri,
        };
        if let Some(hit) = HITS.with(|memo| memo.borrow_mut().get(&own, epoch, now)) {
            return hit;
        }
        let shared = Key {
            provider,
            scope: Scope::Public,
            uri: own.uri.clone(),
        };
        let entry = match self.inner.get(&shared).await {
            Some(hit) => hit,
            None => {
                let cache = self.inner.clone();
                self.inner
                    .get_with(own.clone(), async move {
                        let entry = Arc::new(fetch.await);
                        if entry.is_public() {
                            cache.insert(shared, entry.clone()).await;
                        }
                        entry
                    })
                    .await
            }
        };
        let until = now + HIT_MEMO_LIFE.min(entry.ttl);
        HITS.with(|memo| memo.borrow_mut().put(own, epoch, entry.clone(), until));
        entry
    }

    /// Store `entry` as `requester`'s answer (and, when public, everyone's), replacing what
    /// was there.
    pub async fn put(
        &self,
        provider: &'static str,
        requester: Scope,
        uri: Arc<str>,
        entry: Arc<Entry>,
    ) {
        if entry.is_public() {
            let shared = Key {
                provider,
                scope: Scope::Public,
                uri: uri.clone(),
            };
            self.inner.insert(shared, entry.clone()).await;
        }
        let own = Key {
            provider,
            scope: requester,
            uri,
        };
        self.inner.insert(own, entry).await;
        self.epoch.advance();
    }

    /// Forget every cached answer for `uri` (any scope), e.g. when its source changed.
    pub fn invalidate_uri(&self, uri: &str) -> Result<(), moka::PredicateError> {
        let uri: Arc<str> = Arc::from(uri);
        let result = self
            .inner
            .invalidate_entries_if(move |key, _| key.uri == uri)
            .map(|_| ());
        self.epoch.advance();
        result
    }

    pub fn entry_count(&self) -> u64 {
        self.inner.entry_count()
    }

    /// What the entries weigh (bodies, links and a fixed overhead each): what
    /// `UNFURL_CACHE_MAX_BYTES` bounds.
    pub fn weighted_size(&self) -> u64 {
        self.inner.weighted_size()
    }

    /// Apply pending evictions now (tests and metrics).
    pub async fn run_pending_tasks(&self) {
        self.inner.run_pending_tasks().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn entry(body: &'static str, public: bool, ttl: Duration) -> Entry {
        Entry {
            body: Bytes::from_static(body.as_bytes()),
            ttl,
            outcome: Outcome::Preview {
                public,
                stale: false,
            },
        }
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_fetch() {
        let cache = PreviewCache::new(1 << 20);
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let cache = cache.clone();
            let calls = calls.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch("p", Scope::Account("a".into()), "u".into(), async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        entry("x", false, Duration::from_secs(60))
                    })
                    .await
            }));
        }
        for task in tasks {
            assert_eq!(
                task.await.map(|e| e.body.clone()).ok(),
                Some(Bytes::from("x"))
            );
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn account_results_are_not_shared_but_public_ones_are() {
        let cache = PreviewCache::new(1 << 20);
        let private = cache
            .get_or_fetch("p", Scope::Account("alice".into()), "u".into(), async {
                entry("alice's", false, Duration::from_secs(60))
            })
            .await;
        assert_eq!(private.body, "alice's");
        let bob = cache
            .get_or_fetch("p", Scope::Account("bob".into()), "u".into(), async {
                entry("bob's", false, Duration::from_secs(60))
            })
            .await;
        assert_eq!(bob.body, "bob's");

        cache
            .get_or_fetch("p", Scope::Account("alice".into()), "v".into(), async {
                entry("public", true, Duration::from_secs(60))
            })
            .await;
        let shared = cache
            .get_or_fetch("p", Scope::Account("carol".into()), "v".into(), async {
                entry("refetched", true, Duration::from_secs(60))
            })
            .await;
        assert_eq!(shared.body, "public");
    }

    #[tokio::test]
    async fn entries_expire_after_their_own_ttl() {
        let cache = PreviewCache::new(1 << 20);
        let scope = || Scope::Anonymous;
        cache
            .get_or_fetch("p", scope(), "u".into(), async {
                entry("old", false, Duration::from_millis(50))
            })
            .await;
        tokio::time::sleep(Duration::from_millis(120)).await;
        let fresh = cache
            .get_or_fetch("p", scope(), "u".into(), async {
                entry("new", false, Duration::from_secs(60))
            })
            .await;
        assert_eq!(fresh.body, "new");
    }

    #[tokio::test]
    async fn a_put_entry_expires_after_its_own_ttl_not_the_one_it_replaced() {
        let cache = PreviewCache::new(1 << 20);
        let scope = || Scope::Anonymous;
        cache
            .get_or_fetch("p", scope(), "u".into(), async {
                entry("long", false, Duration::from_secs(3600))
            })
            .await;
        cache
            .put(
                "p",
                scope(),
                "u".into(),
                Arc::new(entry("short", false, Duration::from_millis(50))),
            )
            .await;
        // Past the memo's second, so the answer comes from moka.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let after = cache
            .get_or_fetch("p", scope(), "u".into(), async {
                entry("refetched", false, Duration::from_secs(60))
            })
            .await;
        assert_eq!(after.body, "refetched");
    }

    #[tokio::test]
    async fn a_put_replaces_what_this_thread_remembered() {
        let scope = || Scope::Account("a".into());
        let cache = PreviewCache::new(1 << 20);
        let first = cache
            .get_or_fetch("p", scope(), "u".into(), async {
                entry("old", false, Duration::from_secs(60))
            })
            .await;
        let again = cache
            .get_or_fetch("p", scope(), "u".into(), async {
                unreachable!("a hit must not fetch")
            })
            .await;
        assert!(Arc::ptr_eq(&first, &again));
        // Another cache in the same thread never answers from this one's memo.
        let other = PreviewCache::new(1 << 20);
        let elsewhere = other
            .get_or_fetch("p", scope(), "u".into(), async {
                entry("other", false, Duration::from_secs(60))
            })
            .await;
        assert_eq!(elsewhere.body, "other");
        cache
            .put(
                "p",
                scope(),
                "u".into(),
                Arc::new(entry("new", false, Duration::from_secs(60))),
            )
            .await;
        let after = cache
            .get_or_fetch("p", scope(), "u".into(), async {
                unreachable!("the put entry must be found")
            })
            .await;
        assert_eq!(after.body, "new");
    }

    #[tokio::test]
    async fn invalidating_a_uri_drops_every_scope() {
        let cache = PreviewCache::new(1 << 20);
        for account in ["a", "b"] {
            cache
                .get_or_fetch("p", Scope::Account(account.into()), "u".into(), async {
                    entry("old", false, Duration::from_secs(60))
                })
                .await;
        }
        cache.invalidate_uri("u").unwrap_or_else(|e| panic!("{e}"));
        let fresh = cache
            .get_or_fetch("p", Scope::Account("a".into()), "u".into(), async {
                entry("new", false, Duration::from_secs(60))
            })
            .await;
        assert_eq!(fresh.body, "new");
    }

    #[tokio::test]
    async fn the_byte_bound_evicts() {
        let cache = PreviewCache::new(4096);
        for i in 0..100 {
            let uri: Arc<str> = Arc::from(format!("u{i}"));
            cache
                .get_or_fetch("p", Scope::Anonymous, uri, async {
                    Entry {
                        body: Bytes::from(vec![b'x'; 500]),
                        ttl: Duration::from_secs(60),
                        outcome: Outcome::Preview {
                            public: false,
                            stale: false,
                        },
                    }
                })
                .await;
        }
        cache.run_pending_tasks().await;
        assert!(cache.entry_count() <= 8, "{}", cache.entry_count());
    }
}
