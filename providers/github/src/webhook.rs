//! GitHub webhook events: which links one names, so that their previews can be read
//! again. The HTTP side (signature, delivery id, storage, answers) is the server's; this
//! module only reads the event name and the verified payload.
//!
//! Which links an event names (pages, in any form [`Link::from_page`] reads):
//! - `pull_request`, `pull_request_review`: `pull_request.html_url`, and the same number's
//!   `/issues/{n}` page (an issue link to a pull request previews the pull request);
//! - `issues`, `issue_comment`: `issue.html_url`, and for a pull request both its pages;
//! - `check_suite`, `check_run`: the `pull_requests[]` numbers in the payload's repository,
//!   the pull requests whose head is the checked commit, and the commit's page;
//! - `workflow_run`, `workflow_job`: the run's page and its commit's page;
//! - `release`: the release's page, and every release link of its repository (which one
//!   is the latest may have changed);
//! - `push`: the repository's page (its last push), and every file link at the pushed
//!   branch or tag ([`Changes::prefixes`]): their lines may have changed. The prefix ends
//!   with a slash, so a push to `feature/x` reaches `/blob/feature/x/…` and not
//!   `/blob/feature/y/…`; a link's canonical form keeps ref and path as written, so a
//!   push to a ref `feature` also re-reads `/blob/feature/x/…` links (needlessly, and
//!   only when a tag and a branch share the prefix: git keeps one namespace from holding
//!   both `feature` and `feature/x`);
//! - `repository`: the repository's page; when it turned private or public, was archived,
//!   unarchived or deleted, every link into it, whose cache scope or access changed;
//! - `status`: the commit's page, and the pull requests whose head it is, as learnt from
//!   earlier `pull_request` and check events. A status on a commit never seen as a head
//!   (the webhook was added after the push) refreshes no PR until the next such event.
//!
//! A commit's page names the commit by its full id; links to it by an abbreviated id
//! (`/commit/ec26c3e`) are affected alike ([`Changes::abbreviations`]).

use notion_unfurl_sdk::Url;
use serde::Deserialize;

use crate::links::{Link, PullLink, Resource, host_of};

/// Pull requests one check event may name before the rest are ignored.
pub const MAX_PULLS_PER_EVENT: usize = 100;

/// The events this crate reads, by their `X-GitHub-Event` name: `ping`, and those that can
/// change a preview.
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
    Issues,
    WorkflowRun,
    WorkflowJob,
    Release,
    Push,
    Repository,
}

impl Event {
    const ALL: [Event; 13] = [
        Event::Ping,
        Event::PullRequest,
        Event::PullRequestReview,
        Event::IssueComment,
        Event::CheckSuite,
        Event::CheckRun,
        Event::Status,
        Event::Issues,
        Event::WorkflowRun,
        Event::WorkflowJob,
        Event::Release,
        Event::Push,
        Event::Repository,
    ];

    /// The event an `X-GitHub-Event` header names, or `None` for one that changes no
    /// preview (`star`, `fork`, `member`, …).
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
            Event::Issues => "issues",
            Event::WorkflowRun => "workflow_run",
            Event::WorkflowJob => "workflow_job",
            Event::Release => "release",
            Event::Push => "push",
            Event::Repository => "repository",
        }
    }
}

/// The links and commits one event is about.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Pages of previewed resources ([`Link::from_page`]), as the payload spells them.
    pub pages: Vec<Url>,
    /// Canonical forms' prefixes ([`Link::canonical`]): every subscription whose canonical
    /// URI starts with one is affected (every file at a pushed branch, every link into a
    /// repository whose visibility changed).
    pub prefixes: Vec<String>,
    /// `(commit, pull request page)`: the commit is that pull request's head.
    pub heads: Vec<(String, Url)>,
    /// Commits whose pull requests are affected, to be looked up among known heads.
    pub commits: Vec<String>,
    /// The canonical forms of links to the commits of `pages` by an abbreviated id
    /// (`…/commit/ec26c3e` to one digit short of the full id): those subscribed to are
    /// affected as the commit's page is. Exact forms rather than a prefix, so that the
    /// frequent check events are looked up on the canonical URI's index.
    pub abbreviations: Vec<String>,
}

