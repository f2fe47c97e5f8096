//! One unfurl, from a validated URI to the finished response body.
//!
//! Shared by `POST /unfurl`, the `unfurl` CLI command and the outbox, so all three send
//! exactly the same bytes: [`body`] builds them (the Notion `error` operation included),
//! [`registry`] routes a link to its provider, [`cache`] keeps the finished answers
//! ([`entry`]) and re-reads ageing ones in the background ([`refreshes`]), and the
//! [`Unfurler`] here ties them together.
//!
//! May import: `clients`, `store`, `platform`; never HTTP or accounts.

pub mod body;
pub mod cache;
pub mod dashboard;
pub mod entry;
pub mod refreshes;
pub mod registry;

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use notion_unfurl_sdk::{
    Account, Attribute, CacheScope, Context, GuardedClient, Pattern, Provider, ProviderError,
    UnfurlRequest,
};
use url::Url;

use crate::platform::memo::{Epoch, EpochMemo};
use crate::platform::metrics::{
    CacheResult, Metrics, PreviewOutcome, UnfurlMetrics, UpstreamOutcome,
};
use crate::unfurl::body::{UriError, attributes_body, error_body, error_operation, validate_uri};
use crate::unfurl::cache::{Key, PreviewCache, Scope};
use crate::unfurl::entry::{Entry, Outcome};
use crate::unfurl::registry::Registry;

/// How long a failure is remembered, so a broken link does not hammer its origin.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(30);

/// Where the answer of [`Unfurler::unfurl_traced`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// Answered from the cache (this scope's copy or the shared one).
    Hit,
    /// Read from the provider, then cached.
    Miss,
    /// Read from the provider past the cache, as asked, then cached.
    Refreshed,
    /// No provider accepts the link: nothing read, nothing cached.
    NoProvider,
}

/// An answer with where it came from and the cache key it was looked up under (`None`
/// when no provider accepts the link).
#[derive(Debug, Clone)]
pub struct Traced {
    pub entry: Arc<Entry>,
    pub cache: CacheUse,
    pub key: Option<Key>,
}

/// Who an unfurl is for: the account, and its cache-scope key made once (not per request).
#[derive(Debug, Clone)]
pub struct Requester {
    pub account: Account,
    scope_key: Arc<str>,
}

impl Requester {
    pub fn new(account: Account) -> Self {
        let scope_key = Arc::from(account.key.as_str());
        Self { account, scope_key }
    }
}

/// Runs unfurls: routing, cache, provider, response body.
#[derive(Debug, Clone)]
pub struct Unfurler {
    registry: Registry,
    cache: PreviewCache,
    guarded: GuardedClient,
    developer: String,
    metrics: UnfurlMetrics,
    /// Never moves: it tells this unfurler's entries in the per-thread [`Link`] memo from
    /// another's (tests run several servers, with different registries, in one process).
    links: Epoch,
}

/// A pasted link, validated and routed. Both depend on the link's text alone (the
/// registry never changes once built), so [`Unfurler::link`] memoises them per worker
/// thread: a link pasted again skips URL parsing (IDNA included) and pattern matching.
#[derive(Debug)]
pub struct Link {
    /// The link as sent, which is also the cache key and the `uri` of the answer.
    pub uri: Arc<str>,
    pub url: Url,
    route: Option<(usize, usize)>,
}

/// Links remembered per worker thread before the memo starts over, and the longest link
/// remembered: together they bound the memo to about 12 MiB per thread however long the
/// links sent (up to [`MAX_URI_BYTES`]); longer links, rare in practice, are parsed each time.
const LINK_MEMO_ENTRIES: usize = 4096;
const LINK_MEMO_MAX_BYTES: usize = 1024;

/// A routed link depends on its text and the registry alone, and the registry never
/// changes, so a memoised link stays right as long as the unfurler lives.
const LINK_MEMO_LIFE: Duration = Duration::from_secs(24 * 3600);

thread_local! {
    static LINKS: RefCell<EpochMemo<Box<str>, Arc<Link>>> =
        RefCell::new(EpochMemo::new(LINK_MEMO_ENTRIES));
}

impl Unfurler {
    /// `metrics` gets this registry's providers, each at zero.
    pub fn new(
        registry: Registry,
        cache: PreviewCache,
        guarded: GuardedClient,
        developer: String,
        metrics: &Metrics,
    ) -> Self {
        let providers: Vec<&'static str> = registry.providers().iter().map(|p| p.id()).collect();
        Self {
            metrics: metrics.unfurls(&providers),
            registry,
            cache,
            guarded,
            developer,
            links: Epoch::default(),
        }
    }

