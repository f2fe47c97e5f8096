//! `POST /webhooks/github`: GitHub tells us a pull request changed (issue 4, "Live
//! updates"; security.md "Webhooks").
//!
//! Nothing about the request is trusted before its signature: the raw body is read (up to
//! GitHub's 25 MB cap), its HMAC-SHA256 under `UNFURL_GITHUB_WEBHOOK_SECRET` is compared in
//! constant time with `X-Hub-Signature-256`, and only then are the headers and the JSON
//! looked at. An accepted event is only recorded (delivery id and one outbox row per
//! subscription, one transaction) and acknowledged with 202; the outbox worker
//! (crate::live::outbox) re-reads the pull requests and pushes them to Notion.
//!
//! Which pull requests an event names:
//! - `pull_request`, `pull_request_review`: `pull_request.html_url`;
//! - `issue_comment`: `issue.pull_request.html_url` (comments on plain issues are ignored);
//! - `check_suite`, `check_run`: the `pull_requests[]` numbers in the payload's repository,
//!   and the pull requests whose head is the checked commit;
//! - `status`: only a commit, so the pull requests whose head it is, as learnt from earlier
//!   `pull_request` and check events. A status on a commit we never saw as a head (the
//!   webhook was added after the push) refreshes nothing until the next such event.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use url::Url;

use crate::http::error_json::ErrorJson;
use crate::http::limits::Limits;
use crate::http::request::{BodyError, read_limited};
use crate::platform::clock::unix_ms;
use crate::state::AppState;
use crate::store::{Accepted, WebhookDelivery};

/// GitHub caps webhook payloads at 25 MB; larger ones are never sent.
pub const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

/// Events that can change a pull request's preview.
const EVENTS: [&str; 6] = [
    "pull_request",
    "pull_request_review",
    "check_suite",
    "check_run",
    "status",
    "issue_comment",
];

/// Pull requests one check event may name before the rest are ignored.
const MAX_PULLS_PER_EVENT: usize = 100;

/// Everything `/webhooks/github` answers with an HTTP error status.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhooks are not enabled on this server (UNFURL_GITHUB_WEBHOOK_SECRET is unset)")]
    NotConfigured,
    #[error("the X-Hub-Signature-256 signature is missing or does not match")]
    BadSignature,
    #[error("the request body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("{0}")]
    BadRequest(&'static str),
    #[error("the service is temporarily unavailable; please redeliver")]
    Unavailable,
}

impl ResponseError for WebhookError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotConfigured | Self::BadSignature => StatusCode::UNAUTHORIZED,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = match self {
            Self::NotConfigured | Self::BadSignature => "invalid_signature",
            Self::TooLarge => "payload_too_large",
            Self::BadRequest(_) => "invalid_request",
            Self::Unavailable => "temporarily_unavailable",
        };
        HttpResponse::build(self.status_code()).json(ErrorJson {
            error: code,
            message: self.to_string(),
        })
    }
}

/// What a 2xx answer says happened.
#[derive(Serialize)]
struct Ack {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    updates: Option<u64>,
}

