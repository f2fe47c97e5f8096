//! GitHub webhook events: which pull requests and commits one names, so that their
//! previews can be read again. The HTTP side (signature, delivery id, storage, answers) is
//! the server's; this module only reads the event name and the verified payload.
//!
//! Which pull requests an event names:
//! - `pull_request`, `pull_request_review`: `pull_request.html_url`;
//! - `issue_comment`: `issue.pull_request.html_url` (comments on plain issues are ignored);
//! - `check_suite`, `check_run`: the `pull_requests[]` numbers in the payload's repository,
//!   and the pull requests whose head is the checked commit;
//! - `status`: only a commit, so the pull requests whose head it is, as learnt from earlier
//!   `pull_request` and check events. A status on a commit never seen as a head (the
//!   webhook was added after the push) refreshes nothing until the next such event.

use notion_unfurl_sdk::Url;
use serde::Deserialize;

use crate::links::PullLink;

/// Pull requests one check event may name before the rest are ignored.
pub const MAX_PULLS_PER_EVENT: usize = 100;

/// The events this crate reads, by their `X-GitHub-Event` name: `ping`, and those that can
/// change a pull request's preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// Sent once when a webhook is created; names nothing.
    Ping,
    PullRequest,
    PullRequestReview,
    IssueComment,
    CheckSuite,
    CheckRun,
    Status,
}

impl Event {
    const ALL: [Event; 7] = [
        Event::Ping,
        Event::PullRequest,
        Event::PullRequestReview,
        Event::IssueComment,
        Event::CheckSuite,
        Event::CheckRun,
        Event::Status,
    ];

    /// The event an `X-GitHub-Event` header names, or `None` for one that changes no
    /// preview (`push`, `issues`, `release`, …).
    pub fn from_header(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|event| event.name() == name)
    }

    /// GitHub's name for the event, as the header carries it.
    pub fn name(self) -> &'static str {
        match self {
            Event::Ping => "ping",
            Event::PullRequest => "pull_request",
            Event::PullRequestReview => "pull_request_review",
            Event::IssueComment => "issue_comment",
            Event::CheckSuite => "check_suite",
            Event::CheckRun => "check_run",
            Event::Status => "status",
        }
    }
}

/// The pull requests and commits one event is about.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Pull request pages (`…/{owner}/{repo}/pull/{number}`), as the payload spells them.
    pub pulls: Vec<Url>,
    /// `(commit, pull request page)`: the commit is that pull request's head.
    pub heads: Vec<(String, Url)>,
    /// Commits whose pull requests are affected, to be looked up among known heads.
    pub commits: Vec<String>,
}

/// A body that is not the JSON of a GitHub event.
#[derive(Debug, thiserror::Error)]
#[error("not a GitHub event payload: {0}")]
pub struct PayloadError(#[from] serde_json::Error);

/// What `event`'s payload names, or `Ok(None)` when it concerns no pull request at all (a
/// ping, a comment on a plain issue). `web_url` is the GitHub web host, for a repository
/// the payload names without its page.
pub fn changes(event: Event, body: &[u8], web_url: &Url) -> Result<Option<Changes>, PayloadError> {
    let payload: Payload = serde_json::from_slice(body)?;
    Ok(named(event, &payload, web_url))
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
        if let Some(pull) = self.url.as_deref().and_then(PullLink::from_api_url) {
            return pull
                .page_on(repository)
                .filter(|page| PullLink::from_page(page).is_some());
        }
        let number = self.number?;
        pull_page(&format!(
            "{}/pull/{number}",
            repository.as_str().trim_end_matches('/')
        ))
    }
}

