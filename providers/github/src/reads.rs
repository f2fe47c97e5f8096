//! The reads of one preview, by kind of link: which requests, side by side where GitHub
//! allows it, and the cache scope each answer allows.

use std::sync::Arc;

use notion_unfurl_sdk::{CacheScope, Preview};

use crate::api::{Credential, Failure};
use crate::attributes;
use crate::issue;
use crate::links::{Link, PullLink, Resource};
use crate::provider::{CACHE_TTL, Caller, GitHub, STALE_TTL};
use crate::pull::{CheckSummary, PullSummary, ReviewSummary};
use crate::{commit, release, repository, run};

impl GitHub {
    /// The reads of one preview, by kind of link.
    pub(crate) async fn build(&self, link: &Link, caller: Caller<'_>) -> Result<Preview, Failure> {
        match &link.resource {
            Resource::Pull(number) => {
                let pull = PullLink {
                    owner: link.owner.clone(),
                    repo: link.repo.clone(),
                    number: *number,
                };
                self.build_pull(&pull, caller).await
            }
            Resource::Issue(number) => self.build_issue(link, *number, caller).await,
            Resource::Repository => self.build_repository(link, caller).await,
            Resource::Release(tag) => self.build_release(link, tag, caller).await,
            Resource::Run(id) => self.build_run(link, *id, caller).await,
            Resource::Commit(sha) => self.build_commit(link, sha, caller).await,
            Resource::Blob {
                reference,
                path,
                lines,
            } => self.build_blob(link, reference, path, *lines, caller).await,
        }
    }

    /// An issue; a pull request when the number is one.
    async fn build_issue(
        &self,
        link: &Link,
        number: u64,
        caller: Caller<'_>,
    ) -> Result<Preview, Failure> {
        let who = caller.credential();
        let path = format!("{}/issues/{number}", link.repository_api_path());
        let read = self.api.get(&self.api.issues, &who, &path);
        let (issue, scope) = self
            .visible(&who, link, caller, read, || {
                self.api.issues.forget(who.identity(), &path);
            })
            .await?;
        if issue.is_pull {
            let pull = PullLink {
                owner: link.owner.clone(),
                repo: link.repo.clone(),
                number,
            };
            return self.build_pull(&pull, caller).await;
        }
        Ok(Preview::new(issue::attributes(&issue, &link.full_name()))
            .scope(scope)
            .ttl(CACHE_TTL))
    }

    /// A repository: its own answer says whether it is private.
    async fn build_repository(&self, link: &Link, caller: Caller<'_>) -> Result<Preview, Failure> {
        let who = caller.credential();
        let path = link.repository_api_path();
        let repo = self.api.get(&self.api.repos, &who, &path).await?;
        if caller.public_only() && repo.private {
            self.api.repos.forget(who.identity(), &path);
            return Err(Failure::NotVisible);
        }
        Ok(Preview::new(repository::attributes(&repo))
            .scope(scope_of(repo.private))
            .ttl(CACHE_TTL))
    }

    /// A release, and side by side the repository's latest one (to say "Latest"); that
    /// second read failing only leaves the word out.
    async fn build_release(
        &self,
        link: &Link,
        tag: &str,
        caller: Caller<'_>,
    ) -> Result<Preview, Failure> {
        let who = caller.credential();
        let path = format!("{}/releases/tags/{tag}", link.repository_api_path());
        let latest_path = format!("{}/releases/latest", link.repository_api_path());
        let read = async {
            tokio::join!(
                self.api.get(&self.api.releases, &who, &path),
                self.api.get(&self.api.releases, &who, &latest_path)
            )
        };
        let both = async {
            let (release, latest) = read.await;
            release.map(|release| Arc::new((release, latest.ok().map(|l| l.id))))
        };
        let (read, scope) = self
            .visible(&who, link, caller, both, || {
                self.api.releases.forget(who.identity(), &path);
                self.api.releases.forget(who.identity(), &latest_path);
            })
            .await?;
        let (release, latest) = &*read;
        Ok(
            Preview::new(release::attributes(release, *latest, &link.full_name()))
                .scope(scope)
                .ttl(CACHE_TTL),
        )
    }

    /// An Actions workflow run: its answer names its repository and visibility.
    async fn build_run(
        &self,
        link: &Link,
        id: u64,
        caller: Caller<'_>,
    ) -> Result<Preview, Failure> {
        let who = caller.credential();
        let path = format!("{}/actions/runs/{id}", link.repository_api_path());
        let run = self.api.get(&self.api.runs, &who, &path).await?;
        if caller.public_only() && run.private {
            self.api.runs.forget(who.identity(), &path);
            return Err(Failure::NotVisible);
        }
        Ok(Preview::new(run::attributes(&run, &link.full_name()))
            .scope(scope_of(run.private))
            .ttl(CACHE_TTL))
    }