fn ack(status: StatusCode, what: &'static str, updates: Option<u64>) -> HttpResponse {
    HttpResponse::build(status).json(Ack {
        status: what,
        updates,
    })
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get(name)?
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret`.
pub fn signature_matches(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Some(expected) = signature
        .strip_prefix("sha256=")
        .and_then(|hex| hex::decode(hex).ok())
    else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

#[tracing::instrument(name = "github_webhook", skip_all, fields(event, delivery))]
pub async fn github(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    limits: web::Data<Limits>,
) -> Result<HttpResponse, WebhookError> {
    let Some(secret) = state.settings.github_webhook_secret.as_ref() else {
        tracing::warn!("webhook refused: UNFURL_GITHUB_WEBHOOK_SECRET is not set");
        return Err(WebhookError::NotConfigured);
    };
    let signature = header(&req, "x-hub-signature-256").ok_or_else(|| {
        tracing::info!("webhook refused: no signature");
        WebhookError::BadSignature
    })?;
    // Bodies are read before they can be verified; bounding how many are read at once, and
    // for how long, bounds what an unauthenticated sender can make us hold.
    // A delivery waits up to a third of the read deadline for a slot, then its body gets the
    // whole deadline (`UNFURL_WEBHOOK_READ_TIMEOUT_SECS`).
    let deadline = state.settings.webhook_read_timeout;
    let Ok(Ok(_reading)) = tokio::time::timeout(deadline / 3, limits.webhook_reads.acquire()).await
    else {
        tracing::warn!("webhook refused: too many bodies being read");
        return Err(WebhookError::Unavailable);
    };
    let body = tokio::time::timeout(deadline, read_limited(&req, payload, MAX_BODY_BYTES))
        .await
        .map_err(|_| WebhookError::BadRequest("the body was not sent in time"))?
        .map_err(|e| match e {
            BodyError::TooLarge => WebhookError::TooLarge,
            BodyError::Unreadable => WebhookError::BadRequest("the body could not be read"),
        })?;
    if !signature_matches(secret.expose().as_bytes(), &body, signature) {
        tracing::info!("webhook refused: signature mismatch");
        return Err(WebhookError::BadSignature);
    }

    let event = header(&req, "x-github-event").unwrap_or_default();
    let span = tracing::Span::current();
    span.record("event", event);
    if event == "ping" {
        return Ok(ack(StatusCode::OK, "pong", None));
    }
    if !EVENTS.contains(&event) {
        return Ok(ack(StatusCode::ACCEPTED, "ignored", None));
    }
    let delivery = header(&req, "x-github-delivery")
        .filter(|id| id.len() <= 128)
        .ok_or(WebhookError::BadRequest(
            "X-GitHub-Delivery is missing or too long",
        ))?;
    span.record("delivery", delivery);

    let parsed: Payload = serde_json::from_slice(&body)
        .map_err(|_| WebhookError::BadRequest("the body is not a GitHub event payload"))?;
    let Some(named) = pulls_named(event, &parsed, &state.settings.github_web_url) else {
        return Ok(ack(StatusCode::ACCEPTED, "ignored", None));
    };
    let canonical = |url: &Url| canonical_forms(url, &state.unfurler.canonical_uri(url));
    let mut canonical_uris: Vec<String> = named.pulls.iter().flat_map(&canonical).collect();
    canonical_uris.sort();
    canonical_uris.dedup();
    let mut heads: Vec<(String, String)> = named
        .heads
        .iter()
        .flat_map(|(sha, url)| canonical(url).into_iter().map(|c| (sha.clone(), c)))
        .collect();
    heads.sort();
    heads.dedup();

    let accepted = state
        .connections
        .store()
        .accept_webhook(WebhookDelivery {
            id: delivery,
            event,
            canonical_uris: &canonical_uris,
            heads: &heads,
            commits: &named.commits,
            now_ms: unix_ms(),
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "could not record a webhook");
            WebhookError::Unavailable
        })?;
    match accepted {
        Accepted::Duplicate => {
            tracing::info!("duplicate webhook delivery ignored");
            Ok(ack(StatusCode::OK, "duplicate", None))
        }
        Accepted::Queued { updates } => {
            tracing::info!(updates, "webhook accepted");
            if updates > 0 {
                state.outbox.wake();
            }
            Ok(ack(StatusCode::ACCEPTED, "queued", Some(updates)))
        }
    }
}

/// The parts of GitHub's event payloads we read; everything else is skipped unparsed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Payload {
    repository: Option<Repository>,
    pull_request: Option<PullRequest>,
    issue: Option<Issue>,
    check_suite: Option<Check>,
    check_run: Option<Check>,
    sha: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Repository {
    full_name: Option<String>,
    html_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PullRequest {
    html_url: Option<String>,
    head: Option<Head>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Head {
    sha: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Issue {
    pull_request: Option<IssuePull>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct IssuePull {
    html_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Check {
    head_sha: Option<String>,
    pull_requests: Vec<CheckPull>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CheckPull {
    number: Option<u64>,
    /// The pull request's API URL (`…/repos/{owner}/{repo}/pulls/{number}`). It names the
    /// repository the pull request belongs to, which for a check run in a fork is not the
    /// payload's repository.
    url: Option<String>,
}

impl CheckPull {
    /// The pull request's page on the web host of `repository`: from its API URL when
    /// that reads right, else the number in `repository`.
    fn page(&self, repository: &Url) -> Option<Url> {
        if let Some((owner, repo, number)) = self.url.as_deref().and_then(api_pull_path) {
            let root = repository.join("/").ok()?;
            return pull_url(
                root.join(&format!("{owner}/{repo}/pull/{number}"))
                    .ok()?
                    .as_str(),
            );
        }
        let number = self.number?;
        pull_url(&format!(
            "{}/pull/{number}",
            repository.as_str().trim_end_matches('/')
        ))
    }
}

/// `(owner, repo, number)` of a pull request's API URL, under any API prefix (GitHub
/// Enterprise serves `/api/v3/repos/…`).
fn api_pull_path(url: &str) -> Option<(String, String, u64)> {
    let url = Url::parse(url).ok()?;
    let segments: Vec<&str> = url.path_segments()?.collect();
    let at = segments.iter().position(|s| *s == "repos")?;
    match segments.get(at + 1..)? {
        [owner, repo, "pulls", number] if !owner.is_empty() && !repo.is_empty() => Some((
            (*owner).to_owned(),
            (*repo).to_owned(),
            number.parse().ok()?,
        )),
        _ => None,
    }
}

/// The pull requests and commits one event is about.
#[derive(Debug, Default, PartialEq, Eq)]
struct Named {
    /// Pull request pages (`…/{owner}/{repo}/pull/{number}`).
    pulls: Vec<Url>,
    /// `(commit, pull request)`: the commit is that pull request's head.
    heads: Vec<(String, Url)>,
    /// Commits whose pull requests are affected, to be looked up.
    commits: Vec<String>,
}

/// What `event` names, or `None` when it concerns no pull request at all.
fn pulls_named(event: &str, payload: &Payload, github_web_url: &Url) -> Option<Named> {
    let mut named = Named::default();
    match event {
        "pull_request" | "pull_request_review" => {
            let pull = payload.pull_request.as_ref()?;
            let url = pull_url(pull.html_url.as_deref()?)?;
            if let Some(sha) = pull.head.as_ref().and_then(|h| commit(h.sha.as_deref())) {
                named.heads.push((sha, url.clone()));
            }
            named.pulls.push(url);
        }
        "issue_comment" => {
            let pull = payload.issue.as_ref()?.pull_request.as_ref()?;
            named.pulls.push(pull_url(pull.html_url.as_deref()?)?);
        }
        "check_suite" | "check_run" => {
            let check = if event == "check_run" {
                payload.check_run.as_ref()?
            } else {
                payload.check_suite.as_ref()?
            };
            let sha = commit(check.head_sha.as_deref());
            if let Some(repository) = payload
                .repository
                .as_ref()
                .and_then(|r| repository_url(r, github_web_url))
            {
                for url in check
                    .pull_requests
                    .iter()
                    .take(MAX_PULLS_PER_EVENT)
                    .filter_map(|p| p.page(&repository))
                {
                    if let Some(sha) = &sha {
                        named.heads.push((sha.clone(), url.clone()));
                    }
                    named.pulls.push(url);
                }
            }
            // Checks of pull requests from forks list no pull requests at all.
            named.commits.extend(sha);
        }
        "status" => named.commits.extend(commit(payload.sha.as_deref())),
        _ => return None,
    }
    Some(named)
}

/// A commit id as GitHub writes it (hex; SHA-1 or SHA-256 repositories).
fn commit(sha: Option<&str>) -> Option<String> {
    let sha = sha?.trim();
    (matches!(sha.len(), 40 | 64) && sha.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| sha.to_ascii_lowercase())
}

fn repository_url(repository: &Repository, github_web_url: &Url) -> Option<Url> {
    if let Some(html) = repository
        .html_url
        .as_deref()
        .and_then(|u| Url::parse(u).ok())
    {
        return Some(html);
    }
    github_web_url.join(repository.full_name.as_deref()?).ok()
}

/// `url` if it is a pull request page: `http(s)://host/{owner}/{repo}/pull/{number}`.
fn pull_url(url: &str) -> Option<Url> {
    let url = Url::parse(url).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    let segments: Vec<&str> = url.path_segments()?.collect();
    match segments.as_slice() {
        [owner, repo, "pull", number, ..]
            if !owner.is_empty()
                && !repo.is_empty()
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(url)
        }
        _ => None,
    }
}

