//! The server's metrics, in the OpenMetrics text format (prometheus-client); README's
//! "Metrics" table names every family, and `crate::http::metrics` serves them.
//!
//! Every labelled family is created with all its known label values at zero, so rates,
//! ratios and `absent()` alerts work before the first event. What is counted on a hot
//! path is resolved once into handles: counting is then one atomic add (a histogram takes
//! a short uncontended lock), with no hashing of labels and no allocation. Gauges that
//! describe state (the cache, the outbox) are read when scraped rather than kept current
//! on every change.

mod handles;
mod labels;

pub use handles::{RequestMetrics, Route, UnfurlMetrics};
pub use labels::{
    CacheResult, DeliveryOutcome, Label, PreviewOutcome, RefreshOutcome, UnfurlOutcome,
    UpstreamOutcome, WebhookResult,
};

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use handles::{
    Counters, Histograms, ProviderLabels, RequestLabels, read_bytes_histogram, request_histogram,
    upstream_histogram,
};

/// What a scrape reads from the cache and the database.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scrape {
    pub cache_entries: u64,
    /// The cache's weighed size (bodies, links and a fixed overhead per entry).
    pub cache_bytes: u64,
    /// `None` when the database could not be asked: the outbox gauges keep their last value.
    pub outbox: Option<OutboxGauges>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct OutboxGauges {
    pub pending: u64,
    /// Since the oldest waiting update was queued; zero when none waits.
    pub oldest_age: Duration,
}

