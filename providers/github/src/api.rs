//! The GitHub REST client: conditional requests against an ETag store, and what each
//! answer means.
//!
//! Every read is revalidated with `If-None-Match` instead of trusting GitHub's
//! `Cache-Control: max-age=60`: a webhook-triggered re-read must see the change it was
//! triggered by, and a `304 Not Modified` costs nothing from the rate limit
//! (docs.github.com, "Best practices for using the REST API", conditional requests).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use moka::sync::Cache;
use notion_unfurl_sdk::reqwest::{
    self,
    header::{self, HeaderMap},
};
use notion_unfurl_sdk::trusted::{ReadError, read_limited};
use notion_unfurl_sdk::{Secret, TrustedClient, trace};
use sha2::{Digest, Sha256};

use crate::blob::{FileText, RefSummary};
use crate::commit::CommitSummary;
use crate::issue::IssueSummary;
use crate::pull::{CheckSummary, PullSummary, ReviewSummary};
use crate::release::ReleaseSummary;
use crate::repository::RepoSummary;
use crate::run::RunSummary;

/// The REST API version this crate was written against.
pub const API_VERSION: &str = "2022-11-28";

/// GitHub answers renamed or transferred repositories with a redirect to
/// `/repositories/{id}/…`; more than this many hops is a loop.
const MAX_REDIRECTS: usize = 2;

/// The largest answer read: a page of 100 check runs, each with up to 64 KiB of output
/// text, stays under it; anything larger is not what the endpoint documents.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Entries per store; each holds one small summary, not a response body.
const STORE_ENTRIES: u64 = 10_000;

/// An ETag is worth keeping while the link is being looked at; a page left alone for an
/// hour is read afresh anyway.
const STORE_IDLE: Duration = Duration::from_secs(60 * 60);

/// Whose view of GitHub a response is. A token is kept only as its SHA-256, so the stores
/// never hold a credential, and two accounts never share an entry: GitHub's answers (and
/// their ETags) depend on who asks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    Token([u8; 32]),
    Anonymous,
}

impl Identity {
    pub fn of(token: Option<&Secret>) -> Self {
        match token {
            Some(token) => Self::Token(Sha256::digest(token.expose().as_bytes()).into()),
            None => Self::Anonymous,
        }
    }
}

/// The token a request is sent with, and the identity its answers are stored under.
#[derive(Debug, Clone)]
pub struct Credential<'a> {
    token: Option<&'a Secret>,
    identity: Identity,
}

impl<'a> Credential<'a> {
    pub fn new(token: Option<&'a Secret>) -> Self {
        Self {
            token,
            identity: Identity::of(token),
        }
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }
}

/// Why a read failed, before it is worded for the Notion user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 401: the token is bad, expired or revoked.
    Unauthorized,
    /// 404/410, or 403 that is not a rate limit: this identity may not see it.
    NotVisible,
    /// A 404 whose message says the `ref` asked for names no commit ("No commit found for
    /// the ref feature"): the contents API's answer when a branch or tag does not exist.
    /// For a code permalink it means a longer ref may be meant (`feature/x`); anywhere
    /// else it reads as [`Failure::NotVisible`].
    NoSuchRef,
    /// 403 with `X-GitHub-SSO`: the organisation wants the token authorised for SAML.
    SsoRequired,
    RateLimited {
        retry_after: Option<Duration>,
        resume_at: Option<DateTime<Utc>>,
    },
    Upstream(Option<u16>),
    /// No answer: the connection failed or broke off (the cause, for the log).
    Unreachable(String),
    Timeout,
    /// A 2xx whose body is not what the endpoint documents.
    Invalid,
}

impl Failure {
    /// Failures that say nothing about access: a recent preview may stand in for them.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Failure::RateLimited { .. }
                | Failure::Upstream(_)
                | Failure::Unreachable(_)
                | Failure::Timeout
        )
    }
}

struct Tagged<T> {
    etag: String,
    value: Arc<T>,
}

type Store<T> = Cache<(Identity, String), Arc<Tagged<T>>>;