/// The canonical URIs subscriptions to `pull` may be stored under: the routed provider's
/// (`routed`) and the GitHub provider's form, `…/{owner}/{repo}/pull/{number}` with owner
/// and repository lower-cased (GitHub treats them case-insensitively), so the webhook finds
/// subscriptions whichever provider served the preview.
fn canonical_forms(pull: &Url, routed: &str) -> Vec<String> {
    let mut forms = vec![routed.to_owned()];
    if let Some(segments) = pull.path_segments().map(|s| s.collect::<Vec<_>>())
        && let [owner, repo, "pull", number, ..] = segments.as_slice()
    {
        let mut canonical = pull.clone();
        canonical.set_path(&format!(
            "{}/{}/pull/{number}",
            owner.to_ascii_lowercase(),
            repo.to_ascii_lowercase()
        ));
        canonical.set_query(None);
        canonical.set_fragment(None);
        forms.push(canonical.to_string());
    }
    forms.dedup();
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web() -> Url {
        Url::parse("https://github.com/").unwrap_or_else(|e| panic!("{e}"))
    }

    fn parse(json: serde_json::Value) -> Payload {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|e| panic!("{e}"));
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    const SHA: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

    #[test]
    fn only_the_exact_signature_is_accepted() {
        let body = br#"{"zen":"Keep it logically awesome."}"#;
        let good = sign(b"s3cret", body);
        assert!(signature_matches(b"s3cret", body, &good));
        assert!(!signature_matches(b"other", body, &good));
        assert!(!signature_matches(b"s3cret", b"{}", &good));
        assert!(!signature_matches(
            b"s3cret",
            body,
            good.trim_start_matches("sha256=")
        ));
        assert!(!signature_matches(
            b"s3cret",
            body,
            &good.replace("sha256=", "sha1=")
        ));
        assert!(!signature_matches(b"s3cret", body, "sha256=zz"));
        assert!(!signature_matches(b"s3cret", body, &good[..good.len() - 2]));
    }

    #[test]
    fn a_pull_request_event_names_its_pull_request_and_head() {
        let payload = parse(serde_json::json!({
            "pull_request": {"html_url": "https://github.com/Codertocat/Hello-World/pull/2",
                             "head": {"sha": SHA}}
        }));
        let named = pulls_named("pull_request", &payload, &web()).unwrap_or_default();
        let pull = Url::parse("https://github.com/Codertocat/Hello-World/pull/2").ok();
        assert_eq!(named.pulls, pull.clone().into_iter().collect::<Vec<_>>());
        assert_eq!(named.heads.len(), 1);
        assert_eq!(named.heads[0].0, SHA);
    }

    #[test]
    fn comments_count_only_on_pull_requests() {
        let on_issue =
            parse(serde_json::json!({"issue": {"html_url": "https://github.com/o/r/issues/1"}}));
        assert_eq!(pulls_named("issue_comment", &on_issue, &web()), None);
        let on_pull = parse(serde_json::json!({"issue": {"pull_request": {
            "html_url": "https://github.com/o/r/pull/3"}}}));
        let named = pulls_named("issue_comment", &on_pull, &web()).unwrap_or_default();
        assert_eq!(named.pulls.len(), 1);
    }

    #[test]
    fn checks_name_pull_requests_in_the_payloads_repository() {
        let payload = parse(serde_json::json!({
            "repository": {"full_name": "Codertocat/Hello-World",
                           "html_url": "https://github.com/Codertocat/Hello-World"},
            "check_run": {"head_sha": SHA, "pull_requests": [{"number": 2}, {"number": 5}]}
        }));
        let named = pulls_named("check_run", &payload, &web()).unwrap_or_default();
        let shown: Vec<&str> = named.pulls.iter().map(Url::as_str).collect();
        assert_eq!(
            shown,
            [
                "https://github.com/Codertocat/Hello-World/pull/2",
                "https://github.com/Codertocat/Hello-World/pull/5"
            ]
        );
        assert_eq!(named.commits, [SHA]);

        let without_html = parse(serde_json::json!({
            "repository": {"full_name": "o/r"},
            "check_suite": {"head_sha": SHA, "pull_requests": [{"number": 9}]}
        }));
        let named = pulls_named("check_suite", &without_html, &web()).unwrap_or_default();
        assert_eq!(named.pulls[0].as_str(), "https://github.com/o/r/pull/9");
    }

    #[test]
    fn a_check_in_a_fork_names_the_pull_request_of_the_repository_it_belongs_to() {
        // The check ran in the fork; the pull request lives in the parent repository.
        let payload = parse(serde_json::json!({
            "repository": {"full_name": "forker/Hello-World",
                           "html_url": "https://github.com/forker/Hello-World"},
            "check_run": {"head_sha": SHA, "pull_requests": [{
                "number": 2,
                "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2"
            }]}
        }));
        let named = pulls_named("check_run", &payload, &web()).unwrap_or_default();
        let shown: Vec<&str> = named.pulls.iter().map(Url::as_str).collect();
        assert_eq!(shown, ["https://github.com/Codertocat/Hello-World/pull/2"]);
        assert_eq!(named.heads[0].1.as_str(), shown[0]);

        // GitHub Enterprise: an API prefix, and the web host of the repository.
        let enterprise = parse(serde_json::json!({
            "repository": {"html_url": "https://git.example.com/team/app"},
            "check_suite": {"head_sha": SHA, "pull_requests": [{
                "number": 7,
                "url": "https://git.example.com/api/v3/repos/team/app/pulls/7"
            }]}
        }));
        let named = pulls_named("check_suite", &enterprise, &web()).unwrap_or_default();
        assert_eq!(
            named.pulls[0].as_str(),
            "https://git.example.com/team/app/pull/7"
        );
    }

    #[test]
    fn a_status_names_only_its_commit() {
        let payload = parse(serde_json::json!({"sha": SHA.to_uppercase()}));
        let named = pulls_named("status", &payload, &web()).unwrap_or_default();
        assert_eq!(named.commits, [SHA]);
        assert!(named.pulls.is_empty());
        let junk = parse(serde_json::json!({"sha": "not-a-commit"}));
        assert_eq!(pulls_named("status", &junk, &web()), Some(Named::default()));
    }

    #[test]
    fn links_that_are_not_pull_requests_are_ignored() {
        for url in [
            "https://github.com/o/r/issues/1",
            "https://github.com/o/r/pull/x",
            "https://github.com/o/pull/1",
            "ftp://github.com/o/r/pull/1",
            "not a url",
        ] {
            assert_eq!(pull_url(url), None, "{url}");
        }
    }

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