fn gauge_value(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub struct Metrics {
    registry: Registry,
    unfurl_requests: Counters<UnfurlOutcome>,
    deliveries: Counters<DeliveryOutcome>,
    refreshes: Counters<RefreshOutcome>,
    webhooks: Counters<WebhookResult>,
    cache: Arc<Counters<CacheResult>>,
    unfurls: Family<ProviderLabels, Counter>,
    upstream: Histograms<ProviderLabels>,
    read_bytes: Histograms<[(&'static str, &'static str); 1]>,
    requests: Family<RequestLabels, Counter>,
    durations: Histograms<RequestLabels>,
    cache_entries: Gauge,
    cache_bytes: Gauge,
    outbox_pending: Gauge,
    outbox_oldest_age: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every family, its fixed label values at zero. Routes and providers are added by
    /// [`Metrics::requests`] and [`Metrics::unfurls`], which the server calls before it
    /// serves.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("notion_unfurl");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route pattern and status class",
            requests.clone(),
        );
        let durations = Histograms::<RequestLabels>::new_with_constructor(request_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time from a request's arrival to its response, by route pattern and status class",
            Unit::Seconds,
            durations.clone(),
        );
        let unfurl_requests = Counters::register(
            &mut registry,
            "unfurl_requests",
            "POST /unfurl requests by how they ended",
            "outcome",
        );
        let unfurls = Family::default();
        registry.register(
            "unfurls",
            "Unfurls answered (from the cache or not) by provider and outcome",
            unfurls.clone(),
        );
        let upstream = Histograms::new_with_constructor(upstream_histogram);
        registry.register_with_unit(
            "upstream_request_duration",
            "Time of one provider call (cache misses and refreshes), by provider and outcome",
            Unit::Seconds,
            upstream.clone(),
        );
        let read_bytes = Histograms::new_with_constructor(read_bytes_histogram);
        registry.register_with_unit(
            "upstream_read",
            "Bytes of upstream bodies read for one preview (cache misses and refreshes), by provider",
            Unit::Bytes,
            read_bytes.clone(),
        );
        let cache = Arc::new(Counters::register(
            &mut registry,
            "preview_cache_lookups",
            "Preview cache lookups by result",
            "result",
        ));
        let cache_entries = Gauge::default();
        registry.register(
            "preview_cache_entries",
            "Previews held in the in-memory cache",
            cache_entries.clone(),
        );
        let cache_bytes = Gauge::default();
        registry.register_with_unit(
            "preview_cache",
            "Weighed size of the in-memory preview cache (UNFURL_CACHE_MAX_BYTES bounds it)",
            Unit::Bytes,
            cache_bytes.clone(),
        );
        let outbox_pending = Gauge::default();
        registry.register(
            "outbox_pending",
            "Preview updates waiting to be delivered to Notion",
            outbox_pending.clone(),
        );
        let outbox_oldest_age = Gauge::default();
        registry.register_with_unit(
            "outbox_oldest_pending_age",
            "Age of the oldest preview update waiting to be delivered (0 when none waits)",
            Unit::Seconds,
            outbox_oldest_age.clone(),
        );
        let deliveries = Counters::register(
            &mut registry,
            "outbox_deliveries",
            "Attempts at pushing a preview update to Notion, by how they ended",
            "outcome",
        );
        let refreshes = Counters::register(
            &mut registry,
            "token_refreshes",
            "refresh_token grants at /oauth/token by outcome",
            "outcome",
        );
        let webhooks = Counters::register(
            &mut registry,
            "webhook_deliveries",
            "GitHub webhook deliveries by what they came to",
            "result",
        );
        Self {
            registry,
            unfurl_requests,
            deliveries,
            refreshes,
            webhooks,
            cache,
            unfurls,
            upstream,
            read_bytes,
            requests,
            durations,
            cache_entries,
            cache_bytes,
            outbox_pending,
            outbox_oldest_age,
        }
    }

    /// The middleware's handles for `routes` (the route patterns), each at zero for every
    /// status class, as is the unmatched route.
    pub fn requests(&self, routes: &'static [&'static str]) -> RequestMetrics {
        RequestMetrics::resolve(routes, &self.requests, &self.durations)
    }

    /// The unfurler's handles for `providers` (ids in registry order), each at zero for
    /// every outcome.
    pub fn unfurls(&self, providers: &[&'static str]) -> UnfurlMetrics {
        UnfurlMetrics::resolve(
            providers,
            &self.unfurls,
            &self.upstream,
            &self.read_bytes,
            self.cache.clone(),
        )
    }

    pub fn count_unfurl(&self, outcome: UnfurlOutcome) {
        self.unfurl_requests.inc(outcome);
    }

    pub fn count_delivery(&self, outcome: DeliveryOutcome) {
        self.deliveries.inc(outcome);
    }

    pub fn count_refresh(&self, outcome: RefreshOutcome) {
        self.refreshes.inc(outcome);
    }

    pub fn count_webhook(&self, result: WebhookResult) {
        self.webhooks.inc(result);
    }

    /// The exposition text, with the state gauges set from `scrape`.
    pub fn render(&self, scrape: &Scrape) -> String {
        self.cache_entries.set(gauge_value(scrape.cache_entries));
        self.cache_bytes.set(gauge_value(scrape.cache_bytes));
        if let Some(outbox) = scrape.outbox {
            self.outbox_pending.set(gauge_value(outbox.pending));
            self.outbox_oldest_age
                .set(gauge_value(outbox.oldest_age.as_secs()));
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.parse().ok())
    }

    #[test]
    fn counts_and_gauges_are_exposed() {
        let metrics = Metrics::new();
        metrics.count_unfurl(UnfurlOutcome::Preview);
        metrics.count_unfurl(UnfurlOutcome::Preview);
        metrics.count_unfurl(UnfurlOutcome::Unauthorized);
        metrics.count_delivery(DeliveryOutcome::Retried);
        metrics.count_delivery(DeliveryOutcome::Delivered);
        metrics.count_refresh(RefreshOutcome::Reused);
        metrics.count_webhook(WebhookResult::Duplicate);
        let text = metrics.render(&Scrape {
            cache_entries: 7,
            cache_bytes: 4096,
            outbox: Some(OutboxGauges {
                pending: 3,
                oldest_age: Duration::from_millis(90_500),
            }),
        });
        for (series, expected) in [
            (
                r#"notion_unfurl_outbox_deliveries_total{outcome="retried"}"#,
                1.0,
            ),
            (
                r#"notion_unfurl_outbox_deliveries_total{outcome="given_up"}"#,
                0.0,
            ),
            (
                r#"notion_unfurl_unfurl_requests_total{outcome="preview"}"#,
                2.0,
            ),
            (
                r#"notion_unfurl_unfurl_requests_total{outcome="unauthorized"}"#,
                1.0,
            ),
            (
                r#"notion_unfurl_unfurl_requests_total{outcome="invalid"}"#,
                0.0,
            ),
            (
                r#"notion_unfurl_token_refreshes_total{outcome="reused"}"#,
                1.0,
            ),
            (
                r#"notion_unfurl_token_refreshes_total{outcome="issued"}"#,
                0.0,
            ),
            (
                r#"notion_unfurl_webhook_deliveries_total{result="duplicate"}"#,
                1.0,
            ),
            (
                r#"notion_unfurl_webhook_deliveries_total{result="refused_signature"}"#,
                0.0,
            ),
            (
                r#"notion_unfurl_preview_cache_lookups_total{result="miss"}"#,
                0.0,
            ),
            ("notion_unfurl_preview_cache_entries", 7.0),
            ("notion_unfurl_preview_cache_bytes", 4096.0),
            ("notion_unfurl_outbox_pending", 3.0),
            ("notion_unfurl_outbox_oldest_pending_age_seconds", 90.0),
        ] {
            assert_eq!(value(&text, series), Some(expected), "{series} in\n{text}");
        }
        assert!(text.contains("# UNIT notion_unfurl_outbox_oldest_pending_age_seconds seconds"));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn every_label_value_of_every_outcome_family_starts_at_zero() {
        let text = Metrics::new().render(&Scrape::default());
        let families: [(&str, &str, &[&str]); 4] = [
            (
                "notion_unfurl_outbox_deliveries_total",
                "outcome",
                &DeliveryOutcome::ALL
                    .iter()
                    .map(|o| o.label())
                    .collect::<Vec<_>>(),
            ),
            (
                "notion_unfurl_token_refreshes_total",
                "outcome",
                &RefreshOutcome::ALL
                    .iter()
                    .map(|o| o.label())
                    .collect::<Vec<_>>(),
            ),
            (
                "notion_unfurl_webhook_deliveries_total",
                "result",
                &WebhookResult::ALL
                    .iter()
                    .map(|o| o.label())
                    .collect::<Vec<_>>(),
            ),
            (
                "notion_unfurl_unfurl_requests_total",
                "outcome",
                &UnfurlOutcome::ALL
                    .iter()
                    .map(|o| o.label())
                    .collect::<Vec<_>>(),
            ),
        ];
        for (family, key, values) in families {
            for value_label in values {
                let series = format!(r#"{family}{{{key}="{value_label}"}}"#);
                assert_eq!(value(&text, &series), Some(0.0), "{series} in\n{text}");
            }
        }
    }

    #[test]
    fn routes_and_providers_start_at_zero_and_count_through_their_handles() {
        static ROUTES: [&str; 2] = ["/unfurl", "/healthz"];
        let metrics = Metrics::new();
        let requests = metrics.requests(&ROUTES);
        let unfurls = metrics.unfurls(&["opengraph", "github"]);
        let before = metrics.render(&Scrape::default());
        for series in [
            r#"notion_unfurl_http_requests_total{route="/unfurl",status="2xx"}"#,
            r#"notion_unfurl_http_requests_total{route="/healthz",status="5xx"}"#,
            r#"notion_unfurl_http_requests_total{route="unmatched",status="4xx"}"#,
            r#"notion_unfurl_http_request_duration_seconds_count{route="/unfurl",status="4xx"}"#,
            r#"notion_unfurl_unfurls_total{provider="github",outcome="stale"}"#,
            r#"notion_unfurl_unfurls_total{provider="none",outcome="no_provider"}"#,
            r#"notion_unfurl_upstream_request_duration_seconds_count{provider="opengraph",outcome="timeout"}"#,
        ] {
            assert_eq!(value(&before, series), Some(0.0), "{series} in\n{before}");
        }

        let unfurl = requests.known("/unfurl").unwrap_or(usize::MAX);
        assert_eq!(requests.known("/unfurl/"), None);
        requests.observe(Route::Known(unfurl), 200, Duration::from_micros(300));
        requests.observe(Route::Known(unfurl), 401, Duration::from_millis(2));
        requests.observe(Route::Unmatched, 404, Duration::from_micros(50));
        requests.observe(
            Route::Pattern("/admin/cache".into()),
            204,
            Duration::from_millis(1),
        );
        requests.observe(Route::Known(unfurl), 101, Duration::from_millis(1));
        unfurls.count_unfurl(1, PreviewOutcome::Preview);
        unfurls.count_no_provider();
        unfurls.observe_upstream(0, UpstreamOutcome::Timeout, Duration::from_secs(10));
        unfurls.observe_read_bytes(0, 5000);
        unfurls.observe_read_bytes(1, 0);
        unfurls.count_cache(CacheResult::Hit);
        let after = metrics.render(&Scrape::default());
        for (series, expected) in [
            (
                r#"notion_unfurl_http_requests_total{route="/unfurl",status="2xx"}"#,
                1.0,
            ),
            (
                r#"notion_unfurl_http_requests_total{route="/unfurl",status="4xx"}"#,
                1.0,
            ),
            (
                r#"notion_unfurl_http_requests_total{route="/unfurl",status="1xx"}"#,
                1.0,
            ),
            (
                r#"notion_unfurl_http_requests_total{route="unmatched",status="4xx"}"#,
                1.0,
            ),
            (
                r#"notion_unfurl_http_requests_total{route="/admin/cache",status="2xx"}"#,
                1.0,
            ),
            (
                r#"notion_unfurl_http_request_duration_seconds_bucket{le="0.0005",route="/unfurl",status="2xx"}"#,
                1.0,
            ),
            (
                r#"notion_unfurl_unfurls_total{provider="github",outcome="preview"}"#,
                1.0,
            ),
            (
                r#"notion_unfurl_unfurls_total{provider="none",outcome="no_provider"}"#,
                1.0,
            ),
            (
                r#"notion_unfurl_upstream_request_duration_seconds_count{provider="opengraph",outcome="timeout"}"#,
                1.0,
            ),
            (
                r#"notion_unfurl_upstream_read_bytes_count{provider="opengraph"}"#,
                1.0,
            ),
            (
                r#"notion_unfurl_upstream_read_bytes_sum{provider="opengraph"}"#,
                5000.0,
            ),
            (
                r#"notion_unfurl_upstream_read_bytes_count{provider="github"}"#,
                0.0,
            ),
            (
                r#"notion_unfurl_preview_cache_lookups_total{result="hit"}"#,
                1.0,
            ),
        ] {
            assert_eq!(
                value(&after, series),
                Some(expected),
                "{series} in\n{after}"
            );
        }
    }
}