fn named(event: Event, payload: &Payload, web_url: &Url) -> Option<Changes> {
    let mut changes = Changes::default();
    match event {
        Event::Ping => return None,
        Event::PullRequest | Event::PullRequestReview => {
            let pull = payload.pull_request.as_ref()?;
            let url = pull_page(pull.html_url.as_deref()?)?;
            if let Some(sha) = pull.head.as_ref().and_then(|h| commit(h.sha.as_deref())) {
                changes.heads.push((sha, url.clone()));
            }
            changes.pulls.push(url);
        }
        Event::IssueComment => {
            let pull = payload.issue.as_ref()?.pull_request.as_ref()?;
            changes.pulls.push(pull_page(pull.html_url.as_deref()?)?);
        }
        Event::CheckSuite | Event::CheckRun => {
            let check = if event == Event::CheckRun {
                payload.check_run.as_ref()?
            } else {
                payload.check_suite.as_ref()?
            };
            let sha = commit(check.head_sha.as_deref());
            if let Some(repository) = payload
                .repository
                .as_ref()
                .and_then(|r| repository_url(r, web_url))
            {
                for url in check
                    .pull_requests
                    .iter()
                    .take(MAX_PULLS_PER_EVENT)
                    .filter_map(|p| p.page(&repository))
                {
                    if let Some(sha) = &sha {
                        changes.heads.push((sha.clone(), url.clone()));
                    }
                    changes.pulls.push(url);
                }
            }
            // Checks of pull requests from forks list no pull requests at all.
            changes.commits.extend(sha);
        }
        Event::Status => changes.commits.extend(commit(payload.sha.as_deref())),
    }
    Some(changes)
}

/// `url` if it is a pull request page ([`PullLink::from_page`]).
fn pull_page(url: &str) -> Option<Url> {
    Url::parse(url)
        .ok()
        .filter(|url| PullLink::from_page(url).is_some())
}

/// A commit id as GitHub writes it (hex; SHA-1 or SHA-256 repositories).
fn commit(sha: Option<&str>) -> Option<String> {
    let sha = sha?.trim();
    (matches!(sha.len(), 40 | 64) && sha.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| sha.to_ascii_lowercase())
}

