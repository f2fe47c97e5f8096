//! A provider file's verified webhook delivery becomes queued updates: each link it named,
//! in the form subscriptions to it are stored under, recorded with the delivery id in one
//! transaction (a delivery seen before queues nothing). The outbox worker does the rest.

use url::Url;

use crate::live::outbox::Wakeup;
use crate::oauth::connections::Connections;
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

/// What the refresher needs.
#[derive(Debug, Clone)]
pub struct RefreshDeps {
    pub store: Store,
    pub unfurler: Unfurler,
    pub wakeup: Wakeup,
    /// The subscribers' accounts, for files whose previews are per account.
    pub connections: Connections,
}

/// Links of one file read again at most this many per round; the rest wait a round.
const MAX_LINKS_PER_ROUND: usize = 1000;

/// Re-reads the subscribed links of every provider file with `[cache] refresh` at that
/// interval, and queues a link for its subscribers when its preview changed (never when it
/// did not). The preview a link was shown with is the one this task read last, or the one
/// cached when it was unfurled, or the digest an earlier run kept in the database
/// (`refresh_digests`), so a change made while the server was down is pushed after it
/// restarts; a link with none of them is recorded and compared from the next round. Servers sharing a database queue a change once: the
/// delivery id is the link and the new preview's digest. Stops when dropped.
#[derive(Debug)]
pub struct Refresher(tokio::task::JoinHandle<()>);

impl Drop for Refresher {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Refresher {
    /// The task, or `None` when no file asks for refreshes.
    pub fn start(deps: RefreshDeps) -> Option<Self> {
        let files: Vec<notion_unfurl_declarative::Declarative> = deps
            .unfurler
            .registry()
            .files()
            .iter()
            .filter(|f| f.compiled().refresh.is_some())
            .cloned()
            .collect();
        if files.is_empty() {
            return None;
        }
        Some(Self(tokio::spawn(async move {
            let mut seen: std::collections::HashMap<String, [u8; 32]> = Default::default();
            let mut due = vec![tokio::time::Instant::now(); files.len()];
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                for (file, next) in files.iter().zip(due.iter_mut()) {
                    let now = tokio::time::Instant::now();
                    if now < *next {
                        continue;
                    }
                    let every = file.compiled().refresh.unwrap_or(std::time::Duration::MAX);
                    *next = now + every;
                    round(&deps, file, &mut seen).await;
                }
            }
        })))
    }
}

/// One file's round: every subscribed link it serves, read again and compared.
async fn round(
    deps: &RefreshDeps,
    file: &notion_unfurl_declarative::Declarative,
    seen: &mut std::collections::HashMap<String, [u8; 32]>,
) {
    use notion_unfurl_sdk::Provider;

    let id = file.id();
    let mut prefixes: Vec<String> = file
        .patterns()
        .iter()
        .filter_map(|p| p.domain.clone())
        .flat_map(|d| [format!("https://{d}"), format!("http://{d}")])
        .collect();
    prefixes.sort();
    prefixes.dedup();
    let mut links = Vec::new();
    for prefix in &prefixes {
        match deps.store.canonical_uris_under(prefix).await {
            Ok(found) => links.extend(found),
            Err(e) => {
                tracing::warn!(provider = id, error = %e, "refresh: could not list subscribed links");
                return;
            }
        }
    }
    links.sort();
    links.dedup();
    if links.len() > MAX_LINKS_PER_ROUND {
        tracing::warn!(
            provider = id,
            links = links.len(),
            "refresh: more subscribed links than one round reads; the rest wait"
        );
        links.truncate(MAX_LINKS_PER_ROUND);
    }
    let per_account = file.compiled().scope == notion_unfurl_sdk::CacheScope::Account;
    let mut reads = 0;
    for uri in links {
        let Ok(url) = Url::parse(&uri) else { continue };
        // Only links this file serves (a provider before it may take some of the host's).
        let routed = deps.unfurler.registry().route(&url).map(|(p, _)| p.id());
        if routed != Some(id) {
            continue;
        }
        if per_account {
            reads +=
                per_account_round(deps, id, &uri, &url, seen, MAX_LINKS_PER_ROUND - reads).await;
            if reads >= MAX_LINKS_PER_ROUND {
                tracing::warn!(
                    provider = id,
                    "refresh: more subscriptions than one round reads; the rest wait"
                );
                break;
            }
            continue;
        }
        let Some(digest) = reread(deps, id, &uri, &url, None, seen).await else {
            continue;
        };
        let delivery = delivery_id(&[uri.as_bytes(), &digest]);
        match queue(
            &deps.store,
            &deps.unfurler,
            &deps.wakeup,
            id,
            &delivery,
            &[url],
        )
        .await
        {
            Ok(accepted) => tracing::info!(provider = id, ?accepted, "refresh: preview changed"),
            Err(e) => tracing::warn!(provider = id, error = %e, "refresh: could not queue"),
        }
    }
}

