//! [`GitHub`]: routing, credentials, stand-ins for failed reads, and the errors' wording.
//! The reads themselves are `reads`'.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use moka::sync::Cache;
use notion_unfurl_sdk::attributes::TextSection;
use notion_unfurl_sdk::regex::{self, Regex};
use notion_unfurl_sdk::trusted::TrustedError;
use notion_unfurl_sdk::{
    Attribute, CacheScope, Context, Pattern, Preview, Provider, ProviderError, Secret,
    TrustedClient, UnfurlRequest, Url, async_trait,
};

use crate::api::{Api, Credential, Failure, Identity};
use crate::links::{Kind, Link};

/// Code permalinks whose ref spans segments remembered at most; each entry is a key and a
/// number.
const REF_SPLIT_ENTRIES: u64 = 10_000;

/// A permalink not read for this long finds its ref again from the shortest.
const REF_SPLIT_IDLE: Duration = Duration::from_secs(24 * 60 * 60);

/// github.com's REST API; GitHub Enterprise Server serves it at `https://HOST/api/v3`.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// The host of the links people paste.
pub const DEFAULT_WEB_HOST: &str = "github.com";

/// Deadline of one API request. A preview makes at most two rounds of requests (a PR,
/// then check runs, commit statuses and reviews side by side), three for an issue number
/// that is a PR, which stays within Notion's patience.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the server may serve a preview without asking again. Short, because CI and
/// reviews move by the minute; cheap, because asking again is usually a free `304`; and
/// repositories with the webhook configured get changes pushed sooner anyway.
pub const CACHE_TTL: Duration = Duration::from_secs(5 * 60);

/// How old a preview may be and still stand in for a rate limit or an outage.
pub const STALE_WINDOW: Duration = Duration::from_secs(10 * 60);

/// The cache lifetime of such a stand-in: the server asks again soon after.
pub const STALE_TTL: Duration = Duration::from_secs(60);

/// Recent previews kept for standing in; one per (identity, link).
const RECENT_ENTRIES: u64 = 10_000;

/// How the provider reads GitHub. `UNFURL_GITHUB_*` settings map onto these fields.
#[derive(Debug, Clone)]
pub struct GitHubConfig {
    /// `UNFURL_GITHUB_API_URL`: the REST API base, [`DEFAULT_API_URL`] for github.com; for
    /// GitHub Enterprise Server `https://HOST/api/v3`.
    pub api_url: Url,
    /// The host of pasted links, [`DEFAULT_WEB_HOST`] for github.com (with a port if it
    /// is not the default one). It is also the pattern's Notion domain.
    pub web_host: String,
    /// `UNFURL_GITHUB_TOKEN`: read public repositories for accounts that linked no GitHub
    /// token, with a bigger rate limit than anonymous requests. Never used for an account
    /// that has its own token, and never yields a private repository's preview.
    pub fallback_token: Option<Secret>,
    /// GitHub rejects API requests without a User-Agent.
    pub user_agent: String,
    /// Deadline of one API request, [`DEFAULT_TIMEOUT`] by default.
    pub timeout: Duration,
}

