//! Handles on the series counted on hot paths (the HTTP middleware, the unfurler),
//! resolved once per known label value, so that counting neither hashes labels nor
//! allocates.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::labels::{CacheResult, Label, PreviewOutcome, UpstreamOutcome};

/// Request latency buckets (seconds): a cached `/unfurl` answers in well under a
/// millisecond; one that waits for a provider may take the whole fetch deadline (10 s).
const REQUEST_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Provider call buckets (seconds), up to the fetch deadline.
const UPSTREAM_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The `route` of a request no route matched (scanners, typos): never its raw path, which
/// would make one series per path a client cares to send.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The `provider` of an unfurl no provider's pattern matched.
pub const NO_PROVIDER: &str = "none";

/// A counter per value of one label, all created at zero.
pub(super) struct Counters<E> {
    counters: Vec<Counter>,
    kind: PhantomData<E>,
}

impl<E: Label> Counters<E> {
    pub(super) fn register(
        registry: &mut Registry,
        name: &str,
        help: &str,
        key: &'static str,
    ) -> Self {
        let family = Family::<[(&'static str, &'static str); 1], Counter>::default();
        registry.register(name, help, family.clone());
        let counters = E::ALL
            .iter()
            .map(|value| family.get_or_create_owned(&[(key, value.label())]))
            .collect();
        Self {
            counters,
            kind: PhantomData,
        }
    }

    pub(super) fn inc(&self, value: E) {
        if let Some(counter) = self.counters.get(value.index()) {
            counter.inc();
        }
    }
}

pub(super) type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// The labels of the per-provider families: `provider` and `outcome`.
pub(super) type ProviderLabels = [(&'static str, &'static str); 2];

pub(super) fn request_histogram() -> Histogram {
    Histogram::new(REQUEST_BUCKETS)
}

pub(super) fn upstream_histogram() -> Histogram {
    Histogram::new(UPSTREAM_BUCKETS)
}

/// 1 KiB to 16 MiB by fours: a page's head is a few KiB, a whole page up to the fetch cap.
const READ_BUCKETS: [f64; 8] = [
    1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0,
];

pub(super) fn read_bytes_histogram() -> Histogram {
    Histogram::new(READ_BUCKETS)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct RequestLabels {
    route: Cow<'static, str>,
    status: &'static str,
}

/// The status classes every known route starts with at zero; anything else (a 1xx) is
/// created when first seen.
const STATUS_CLASSES: [&str; 4] = ["2xx", "3xx", "4xx", "5xx"];

fn status_class(status: u16) -> Option<usize> {
    match status {
        200..=299 => Some(0),
        300..=399 => Some(1),
        400..=499 => Some(2),
        500..=599 => Some(3),
        _ => None,
    }
}

fn status_label(status: u16) -> &'static str {
    match status_class(status) {
        Some(class) => STATUS_CLASSES[class],
        None if status < 200 => "1xx",
        None => "other",
    }
}

/// Which route a request took, for [`RequestMetrics::observe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Position in the table given to [`Metrics::requests`].
    Known(usize),
    /// A route pattern missing from that table: counted under its pattern all the same.
    Pattern(String),
    /// No route matched.
    Unmatched,
}

#[derive(Clone)]
struct RouteSeries {
    requests: [Counter; 4],
    durations: [Histogram; 4],
}

/// The HTTP middleware's series: handles for every known route and status class, made
/// once; one value is shared by every worker.
#[derive(Clone)]
pub struct RequestMetrics {
    routes: &'static [&'static str],
    /// One per route in `routes`, then the unmatched route's.
    known: Arc<[RouteSeries]>,
    requests: Family<RequestLabels, Counter>,
    durations: Histograms<RequestLabels>,
}

impl std::fmt::Debug for RequestMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestMetrics")
            .field("routes", &self.routes)
            .finish()
    }
}