fn store<T: Send + Sync + 'static>(entries: u64) -> Store<T> {
    Cache::builder()
        .max_capacity(entries)
        .time_to_idle(STORE_IDLE)
        .build()
}

/// GitHub's JSON media type, what every endpoint but file contents is read as.
const JSON: &str = "application/vnd.github+json";

/// A file's contents as they are, instead of base64 inside JSON.
const RAW: &str = "application/vnd.github.raw+json";

/// File contents kept for revalidation: each holds up to
/// [`crate::blob::MAX_FILE_BYTES`] of text, so the store stays within a few tens of MiB.
const FILE_ENTRIES: u64 = 128;

/// A parser from a response body to the summary a store keeps.
type Parse<T> = fn(&[u8]) -> Result<T, serde_json::Error>;

/// A kind of resource: how to parse it and where its ETags live.
pub struct Endpoint<T> {
    parse: Parse<T>,
    store: Store<T>,
    /// The `Accept` media type asked for.
    accept: &'static str,
}

impl<T: Send + Sync + 'static> Endpoint<T> {
    fn new(parse: Parse<T>) -> Self {
        Self {
            parse,
            store: store(STORE_ENTRIES),
            accept: JSON,
        }
    }

    /// Forget what `identity` read at `path`, so nothing of it outlives lost access.
    pub fn forget(&self, identity: &Identity, path: &str) {
        self.store.invalidate(&(identity.clone(), path.to_owned()));
    }
}

/// The API base with one ETag store per kind of resource read.
pub struct Api {
    client: TrustedClient,
    pub pulls: Endpoint<PullSummary>,
    /// Check runs of a commit.
    pub checks: Endpoint<CheckSummary>,
    /// The combined commit status: CI that reports through the legacy Status API.
    pub statuses: Endpoint<CheckSummary>,
    pub reviews: Endpoint<ReviewSummary>,
    pub issues: Endpoint<IssueSummary>,
    pub repos: Endpoint<RepoSummary>,
    pub releases: Endpoint<ReleaseSummary>,
    pub runs: Endpoint<RunSummary>,
    pub commits: Endpoint<CommitSummary>,
    /// File contents at a ref, read raw.
    pub files: Endpoint<FileText>,
    /// One branch (`git/ref/heads/{name}`): whether a permalink's ref is a branch.
    pub refs: Endpoint<RefSummary>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("base", &self.client.base().as_str())
            .field("pulls", &self.pulls.store.entry_count())
            .field("checks", &self.checks.store.entry_count())
            .field("statuses", &self.statuses.store.entry_count())
            .field("reviews", &self.reviews.store.entry_count())
            .field("issues", &self.issues.store.entry_count())
            .field("repos", &self.repos.store.entry_count())
            .field("releases", &self.releases.store.entry_count())
            .field("runs", &self.runs.store.entry_count())
            .field("commits", &self.commits.store.entry_count())
            .field("files", &self.files.store.entry_count())
            .field("refs", &self.refs.store.entry_count())
            .finish()
    }
}

impl Api {
    pub fn new(client: TrustedClient) -> Self {
        Self {
            client,
            pulls: Endpoint::new(PullSummary::from_json),
            checks: Endpoint::new(CheckSummary::from_json),
            statuses: Endpoint::new(CheckSummary::from_status_json),
            reviews: Endpoint::new(ReviewSummary::from_json),
            issues: Endpoint::new(IssueSummary::from_json),
            repos: Endpoint::new(RepoSummary::from_json),
            releases: Endpoint::new(ReleaseSummary::from_json),
            runs: Endpoint::new(RunSummary::from_json),
            commits: Endpoint::new(CommitSummary::from_json),
            files: Endpoint {
                parse: FileText::from_bytes,
                store: store(FILE_ENTRIES),
                accept: RAW,
            },
            refs: Endpoint::new(RefSummary::from_json),
        }
    }

