//! GitHub provider for notion-unfurl: live previews of the GitHub links a team pastes
//! (pull requests, issues, commits, code permalinks, Actions runs, releases and
//! repositories), read with the linked user's own GitHub token.
//!
//! - Site: github.com, or a GitHub Enterprise Server host ([`GitHubConfig::web_host`]).
//! - Patterns: one per [`Kind`] ([`Kind::pattern`]), tried in [`Kind::ALL`]'s order:
//!   `/{owner}/{repo}/pull/{number}` (also its `/files`, `/commits` and `/checks` tabs),
//!   `/issues/{number}`, `/commit/{sha}` (also a PR's `/commits/{sha}`),
//!   `/blob/{ref}/{path}#L{a}-L{b}`, `/actions/runs/{id}` (also `/job/{id}`,
//!   `/attempts/{n}`), `/releases/tag/{tag}`, and `/{owner}/{repo}` itself (except GitHub's
//!   own top-level pages, `owners`). Each kind's links share one canonical form
//!   ([`Link::canonical`], via [`Provider::canonical_uri`]): owner and repository
//!   lower-cased (GitHub treats them case-insensitively), tabs, queries and fragments
//!   dropped (a file's line range kept). The named groups tell the kinds apart
//!   ([`Link::from_captures`]); placeholders name the resource (`$<owner>/$<repo>#$<number>`).
//! - Upstream: the REST API ([`GitHubConfig::api_url`], API version [`api::API_VERSION`]),
//!   every read revalidated with `If-None-Match` against an in-memory ETag store keyed by
//!   a hash of the token (never the token) and the path. What each kind reads is in
//!   `reads` and, with counts, in the repository's `BENCHMARKS.md`: a pull request reads
//!   itself, then for open PRs its head's check runs, commit statuses and its reviews side
//!   by side; the other kinds one request where GitHub allows it, side reads in the same
//!   round.
//! - Credentials: the account's token; for an account without one, the operator's
//!   [`GitHubConfig::fallback_token`], whose answers count only for public repositories;
//!   otherwise anonymous requests (public repositories only).
//! - Previews of public repositories are [`CacheScope::Public`], of private ones
//!   [`CacheScope::Account`], for [`CACHE_TTL`]. Answers that do not say whether their
//!   repository is private (issues, commits, releases, files) are [`CacheScope::Account`]
//!   when read with the account's token and public when read anonymously; read with the
//!   fallback token, the repository is read side by side and must be public. A rate
//!   limit, 5xx or timeout is answered with the same identity's preview of the last
//!   [`STALE_WINDOW`] when there is one.
//!
//! Layout:
//! - `provider`: [`GitHub`], [`GitHubConfig`], credentials, stand-ins, error wording.
//! - `reads`: the requests of each kind's preview and the scope its answer allows;
//!   `files`: a code permalink's, whose ref may span several segments of the link.
//! - [`links`]: resources read out of page, API and pattern forms ([`Link`],
//!   [`PullLink`]), the patterns, the canonical forms. The server's webhook handler uses
//!   it too. `owners`: GitHub's own top-level pages, kept out of the repository pattern.
//! - [`webhook`]: the webhook [`Event`](webhook::Event)s and the links, commits and
//!   link prefixes a verified payload names, for the server's `POST /webhooks/github`.
//! - [`api`]: the REST client, its ETag stores and the status mapping.
//! - One module per kind, GitHub's JSON reduced to a summary and that summary to the
//!   preview's attributes: [`pull`] (with [`attributes`](mod@attributes), which also
//!   holds the builder every kind writes its attributes with), [`issue`], [`commit`],
//!   [`blob`], [`run`], [`release`], [`repository`].
//! - [`markdown`]: a body reduced to a plain-text summary.
//!
//! [`CacheScope::Public`]: notion_unfurl_sdk::CacheScope::Public
//! [`CacheScope::Account`]: notion_unfurl_sdk::CacheScope::Account
//! [`Provider::canonical_uri`]: notion_unfurl_sdk::Provider::canonical_uri

pub mod api;
pub mod attributes;
pub mod blob;
pub mod commit;
mod files;
pub mod issue;
pub mod links;
pub mod markdown;
mod owners;
mod provider;
pub mod pull;
mod reads;
pub mod release;
pub mod repository;
pub mod run;
pub mod webhook;

pub use links::{Kind, Link, PullLink, Resource, url_pattern};
pub use provider::{
    CACHE_TTL, ConfigError, DEFAULT_API_URL, DEFAULT_TIMEOUT, DEFAULT_WEB_HOST, GitHub,
    GitHubConfig, STALE_TTL, STALE_WINDOW,
};
pub use pull::{CheckSummary, PullSummary, ReviewSummary, State};