fn repository_url(repository: &Repository, web_url: &Url) -> Option<Url> {
    if let Some(html) = repository
        .html_url
        .as_deref()
        .and_then(|u| Url::parse(u).ok())
    {
        return Some(html);
    }
    web_url.join(repository.full_name.as_deref()?).ok()
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    const SHA: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

    fn web() -> Url {
        Url::parse("https://github.com/").unwrap_or_else(|e| panic!("{e}"))
    }

    fn read(event: Event, json: serde_json::Value) -> Option<Changes> {
        changes(event, json.to_string().as_bytes(), &web()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn shown(urls: &[Url]) -> Vec<&str> {
        urls.iter().map(Url::as_str).collect()
    }

    #[test]
    fn event_names_are_githubs() {
        for event in Event::ALL {
            assert_eq!(Event::from_header(event.name()), Some(event));
        }
        assert_eq!(Event::from_header("pull_request"), Some(Event::PullRequest));
        for other in ["push", "issues", "release", "Pull_Request", ""] {
            assert_eq!(Event::from_header(other), None, "{other}");
        }
    }

    #[test]
    fn a_body_that_is_not_json_is_refused() {
        assert!(changes(Event::PullRequest, b"not json", &web()).is_err());
        assert!(changes(Event::Status, b"[1, 2]", &web()).is_err());
    }

    #[test]
    fn a_pull_request_event_names_its_pull_request_and_head() {
        let named = read(
            Event::PullRequest,
            serde_json::json!({
                "pull_request": {"html_url": "https://github.com/Codertocat/Hello-World/pull/2",
                                 "head": {"sha": SHA}}
            }),
        )
        .unwrap_or_default();
        assert_eq!(
            shown(&named.pulls),
            ["https://github.com/Codertocat/Hello-World/pull/2"]
        );
        assert_eq!(named.heads.len(), 1);
        assert_eq!(named.heads[0].0, SHA);
    }

    #[test]
    fn comments_count_only_on_pull_requests() {
        let on_issue =
            serde_json::json!({"issue": {"html_url": "https://github.com/o/r/issues/1"}});
        assert_eq!(read(Event::IssueComment, on_issue), None);
        let on_pull = serde_json::json!({"issue": {"pull_request": {
            "html_url": "https://github.com/o/r/pull/3"}}});
        let named = read(Event::IssueComment, on_pull).unwrap_or_default();
        assert_eq!(named.pulls.len(), 1);
    }

    #[test]
    fn a_ping_names_nothing() {
        assert_eq!(
            read(Event::Ping, serde_json::json!({"zen": "Keep it simple."})),
            None
        );
    }

    #[test]
    fn checks_name_pull_requests_in_the_payloads_repository() {
        let named = read(
            Event::CheckRun,
            serde_json::json!({
                "repository": {"full_name": "Codertocat/Hello-World",
                               "html_url": "https://github.com/Codertocat/Hello-World"},
                "check_run": {"head_sha": SHA, "pull_requests": [{"number": 2}, {"number": 5}]}
            }),
        )
        .unwrap_or_default();
        assert_eq!(
            shown(&named.pulls),
            [
                "https://github.com/Codertocat/Hello-World/pull/2",
                "https://github.com/Codertocat/Hello-World/pull/5"
            ]
        );
        assert_eq!(named.commits, [SHA]);

        let without_html = read(
            Event::CheckSuite,
            serde_json::json!({
                "repository": {"full_name": "o/r"},
                "check_suite": {"head_sha": SHA, "pull_requests": [{"number": 9}]}
            }),
        )
        .unwrap_or_default();
        assert_eq!(
            shown(&without_html.pulls),
            ["https://github.com/o/r/pull/9"]
        );
    }

    #[test]
    fn a_check_in_a_fork_names_the_pull_request_of_the_repository_it_belongs_to() {
        // The check ran in the fork; the pull request lives in the parent repository.
        let named = read(
            Event::CheckRun,
            serde_json::json!({
                "repository": {"full_name": "forker/Hello-World",
                               "html_url": "https://github.com/forker/Hello-World"},
                "check_run": {"head_sha": SHA, "pull_requests": [{
                    "number": 2,
                    "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2"
                }]}
            }),
        )
        .unwrap_or_default();
        assert_eq!(
            shown(&named.pulls),
            ["https://github.com/Codertocat/Hello-World/pull/2"]
        );
        assert_eq!(named.heads[0].1, named.pulls[0]);

        // GitHub Enterprise: an API prefix, and the web host of the repository.
        let enterprise = read(
            Event::CheckSuite,
            serde_json::json!({
                "repository": {"html_url": "https://git.example.com/team/app"},
                "check_suite": {"head_sha": SHA, "pull_requests": [{
                    "number": 7,
                    "url": "https://git.example.com/api/v3/repos/team/app/pulls/7"
                }]}
            }),
        )
        .unwrap_or_default();
        assert_eq!(
            shown(&enterprise.pulls),
            ["https://git.example.com/team/app/pull/7"]
        );
    }

    #[test]
    fn a_status_names_only_its_commit() {
        let named = read(
            Event::Status,
            serde_json::json!({"sha": SHA.to_uppercase()}),
        )
        .unwrap_or_default();
        assert_eq!(named.commits, [SHA]);
        assert!(named.pulls.is_empty());
        let junk = serde_json::json!({"sha": "not-a-commit"});
        assert_eq!(read(Event::Status, junk), Some(Changes::default()));
    }

    fn fixtures_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/github/webhooks")
    }

    #[test]
    fn githubs_own_payloads_name_the_fixtures_pull_request() {
        let read_fixture = |event: Event, name: &str| {
            let body = std::fs::read(fixtures_dir().join(format!("{name}.json"))).ok()?;
            Some(changes(event, &body, &web()).unwrap_or_else(|e| panic!("{name}: {e}")))
        };
        let Some(opened) = read_fixture(Event::PullRequest, "pull_request.opened") else {
            eprintln!(
                "skipping: no GitHub fixtures in {}",
                fixtures_dir().display()
            );
            return;
        };
        let pr = "https://github.com/Codertocat/Hello-World/pull/2";
        let opened = opened.unwrap_or_default();
        assert_eq!(shown(&opened.pulls), [pr]);
        assert_eq!(opened.heads.len(), 1);
        let review = read_fixture(Event::PullRequestReview, "pull_request_review.submitted");
        assert_eq!(
            review.flatten().map(|c| c.pulls.len()),
            Some(1),
            "a review names its pull request"
        );
        let on_issue = read_fixture(Event::IssueComment, "issue_comment.created.on-issue");
        assert_eq!(on_issue, Some(None));
        let status = read_fixture(Event::Status, "status")
            .flatten()
            .unwrap_or_default();
        assert_eq!(status.commits.len(), 1);
        assert!(status.pulls.is_empty());
    }
}
