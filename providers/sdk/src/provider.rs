//! The contract between the server and a provider.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use regex::Regex;
use url::Url;

use crate::attributes::Attribute;
use crate::error::ProviderError;
use crate::fetch::GuardedClient;

/// One URL pattern a provider handles, in the form Notion's dashboard takes it.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The domain to verify in Notion's dashboard; `None` for a provider that accepts any
    /// domain (the operator chooses which domains to register).
    pub domain: Option<String>,
    /// Anchored regex with named groups, matched against the whole URL: what the server
    /// routes by.
    pub regex: Regex,
    /// What Notion's dashboard is given instead of `regex`, when `regex` is too long to
    /// enter there: a shorter regex that accepts every URL `regex` accepts and defines
    /// the groups the placeholder uses. Notion then also sends URLs only this one
    /// accepts; the server routes by `regex`, so those go on to the next pattern (and
    /// provider) that accepts them. `None`: the dashboard is given `regex`.
    pub dashboard: Option<Regex>,
    /// Example URLs that match, shown in the dashboard.
    pub samples: Vec<String>,
    /// Attributes shown while the preview loads; values may use `$<group>` substitutions.
    pub placeholder: Vec<Attribute>,
}

impl Pattern {
    /// The regex Notion's dashboard is given: [`Pattern::dashboard`], else
    /// [`Pattern::regex`].
    pub fn dashboard_regex(&self) -> &Regex {
        self.dashboard.as_ref().unwrap_or(&self.regex)
    }

    /// Named captures of `url` if this pattern matches it.
    pub fn captures(&self, url: &str) -> Option<HashMap<String, String>> {
        let caps = self.regex.captures(url)?;
        Some(
            self.regex
                .capture_names()
                .flatten()
                .filter_map(|name| {
                    caps.name(name)
                        .map(|m| (name.to_owned(), m.as_str().to_owned()))
                })
                .collect(),
        )
    }
}

/// Who may share a cached preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheScope {
    /// Anyone may see it (a public page, a public repository).
    Public,
    /// Read with the account's own credentials: cached for that account only.
    Account,
}

/// What a provider returns for one URL. The `dev` attribute is not the provider's to give:
/// the server appends the deployment's own to every preview it sends.
#[derive(Debug, Clone)]
pub struct Preview {
    pub attributes: Vec<Attribute>,
    pub scope: CacheScope,
    pub ttl: Duration,
    /// Not a full fresh view: an earlier read served because the upstream failed just now
    /// (rate limit, outage), or a fresh read with parts left out for the same reason.
    /// Fine to show; not pushed to Notion as an update, which waits for a full read.
    pub stale: bool,
    /// Bytes of upstream bodies the provider read to make this preview (0 when it does not
    /// say): what `notion_unfurl_upstream_read_bytes` counts.
    pub bytes_read: u64,
}

impl Preview {
    /// How long a preview may be served from the cache when its provider does not say.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);

    /// A complete, fresh preview of `attributes`, cached for [`Preview::DEFAULT_TTL`] and
    /// for the asking account only ([`CacheScope::Account`]): sharing a preview is a
    /// decision the provider states with [`Preview::public`], never a default.
    pub fn new(attributes: Vec<Attribute>) -> Self {
        Self {
            attributes,
            scope: CacheScope::Account,
            ttl: Self::DEFAULT_TTL,
            stale: false,
            bytes_read: 0,
        }
    }

    /// How many bytes of upstream bodies were read for this preview.
    #[must_use]
    pub fn bytes_read(mut self, bytes: u64) -> Self {
        self.bytes_read = bytes;
        self
    }

    /// Anyone may see this preview (a public page, a public repository), so every
    /// account's request for the link may be answered from one cached copy.
    #[must_use]
    pub fn public(self) -> Self {
        self.scope(CacheScope::Public)
    }

    /// The cache scope, for providers that learn it from the upstream answer.
    #[must_use]
    pub fn scope(mut self, scope: CacheScope) -> Self {
        self.scope = scope;
        self
    }

