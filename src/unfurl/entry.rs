//! What the preview cache holds for one link: the finished response body, how long it
//! stays, what it holds, and when a hit should have it read again in the background
//! (stale-while-revalidate, see `crate::unfurl::cache`).

use std::time::{Duration, Instant};

use bytes::Bytes;

/// A cached answer: the response body, how long it stays, what it holds, and when a hit
/// should have it read again.
#[derive(Debug, Clone)]
pub struct Entry {
    pub body: Bytes,
    pub ttl: Duration,
    pub outcome: Outcome,
    /// Taken from the creation time once ([`Entry::new`]), so a hit tells an ageing entry
    /// with one comparison: [`REFRESH_FRACTION`] of the TTL after the read for a fresh
    /// preview, the end of the TTL for anything else (never refreshed in the background).
    refresh_at: Instant,
}

/// A fresh preview is re-read in the background once this fraction of its TTL has passed
/// (one half: an hour-long OpenGraph preview is at most half an hour behind its page for
/// a link in use, and a link in use costs one read per half TTL, not per TTL).
pub const REFRESH_FRACTION: u32 = 2;

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
    /// An answer read just now.
    pub fn new(body: Bytes, ttl: Duration, outcome: Outcome) -> Self {
        let now = Instant::now();
        let wait = if outcome.is_refreshable() {
            ttl / REFRESH_FRACTION
        } else {
            ttl
        };
        Self {
            body,
            ttl,
            outcome,
            refresh_at: now.checked_add(wait).unwrap_or(now),
        }
    }

    /// Whether the body holds attributes (not only an `error` operation).
    pub fn is_preview(&self) -> bool {
        matches!(self.outcome, Outcome::Preview { .. })
    }

    /// Whether every account may be served this entry.
    pub fn is_public(&self) -> bool {
        matches!(self.outcome, Outcome::Preview { public: true, .. })
    }

    /// When a hit should have this entry read again in the background.
    pub fn refresh_at(&self) -> Instant {
        self.refresh_at
    }
}

impl Outcome {
    /// Only a complete fresh preview is refreshed in the background, and only such a read
    /// replaces one: a failure waits out its short TTL (a broken link must not be asked
    /// more often for being asked for), and a stale preview stands in for a failing
    /// upstream.
    pub fn is_refreshable(self) -> bool {
        matches!(self, Outcome::Preview { stale: false, .. })
    }
}
