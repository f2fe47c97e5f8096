//! A provider file's verified webhook delivery becomes queued updates: each link it named,
//! in the form subscriptions to it are stored under, recorded with the delivery id in one
//! transaction (a delivery seen before queues nothing). The outbox worker does the rest.

use url::Url;

use crate::live::outbox::Wakeup;
use crate::platform::clock::unix_ms;
use crate::store::{Accepted, Store, StoreError, WebhookDelivery};
use crate::unfurl::Unfurler;

/// Records delivery `delivery` of provider file `provider`, naming `links`.
pub async fn queue(
    store: &Store,
    unfurler: &Unfurler,
    wakeup: &Wakeup,
    provider: &str,
    delivery: &str,
    links: &[Url],
) -> Result<Accepted, StoreError> {
    let mut canonical_uris: Vec<String> = links
        .iter()
        .map(|url| unfurler.canonical_uri(url))
        .collect();
    canonical_uris.sort();
    canonical_uris.dedup();
    // Delivery ids are the sender's: kept apart per provider (and from GitHub's).
    let id = format!("{provider}:{delivery}");
    let accepted = store
        .accept_webhook(WebhookDelivery {
            id: &id,
            event: provider,
            canonical_uris: &canonical_uris,
            heads: &[],
            commits: &[],
            now_ms: unix_ms(),
        })
        .await?;
    if let Accepted::Queued { updates } = accepted
        && updates > 0
    {
        wakeup.wake();
    }
    Ok(accepted)
}