    /// `read` (of something whose answer does not say whether its repository is private)
    /// with the scope its preview may be cached under.
    ///
    /// A caller with its own token gets [`CacheScope::Account`] without a second request:
    /// GitHub answered it, so it may see it. An anonymous caller gets
    /// [`CacheScope::Public`] without one either: without a token GitHub answers for public
    /// repositories only. The fallback token may see its owner's private repositories, so
    /// its answer counts only when the repository, read side by side, is public; otherwise
    /// `forget` drops what was read, and the answer is "not visible".
    pub(crate) async fn visible<T>(
        &self,
        who: &Credential<'_>,
        link: &Link,
        caller: Caller<'_>,
        read: impl std::future::Future<Output = Result<Arc<T>, Failure>>,
        forget: impl FnOnce(),
    ) -> Result<(Arc<T>, CacheScope), Failure> {
        match caller {
            Caller::Account(_) => return Ok((read.await?, CacheScope::Account)),
            Caller::Anonymous => return Ok((read.await?, CacheScope::Public)),
            Caller::Fallback(_) => {}
        }
        let path = link.repository_api_path();
        let (value, repo) = tokio::join!(read, self.api.get(&self.api.repos, who, &path));
        let (value, repo) = (value?, repo?);
        if repo.private {
            forget();
            self.api.repos.forget(who.identity(), &path);
            return Err(Failure::NotVisible);
        }
        Ok((value, CacheScope::Public))
    }

    /// The reads of one pull request's preview: the PR, then (open PRs only) checks and
    /// reviews.
    async fn build_pull(&self, target: &PullLink, caller: Caller<'_>) -> Result<Preview, Failure> {
        let who = caller.credential();
        let path = target.api_path();
        let pr = self.api.get(&self.api.pulls, &who, &path).await?;
        if caller.public_only() && pr.private {
            // The fallback token may see private repositories of its owner; none of that
            // may reach an account that could not see it, not even through the store.
            self.api.pulls.forget(who.identity(), &path);
            return Err(Failure::NotVisible);
        }
        let extras = if pr.state.is_open() {
            self.extras(&who, target, &pr).await
        } else {
            // A merged or closed PR's CI and reviews are history: not worth the calls.
            Extras::default()
        };
        let preview = Preview::new(attributes::attributes(
            &pr,
            extras.checks.as_ref(),
            extras.reviews.as_deref(),
        ))
        .scope(scope_of(pr.private));
        // A passing outage left a line out: show the rest, read it again soon, and do not
        // let it replace a complete preview in Notion (the update waits) or in `recent`.
        Ok(if extras.interrupted {
            preview.ttl(STALE_TTL).stale()
        } else {
            preview.ttl(CACHE_TTL)
        })
    }

    /// The head commit's checks and the reviews, read side by side. Checks are check runs
    /// plus commit statuses, summed: CI reports through either API (or both), and
    /// github.com's merge box counts them together.
    ///
    /// No read fails the preview. A failed checks read leaves the other one counted, so
    /// `checks` is left out only when both fail; failed reviews leave `review` out.
    async fn extras(&self, who: &Credential<'_>, target: &PullLink, pr: &PullSummary) -> Extras {
        // The repository as GitHub names it now, which survives renames; checked because
        // it becomes part of a path.
        let full_name = if is_full_name(&pr.full_name) {
            pr.full_name.clone()
        } else {
            format!("{}/{}", target.owner, target.repo)
        };
        // The sha becomes part of a path too; a PR without a usable one has no checks
        // to read.
        let commit = (!pr.head_sha.is_empty()
            && pr.head_sha.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| format!("/repos/{full_name}/commits/{}", pr.head_sha));
        let checks = async {
            match &commit {
                Some(commit) => self.checks(who, commit).await,
                None => Checks::default(),
            }
        };
        let reviews = async {
            let path = format!(
                "/repos/{full_name}/pulls/{}/reviews?per_page=100",
                pr.number
            );
            soft("reviews", self.api.get(&self.api.reviews, who, &path).await)
        };
        let (checks, reviews) = tokio::join!(checks, reviews);
        Extras {
            checks: checks.summary,
            reviews: reviews.value,
            interrupted: checks.interrupted || reviews.interrupted,
        }
    }