    /// How long the server may serve this preview without asking the provider again.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Marks the preview as not a full fresh view (an earlier read standing in for a
    /// failing upstream, or parts left out): shown, but never pushed as an update.
    #[must_use]
    pub fn stale(mut self) -> Self {
        self.stale = true;
        self
    }
}

/// A secret string (a token) that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The plaintext, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"[redacted]\")")
    }
}

/// The account a request is made for.
#[derive(Debug, Clone)]
pub struct Account {
    /// Stable account key, e.g. `github:123` or `local:…`.
    pub key: String,
    /// The account's upstream token (e.g. GitHub), when it linked one.
    pub upstream_token: Option<Secret>,
    /// Tokens of the other services the account linked, by service id (`gitlab`…).
    pub services: std::collections::BTreeMap<String, Secret>,
}

impl Account {
    /// An account with its GitHub token (if any) and no other service linked.
    pub fn new(key: impl Into<String>, upstream_token: Option<Secret>) -> Self {
        Self {
            key: key.into(),
            upstream_token,
            services: Default::default(),
        }
    }

    /// The token of the account's link to `service`: the upstream token for `github`, the
    /// service's own for any other. A provider is given only the one it declares.
    pub fn token_for(&self, service: &str) -> Option<&Secret> {
        if service == "github" {
            self.upstream_token.as_ref()
        } else {
            self.services.get(service)
        }
    }
}

/// What the server hands a provider for one unfurl.
#[derive(Debug, Clone)]
pub struct Context {
    /// For URLs that come from users or pages: public addresses only, bounded.
    pub guarded: GuardedClient,
    /// The account the preview is for, when the request carries one.
    pub account: Option<Account>,
}

/// One URL to preview, with the named groups of the pattern that matched it.
#[derive(Debug, Clone)]
pub struct UnfurlRequest {
    pub url: Url,
    pub captures: HashMap<String, String>,
}

/// A source of previews for some URLs.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Short stable id (`opengraph`, `github`); part of cache keys and logs.
    fn id(&self) -> &'static str;

    /// Patterns in the order they are tried.
    fn patterns(&self) -> &[Pattern];

    async fn unfurl(
        &self,
        request: &UnfurlRequest,
        ctx: &Context,
    ) -> Result<Preview, ProviderError>;

    /// The form of `url` that identifies the previewed resource: URLs with the same
    /// canonical form share subscriptions and update pushes (for example every sub-page of
    /// one pull request). The URL itself by default.
    fn canonical_uri(&self, url: &Url) -> String {
        url.to_string()
    }

    /// Whether a result may depend on the account asking (its credentials). `true` by
    /// default. A provider that never reads `ctx.account` says `false`: the server then
    /// gives it no account, and every account's request for one link shares one fetch and
    /// one cached answer, failures included.
    fn reads_account(&self) -> bool {
        true
    }

    /// The `dev` attribute's text for this provider's previews, when it should not be the
    /// deployment's own (a provider file naming the team behind a service). `None` by
    /// default: the server's `UNFURL_DEVELOPER_NAME`.
    fn developer(&self) -> Option<&str> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_preview_is_fresh_and_private_until_said_otherwise() {
        let title = Attribute::title("title", "Title", "Hello").unwrap_or_else(|e| panic!("{e}"));
        let preview = Preview::new(vec![title.clone()]);
        assert_eq!(preview.attributes, std::slice::from_ref(&title));
        assert_eq!(preview.scope, CacheScope::Account);
        assert_eq!(preview.ttl, Preview::DEFAULT_TTL);
        assert!(!preview.stale);
        assert_eq!(preview.bytes_read, 0);
        assert_eq!(Preview::new(Vec::new()).bytes_read(42).bytes_read, 42);

        let shared = Preview::new(vec![title])
            .public()
            .ttl(Duration::from_secs(60))
            .stale();
        assert_eq!(shared.scope, CacheScope::Public);
        assert_eq!(shared.ttl, Duration::from_secs(60));
        assert!(shared.stale);
        assert_eq!(shared.scope(CacheScope::Account).scope, CacheScope::Account);
    }
}
