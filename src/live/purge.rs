//! Purging a link's cached previews on every instance: what `notion-unfurl cache purge URL`
//! and `POST /admin/cache/purge` both call.
//!
//! Previews are cached in each instance's memory, so a purge is recorded where every
//! instance looks: as link changes in the shared database, which each instance's watch
//! ([`crate::live::watch`]) reads every second. The command therefore needs no running
//! server and reaches all of them; the endpoint also drops its own instance's copies at
//! once. Cached previews are keyed by the link as Notion sent it, so the link is recorded
//! as given, as parsed (`https://Example.com` is sent as `https://example.com/` by some
//! clients) and in its provider's canonical form, with every form of the same resource that
//! a connection is subscribed to (a pull request's `/files` tab, say): every account's
//! copy of each is dropped.

use crate::store::{Store, StoreError};
use crate::unfurl::Unfurler;
use crate::unfurl::body::{UriError, validate_uri};

/// Why a purge was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error("not a link that can be previewed: {0}")]
    Uri(#[from] UriError),
    #[error("could not record the purge: {0}")]
    Store(#[from] StoreError),
}

/// What a purge recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purged {
    /// Every form of the link whose cached previews are dropped, sorted.
    pub links: Vec<String>,
}

/// Drop every cached preview of `raw` (any account, any form of the link) on every instance
/// sharing `store`: at once in `unfurler`'s cache, within a second or so in the others.
pub async fn purge(store: &Store, unfurler: &Unfurler, raw: &str) -> Result<Purged, PurgeError> {
    let url = validate_uri(raw)?;
    let canonical = unfurler.canonical_uri(&url);
    let forms = [raw.to_owned(), url.to_string(), canonical.clone()];
    let links = store.record_link_changes(&forms, &canonical).await?;
    for link in &links {
        if let Err(e) = unfurler.cache().invalidate_uri(link) {
            // The watch applies the recorded change again within a second.
            tracing::warn!(error = %e, "could not invalidate a cached preview");
        }
    }
    tracing::info!(
        host = url.host_str().unwrap_or_default(),
        links = links.len(),
        "cached previews purged"
    );
    Ok(Purged { links })
}