    /// `GET {api}{path}` as `who`, revalidating a stored answer with `If-None-Match`.
    pub async fn get<T: Send + Sync + 'static>(
        &self,
        endpoint: &Endpoint<T>,
        who: &Credential<'_>,
        path: &str,
    ) -> Result<Arc<T>, Failure> {
        let key = (who.identity.clone(), path.to_owned());
        let stored = endpoint.store.get(&key);
        let mut target = path.to_owned();
        for _ in 0..=MAX_REDIRECTS {
            let mut request = self
                .client
                .request(reqwest::Method::GET, &target)
                .map_err(|_| Failure::Invalid)?
                .header(header::ACCEPT, endpoint.accept)
                .header("X-GitHub-Api-Version", API_VERSION);
            if let Some(token) = who.token {
                // `bearer_auth` marks the header sensitive, so reqwest never prints it.
                request = request.bearer_auth(token.expose());
            }
            // A recorder saving this read as a test needs whole answers: a 304 has no body.
            if let Some(stored) = stored.as_ref().filter(|_| !trace::keeps_bodies()) {
                request = request.header(header::IF_NONE_MATCH, stored.etag.as_str());
            }
            let response = self.client.send(request).await.map_err(transport)?;
            let status = response.status().as_u16();
            tracing::debug!(status, path = %target, "GitHub answered");
            match status {
                200 => {
                    let etag = response
                        .headers()
                        .get(header::ETAG)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let bytes = read_limited(response, MAX_RESPONSE_BYTES)
                        .await
                        .map_err(|e| match e {
                            ReadError::Transport(e) => transport(e),
                            ReadError::TooLarge { limit } => {
                                tracing::warn!(path = %target, limit, "GitHub's answer is too large");
                                Failure::Invalid
                            }
                        })?;
                    let value = Arc::new((endpoint.parse)(&bytes).map_err(|e| {
                        // The error's position only: its message may quote private content.
                        tracing::warn!(
                            path = %target,
                            line = e.line(),
                            column = e.column(),
                            "GitHub's answer did not parse"
                        );
                        Failure::Invalid
                    })?);
                    match etag {
                        Some(etag) => endpoint.store.insert(
                            key,
                            Arc::new(Tagged {
                                etag,
                                value: value.clone(),
                            }),
                        ),
                        None => endpoint.store.invalidate(&key),
                    }
                    return Ok(value);
                }
                304 => {
                    return match stored {
                        Some(stored) => Ok(stored.value.clone()),
                        None => Err(Failure::Upstream(Some(status))),
                    };
                }
                301 | 302 | 307 | 308 => {
                    let location = response
                        .headers()
                        .get(header::LOCATION)
                        .and_then(|v| v.to_str().ok());
                    match location.and_then(|l| self.path_under_base(l)) {
                        Some(next) => target = next,
                        None => return Err(Failure::Upstream(Some(status))),
                    }
                }
                _ => {
                    let failure = classify(status, response.headers(), Utc::now());
                    return Err(match failure {
                        Failure::NotVisible if status == 403 => {
                            if mentions_rate_limit(&head_of_body(response).await) {
                                secondary_rate_limit(Utc::now())
                            } else {
                                failure
                            }
                        }
                        Failure::NotVisible if status == 404 => {
                            if mentions_no_such_ref(&head_of_body(response).await) {
                                Failure::NoSuchRef
                            } else {
                                failure
                            }
                        }
                        failure => failure,
                    });
                }
            }
        }
        Err(Failure::Upstream(None))
    }

    /// The path of `location` below the API base, if it stays there: redirects are
    /// followed only within the configured API, never with the token to another host.
    fn path_under_base(&self, location: &str) -> Option<String> {
        let base = self.client.base();
        let url = base.join(location).ok()?;
        if url.origin() != base.origin() {
            return None;
        }
        let rest = url.path().strip_prefix(base.path().trim_end_matches('/'))?;
        if !rest.starts_with('/') {
            return None;
        }
        Some(match url.query() {
            Some(query) => format!("{rest}?{query}"),
            None => rest.to_owned(),
        })
    }
}

fn transport(error: reqwest::Error) -> Failure {
    if error.is_timeout() {
        Failure::Timeout
    } else {
        Failure::Unreachable(notion_unfurl_sdk::trusted::error_chain(
            &error.without_url(),
        ))
    }
}