impl RequestMetrics {
    /// Handles for `routes` and the unmatched route, each at zero for every status class.
    pub(super) fn resolve(
        routes: &'static [&'static str],
        requests: &Family<RequestLabels, Counter>,
        durations: &Histograms<RequestLabels>,
    ) -> Self {
        let known = routes
            .iter()
            .copied()
            .chain([UNMATCHED_ROUTE])
            .map(|route| {
                let labels = |class: usize| RequestLabels {
                    route: Cow::Borrowed(route),
                    status: STATUS_CLASSES[class],
                };
                RouteSeries {
                    requests: std::array::from_fn(|class| {
                        requests.get_or_create_owned(&labels(class))
                    }),
                    durations: std::array::from_fn(|class| {
                        durations.get_or_create_owned(&labels(class))
                    }),
                }
            })
            .collect();
        Self {
            routes,
            known,
            requests: requests.clone(),
            durations: durations.clone(),
        }
    }

    /// The position of `path` among the known routes. Every route of this server is a
    /// fixed path, so a path equal to a pattern is that route.
    pub fn known(&self, path: &str) -> Option<usize> {
        self.routes.iter().position(|route| *route == path)
    }

    /// Count one answered request and its latency.
    pub fn observe(&self, route: Route, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let at = match route {
            Route::Known(at) => Some(at),
            Route::Unmatched => Some(self.routes.len()),
            Route::Pattern(_) => None,
        };
        if let (Some(series), Some(class)) =
            (at.and_then(|at| self.known.get(at)), status_class(status))
        {
            series.requests[class].inc();
            series.durations[class].observe(seconds);
            return;
        }
        // The rare rest: a route missing from the table, or a status outside 2xx–5xx.
        let route = match route {
            Route::Known(at) => {
                Cow::Borrowed(self.routes.get(at).copied().unwrap_or(UNMATCHED_ROUTE))
            }
            Route::Pattern(pattern) => Cow::Owned(pattern),
            Route::Unmatched => Cow::Borrowed(UNMATCHED_ROUTE),
        };
        let labels = RequestLabels {
            route,
            status: status_label(status),
        };
        self.requests.get_or_create(&labels).inc();
        self.durations.get_or_create(&labels).observe(seconds);
    }
}

#[derive(Clone)]
struct ProviderSeries {
    unfurls: Vec<Counter>,
    upstream: Vec<Histogram>,
    read_bytes: Histogram,
}

/// The unfurler's series: per provider (by registry position), made once.
#[derive(Clone)]
pub struct UnfurlMetrics {
    providers: Arc<[ProviderSeries]>,
    no_provider: Counter,
    cache: Arc<Counters<CacheResult>>,
}

impl std::fmt::Debug for UnfurlMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnfurlMetrics")
    }
}

impl UnfurlMetrics {
    /// Handles for `providers` (ids in registry order), each at zero for every outcome.
    pub(super) fn resolve(
        providers: &[&'static str],
        unfurls: &Family<ProviderLabels, Counter>,
        upstream: &Histograms<ProviderLabels>,
        read_bytes: &Histograms<[(&'static str, &'static str); 1]>,
        cache: Arc<Counters<CacheResult>>,
    ) -> Self {
        let series = |provider: &'static str, outcome: &'static str| -> ProviderLabels {
            [("provider", provider), ("outcome", outcome)]
        };
        let providers = providers
            .iter()
            .map(|&provider| ProviderSeries {
                unfurls: PreviewOutcome::ALL
                    .iter()
                    .map(|o| unfurls.get_or_create_owned(&series(provider, o.label())))
                    .collect(),
                upstream: UpstreamOutcome::ALL
                    .iter()
                    .map(|o| upstream.get_or_create_owned(&series(provider, o.label())))
                    .collect(),
                read_bytes: read_bytes.get_or_create_owned(&[("provider", provider)]),
            })
            .collect();
        Self {
            providers,
            no_provider: unfurls.get_or_create_owned(&series(NO_PROVIDER, "no_provider")),
            cache,
        }
    }

    /// One unfurl answered by the provider at `provider` (its registry position).
    pub fn count_unfurl(&self, provider: usize, outcome: PreviewOutcome) {
        if let Some(counter) = self
            .providers
            .get(provider)
            .and_then(|series| series.unfurls.get(outcome.index()))
        {
            counter.inc();
        }
    }

    /// One link no provider matched.
    pub fn count_no_provider(&self) {
        self.no_provider.inc();
    }

    /// One call of the provider at `provider`, which took `elapsed`.
    pub fn observe_upstream(&self, provider: usize, outcome: UpstreamOutcome, elapsed: Duration) {
        if let Some(histogram) = self
            .providers
            .get(provider)
            .and_then(|series| series.upstream.get(outcome.index()))
        {
            histogram.observe(elapsed.as_secs_f64());
        }
    }

    /// The upstream bytes one preview of the provider at `provider` took to read; providers
    /// that do not count (0) are not observed.
    pub fn observe_read_bytes(&self, provider: usize, bytes: u64) {
        if bytes == 0 {
            return;
        }
        if let Some(series) = self.providers.get(provider) {
            series.read_bytes.observe(bytes as f64);
        }
    }

    pub fn count_cache(&self, result: CacheResult) {
        self.cache.inc(result);
    }
}