    /// `raw` validated and routed (see [`Link`]).
    pub fn link(&self, raw: &str) -> Result<Arc<Link>, UriError> {
        let epoch = self.links.current();
        let now = Instant::now();
        if let Some(link) = LINKS.with(|memo| memo.borrow_mut().get(raw, epoch, now)) {
            return Ok(link);
        }
        let url = validate_uri(raw)?;
        let link = Arc::new(Link {
            uri: Arc::from(raw),
            route: self.registry.route_index(&url),
            url,
        });
        if raw.len() <= LINK_MEMO_MAX_BYTES {
            LINKS.with(|memo| {
                memo.borrow_mut()
                    .put(raw.into(), epoch, link.clone(), now + LINK_MEMO_LIFE);
            });
        }
        Ok(link)
    }

    /// The response body for a [`Link`] on behalf of `requester`.
    pub async fn unfurl_link(&self, link: &Link, requester: Option<&Requester>) -> Arc<Entry> {
        self.unfurl_routed(link.uri.clone(), &link.url, link.route, requester)
            .await
            .0
    }

    /// [`Unfurler::unfurl_link`] (or, with `refresh`, [`Unfurler::refresh`]), saying where
    /// the answer came from and under which cache key: what the preview lab shows.
    pub async fn unfurl_traced(
        &self,
        link: &Link,
        requester: Option<&Requester>,
        refresh: bool,
    ) -> Traced {
        let Some((provider, _)) = link.route.and_then(|at| self.registry.at(at)) else {
            return Traced {
                entry: self.no_provider(&link.uri),
                cache: CacheUse::NoProvider,
                key: None,
            };
        };
        let key = Key {
            provider: provider.id(),
            scope: scope_of(requester.filter(|_| provider.reads_account())),
            uri: link.uri.clone(),
        };
        let (entry, cache) = if refresh {
            let entry = self.refresh(&link.uri, &link.url, requester).await;
            (entry, CacheUse::Refreshed)
        } else {
            let (entry, missed) = self
                .unfurl_routed(link.uri.clone(), &link.url, link.route, requester)
                .await;
            (
                entry,
                if missed {
                    CacheUse::Miss
                } else {
                    CacheUse::Hit
                },
            )
        };
        Traced {
            entry,
            cache,
            key: Some(key),
        }
    }

    pub fn cache(&self) -> &PreviewCache {
        &self.cache
    }

    /// The guarded client providers are given (the lab's image check uses it too).
    pub fn guarded(&self) -> &GuardedClient {
        &self.guarded
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The form of `url` that subscriptions match on: the routed provider's canonical
    /// form, so every sub-URL of one resource shares its updates.
    pub fn canonical_uri(&self, url: &Url) -> String {
        match self.registry.route(url) {
            Some((provider, _)) => provider.canonical_uri(url),
            None => url.to_string(),
        }
    }

    /// The response body for `uri` (already validated into `url`) on behalf of `account`.
    pub async fn unfurl(&self, uri: &str, url: &Url, requester: Option<&Requester>) -> Arc<Entry> {
        let route = self.registry.route_index(url);
        self.unfurl_routed(Arc::from(uri), url, route, requester)
            .await
            .0
    }

    async fn unfurl_routed(
        &self,
        uri: Arc<str>,
        url: &Url,
        route: Option<(usize, usize)>,
        requester: Option<&Requester>,
    ) -> (Arc<Entry>, bool) {
        let Some((at, (provider, pattern))) =
            route.and_then(|at| Some((at.0, self.registry.at(at)?)))
        else {
            return (self.no_provider(&uri), true);
        };
        let requester = requester.filter(|_| provider.reads_account());
        // Everything a miss needs is built inside the future, which a hit never polls (that
        // it ran is what makes this lookup a miss), and everything a background refresh
        // needs inside the closure, called only for one.
        let missed = AtomicBool::new(false);
        let fetch = self.fetch(at, provider, pattern, uri.clone(), url, requester);
        let fetch = async {
            missed.store(true, Ordering::Relaxed);
            fetch.await
        };
        let refresh = |uri| self.read_later(url, requester, uri);
        let entry = self
            .cache
            .get_or_fetch(provider.id(), scope_of(requester), uri, fetch, refresh)
            .await;
        let missed = missed.load(Ordering::Relaxed);
        self.metrics.count_cache(if missed {
            CacheResult::Miss
        } else {
            CacheResult::Hit
        });
        self.metrics.count_unfurl(at, preview_outcome(&entry));
        (entry, missed)
    }

    fn no_provider(&self, uri: &str) -> Arc<Entry> {
        self.metrics.count_no_provider();
        Arc::new(no_provider(uri))
    }

    /// A read of `uri` owning all it needs, for a background refresh: the same read a miss
    /// makes, on behalf of the same requester.
    fn read_later(
        &self,
        url: &Url,
        requester: Option<&Requester>,
        uri: Arc<str>,
    ) -> impl Future<Output = Entry> + Send + 'static {
        let unfurler = self.clone();
        let url = url.clone();
        let requester = requester.cloned();
        async move {
            let route = unfurler
                .registry
                .route_index(&url)
                .and_then(|at| Some((at.0, unfurler.registry.at(at)?)));
            match route {
                Some((at, (provider, pattern))) => {
                    unfurler
                        .fetch(at, provider, pattern, uri, &url, requester.as_ref())
                        .await
                }
                None => no_provider(&uri),
            }
        }
    }