/// What a non-2xx, non-304 answer means.
///
/// A rate limit is a 429, or a 403 carrying `X-RateLimit-Remaining: 0` or `Retry-After`
/// (primary and secondary limits, docs.github.com "Rate limits for the REST API"). Any
/// other 403 is about access (a fine-grained token without the repository, an IP
/// allow-list), and GitHub answers 404 rather than 403 for private repositories the
/// token cannot see, so both read as "not visible to you".
pub fn classify(status: u16, headers: &HeaderMap, now: DateTime<Utc>) -> Failure {
    // (A 403 with neither header may still be a secondary limit: see `mentions_rate_limit`.)
    let value = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let retry_after_header = value("retry-after");
    // A date instead of seconds (RFC 9110 allows both) still says "rate limited": wait the
    // minute GitHub asks for when it gives no time.
    let retry_after = retry_after_header.map(|v| {
        v.parse::<u64>()
            .map_or(SECONDARY_LIMIT_WAIT, Duration::from_secs)
    });
    let exhausted = value("x-ratelimit-remaining") == Some("0");
    let reset = value("x-ratelimit-reset")
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(|epoch| DateTime::from_timestamp(epoch, 0));
    match status {
        401 => Failure::Unauthorized,
        429 | 403 if status == 429 || exhausted || retry_after.is_some() => {
            let retry_after = retry_after
                .or_else(|| reset.map(|reset| (reset - now).to_std().unwrap_or(Duration::ZERO)));
            let resume_at = match (retry_after, reset) {
                (Some(wait), _) => chrono::Duration::from_std(wait)
                    .ok()
                    .and_then(|w| now.checked_add_signed(w)),
                (None, reset) => reset,
            };
            Failure::RateLimited {
                retry_after,
                resume_at,
            }
        }
        403 if headers.contains_key("x-github-sso") => Failure::SsoRequired,
        403 | 404 | 410 => Failure::NotVisible,
        _ => Failure::Upstream(Some(status)),
    }
}

/// How long to wait after a secondary rate limit that names no time: GitHub's docs ask
/// for at least a minute.
pub const SECONDARY_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// The first 4 KiB of an error's body, enough for GitHub's `message`.
async fn head_of_body(mut response: reqwest::Response) -> Vec<u8> {
    const MAX: usize = 4096;
    let mut body = Vec::new();
    while body.len() < MAX {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk[..chunk.len().min(MAX - body.len())]),
            _ => break,
        }
    }
    body
}

/// Whether a 403's body says it is a rate limit ("You have exceeded a secondary rate
/// limit…"): GitHub may send a secondary limit with neither `Retry-After` nor
/// `X-RateLimit-Remaining: 0`.
fn mentions_rate_limit(body: &[u8]) -> bool {
    String::from_utf8_lossy(body)
        .to_ascii_lowercase()
        .contains("rate limit")
}

/// Whether a 404's body says the `ref` asked for names no commit, as the contents API
/// words it ("No commit found for the ref feature"), rather than that the file or the
/// repository is not there ("Not Found").
fn mentions_no_such_ref(body: &[u8]) -> bool {
    String::from_utf8_lossy(body)
        .to_ascii_lowercase()
        .contains("no commit found for the ref")
}

