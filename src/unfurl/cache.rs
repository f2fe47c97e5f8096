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
//!
//! Stale-while-revalidate: a hit on a fresh preview older than half its TTL is answered
//! from the cache at once and also starts a read in the background, which replaces the
//! entry when it succeeds ([`crate::unfurl::refreshes`] keeps that to one per key and a
//! few at once). So a link Notion keeps asking for is re-read about every half TTL
//! without anyone waiting for it, and a link asked for rarely expires as before. A failed
//! or stale read keeps the old entry; a failure (an `error` operation) is never refreshed
//! this way, it expires after its short TTL.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::future::Cache;

use crate::platform::memo::{Epoch, EpochMemo};
use crate::unfurl::entry::Entry;
use crate::unfurl::refreshes::Refreshes;

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

/// How many background refreshes run at once per process; more ageing entries wait for a
/// later hit (or their expiry). Each holds one page fetch, like a miss.
const MAX_BACKGROUND_REFRESHES: u32 = 8;

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
    refreshes: Arc<Refreshes<Key>>,
    /// Counts [`PreviewCache::invalidate_uri`] calls: a background read that began before
    /// one may hold what the invalidation was about, so it is not stored.
    invalidations: Arc<AtomicU64>,
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
            refreshes: Arc::new(Refreshes::new(MAX_BACKGROUND_REFRESHES)),
            invalidations: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The cached entry for (`provider`, `uri`) visible to `requester`, or the result of
    /// `fetch`, shared with every concurrent caller asking under the same key. A hit on
    /// an ageing preview also calls `refresh` with `uri` and runs the read it returns in
    /// the background (see the module's documentation); a hit never polls `fetch`, and
    /// `refresh` is only called then.
    pub async fn get_or_fetch<F, R, RF>(
        &self,
        provider: &'static str,
        requester: Scope,
        uri: Arc<str>,
        fetch: F,
        refresh: R,
    ) -> Arc<Entry>
    where
        F: Future<Output = Entry>,
        R: FnOnce(Arc<str>) -> RF,
        RF: Future<Output = Entry> + Send + 'static,
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
        let mut until = now + HIT_MEMO_LIFE.min(entry.ttl);
        if now < entry.refresh_at() {
            // The first hit past that point must come here, not to the memo.
            until = until.min(entry.refresh_at());
        } else if entry.outcome.is_refreshable() {
            self.refresh_in_background(&own, entry.is_public(), now, refresh);
        }
        HITS.with(|memo| memo.borrow_mut().put(own, epoch, entry.clone(), until));
        entry
    }

    /// Start `refresh` for the ageing entry `own` was answered with, unless its key was
    /// claimed lately or every slot is taken; the entry it reads replaces the cached one.
    fn refresh_in_background<R, RF>(&self, own: &Key, public: bool, now: Instant, refresh: R)
    where
        R: FnOnce(Arc<str>) -> RF,
        RF: Future<Output = Entry> + Send + 'static,
    {
        // Outside a runtime (never, in the server) there is nothing to run it on.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        // A shared preview is claimed under the shared key, so every account reading it
        // starts one refresh between them.
        let claimed = Key {
            provider: own.provider,
            scope: if public {
                Scope::Public
            } else {
                own.scope.clone()
            },
            uri: own.uri.clone(),
        };
        let Some(slot) = self.refreshes.claim(claimed, now) else {
            return;
        };
        let invalidations = self.invalidations.load(Ordering::Acquire);
        let read = refresh(own.uri.clone());
        let cache = self.clone();
        let own = own.clone();
        runtime.spawn(async move {
            let entry = read.await;
            if !entry.outcome.is_refreshable() {
                tracing::debug!(
                    provider = own.provider,
                    "a background refresh failed; the cached preview stays"
                );
                return;
            }
            if cache.invalidations.load(Ordering::Acquire) != invalidations {
                return;
            }
            let uri = own.uri.clone();
            cache
                .put(own.provider, own.scope, uri.clone(), Arc::new(entry))
                .await;
            // An invalidation between the check and the put may have run before the put
            // landed; it must win.
            if cache.invalidations.load(Ordering::Acquire) != invalidations
                && let Err(e) = cache.invalidate_uri(&uri)
            {
                tracing::warn!(error = %e, "could not invalidate a cached preview");
            }
            drop(slot);
        });
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
    /// The entry cached under `key`, if any, without fetching or refreshing it.
    pub async fn peek(&self, key: &Key) -> Option<Arc<Entry>> {
        self.inner.get(key).await
    }

    pub fn invalidate_uri(&self, uri: &str) -> Result<(), moka::PredicateError> {
        // First, so a background read that checks after this point stores nothing.
        self.invalidations.fetch_add(1, Ordering::AcqRel);
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

    /// Wait until no background refresh runs (tests).
    pub async fn refreshes_settled(&self) {
        self.refreshes.settled().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unfurl::entry::{Outcome, REFRESH_FRACTION};
    use bytes::Bytes;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn entry(body: &'static str, public: bool, ttl: Duration) -> Entry {
        Entry::new(
            Bytes::from_static(body.as_bytes()),
            ttl,
            Outcome::Preview {
                public,
                stale: false,
            },
        )
    }

    /// The `refresh` of a lookup that must never start one.
    fn no_refresh(_: Arc<str>) -> std::future::Ready<Entry> {
        unreachable!("no background refresh was due")
    }

    /// A lookup of provider `p` whose miss answers `made` and which is due no background
    /// refresh.
    async fn lookup(cache: &PreviewCache, scope: Scope, uri: &str, made: Entry) -> Arc<Entry> {
        cache
            .get_or_fetch("p", scope, uri.into(), async { made }, no_refresh)
            .await
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
                    .get_or_fetch(
                        "p",
                        Scope::Account("a".into()),
                        "u".into(),
                        async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            entry("x", false, Duration::from_secs(60))
                        },
                        no_refresh,
                    )
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
        let private = lookup(
            &cache,
            Scope::Account("alice".into()),
            "u",
            entry("alice's", false, Duration::from_secs(60)),
        )
        .await;
        assert_eq!(private.body, "alice's");
        let bob = lookup(
            &cache,
            Scope::Account("bob".into()),
            "u",
            entry("bob's", false, Duration::from_secs(60)),
        )
        .await;
        assert_eq!(bob.body, "bob's");

        lookup(
            &cache,
            Scope::Account("alice".into()),
            "v",
            entry("public", true, Duration::from_secs(60)),
        )
        .await;
        let shared = lookup(
            &cache,
            Scope::Account("carol".into()),
            "v",
            entry("refetched", true, Duration::from_secs(60)),
        )
        .await;
        assert_eq!(shared.body, "public");
    }

    #[tokio::test]
    async fn entries_expire_after_their_own_ttl() {
        let cache = PreviewCache::new(1 << 20);
        let scope = || Scope::Anonymous;
        lookup(
            &cache,
            scope(),
            "u",
            entry("old", false, Duration::from_millis(50)),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(120)).await;
        let fresh = lookup(
            &cache,
            scope(),
            "u",
            entry("new", false, Duration::from_secs(60)),
        )
        .await;
        assert_eq!(fresh.body, "new");
    }

    #[tokio::test]
    async fn a_put_entry_expires_after_its_own_ttl_not_the_one_it_replaced() {
        let cache = PreviewCache::new(1 << 20);
        let scope = || Scope::Anonymous;
        lookup(
            &cache,
            scope(),
            "u",
            entry("long", false, Duration::from_secs(3600)),
        )
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
        let after = lookup(
            &cache,
            scope(),
            "u",
            entry("refetched", false, Duration::from_secs(60)),
        )
        .await;
        assert_eq!(after.body, "refetched");
    }

    #[tokio::test]
    async fn a_put_replaces_what_this_thread_remembered() {
        let scope = || Scope::Account("a".into());
        let cache = PreviewCache::new(1 << 20);
        let first = lookup(
            &cache,
            scope(),
            "u",
            entry("old", false, Duration::from_secs(60)),
        )
        .await;
        let again = cache
            .get_or_fetch(
                "p",
                scope(),
                "u".into(),
                async { unreachable!("a hit must not fetch") },
                no_refresh,
            )
            .await;
        assert!(Arc::ptr_eq(&first, &again));
        // Another cache in the same thread never answers from this one's memo.
        let other = PreviewCache::new(1 << 20);
        let elsewhere = other
            .get_or_fetch(
                "p",
                scope(),
                "u".into(),
                async { entry("other", false, Duration::from_secs(60)) },
                no_refresh,
            )
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
            .get_or_fetch(
                "p",
                scope(),
                "u".into(),
                async { unreachable!("the put entry must be found") },
                no_refresh,
            )
            .await;
        assert_eq!(after.body, "new");
    }

    #[tokio::test]
    async fn invalidating_a_uri_drops_every_scope() {
        let cache = PreviewCache::new(1 << 20);
        for account in ["a", "b"] {
            lookup(
                &cache,
                Scope::Account(account.into()),
                "u",
                entry("old", false, Duration::from_secs(60)),
            )
            .await;
        }
        cache.invalidate_uri("u").unwrap_or_else(|e| panic!("{e}"));
        let fresh = lookup(
            &cache,
            Scope::Account("a".into()),
            "u",
            entry("new", false, Duration::from_secs(60)),
        )
        .await;
        assert_eq!(fresh.body, "new");
    }

    #[tokio::test]
    async fn the_byte_bound_evicts() {
        let cache = PreviewCache::new(4096);
        for i in 0..100 {
            let uri: Arc<str> = Arc::from(format!("u{i}"));
            cache
                .get_or_fetch(
                    "p",
                    Scope::Anonymous,
                    uri,
                    async {
                        Entry::new(
                            Bytes::from(vec![b'x'; 500]),
                            Duration::from_secs(60),
                            Outcome::Preview {
                                public: false,
                                stale: false,
                            },
                        )
                    },
                    no_refresh,
                )
                .await;
        }
        cache.run_pending_tasks().await;
        assert!(cache.entry_count() <= 8, "{}", cache.entry_count());
    }

    /// A public preview read with `ttl`, already past its refresh point, in a fresh cache.
    async fn ageing(ttl: Duration) -> PreviewCache {
        let cache = PreviewCache::new(1 << 20);
        cache
            .get_or_fetch(
                "p",
                Scope::Account("reader".into()),
                "u".into(),
                async move { entry("old", true, ttl) },
                no_refresh,
            )
            .await;
        tokio::time::sleep(ttl / REFRESH_FRACTION + Duration::from_millis(20)).await;
        cache
    }

    /// A hit by `account`: each account has its own key (and memo entry), so every call
    /// reaches the shared entry and its age check.
    async fn hit(
        cache: &PreviewCache,
        account: &str,
        calls: &Arc<AtomicUsize>,
        answer: Entry,
    ) -> Bytes {
        let calls = calls.clone();
        cache
            .get_or_fetch(
                "p",
                Scope::Account(account.into()),
                "u".into(),
                async { unreachable!("a hit must not fetch") },
                move |uri: Arc<str>| {
                    assert_eq!(&*uri, "u");
                    calls.fetch_add(1, Ordering::SeqCst);
                    async move {
                        tokio::task::yield_now().await;
                        answer
                    }
                },
            )
            .await
            .body
            .clone()
    }

    #[tokio::test]
    async fn an_entry_past_half_its_ttl_is_served_and_refreshed_once_in_the_background() {
        let cache = ageing(Duration::from_secs(1)).await;
        let calls = Arc::new(AtomicUsize::new(0));
        let fresh = || entry("new", true, Duration::from_secs(60));
        assert_eq!(
            hit(&cache, "a", &calls, fresh()).await,
            "old",
            "served at once"
        );
        cache.refreshes_settled().await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // The refreshed entry replaced the old one, with a TTL of its own.
        assert_eq!(hit(&cache, "b", &calls, fresh()).await, "new");
        assert_eq!(hit(&cache, "a", &calls, fresh()).await, "new");
        cache.refreshes_settled().await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "a fresh entry is not refreshed"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_hits_on_an_ageing_entry_start_one_refresh() {
        let cache = ageing(Duration::from_secs(1)).await;
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for n in 0..32 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                let answer = entry("new", true, Duration::from_secs(60));
                hit(&cache, &format!("account{n}"), &calls, answer).await
            }));
        }
        for task in tasks {
            let body = task.await.unwrap_or_else(|e| panic!("{e}"));
            assert!(body == "old" || body == "new", "{body:?}");
        }
        cache.refreshes_settled().await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_the_old_entry_and_is_not_retried_at_once() {
        let cache = ageing(Duration::from_secs(1)).await;
        let calls = Arc::new(AtomicUsize::new(0));
        let failed = || {
            Entry::new(
                Bytes::from_static(b"error"),
                Duration::from_secs(30),
                Outcome::Failed { status: 502 },
            )
        };
        assert_eq!(hit(&cache, "a", &calls, failed()).await, "old");
        cache.refreshes_settled().await;
        assert_eq!(hit(&cache, "b", &calls, failed()).await, "old");
        // A stale read (an earlier one standing in for a failing upstream) is no better.
        let stale = Entry::new(
            Bytes::from_static(b"stale"),
            Duration::from_secs(60),
            Outcome::Preview {
                public: true,
                stale: true,
            },
        );
        assert_eq!(hit(&cache, "c", &calls, stale).await, "old");
        cache.refreshes_settled().await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "the claim holds after a failure"
        );
    }

    #[tokio::test]
    async fn a_failure_is_never_refreshed_in_the_background() {
        let cache = PreviewCache::new(1 << 20);
        let failed = || {
            Entry::new(
                Bytes::from_static(b"error"),
                Duration::from_secs(1),
                Outcome::Failed { status: 404 },
            )
        };
        cache
            .get_or_fetch(
                "p",
                Scope::Anonymous,
                "u".into(),
                async { failed() },
                no_refresh,
            )
            .await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        let again = cache
            .get_or_fetch(
                "p",
                Scope::Anonymous,
                "u".into(),
                async { unreachable!("a hit must not fetch") },
                no_refresh,
            )
            .await;
        assert_eq!(again.body, "error");
    }

    #[tokio::test]
    async fn a_refresh_that_raced_an_invalidation_is_not_stored() {
        let cache = ageing(Duration::from_secs(1)).await;
        let release = Arc::new(tokio::sync::Notify::new());
        let read = {
            let release = release.clone();
            async move {
                release.notified().await;
                entry("read before the change", true, Duration::from_secs(60))
            }
        };
        let served = cache
            .get_or_fetch(
                "p",
                Scope::Account("a".into()),
                "u".into(),
                async { unreachable!("a hit must not fetch") },
                move |_| read,
            )
            .await;
        assert_eq!(served.body, "old");
        cache.invalidate_uri("u").unwrap_or_else(|e| panic!("{e}"));
        release.notify_one();
        cache.refreshes_settled().await;
        let after = lookup(
            &cache,
            Scope::Account("b".into()),
            "u",
            entry("read after the change", true, Duration::from_secs(60)),
        )
        .await;
        assert_eq!(after.body, "read after the change");
    }
}