/// A body that is not the JSON of a GitHub event.
#[derive(Debug, thiserror::Error)]
#[error("not a GitHub event payload: {0}")]
pub struct PayloadError(#[from] serde_json::Error);

/// What `event`'s payload names, or `Ok(None)` when it concerns no preview at all (a
/// ping). `web_url` is the GitHub web host, for a repository
/// the payload names without its page.
pub fn changes(event: Event, body: &[u8], web_url: &Url) -> Result<Option<Changes>, PayloadError> {
    let payload: Payload = serde_json::from_slice(body)?;
    Ok(named(event, &payload, web_url))
}

/// The parts of GitHub's event payloads we read; everything else is skipped unparsed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Payload {
    action: Option<String>,
    repository: Option<Repository>,
    pull_request: Option<PullRequest>,
    issue: Option<Issue>,
    check_suite: Option<Check>,
    check_run: Option<Check>,
    sha: Option<String>,
    workflow_run: Option<Run>,
    workflow_job: Option<Job>,
    release: Option<Paged>,
    #[serde(rename = "ref")]
    reference: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Run {
    html_url: Option<String>,
    head_sha: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Job {
    html_url: Option<String>,
    run_id: Option<u64>,
    head_sha: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Paged {
    html_url: Option<String>,
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
    html_url: Option<String>,
    number: Option<u64>,
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
    let repository = payload
        .repository
        .as_ref()
        .and_then(|r| repository_url(r, web_url));
    match event {
        Event::Ping => return None,
        Event::PullRequest | Event::PullRequestReview => {
            let pull = payload.pull_request.as_ref()?;
            let url = pull_page(pull.html_url.as_deref()?)?;
            if let Some(sha) = pull.head.as_ref().and_then(|h| commit(h.sha.as_deref())) {
                changes.heads.push((sha, url.clone()));
            }
            changes.pages.extend(issue_page_of_pull(&url));
            changes.pages.push(url);
        }
        Event::IssueComment | Event::Issues => {
            let issue = payload.issue.as_ref()?;
            if let Some(pull) = issue.pull_request.as_ref() {
                let url = pull_page(pull.html_url.as_deref()?)?;
                changes.pages.extend(issue_page_of_pull(&url));
                changes.pages.push(url);
            } else {
                changes.pages.extend(page(issue.html_url.as_deref()));
            }
        }
        Event::CheckSuite | Event::CheckRun => {
            let check = if event == Event::CheckRun {
                payload.check_run.as_ref()?
            } else {
                payload.check_suite.as_ref()?
            };
            let sha = commit(check.head_sha.as_deref());
            if let Some(repository) = &repository {
                for url in check
                    .pull_requests
                    .iter()
                    .take(MAX_PULLS_PER_EVENT)
                    .filter_map(|p| p.page(repository))
                {
                    if let Some(sha) = &sha {
                        changes.heads.push((sha.clone(), url.clone()));
                    }
                    changes.pages.push(url);
                }
            }
            changes
                .pages
                .extend(commit_page(repository.as_ref(), sha.as_deref()));
            // Checks of pull requests from forks list no pull requests at all.
            changes.commits.extend(sha);
        }
        Event::Status => {
            let sha = commit(payload.sha.as_deref());
            changes
                .pages
                .extend(commit_page(repository.as_ref(), sha.as_deref()));
            changes.commits.extend(sha);
        }
        Event::WorkflowRun => {
            let run = payload.workflow_run.as_ref()?;
            changes.pages.extend(page(run.html_url.as_deref()));
            let sha = commit(run.head_sha.as_deref());
            changes
                .pages
                .extend(commit_page(repository.as_ref(), sha.as_deref()));
        }
        Event::WorkflowJob => {
            let job = payload.workflow_job.as_ref()?;
            let run = match (job.run_id, &repository) {
                (Some(id), Some(repository)) => {
                    page(Some(&format!("{}/actions/runs/{id}", trimmed(repository))))
                }
                _ => page(job.html_url.as_deref()),
            };
            changes.pages.extend(run);
            let sha = commit(job.head_sha.as_deref());
            changes
                .pages
                .extend(commit_page(repository.as_ref(), sha.as_deref()));
        }
        Event::Release => {
            changes
                .pages
                .extend(page(payload.release.as_ref()?.html_url.as_deref()));
            if let Some(base) = repository.as_ref().and_then(canonical_repository) {
                changes.prefixes.push(format!("{base}/releases/tag/"));
            }
        }
        Event::Push => {
            let repository = repository?;
            changes.pages.extend(page(Some(repository.as_str())));
            let pushed = payload.reference.as_deref().and_then(|r| {
                r.strip_prefix("refs/heads/")
                    .or_else(|| r.strip_prefix("refs/tags/"))
            });
            if let (Some(name), Some(base)) = (pushed, canonical_repository(&repository)) {
                changes.prefixes.push(format!("{base}/blob/{name}/"));
            }
        }
        Event::Repository => {
            let repository = repository?;
            changes.pages.extend(page(Some(repository.as_str())));
            let everything = matches!(
                payload.action.as_deref(),
                Some("privatized" | "publicized" | "archived" | "unarchived" | "deleted")
            );
            if let (true, Some(base)) = (everything, canonical_repository(&repository)) {
                changes.prefixes.push(format!("{base}/"));
            }
        }
    }
    changes.abbreviations = changes.pages.iter().flat_map(abbreviations).collect();
    Some(changes)
}

/// [`Changes::abbreviations`] of one page, when it is a commit's by its full id.
fn abbreviations(page: &Url) -> Vec<String> {
    let Some(link) = Link::from_page(page) else {
        return Vec::new();
    };
    let (Resource::Commit(sha), Some(host)) = (&link.resource, host_of(page)) else {
        return Vec::new();
    };
    let Some(full) = commit(Some(sha)) else {
        return Vec::new();
    };
    let base = link.repository_canonical(&host);
    (7..full.len())
        .map(|digits| format!("{base}/commit/{}", &full[..digits]))
        .collect()
}

/// `url` if it names a previewed resource ([`Link::from_page`]).
fn page(url: Option<&str>) -> Option<Url> {
    Url::parse(url?)
        .ok()
        .filter(|url| Link::from_page(url).is_some())
}

/// The `/issues/{n}` page of a pull request's page: GitHub numbers both in one sequence.
fn issue_page_of_pull(pull: &Url) -> Option<Url> {
    let link = PullLink::from_page(pull)?;
    pull.join(&format!(
        "/{}/{}/issues/{}",
        link.owner, link.repo, link.number
    ))
    .ok()
}

/// The page of commit `sha` in `repository`.
fn commit_page(repository: Option<&Url>, sha: Option<&str>) -> Option<Url> {
    page(Some(&format!("{}/commit/{}", trimmed(repository?), sha?)))
}

fn trimmed(url: &Url) -> &str {
    url.as_str().trim_end_matches('/')
}

/// [`Link::repository_canonical`] of a repository's page.
fn canonical_repository(repository: &Url) -> Option<String> {
    let link = Link::from_page(repository)?;
    let host = host_of(repository)?;
    matches!(link.resource, Resource::Repository).then(|| link.repository_canonical(&host))
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
        for other in ["star", "fork", "Pull_Request", ""] {
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
            shown(&named.pages),
            [
                "https://github.com/Codertocat/Hello-World/issues/2",
                "https://github.com/Codertocat/Hello-World/pull/2"
            ]
        );
        assert_eq!(named.heads.len(), 1);
        assert_eq!(named.heads[0].0, SHA);
    }

    #[test]
    fn comments_name_the_issue_or_both_pages_of_a_pull_request() {
        let on_issue =
            serde_json::json!({"issue": {"html_url": "https://github.com/o/r/issues/1"}});
        let named = read(Event::IssueComment, on_issue).unwrap_or_default();
        assert_eq!(shown(&named.pages), ["https://github.com/o/r/issues/1"]);
        let on_pull = serde_json::json!({"issue": {
            "html_url": "https://github.com/o/r/pull/3",
            "pull_request": {"html_url": "https://github.com/o/r/pull/3"}}});
        let named = read(Event::IssueComment, on_pull).unwrap_or_default();
        assert_eq!(
            shown(&named.pages),
            [
                "https://github.com/o/r/issues/3",
                "https://github.com/o/r/pull/3"
            ]
        );
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
            shown(&named.pages),
            [
                "https://github.com/Codertocat/Hello-World/pull/2",
                "https://github.com/Codertocat/Hello-World/pull/5",
                "https://github.com/Codertocat/Hello-World/commit/ec26c3e57ca3a959ca5aad62de7213c562f8c821"
            ]
        );
        assert_eq!(named.commits, [SHA]);
        let commit = "https://github.com/codertocat/hello-world/commit/";
        assert_eq!(named.abbreviations.len(), 40 - 7);
        assert_eq!(named.abbreviations[0], format!("{commit}ec26c3e"));
        assert_eq!(named.abbreviations[32], format!("{commit}{}", &SHA[..39]));

        let without_html = read(
            Event::CheckSuite,
            serde_json::json!({
                "repository": {"full_name": "o/r"},
                "check_suite": {"head_sha": SHA, "pull_requests": [{"number": 9}]}
            }),
        )
        .unwrap_or_default();
        assert_eq!(
            shown(&without_html.pages)[0],
            "https://github.com/o/r/pull/9"
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
            shown(&named.pages)[0],
            "https://github.com/Codertocat/Hello-World/pull/2"
        );
        assert_eq!(named.heads[0].1, named.pages[0]);

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
            shown(&enterprise.pages)[0],
            "https://git.example.com/team/app/pull/7"
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
        assert!(named.pages.is_empty());
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
        assert_eq!(
            shown(&opened.pages),
            ["https://github.com/Codertocat/Hello-World/issues/2", pr]
        );
        assert_eq!(opened.heads.len(), 1);
        let review = read_fixture(Event::PullRequestReview, "pull_request_review.submitted");
        assert_eq!(
            review.flatten().map(|c| c.pages.len()),
            Some(2),
            "a review names its pull request"
        );
        let issue = "https://github.com/Codertocat/Hello-World/issues/1";
        for (event, name) in [
            (Event::IssueComment, "issue_comment.created.on-issue"),
            (Event::Issues, "issues.opened"),
            (Event::Issues, "issues.labeled"),
            (Event::Issues, "issues.assigned"),
            (Event::Issues, "issues.reopened"),
        ] {
            let named = read_fixture(event, name).flatten().unwrap_or_default();
            assert_eq!(shown(&named.pages), [issue], "{name}");
        }
        let status = read_fixture(Event::Status, "status")
            .flatten()
            .unwrap_or_default();
        assert_eq!(status.commits.len(), 1);
        assert_eq!(status.pages.len(), 1, "the commit's page");
        let run = read_fixture(Event::WorkflowRun, "workflow_run.completed")
            .flatten()
            .unwrap_or_default();
        assert_eq!(
            shown(&run.pages),
            [
                "https://github.com/octo-org/octo-repo/actions/runs/289782451",
                "https://github.com/octo-org/octo-repo/commit/3484a3fb816e0859fd6e1cea078d76385ff50625"
            ]
        );
        let release = read_fixture(Event::Release, "release.published")
            .flatten()
            .unwrap_or_default();
        assert_eq!(
            shown(&release.pages),
            ["https://github.com/Codertocat/Hello-World/releases/tag/0.0.1"]
        );
        assert_eq!(
            release.prefixes,
            ["https://github.com/codertocat/hello-world/releases/tag/"]
        );
        let push = read_fixture(Event::Push, "push")
            .flatten()
            .unwrap_or_default();
        assert_eq!(
            shown(&push.pages),
            ["https://github.com/Codertocat/Hello-World"]
        );
        assert_eq!(
            push.prefixes,
            ["https://github.com/codertocat/hello-world/blob/simple-tag/"]
        );
        let edited = read_fixture(Event::Repository, "repository.edited")
            .flatten()
            .unwrap_or_default();
        assert_eq!(
            shown(&edited.pages),
            ["https://github.com/Octocoders/Hello-World"]
        );
        assert!(
            edited.prefixes.is_empty(),
            "an edit changes the repository only"
        );
    }

    #[test]
    fn a_repository_turning_private_names_every_link_into_it() {
        let named = read(
            Event::Repository,
            serde_json::json!({"action": "privatized", "repository": {
                "full_name": "Octo/App", "html_url": "https://github.com/Octo/App"}}),
        )
        .unwrap_or_default();
        assert_eq!(named.prefixes, ["https://github.com/octo/app/"]);
    }

    #[test]
    fn a_job_names_its_run_and_a_push_to_a_branch_its_files() {
        let job = read(
            Event::WorkflowJob,
            serde_json::json!({
                "repository": {"html_url": "https://github.com/o/r"},
                "workflow_job": {"run_id": 5, "head_sha": SHA,
                    "html_url": "https://github.com/o/r/actions/runs/5/job/6"}}),
        )
        .unwrap_or_default();
        assert_eq!(
            shown(&job.pages),
            [
                "https://github.com/o/r/actions/runs/5",
                "https://github.com/o/r/commit/ec26c3e57ca3a959ca5aad62de7213c562f8c821"
            ]
        );
        let push = read(
            Event::Push,
            serde_json::json!({"ref": "refs/heads/feature/x",
                "repository": {"html_url": "https://github.com/O/R"}}),
        )
        .unwrap_or_default();
        assert_eq!(push.prefixes, ["https://github.com/o/r/blob/feature/x/"]);
    }
}