impl GitHubConfig {
    /// github.com's links read through `api_url` (usually [`DEFAULT_API_URL`]), with no
    /// fallback token and the default timeout.
    pub fn new(api_url: Url, user_agent: impl Into<String>) -> Self {
        Self {
            api_url,
            web_host: DEFAULT_WEB_HOST.to_owned(),
            fallback_token: None,
            user_agent: user_agent.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Why the provider could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the GitHub web host must be a bare host name (with an optional port), got {0:?}")]
    WebHost(String),
    #[error("the GitHub API URL must be http(s), got {0}")]
    ApiUrl(Url),
    #[error(transparent)]
    Client(#[from] TrustedError),
    #[error("a GitHub link pattern does not compile: {0}")]
    Pattern(#[from] regex::Error),
}

/// Who the reads are made as, decided once per unfurl.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Caller<'a> {
    /// The account's own token: sees what the account sees.
    Account(&'a Secret),
    /// `UNFURL_GITHUB_TOKEN` on behalf of an account without a token: public only.
    Fallback(&'a Secret),
    /// No token at all: public only, at GitHub's anonymous rate limit.
    Anonymous,
}

impl<'a> Caller<'a> {
    pub(crate) fn credential(self) -> Credential<'a> {
        match self {
            Caller::Account(token) | Caller::Fallback(token) => Credential::new(Some(token)),
            Caller::Anonymous => Credential::new(None),
        }
    }

    pub(crate) fn public_only(self) -> bool {
        !matches!(self, Caller::Account(_))
    }
}

/// Previews of GitHub links read through the REST API.
pub struct GitHub {
    patterns: Vec<Pattern>,
    web_host: String,
    pub(crate) api: Api,
    fallback_token: Option<Secret>,
    /// The last preview built for each (identity, public-only caller, canonical link), for
    /// rate limits and outages; expiry makes anything older than [`STALE_WINDOW`]
    /// unusable.
    recent: Cache<(Identity, bool, String), Arc<Preview>>,
    /// Where the ref of a code permalink whose ref spans segments was found last, by
    /// identity and `{repository API path}/{ref and path as linked}`: which of the
    /// candidate splits to try first (`files`).
    pub(crate) ref_splits: Cache<(Identity, String), usize>,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("web_host", &self.web_host)
            .field("api", &self.api)
            .field("fallback_token", &self.fallback_token)
            .field("recent", &self.recent.entry_count())
            .finish_non_exhaustive()
    }
}

impl GitHub {
    pub fn new(config: GitHubConfig) -> Result<Self, ConfigError> {
        let web_host = config.web_host.trim().to_ascii_lowercase();
        if web_host.is_empty()
            || web_host
                .chars()
                .any(|c| !(c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
        {
            return Err(ConfigError::WebHost(config.web_host));
        }
        if !matches!(config.api_url.scheme(), "https" | "http") {
            return Err(ConfigError::ApiUrl(config.api_url));
        }
        let client = TrustedClient::new(config.api_url, &config.user_agent, config.timeout)?;
        let patterns = Kind::ALL
            .into_iter()
            .map(|kind| pattern(kind, &web_host))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            patterns,
            web_host,
            api: Api::new(client),
            fallback_token: config.fallback_token,
            recent: Cache::builder()
                .max_capacity(RECENT_ENTRIES)
                .time_to_live(STALE_WINDOW)
                .build(),
            ref_splits: Cache::builder()
                .max_capacity(REF_SPLIT_ENTRIES)
                .time_to_idle(REF_SPLIT_IDLE)
                .build(),
        })
    }

    /// The resource `url` names, for callers that have no captures yet.
    fn target(&self, url: &str) -> Option<Link> {
        let captures = self.patterns.iter().find_map(|p| p.captures(url))?;
        Link::from_captures(&captures)
    }

    fn caller<'a>(&'a self, ctx: &'a Context) -> Caller<'a> {
        let own = ctx
            .account
            .as_ref()
            .and_then(|account| account.upstream_token.as_ref())
            .filter(|token| !token.expose().is_empty());
        match (own, &self.fallback_token) {
            (Some(token), _) => Caller::Account(token),
            (None, Some(token)) => Caller::Fallback(token),
            (None, None) => Caller::Anonymous,
        }
    }
}

/// The pattern of `kind`'s links on `web_host`, with samples and a placeholder naming the
/// resource while it loads.
fn pattern(kind: Kind, web_host: &str) -> Result<Pattern, regex::Error> {
    let (name, text) = kind.placeholder();
    Ok(Pattern {
        domain: Some(web_host.to_owned()),
        regex: Regex::new(&kind.pattern(web_host))?,
        dashboard: kind
            .dashboard_pattern(web_host)
            .map(|pattern| Regex::new(&pattern))
            .transpose()?,
        samples: kind.samples(web_host),
        placeholder: [
            Attribute::title("title", "Title", text).ok(),
            Attribute::plain_text("identifier", name, text, TextSection::Identifier).ok(),
        ]
        .into_iter()
        .flatten()
        .collect(),
    })
}

/// `14:05 UTC`, rounded up so that a retry at that minute succeeds.
fn resume_time(at: DateTime<Utc>) -> String {
    let at = if at.second() > 0 || at.nanosecond() > 0 {
        at.checked_add_signed(chrono::Duration::minutes(1))
            .unwrap_or(at)
    } else {
        at
    };
    at.format("%H:%M UTC").to_string()
}

/// The user-facing error for `failure`. No hint ever quotes GitHub's answer: for a
/// private repository even its error text is not ours to show.
fn provider_error(failure: Failure, caller: Caller<'_>, kind: Kind) -> ProviderError {
    let connect = "Connect a GitHub account that can see this repository to preview it.";
    let noun = kind.noun();
    match (failure, caller) {
        (Failure::Unauthorized, Caller::Account(_)) => ProviderError::Unauthorized {
            hint: Some(
                "GitHub refused the connected account's token. Reconnect GitHub to keep \
                 previewing GitHub links."
                    .into(),
            ),
        },
        (Failure::Unauthorized, _) => ProviderError::Unauthorized {
            hint: Some(format!("GitHub refused the request. {connect}")),
        },
        (Failure::SsoRequired, Caller::Account(_)) => ProviderError::Forbidden {
            hint: Some(
                "This organization requires SAML single sign-on: authorize your GitHub \
                 connection for it, then reconnect GitHub."
                    .into(),
            ),
        },
        (Failure::NotVisible | Failure::NoSuchRef, Caller::Account(_)) => ProviderError::NotFound {
            hint: Some(format!(
                "This {noun} was not found: check that your GitHub account can see this \
                 repository."
            )),
        },
        (Failure::NotVisible | Failure::NoSuchRef | Failure::SsoRequired, _) => {
            ProviderError::NotFound {
                hint: Some(format!(
                    "This {noun} is not public, or does not exist. {connect}"
                )),
            }
        }
        (
            Failure::RateLimited {
                retry_after,
                resume_at,
            },
            _,
        ) => ProviderError::RateLimited {
            retry_after,
            hint: Some(match resume_at {
                Some(at) => format!(
                    "GitHub's rate limit was reached; previews resume at {}.",
                    resume_time(at)
                ),
                None => {
                    "GitHub's rate limit was reached; previews resume in a few minutes.".to_owned()
                }
            }),
        },
        (Failure::Upstream(status), _) => ProviderError::Upstream { status },
        (Failure::Unreachable(reason), _) => ProviderError::Unreachable { reason },
        (Failure::Timeout, _) => ProviderError::Timeout,
        (Failure::Invalid, _) => ProviderError::Invalid {
            reason: format!("GitHub's {noun} answer could not be read"),
        },
    }
}

#[async_trait]
impl Provider for GitHub {
    fn id(&self) -> &'static str {
        "github"
    }

    fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    async fn unfurl(
        &self,
        request: &UnfurlRequest,
        ctx: &Context,
    ) -> Result<Preview, ProviderError> {
        let Some(target) = Link::from_captures(&request.captures) else {
            return Err(ProviderError::NotFound { hint: None });
        };
        self.unfurl_target(&target, ctx).await
    }

    /// [`Link::canonical`] for every form of a link.
    fn canonical_uri(&self, url: &Url) -> String {
        match self.target(url.as_str()) {
            Some(target) => target.canonical(&self.web_host),
            None => url.to_string(),
        }
    }
}

impl GitHub {
    #[tracing::instrument(
        name = "github_unfurl",
        skip_all,
        fields(owner = %target.owner, repo = %target.repo, kind = target.kind().noun()),
        err(level = "info")
    )]
    async fn unfurl_target(&self, target: &Link, ctx: &Context) -> Result<Preview, ProviderError> {
        let caller = self.caller(ctx);
        // The caller kind is part of the key so that, should an account's own token ever
        // equal the fallback token, its private previews still never stand in for a
        // public-only caller.
        let key = (
            caller.credential().identity().clone(),
            caller.public_only(),
            target.canonical(&self.web_host),
        );
        match self.build(target, caller).await {
            Ok(preview) => {
                if !preview.stale {
                    self.recent.insert(key, Arc::new(preview.clone()));
                }
                Ok(preview)
            }
            Err(failure) if failure.is_transient() => match self
                .recent
                .get(&key)
                .filter(|recent| !caller.public_only() || recent.scope == CacheScope::Public)
            {
                Some(recent) => {
                    tracing::info!(failure = ?failure, "serving a recent preview");
                    Ok(Preview::new(recent.attributes.clone())
                        .scope(recent.scope)
                        .ttl(STALE_TTL)
                        .stale())
                }
                None => Err(provider_error(failure, caller, target.kind())),
            },
            Err(failure) => {
                // Lost access ends previews at once, stale or not.
                self.recent.invalidate(&key);
                if matches!(failure, Failure::Unauthorized) && matches!(caller, Caller::Fallback(_))
                {
                    tracing::warn!("GitHub refused UNFURL_GITHUB_TOKEN");
                }
                Err(provider_error(failure, caller, target.kind()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn github() -> GitHub {
        let api = Url::parse(DEFAULT_API_URL).unwrap_or_else(|e| panic!("{e}"));
        GitHub::new(GitHubConfig::new(api, "test")).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn pull_request_links_and_their_tabs_match() {
        let gh = github();
        let pattern = &gh.patterns()[0];
        assert_eq!(pattern.domain.as_deref(), Some("github.com"));
        for sample in &pattern.samples {
            assert!(pattern.captures(sample).is_some(), "{sample}");
        }
        for url in [
            "https://github.com/rust-lang/rust/pull/123",
            "https://github.com/rust-lang/rust/pull/123/",
            "https://github.com/rust-lang/rust/pull/123/files",
            "https://github.com/rust-lang/rust/pull/123/files/abc..def",
            "https://github.com/rust-lang/rust/pull/123/commits",
            "https://github.com/rust-lang/rust/pull/123/checks?check_run_id=9",
            "https://github.com/rust-lang/rust/pull/123?diff=split",
            "https://github.com/rust-lang/rust/pull/123#issuecomment-1",
            "http://github.com/rust-lang/rust/pull/123",
        ] {
            let caps = pattern.captures(url).unwrap_or_default();
            assert_eq!(
                caps.get("owner").map(String::as_str),
                Some("rust-lang"),
                "{url}"
            );
            assert_eq!(caps.get("repo").map(String::as_str), Some("rust"), "{url}");
            assert_eq!(caps.get("number").map(String::as_str), Some("123"), "{url}");
        }
    }

    #[test]
    fn other_links_do_not_match() {
        let gh = github();
        for url in [
            "https://github.com/rust-lang/rust/pulls",
            "https://github.com/rust-lang/rust/issues",
            "https://github.com/rust-lang/rust/pull/",
            "https://github.com/rust-lang/rust/pull/abc",
            "https://github.com/rust-lang/rust/pull/123/conflicts",
            "https://github.com/rust-lang/rust/pull/123.diff",
            "https://github.com/rust-lang/rust/pull/123/commits/not-a-sha",
            "https://github.com/rust-lang/rust/commit/abc",
            "https://github.com/rust-lang/rust/blob/main",
            "https://github.com/rust-lang/rust/blob/main/src/",
            "https://github.com/rust-lang/rust/blob/main/src/lib.rs#heading",
            "https://github.com/rust-lang/rust/tree/main/src",
            "https://github.com/rust-lang/rust/actions",
            "https://github.com/rust-lang/rust/releases",
            "https://github.com/rust-lang/rust/releases/tag/",
            "https://github.com/rust-lang/../pull/1",
            "https://github.com/rust-lang",
            "https://github.com/features/actions",
            "https://github.com/Topics/rust",
            "https://github.com/orgs/rust-lang",
            "https://github.com/settings/profile",
            "https://gist.github.com/rust-lang/rust/pull/123",
            "https://github.com.evil.example/rust-lang/rust/pull/123",
            "https://api.github.com/repos/rust-lang/rust/pulls/123",
        ] {
            assert!(gh.target(url).is_none(), "{url}");
        }
    }

    #[test]
    fn every_kind_of_link_is_routed_to_its_kind() {
        let gh = github();
        for (url, kind, canonical) in [
            (
                "https://github.com/Rust-Lang/Rust/issues/7#issuecomment-1",
                Kind::Issue,
                "https://github.com/rust-lang/rust/issues/7",
            ),
            (
                "https://github.com/o/r/pull/3/commits/ABCDEF1?diff=unified",
                Kind::Commit,
                "https://github.com/o/r/commit/abcdef1",
            ),
            (
                "https://github.com/o/r/commit/abcdef1234",
                Kind::Commit,
                "https://github.com/o/r/commit/abcdef1234",
            ),
            (
                "https://github.com/O/R/blob/Main/src/Lib.rs?plain=1#L20C3-L10",
                Kind::Blob,
                "https://github.com/o/r/blob/Main/src/Lib.rs#L10-L20",
            ),
            (
                "https://github.com/o/r/blob/v1.0/README.md",
                Kind::Blob,
                "https://github.com/o/r/blob/v1.0/README.md",
            ),
            (
                "https://github.com/o/r/pull/123/commits",
                Kind::Pull,
                "https://github.com/o/r/pull/123",
            ),
            (
                "https://github.com/o/r/actions/runs/42/job/99",
                Kind::Run,
                "https://github.com/o/r/actions/runs/42",
            ),
            (
                "https://github.com/o/r/actions/runs/42/attempts/2",
                Kind::Run,
                "https://github.com/o/r/actions/runs/42",
            ),
            (
                "https://github.com/o/r/releases/tag/v1.2.3",
                Kind::Release,
                "https://github.com/o/r/releases/tag/v1.2.3",
            ),
            (
                "https://github.com/Rust-Lang/Rust/",
                Kind::Repository,
                "https://github.com/rust-lang/rust",
            ),
            (
                "https://github.com/featuresx/r",
                Kind::Repository,
                "https://github.com/featuresx/r",
            ),
            (
                "https://github.com/new-thing/r",
                Kind::Repository,
                "https://github.com/new-thing/r",
            ),
        ] {
            let link = gh
                .target(url)
                .unwrap_or_else(|| panic!("{url} matched nothing"));
            assert_eq!(link.kind(), kind, "{url}");
            let parsed = Url::parse(url).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(gh.canonical_uri(&parsed), canonical, "{url}");
        }
        for pattern in gh.patterns() {
            for sample in &pattern.samples {
                assert!(gh.target(sample).is_some(), "{sample}");
                assert!(pattern.captures(sample).is_some(), "{sample}");
            }
        }
        notion_unfurl_sdk::testing::assert_patterns_conform(&gh);
    }

    #[test]
    fn the_dashboard_gets_short_patterns_while_routing_keeps_the_reserved_names_out() {
        let gh = github();
        for pattern in gh.patterns() {
            let shown = pattern.dashboard_regex().as_str();
            assert!(shown.len() < 400, "{} bytes: {shown}", shown.len());
        }
        let repository = gh
            .patterns()
            .iter()
            .find(|p| p.dashboard.is_some())
            .unwrap_or_else(|| panic!("no pattern has a dashboard form"));
        assert!(
            repository.regex.as_str().len() > 1000,
            "the exact rule is kept"
        );
        for reserved in [
            "https://github.com/features/actions",
            "https://github.com/Features/actions",
            "https://github.com/topics/rust/",
        ] {
            // Notion may send it; no GitHub pattern routes it.
            assert!(
                repository.dashboard_regex().is_match(reserved),
                "{reserved}"
            );
            assert!(
                gh.patterns().iter().all(|p| !p.regex.is_match(reserved)),
                "{reserved}"
            );
            assert!(gh.target(reserved).is_none(), "{reserved}");
        }
        for repo in [
            "https://github.com/featuresx/r",
            "https://github.com/octocat/Hello-World",
        ] {
            assert!(repository.regex.is_match(repo), "{repo}");
            assert!(repository.dashboard_regex().is_match(repo), "{repo}");
        }
    }

    #[test]
    fn placeholders_name_the_pr_while_it_loads() {
        let gh = github();
        let texts: Vec<_> = gh.patterns()[0]
            .placeholder
            .iter()
            .map(|a| (a.id(), a.text()))
            .collect();
        assert_eq!(
            texts,
            [
                ("title", Some("$<owner>/$<repo>#$<number>")),
                ("identifier", Some("$<owner>/$<repo>#$<number>"))
            ]
        );
    }

    #[test]
    fn enterprise_hosts_get_their_own_pattern() {
        let api = Url::parse("https://ghe.example/api/v3").unwrap_or_else(|e| panic!("{e}"));
        let mut config = GitHubConfig::new(api, "test");
        config.web_host = "GHE.example:8443".into();
        let gh = GitHub::new(config).unwrap_or_else(|e| panic!("{e}"));
        assert!(gh.target("https://ghe.example:8443/a/b/pull/1").is_some());
        assert!(gh.target("https://github.com/a/b/pull/1").is_none());
        assert!(gh.target("https://ghexexample:8443/a/b/pull/1").is_none());
        let mut bad = GitHubConfig::new(
            Url::parse(DEFAULT_API_URL).unwrap_or_else(|e| panic!("{e}")),
            "test",
        );
        bad.web_host = "github.com/evil".into();
        assert!(matches!(GitHub::new(bad), Err(ConfigError::WebHost(_))));
    }

    #[test]
    fn rate_limit_hints_round_the_resume_time_up() {
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(resume_time(at("2024-01-01T14:04:30Z")), "14:05 UTC");
        assert_eq!(resume_time(at("2024-01-01T14:05:00Z")), "14:05 UTC");
    }
}