    /// The check runs and commit statuses of `commit` (its REST path,
    /// `/repos/{owner}/{repo}/commits/{sha}`), read side by side and summed. A failed read
    /// leaves the other one counted, so `summary` is `None` only when both fail.
    async fn checks(&self, who: &Credential<'_>, commit: &str) -> Checks {
        let runs_path = format!("{commit}/check-runs?per_page=100");
        let status_path = format!("{commit}/status?per_page=100");
        let (check_runs, statuses) = tokio::join!(
            self.api.get(&self.api.checks, who, &runs_path),
            self.api.get(&self.api.statuses, who, &status_path)
        );
        let (check_runs, statuses) = (
            soft("check runs", check_runs),
            soft("commit statuses", statuses),
        );
        Checks {
            summary: check_runs
                .value
                .into_iter()
                .chain(statuses.value)
                .map(|summary| *summary)
                .reduce(|a, b| a.plus(&b)),
            interrupted: check_runs.interrupted || statuses.interrupted,
        }
    }

    /// A commit with its checks. A full commit id names the checks too, so all reads go
    /// out in one round; an abbreviated one is resolved by the commit read first.
    async fn build_commit(
        &self,
        link: &Link,
        sha: &str,
        caller: Caller<'_>,
    ) -> Result<Preview, Failure> {
        let who = caller.credential();
        let path = format!("{}/commits/{sha}", link.repository_api_path());
        let full = matches!(sha.len(), 40 | 64);
        let read = async {
            let (commit, checks) =
                tokio::join!(self.api.get(&self.api.commits, &who, &path), async {
                    if full {
                        Some(self.checks(&who, &path).await)
                    } else {
                        None
                    }
                });
            commit.map(|commit| Arc::new((commit, checks)))
        };
        let (read, scope) = self
            .visible(&who, link, caller, read, || {
                self.api.commits.forget(who.identity(), &path);
            })
            .await?;
        let (commit, checks) = &*read;
        let checks = match checks {
            Some(checks) => checks.clone(),
            None => {
                let resolved = format!("{}/commits/{}", link.repository_api_path(), commit.sha);
                if commit.sha.chars().all(|c| c.is_ascii_hexdigit()) {
                    self.checks(&who, &resolved).await
                } else {
                    Checks::default()
                }
            }
        };
        let preview = Preview::new(commit::attributes(
            commit,
            checks.summary.as_ref(),
            &link.full_name(),
        ))
        .scope(scope);
        Ok(if checks.interrupted {
            preview.ttl(STALE_TTL).stale()
        } else {
            preview.ttl(CACHE_TTL)
        })
    }
}

/// A commit's checks, summed ([`GitHub::checks`]).
#[derive(Debug, Clone, Default)]
struct Checks {
    summary: Option<CheckSummary>,
    /// A read failed for a passing reason: the line is left out for now.
    interrupted: bool,
}

/// The lines of a preview beyond the pull request itself.
#[derive(Default)]
struct Extras {
    checks: Option<CheckSummary>,
    reviews: Option<Arc<ReviewSummary>>,
    /// A read failed for a passing reason (rate limit, outage, timeout): its line is left
    /// out for now, not for good.
    interrupted: bool,
}

/// One side read's outcome.
struct Soft<T> {
    value: Option<Arc<T>>,
    interrupted: bool,
}

impl<T> Default for Soft<T> {
    fn default() -> Self {
        Self {
            value: None,
            interrupted: false,
        }
    }
}

fn scope_of(private: bool) -> CacheScope {
    if private {
        CacheScope::Account
    } else {
        CacheScope::Public
    }
}

fn is_full_name(name: &str) -> bool {
    let mut parts = name.split('/');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| {
            !p.is_empty()
                && p.chars().any(|c| c != '.')
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        })
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

/// A side read's value, or `None` when it failed; whether that failure may pass. A
/// refusal (the token may not read checks, say) leaves the line out for good.
fn soft<T>(what: &'static str, result: Result<Arc<T>, Failure>) -> Soft<T> {
    match result {
        Ok(value) => Soft {
            value: Some(value),
            interrupted: false,
        },
        Err(failure) => {
            tracing::debug!(what, failure = ?failure, "left out of the preview");
            Soft {
                value: None,
                interrupted: failure.is_transient(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_names_are_checked_before_they_become_paths() {
        assert!(is_full_name("Codertocat/Hello-World"));
        assert!(is_full_name("a/.github"));
        assert!(!is_full_name("a/.."));
        assert!(!is_full_name("a/b/c"));
        assert!(!is_full_name("a"));
        assert!(!is_full_name("a/b?x"));
    }
}
