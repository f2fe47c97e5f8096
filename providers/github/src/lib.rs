//! GitHub provider for notion-unfurl: live previews of pull requests, read with the
//! linked user's own GitHub token.
//!
//! - Site: github.com, or a GitHub Enterprise Server host ([`GitHubConfig::web_host`]).
//! - Pattern ([`url_pattern`]): `https://github.com/{owner}/{repo}/pull/{number}`, also
//!   with a trailing `/files`, `/commits` or `/checks` (and their sub-pages), a query or a
//!   fragment: all preview the same PR, and [`Provider::canonical_uri`] gives all of them
//!   one form, `https://github.com/{owner}/{repo}/pull/{number}` with owner and repository
//!   lower-cased (GitHub treats them case-insensitively; [`PullLink::canonical`]). Named groups `owner`, `repo`,
//!   `number`; the placeholder title is `$<owner>/$<repo>#$<number>`.
//! - Upstream: the REST API ([`GitHubConfig::api_url`], API version [`api::API_VERSION`]):
//!   `GET /repos/{owner}/{repo}/pulls/{number}`, then for open PRs
//!   `GET /repos/{owner}/{repo}/commits/{head_sha}/check-runs`,
//!   `GET /repos/{owner}/{repo}/commits/{head_sha}/status` (commit statuses, counted with
//!   the check runs) and `GET /repos/{owner}/{repo}/pulls/{number}/reviews` side by side:
//!   at most four calls, each revalidated with `If-None-Match` against an in-memory ETag
//!   store keyed by a hash of the token (never the token) and the path.
//! - Credentials: the account's token; for an account without one, the operator's
//!   [`GitHubConfig::fallback_token`], whose answers count only for public repositories;
//!   otherwise anonymous requests (public repositories only).
//! - Previews of public repositories are [`CacheScope::Public`], of private ones
//!   [`CacheScope::Account`], for [`CACHE_TTL`]. A rate limit, 5xx or timeout is answered
//!   with the same identity's preview of the last [`STALE_WINDOW`] when there is one.
//!
//! Layout:
//! - `provider`: [`GitHub`], [`GitHubConfig`], credentials, error wording.
//! - [`links`]: pull requests read out of page, API and pattern forms ([`PullLink`]), the
//!   pattern, the canonical form. The server's webhook handler uses it too.
//! - [`webhook`]: the webhook [`Event`](webhook::Event)s and the pull requests and commits
//!   a verified payload names, for the server's `POST /webhooks/github`.
//! - [`api`]: the REST client, its ETag stores and the status mapping.
//! - [`pull`]: GitHub's JSON reduced to [`PullSummary`], [`CheckSummary`], [`ReviewSummary`].
//! - [`attributes`](mod@attributes): the preview's attributes and their sections.
//! - [`markdown`]: a PR body reduced to a plain-text summary.
//!
//! [`CacheScope::Public`]: notion_unfurl_sdk::CacheScope::Public
//! [`CacheScope::Account`]: notion_unfurl_sdk::CacheScope::Account
//! [`Provider::canonical_uri`]: notion_unfurl_sdk::Provider::canonical_uri

pub mod api;
pub mod attributes;
pub mod blob;
pub mod commit;
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