    /// A fresh read of `uri` that neither uses nor joins what the cache holds or is
    /// fetching (an update must not be answered by a read that began before the change),
    /// then cached for later unfurls.
    pub async fn refresh(&self, uri: &str, url: &Url, requester: Option<&Requester>) -> Arc<Entry> {
        let Some((at, (provider, pattern))) = self
            .registry
            .route_index(url)
            .and_then(|at| Some((at.0, self.registry.at(at)?)))
        else {
            return self.no_provider(uri);
        };
        let requester = requester.filter(|_| provider.reads_account());
        let uri_owned: Arc<str> = Arc::from(uri);
        let entry = Arc::new(
            self.fetch(at, provider, pattern, uri_owned.clone(), url, requester)
                .await,
        );
        self.metrics.count_unfurl(at, preview_outcome(&entry));
        self.cache
            .put(provider.id(), scope_of(requester), uri_owned, entry.clone())
            .await;
        entry
    }

    /// A call of the provider at registry position `at`, timed.
    fn fetch<'a>(
        &'a self,
        at: usize,
        provider: &Arc<dyn Provider>,
        pattern: &'a Pattern,
        uri: Arc<str>,
        url: &'a Url,
        requester: Option<&'a Requester>,
    ) -> impl Future<Output = Entry> + 'a {
        let provider = provider.clone();
        async move {
            let request = UnfurlRequest {
                url: url.clone(),
                captures: pattern.captures(url.as_str()).unwrap_or_default(),
            };
            let ctx = Context {
                guarded: self.guarded.clone(),
                account: requester.map(|r| r.account.clone()),
            };
            let host = request.url.host_str().unwrap_or_default().to_owned();
            let started = Instant::now();
            let result = provider.unfurl(&request, &ctx).await;
            self.metrics
                .observe_upstream(at, upstream_outcome(&result), started.elapsed());
            if let Ok(preview) = &result {
                self.metrics.observe_read_bytes(at, preview.bytes_read);
            }
            finish(
                &uri,
                provider.id(),
                &host,
                result,
                provider.developer().unwrap_or(&self.developer),
            )
        }
    }
}

fn scope_of(requester: Option<&Requester>) -> Scope {
    match requester {
        Some(requester) => Scope::Account(requester.scope_key.clone()),
        None => Scope::Anonymous,
    }
}

fn preview_outcome(entry: &Entry) -> PreviewOutcome {
    match entry.outcome {
        Outcome::Preview { stale: false, .. } => PreviewOutcome::Preview,
        Outcome::Preview { stale: true, .. } => PreviewOutcome::Stale,
        Outcome::Failed { .. } => PreviewOutcome::Error,
    }
}

fn upstream_outcome(result: &Result<notion_unfurl_sdk::Preview, ProviderError>) -> UpstreamOutcome {
    match result {
        Ok(preview) if preview.stale => UpstreamOutcome::Stale,
        Ok(_) => UpstreamOutcome::Ok,
        Err(ProviderError::NotFound { .. }) => UpstreamOutcome::NotFound,
        Err(ProviderError::Forbidden { .. }) => UpstreamOutcome::Forbidden,
        Err(ProviderError::Unauthorized { .. }) => UpstreamOutcome::Unauthorized,
        Err(ProviderError::RateLimited { .. }) => UpstreamOutcome::RateLimited,
        Err(ProviderError::Upstream { .. } | ProviderError::Unreachable { .. }) => {
            UpstreamOutcome::UpstreamError
        }
        Err(ProviderError::Timeout) => UpstreamOutcome::Timeout,
        Err(ProviderError::Blocked { .. }) => UpstreamOutcome::Blocked,
        Err(ProviderError::Invalid { .. }) => UpstreamOutcome::Invalid,
    }
}

fn no_provider(uri: &str) -> Entry {
    Entry::new(
        error_body(uri, 404, "This kind of link has no preview."),
        NEGATIVE_TTL,
        Outcome::Failed { status: 404 },
    )
}