/// A per-account file's link: read again as each subscriber's account (previews differ
/// between accounts) and compared with what that account was shown, queuing an update for
/// that connection alone when it changed. At most `budget` reads; how many were made.
async fn per_account_round(
    deps: &RefreshDeps,
    id: &'static str,
    uri: &str,
    url: &Url,
    seen: &mut std::collections::HashMap<String, [u8; 32]>,
    budget: usize,
) -> usize {
    let subscribers = match deps.store.subscriptions_for(uri).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(provider = id, error = %e, "refresh: could not list subscribers");
            return 0;
        }
    };
    let mut connections: Vec<String> = subscribers.into_iter().map(|(c, _)| c).collect();
    connections.dedup();
    let mut reads = 0;
    for connection_id in connections.into_iter().take(budget) {
        let active = match deps.connections.active(&connection_id).await {
            Ok(Some(active)) => active,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(provider = id, error = %e, "refresh: could not load a connection");
                continue;
            }
        };
        reads += 1;
        let Some(digest) = reread(deps, id, uri, url, Some(&active.requester), seen).await else {
            continue;
        };
        // Per connection: servers sharing the database queue each account's change once.
        let delivery = delivery_id(&[connection_id.as_bytes(), b"\n", uri.as_bytes(), &digest]);
        match deps
            .store
            .accept_change_for(
                &format!("{id}:{delivery}"),
                id,
                &connection_id,
                uri,
                unix_ms(),
            )
            .await
        {
            Ok(accepted) => {
                if matches!(accepted, Accepted::Queued { updates } if updates > 0) {
                    deps.wakeup.wake();
                }
                tracing::info!(
                    provider = id,
                    ?accepted,
                    "refresh: an account's preview changed"
                );
            }
            Err(e) => tracing::warn!(provider = id, error = %e, "refresh: could not queue"),
        }
    }
    reads
}

/// Reads `uri` again past the cache, as `requester`'s account (per-account files) or as
/// no account (public ones), and compares it with what that scope was last known to show
/// ([`baseline`]); the new preview's digest when it changed, `None` when it did not, when
/// nothing was known to compare with (it is recorded), or when the read failed.
async fn reread(
    deps: &RefreshDeps,
    id: &'static str,
    uri: &str,
    url: &Url,
    requester: Option<&crate::unfurl::Requester>,
    seen: &mut std::collections::HashMap<String, [u8; 32]>,
) -> Option<[u8; 32]> {
    use crate::unfurl::cache::{Key, Scope};
    use sha2::{Digest, Sha256};

    let account = requester.map_or("", |r| r.account.key.as_str());
    let key = Key {
        provider: id,
        scope: match requester {
            Some(_) => Scope::Account(std::sync::Arc::from(account)),
            None => Scope::Public,
        },
        uri: std::sync::Arc::from(uri),
    };
    let remembered = format!("{account}\n{uri}");
    let shown = baseline(deps, id, account, uri, &key, seen.get(&remembered).copied()).await;
    let entry = deps.unfurler.refresh(uri, url, requester).await;
    if !entry.outcome.is_refreshable() {
        return None;
    }
    let digest: [u8; 32] = Sha256::digest(&entry.body).into();
    let previous = seen.insert(remembered, digest);
    remember(deps, id, account, uri, previous, digest).await;
    shown.filter(|shown| *shown != digest).map(|_| digest)
}

/// A refresh change's delivery id: the same on every server that sees the same change, so
/// servers sharing a database queue it once.
fn delivery_id(parts: &[&[u8]]) -> String {
    use sha2::{Digest, Sha256};
    format!(
        "refresh:{}",
        hex::encode(&Sha256::digest(parts.concat())[..16])
    )
}

/// What a link in `scope` (empty: public; else the account key) was last known to show:
/// what this task read last (`in_memory`), else the preview cached when it was unfurled
/// here, else the digest kept in the database by an earlier run (a restarted server).
async fn baseline(
    deps: &RefreshDeps,
    provider: &str,
    scope: &str,
    uri: &str,
    key: &crate::unfurl::cache::Key,
    in_memory: Option<[u8; 32]>,
) -> Option<[u8; 32]> {
    use sha2::{Digest, Sha256};

    if in_memory.is_some() {
        return in_memory;
    }
    if let Some(entry) = deps.unfurler.cache().peek(key).await
        && entry.outcome.is_refreshable()
    {
        return Some(Sha256::digest(&entry.body).into());
    }
    match deps.store.refresh_digest(provider, scope, uri).await {
        Ok(kept) => kept.and_then(|d| <[u8; 32]>::try_from(d.as_slice()).ok()),
        Err(e) => {
            tracing::warn!(provider, error = %e, "refresh: could not read a kept digest");
            None
        }
    }
}

/// Keep `digest` in the database when this task had not read it before (`previous`, what
/// it read last, is another or none): one write per change, not per round.
async fn remember(
    deps: &RefreshDeps,
    provider: &str,
    scope: &str,
    uri: &str,
    previous: Option<[u8; 32]>,
    digest: [u8; 32],
) {
    if previous == Some(digest) {
        return;
    }
    if let Err(e) = deps
        .store
        .put_refresh_digest(provider, scope, uri, &digest)
        .await
    {
        tracing::warn!(provider, error = %e, "refresh: could not keep a digest");
    }
}
