//! `GET /metrics`: counters and gauges in the OpenMetrics text format (prometheus-client).
//!
//! Counters are created once and cloned into place, so counting an unfurl is one atomic
//! increment. Gauges that describe state (cache entries, pending updates) are read when
//! scraped rather than kept current on every change.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

/// How one `/unfurl` request ended.
#[derive(Debug, Clone, Copy)]
pub enum UnfurlOutcome {
    /// Answered with attributes.
    Preview,
    /// Answered with an `error` operation.
    ErrorOperation,
    /// Refused with 401.
    Unauthorized,
    /// Refused with 400 or 413.
    Invalid,
}

/// How one attempt at a queued preview update ended.
#[derive(Debug, Clone, Copy)]
pub enum DeliveryOutcome {
    /// Notion accepted it.
    Delivered,
    /// Tried again later (Notion or the upstream was unavailable).
    Retried,
    /// Nothing to deliver any more, or Notion refused it for good.
    Dropped,
    /// Notion refused the connection's token: the connection was revoked.
    Revoked,
    /// Failed for over a day: given up.
    GivenUp,
}

pub struct Metrics {
    registry: Registry,
    deliveries: Family<Outcome, Counter>,
    preview: Counter,
    error_operation: Counter,
    unauthorized: Counter,
    invalid: Counter,
    cache_entries: Gauge,
    outbox_pending: Gauge,
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
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("notion_unfurl");
        let unfurls = Family::<Outcome, Counter>::default();
        registry.register(
            "unfurl_requests",
            "POST /unfurl requests by how they ended",
            unfurls.clone(),
        );
        let counter = |outcome| unfurls.get_or_create(&Outcome { outcome }).clone();
        let (preview, error_operation, unauthorized, invalid) = (
            counter("preview"),
            counter("error_operation"),
            counter("unauthorized"),
            counter("invalid"),
        );
        let cache_entries = Gauge::default();
        registry.register(
            "preview_cache_entries",
            "Previews held in the in-memory cache",
            cache_entries.clone(),
        );
        let deliveries = Family::<Outcome, Counter>::default();
        registry.register(
            "outbox_deliveries",
            "Attempts at pushing a preview update to Notion, by how they ended",
            deliveries.clone(),
        );
        let outbox_pending = Gauge::default();
        registry.register(
            "outbox_pending",
            "Preview updates waiting to be delivered to Notion",
            outbox_pending.clone(),
        );
        Self {
            registry,
            deliveries,
            preview,
            error_operation,
            unauthorized,
            invalid,
            cache_entries,
            outbox_pending,
        }
    }

    pub fn count_unfurl(&self, outcome: UnfurlOutcome) {
        match outcome {
            UnfurlOutcome::Preview => self.preview.inc(),
            UnfurlOutcome::ErrorOperation => self.error_operation.inc(),
            UnfurlOutcome::Unauthorized => self.unauthorized.inc(),
            UnfurlOutcome::Invalid => self.invalid.inc(),
        };
    }

    pub fn count_delivery(&self, outcome: DeliveryOutcome) {
        let outcome = match outcome {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Retried => "retried",
            DeliveryOutcome::Dropped => "dropped",
            DeliveryOutcome::Revoked => "revoked",
            DeliveryOutcome::GivenUp => "given_up",
        };
        self.deliveries.get_or_create(&Outcome { outcome }).inc();
    }

    /// The exposition text, with the state gauges set to the values given.
    pub fn render(&self, cache_entries: u64, outbox_pending: Option<u64>) -> String {
        self.cache_entries
            .set(i64::try_from(cache_entries).unwrap_or(i64::MAX));
        if let Some(pending) = outbox_pending {
            self.outbox_pending
                .set(i64::try_from(pending).unwrap_or(i64::MAX));
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

    #[test]
    fn counts_and_gauges_are_exposed() {
        let metrics = Metrics::new();
        metrics.count_unfurl(UnfurlOutcome::Preview);
        metrics.count_unfurl(UnfurlOutcome::Preview);
        metrics.count_unfurl(UnfurlOutcome::Unauthorized);
        metrics.count_delivery(DeliveryOutcome::Retried);
        metrics.count_delivery(DeliveryOutcome::Delivered);
        let text = metrics.render(7, Some(3));
        assert!(
            text.contains(r#"notion_unfurl_outbox_deliveries_total{outcome="retried"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"notion_unfurl_unfurl_requests_total{outcome="preview"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"notion_unfurl_unfurl_requests_total{outcome="unauthorized"} 1"#));
        assert!(text.contains("notion_unfurl_preview_cache_entries 7"));
        assert!(text.contains("notion_unfurl_outbox_pending 3"));
        assert!(text.ends_with("# EOF\n"));
    }
}
