//! A verified GitHub delivery becomes queued updates: the links and commits the event
//! names (the GitHub crate's to say, `notion_unfurl_github::webhook`), in every form a
//! subscription to them may be stored under, plus the subscribed links under the
//! canonical prefixes it names (every file at a pushed branch, every link into a
//! repository whose visibility changed) and the links to its commits by abbreviated ids,
//! recorded with the delivery id in one transaction.
//! The outbox worker does the rest.

use notion_unfurl_github::links;
use notion_unfurl_github::webhook::{self, Event};
use url::Url;

use crate::live::outbox::Wakeup;
use crate::platform::clock::unix_ms;
use crate::store::{Accepted, Store, StoreError, WebhookDelivery};
use crate::unfurl::Unfurler;

/// What a delivery came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// The event names nothing we could show.
    Ignored,
    /// This delivery id was recorded before: nothing was queued again.
    Duplicate,
    Queued {
        updates: u64,
    },
}

/// Why a delivery was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("the body is not a GitHub event payload")]
    Payload,
    #[error("could not record the delivery: {0}")]
    Store(#[from] StoreError),
}

/// Records GitHub deliveries; one per server, shared by every request.
#[derive(Debug, Clone)]
pub struct GitHubWebhooks {
    pub store: Store,
    /// Routes a GitHub page to the form its subscriptions are stored under.
    pub unfurler: Unfurler,
    /// Woken when updates were queued, so they go out before the next poll.
    pub wakeup: Wakeup,
    /// Where GitHub's pages live (`UNFURL_GITHUB_WEB_URL`).
    pub web_url: Url,
}

impl GitHubWebhooks {
    /// Record delivery `id` of `event` (its signature already verified).
    pub async fn receive(
        &self,
        event: Event,
        id: &str,
        body: &[u8],
    ) -> Result<Received, ReceiveError> {
        let Some(named) =
            webhook::changes(event, body, &self.web_url).map_err(|_| ReceiveError::Payload)?
        else {
            return Ok(Received::Ignored);
        };
        let canonical = |url: &Url| canonical_forms(url, &self.unfurler.canonical_uri(url));
        let mut canonical_uris: Vec<String> = named.pages.iter().flat_map(&canonical).collect();
        for prefix in &named.prefixes {
            canonical_uris.extend(self.store.canonical_uris_under(prefix).await?);
        }
        // `…/commit/ec26c3e` for a check on `…/commit/ec26c3e57ca3…`.
        canonical_uris.extend(self.store.subscribed_among(&named.abbreviations).await?);
        canonical_uris.sort();
        canonical_uris.dedup();
        let mut heads: Vec<(String, String)> = named
            .heads
            .iter()
            .flat_map(|(sha, url)| canonical(url).into_iter().map(|c| (sha.clone(), c)))
            .collect();
        heads.sort();
        heads.dedup();
        let accepted = self
            .store
            .accept_webhook(WebhookDelivery {
                id,
                event: event.name(),
                canonical_uris: &canonical_uris,
                heads: &heads,
                commits: &named.commits,
                now_ms: unix_ms(),
            })
            .await?;
        Ok(match accepted {
            Accepted::Duplicate => Received::Duplicate,
            Accepted::Queued { updates } => {
                if updates > 0 {
                    self.wakeup.wake();
                }
                Received::Queued { updates }
            }
        })
    }
}

/// The canonical URIs subscriptions to `page` may be stored under: the routed provider's
/// (`routed`) and the GitHub provider's form (`links::canonical_uri`), so the webhook
/// finds subscriptions whichever provider served the preview.
fn canonical_forms(page: &Url, routed: &str) -> Vec<String> {
    let mut forms = vec![routed.to_owned()];
    forms.extend(links::canonical_uri(page));
    forms.dedup();
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_lower_case_owner_and_repository() {
        let pull = Url::parse("https://github.com/Codertocat/Hello-World/pull/2")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            canonical_forms(&pull, pull.as_str()),
            [
                "https://github.com/Codertocat/Hello-World/pull/2",
                "https://github.com/codertocat/hello-world/pull/2"
            ]
        );
        let lower = Url::parse("https://github.com/o/r/pull/2").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(canonical_forms(&lower, lower.as_str()), [lower.as_str()]);
    }
}