fn finish(
    uri: &str,
    provider: &'static str,
    host: &str,
    result: Result<notion_unfurl_sdk::Preview, ProviderError>,
    developer: &str,
) -> Entry {
    let failed = |error: &ProviderError| {
        let (status, message) = error_operation(error);
        match status {
            502..=504 => tracing::warn!(provider, host, status, error = %error, "unfurl failed"),
            _ => tracing::info!(provider, host, status, error = %error, "unfurl refused"),
        }
        Entry::new(
            error_body(uri, status, &message),
            NEGATIVE_TTL,
            Outcome::Failed { status },
        )
    };
    match result {
        Err(error) => failed(&error),
        Ok(mut preview) => {
            // `dev` names this deployment, not the provider: one, always ours.
            preview.attributes.retain(|a| a.id() != "dev");
            preview
                .attributes
                .extend(Attribute::developer(developer).ok());
            if !notion_unfurl_sdk::attributes::has_required(&preview.attributes) {
                return failed(&ProviderError::Invalid {
                    reason: format!("provider {provider} returned no title"),
                });
            }
            tracing::debug!(provider, host, "unfurled");
            Entry::new(
                attributes_body(uri, &preview.attributes),
                preview.ttl,
                Outcome::Preview {
                    public: preview.scope == CacheScope::Public,
                    stale: preview.stale,
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "opengraph")]
    fn unfurler(registry: Registry) -> Unfurler {
        let guarded = GuardedClient::new(notion_unfurl_sdk::FetchPolicy::default())
            .unwrap_or_else(|e| panic!("{e}"));
        Unfurler::new(
            registry,
            PreviewCache::new(1 << 20),
            guarded,
            "dev".into(),
            &Metrics::new(),
        )
    }

    #[cfg(feature = "opengraph")]
    #[test]
    fn links_are_validated_routed_and_memoised_per_unfurler() {
        let mut registry = Registry::default();
        registry.push(Arc::new(notion_unfurl_opengraph::OpenGraph::new()));
        let routed = unfurler(registry);
        let bare = unfurler(Registry::default());
        let raw = "https://example.com/a?b#c";

        let first = routed.link(raw).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&*first.uri, raw);
        assert_eq!(first.route, Some((0, 0)));
        let again = routed.link(raw).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            Arc::ptr_eq(&first, &again),
            "a repeated link is not parsed again"
        );
        // Another unfurler in the same thread never sees the first one's routes.
        let elsewhere = bare.link(raw).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(elsewhere.route, None);
        let back = routed.link(raw).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.route, Some((0, 0)));
        // A long link is served but not remembered.
        let long = format!("https://example.com/{}", "a".repeat(LINK_MEMO_MAX_BYTES));
        let once = routed.link(&long).unwrap_or_else(|e| panic!("{e}"));
        let twice = routed.link(&long).unwrap_or_else(|e| panic!("{e}"));
        assert!(!Arc::ptr_eq(&once, &twice));
        assert_eq!(twice.route, Some((0, 0)));
        // Refusals are the validator's, and are not remembered as links.
        assert_eq!(routed.link("/relative").err(), Some(UriError::NotAbsolute));
        assert_eq!(routed.link("ftp://x.test/").err(), Some(UriError::Scheme));
    }

    #[test]
    fn every_preview_sent_carries_exactly_one_dev_and_it_is_ours() {
        let title = Attribute::title("title", "Title", "Hi").unwrap_or_else(|e| panic!("{e}"));
        let theirs = Attribute::developer("A provider").unwrap_or_else(|e| panic!("{e}"));
        for attributes in [vec![title.clone()], vec![theirs, title]] {
            let preview = notion_unfurl_sdk::Preview::new(attributes);
            let entry = finish("https://x.test/", "test", "x.test", Ok(preview), "Acme");
            assert!(entry.is_preview());
            let json: serde_json::Value = serde_json::from_slice(&entry.body).unwrap_or_default();
            let set = json["operations"][0]["set"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let devs: Vec<_> = set.iter().filter(|a| a["id"] == "dev").collect();
            assert_eq!(devs.len(), 1, "{json}");
            assert_eq!(devs[0]["inline"]["plain_text"]["value"], "Acme");
        }
    }

    #[test]
    fn error_body_has_notions_shape() {
        let body = error_body("https://x.test/", 404, "Gone.");
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"uri":"https://x.test/","operations":[
                {"path":["error"],"set":{"status":404,"message":"Gone."}}]})
        );
    }

    #[test]
    fn provider_hints_replace_the_default_message() {
        let (status, message) = error_operation(&ProviderError::NotFound {
            hint: Some("Check access.".into()),
        });
        assert_eq!((status, message.as_str()), (404, "Check access."));
        assert_eq!(error_operation(&ProviderError::Timeout).0, 504);
        assert_eq!(
            error_operation(&ProviderError::Blocked { reason: "x".into() }).0,
            403
        );
    }
}