fn secondary_rate_limit(now: DateTime<Utc>) -> Failure {
    Failure::RateLimited {
        retry_after: Some(SECONDARY_LIMIT_WAIT),
        resume_at: chrono::Duration::from_std(SECONDARY_LIMIT_WAIT)
            .ok()
            .and_then(|wait| now.checked_add_signed(wait)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notion_unfurl_sdk::reqwest::header::HeaderValue;

    #[test]
    fn a_retry_after_date_and_a_rate_limit_body_both_read_as_rate_limits() {
        let now = at(1_700_000_000);
        assert_eq!(
            classify(
                403,
                &headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]),
                now
            ),
            secondary_rate_limit(now)
        );
        assert!(mentions_rate_limit(
            br#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#
        ));
        assert!(!mentions_rate_limit(
            br#"{"message":"Resource not accessible by integration"}"#
        ));
    }

    #[test]
    fn a_missing_ref_is_told_apart_from_a_missing_file() {
        assert!(mentions_no_such_ref(
            br#"{"message":"No commit found for the ref feature","status":"404"}"#
        ));
        assert!(!mentions_no_such_ref(
            br#"{"message":"Not Found","status":"404"}"#
        ));
        assert!(!mentions_no_such_ref(b""));
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            if let Ok(value) = HeaderValue::from_str(value) {
                map.insert(*name, value);
            }
        }
        map
    }

    fn at(epoch: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(epoch, 0).unwrap_or_default()
    }

    #[test]
    fn rate_limits_are_told_apart_from_access_refusals() {
        let now = at(1_700_000_000);
        assert_eq!(
            classify(
                403,
                &headers(&[
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", "1700000120")
                ]),
                now
            ),
            Failure::RateLimited {
                retry_after: Some(Duration::from_secs(120)),
                resume_at: Some(at(1_700_000_120)),
            }
        );
        assert_eq!(
            classify(429, &headers(&[("retry-after", "30")]), now),
            Failure::RateLimited {
                retry_after: Some(Duration::from_secs(30)),
                resume_at: Some(at(1_700_000_030)),
            }
        );
        assert_eq!(
            classify(429, &HeaderMap::new(), now),
            Failure::RateLimited {
                retry_after: None,
                resume_at: None
            }
        );
        assert_eq!(
            classify(403, &headers(&[("x-ratelimit-remaining", "4999")]), now),
            Failure::NotVisible
        );
        assert_eq!(
            classify(403, &headers(&[("x-github-sso", "required; url=x")]), now),
            Failure::SsoRequired
        );
        assert_eq!(classify(404, &HeaderMap::new(), now), Failure::NotVisible);
        assert_eq!(classify(401, &HeaderMap::new(), now), Failure::Unauthorized);
        assert_eq!(
            classify(502, &HeaderMap::new(), now),
            Failure::Upstream(Some(502))
        );
    }

    #[test]
    fn a_reset_in_the_past_means_retry_now() {
        let now = at(1_700_000_000);
        assert_eq!(
            classify(
                403,
                &headers(&[
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", "1699999990")
                ]),
                now
            ),
            Failure::RateLimited {
                retry_after: Some(Duration::ZERO),
                resume_at: Some(now),
            }
        );
    }

    #[test]
    fn redirects_are_followed_only_below_the_api_base() {
        let base = notion_unfurl_sdk::Url::parse("https://ghe.example/api/v3")
            .unwrap_or_else(|e| panic!("{e}"));
        let client = TrustedClient::new(base, "test", Duration::from_secs(1))
            .unwrap_or_else(|e| panic!("{e}"));
        let api = Api::new(client);
        assert_eq!(
            api.path_under_base("https://ghe.example/api/v3/repositories/1/pulls/2")
                .as_deref(),
            Some("/repositories/1/pulls/2")
        );
        assert_eq!(
            api.path_under_base("/api/v3/repositories/1/pulls/2?x=1")
                .as_deref(),
            Some("/repositories/1/pulls/2?x=1")
        );
        assert_eq!(api.path_under_base("https://evil.example/api/v3/x"), None);
        assert_eq!(api.path_under_base("https://ghe.example/api/v30/x"), None);
        assert_eq!(api.path_under_base("https://ghe.example/login"), None);
    }

    #[test]
    fn identities_hash_tokens_and_tell_them_apart() {
        let a = Secret::new("token-a");
        let b = Secret::new("token-b");
        assert_eq!(Identity::of(Some(&a)), Identity::of(Some(&a.clone())));
        assert_ne!(Identity::of(Some(&a)), Identity::of(Some(&b)));
        assert_ne!(Identity::of(Some(&a)), Identity::Anonymous);
        assert!(!format!("{:?}", Identity::of(Some(&a))).contains("token-a"));
    }
}
