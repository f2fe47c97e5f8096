//! What a preview needs from GitHub's JSON: the pull request, its check runs, its commit
//! statuses and its reviews, each reduced right after parsing to a small summary that the
//! ETag store keeps.
//!
//! Only the fields used are declared (serde ignores the rest), so the REST responses and
//! the `pull_request` objects of webhook payloads both parse.

use std::collections::HashMap;

use serde::Deserialize;

use crate::markdown;

/// The state a preview shows, with GitHub's own colour for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Open,
    Draft,
    Merged,
    Closed,
}

impl State {
    pub fn label(self) -> &'static str {
        match self {
            State::Open => "Open",
            State::Draft => "Draft",
            State::Merged => "Merged",
            State::Closed => "Closed",
        }
    }

    /// Primer's state colours, as github.com draws the state badges.
    pub fn color(self) -> notion_unfurl_sdk::Color {
        use notion_unfurl_sdk::Color;
        match self {
            State::Open => Color::rgb(0x1f, 0x88, 0x3d),
            State::Draft => Color::rgb(0x59, 0x63, 0x6e),
            State::Merged => Color::rgb(0x82, 0x50, 0xdf),
            State::Closed => Color::rgb(0xcf, 0x22, 0x2e),
        }
    }

    pub fn is_open(self) -> bool {
        matches!(self, State::Open | State::Draft)
    }
}

#[derive(Debug, Deserialize)]
struct RawUser {
    login: String,
    avatar_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawNamed {
    name: String,
}

#[derive(Debug, Deserialize)]
struct RawRepo {
    full_name: String,
    // Absent would be unexpected; it is then treated as private, the safe reading.
    #[serde(default = "private_by_default")]
    private: bool,
}

fn private_by_default() -> bool {
    true
}

#[derive(Debug, Deserialize)]
struct RawRef {
    label: Option<String>,
    #[serde(rename = "ref")]
    name: String,
    sha: String,
    repo: Option<RawRepo>,
}

#[derive(Debug, Deserialize)]
struct RawPull {
    number: u64,
    state: String,
    title: String,
    body: Option<String>,
    user: Option<RawUser>,
    updated_at: Option<String>,
    merged_at: Option<String>,
    merged: Option<bool>,
    draft: Option<bool>,
    #[serde(default)]
    labels: Vec<RawNamed>,
    additions: Option<u64>,
    deletions: Option<u64>,
    changed_files: Option<u64>,
    comments: Option<u64>,
    review_comments: Option<u64>,
    head: RawRef,
    base: RawRef,
    #[serde(default)]
    requested_reviewers: Vec<RawUser>,
    #[serde(default)]
    requested_teams: Vec<RawNamed>,
}

/// A pull request as the preview uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSummary {
    /// `owner/repo` as GitHub spells it now (after renames and transfers).
    pub full_name: String,
    pub number: u64,
    pub title: String,
    pub state: State,
    /// `base.repo.private`: decides whether the preview may be shared across accounts.
    pub private: bool,
    pub author: Option<String>,
    pub avatar_url: Option<String>,
    /// RFC 3339, normalised to UTC.
    pub updated_at: Option<String>,
    /// The body reduced to a plain-text summary ([`markdown::summary`]).
    pub description: Option<String>,
    pub labels: Vec<String>,
    pub additions: Option<u64>,
    pub deletions: Option<u64>,
    pub changed_files: Option<u64>,
    /// Conversation comments plus review comments, as the PR's tabs count them.
    pub comments: u64,
    pub base_branch: String,
    /// The head branch, prefixed with its owner when it lives in a fork (`user:branch`).
    pub head_branch: String,
    pub head_sha: String,
    /// Users and teams asked for a review who have not given one yet.
    pub requested_reviewers: Vec<String>,
}

pub(crate) fn rfc3339_utc(value: &str) -> Option<String> {
    chrono::DateTime::parse_from_rfc3339(value).ok().map(|t| {
        t.with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    })
}

impl PullSummary {
    /// Parse `GET /repos/{owner}/{repo}/pulls/{number}`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let raw: RawPull = serde_json::from_slice(bytes)?;
        Ok(Self::from_raw(raw))
    }

    fn from_raw(raw: RawPull) -> Self {
        // `merged` is only on the single-PR endpoint; `merged_at` is on every shape.
        let state = if raw.merged_at.is_some() || raw.merged == Some(true) {
            State::Merged
        } else if raw.state == "closed" {
            State::Closed
        } else if raw.draft == Some(true) {
            State::Draft
        } else {
            State::Open
        };
        let base_repo = raw.base.repo.as_ref();
        let head_repo = raw.head.repo.as_ref().map(|r| r.full_name.as_str());
        let same_repo = head_repo.is_some() && head_repo == base_repo.map(|r| r.full_name.as_str());
        let head_branch = match raw.head.label {
            Some(label) if !same_repo && !label.is_empty() => label,
            _ => raw.head.name,
        };
        Self {
            full_name: base_repo.map(|r| r.full_name.clone()).unwrap_or_default(),
            number: raw.number,
            title: raw.title,
            state,
            private: base_repo.is_none_or(|r| r.private),
            author: raw.user.as_ref().map(|u| u.login.clone()),
            avatar_url: raw.user.and_then(|u| u.avatar_url),
            updated_at: raw.updated_at.as_deref().and_then(rfc3339_utc),
            description: markdown::summary(raw.body.as_deref()),
            labels: raw.labels.into_iter().map(|l| l.name).collect(),
            additions: raw.additions,
            deletions: raw.deletions,
            changed_files: raw.changed_files,
            comments: raw.comments.unwrap_or(0) + raw.review_comments.unwrap_or(0),
            base_branch: raw.base.name,
            head_branch,
            head_sha: raw.head.sha,
            requested_reviewers: raw
                .requested_reviewers
                .into_iter()
                .map(|u| u.login)
                .chain(raw.requested_teams.into_iter().map(|t| t.name))
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawCheckRun {
    status: String,
    conclusion: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawCheckRuns {
    #[serde(default)]
    check_runs: Vec<RawCheckRun>,
}

#[derive(Debug, Deserialize)]
struct RawStatus {
    state: String,
}

#[derive(Debug, Deserialize)]
struct RawCombinedStatus {
    #[serde(default)]
    statuses: Vec<RawStatus>,
}

/// The head commit's checks counted by outcome: the latest run of each check run, the
/// latest status of each status context, or both summed with [`CheckSummary::plus`], as
/// github.com's merge box lists them together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckSummary {
    pub passed: u32,
    pub failing: u32,
    pub pending: u32,
}

impl CheckSummary {
    /// Parse `GET /repos/{owner}/{repo}/commits/{sha}/check-runs` (whose default
    /// `filter=latest` already keeps only the latest run of each check).
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let raw: RawCheckRuns = serde_json::from_slice(bytes)?;
        let mut summary = Self::default();
        for run in raw.check_runs {
            if run.status != "completed" {
                summary.pending += 1;
                continue;
            }
            // As github.com's merge box: cancelled, timed out and action-required runs
            // block a merge like failures; neutral, skipped and stale ones do not.
            match run.conclusion.as_deref() {
                Some(
                    "failure" | "timed_out" | "cancelled" | "action_required" | "startup_failure",
                ) => summary.failing += 1,
                _ => summary.passed += 1,
            }
        }
        Ok(summary)
    }

    /// Parse `GET /repos/{owner}/{repo}/commits/{sha}/status`, the combined status, which
    /// already keeps only the latest status of each context.
    ///
    /// Its top-level `state` is not used: it reads `pending` for a commit without any
    /// status, which would be indistinguishable from CI still running.
    pub fn from_status_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let raw: RawCombinedStatus = serde_json::from_slice(bytes)?;
        let mut summary = Self::default();
        for status in raw.statuses {
            match status.state.as_str() {
                "success" => summary.passed += 1,
                // GitHub's own combined state reads `error` as `failure`, and so does its
                // merge box: either blocks a merge that requires the context.
                "failure" | "error" => summary.failing += 1,
                // `pending`, and any state GitHub may add later: counted as passed it could
                // show a green tick for CI that never said so, counted as failing it
                // would raise a false alarm; pending claims neither.
                _ => summary.pending += 1,
            }
        }
        Ok(summary)
    }

    /// Both summaries together, for a commit whose CI reports through check runs and
    /// commit statuses alike.
    #[must_use]
    pub fn plus(&self, other: &Self) -> Self {
        Self {
            passed: self.passed + other.passed,
            failing: self.failing + other.failing,
            pending: self.pending + other.pending,
        }
    }

    pub fn total(&self) -> u32 {
        self.passed + self.failing + self.pending
    }

    /// `✗ 2 of 14 checks failing`, `● 3 of 14 checks pending`, `✓ 12 checks passed`;
    /// `None` when the commit has no checks.
    pub fn text(&self) -> Option<String> {
        let total = self.total();
        let checks = |n: u32| if n == 1 { "check" } else { "checks" };
        let part = |n: u32| {
            if n == total {
                format!("{n} {}", checks(n))
            } else {
                format!("{n} of {total} {}", checks(total))
            }
        };
        match total {
            0 => None,
            _ if self.failing > 0 => Some(format!("✗ {} failing", part(self.failing))),
            _ if self.pending > 0 => Some(format!("● {} pending", part(self.pending))),
            _ => Some(format!("✓ {total} {} passed", checks(total))),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawReview {
    user: Option<RawUser>,
    state: String,
}

/// Where the reviews stand: each reviewer's latest approval or change request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewSummary {
    pub approved_by: Vec<String>,
    pub changes_requested_by: Vec<String>,
}

impl ReviewSummary {
    /// Parse `GET /repos/{owner}/{repo}/pulls/{number}/reviews` (oldest first).
    ///
    /// GitHub's own `reviewDecision` also weighs branch protection (required reviewers,
    /// code owners), which the REST API does not expose cheaply; this is the decision as
    /// the reviews themselves state it.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let raw: Vec<RawReview> = serde_json::from_slice(bytes)?;
        let mut latest: HashMap<String, (usize, bool)> = HashMap::new();
        for (order, review) in raw.into_iter().enumerate() {
            let Some(user) = review.user else { continue };
            // A comment after an approval does not withdraw it; a dismissal does.
            match review.state.to_ascii_uppercase().as_str() {
                "APPROVED" => {
                    latest.insert(user.login, (order, true));
                }
                "CHANGES_REQUESTED" => {
                    latest.insert(user.login, (order, false));
                }
                "DISMISSED" => {
                    latest.remove(&user.login);
                }
                _ => {}
            }
        }
        let mut decided: Vec<(usize, bool, String)> = latest
            .into_iter()
            .map(|(login, (order, approved))| (order, approved, login))
            .collect();
        decided.sort();
        let mut summary = Self::default();
        for (_, approved, login) in decided {
            if approved {
                summary.approved_by.push(login);
            } else {
                summary.changes_requested_by.push(login);
            }
        }
        Ok(summary)
    }

    /// `Changes requested by alice`, `Approved by bob and carol`, `Review requested from
    /// dave`; `None` when nobody reviewed and nobody is asked to.
    pub fn text(&self, requested: &[String]) -> Option<String> {
        if !self.changes_requested_by.is_empty() {
            Some(format!(
                "Changes requested by {}",
                people(&self.changes_requested_by)
            ))
        } else if !self.approved_by.is_empty() {
            Some(format!("Approved by {}", people(&self.approved_by)))
        } else if !requested.is_empty() {
            Some(format!("Review requested from {}", people(requested)))
        } else {
            None
        }
    }
}

/// `a`, `a and b`, `a and 2 others`: short enough for one preview line.
pub(crate) fn people(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [one, two] => format!("{one} and {two}"),
        [one, rest @ ..] => format!("{one} and {} others", rest.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(runs: &[(&str, Option<&str>)]) -> CheckSummary {
        let runs: Vec<_> = runs
            .iter()
            .map(|(status, conclusion)| serde_json::json!({"status": status, "conclusion": conclusion}))
            .collect();
        let body = serde_json::json!({"total_count": runs.len(), "check_runs": runs});
        CheckSummary::from_json(body.to_string().as_bytes()).unwrap_or_default()
    }

    #[test]
    fn check_runs_summarise_by_their_worst_outcome() {
        assert_eq!(runs(&[]).text(), None);
        assert_eq!(
            runs(&[("completed", Some("success"))]).text().as_deref(),
            Some("✓ 1 check passed")
        );
        assert_eq!(
            runs(&[
                ("completed", Some("success")),
                ("completed", Some("skipped")),
                ("completed", Some("neutral")),
            ])
            .text()
            .as_deref(),
            Some("✓ 3 checks passed")
        );
        assert_eq!(
            runs(&[
                ("completed", Some("success")),
                ("in_progress", None),
                ("queued", None),
            ])
            .text()
            .as_deref(),
            Some("● 2 of 3 checks pending")
        );
        assert_eq!(
            runs(&[
                ("completed", Some("failure")),
                ("in_progress", None),
                ("completed", Some("cancelled")),
            ])
            .text()
            .as_deref(),
            Some("✗ 2 of 3 checks failing")
        );
        assert_eq!(
            runs(&[("completed", Some("timed_out"))]).text().as_deref(),
            Some("✗ 1 check failing")
        );
    }

    fn statuses(states: &[&str]) -> CheckSummary {
        let statuses: Vec<_> = states
            .iter()
            .enumerate()
            .map(|(i, state)| serde_json::json!({"state": state, "context": format!("ci/{i}")}))
            .collect();
        let body = serde_json::json!({
            "state": "pending",
            "total_count": statuses.len(),
            "statuses": statuses,
        });
        CheckSummary::from_status_json(body.to_string().as_bytes()).unwrap_or_default()
    }

    #[test]
    fn commit_statuses_count_by_their_state() {
        assert_eq!(statuses(&[]), CheckSummary::default());
        assert_eq!(statuses(&[]).text(), None);
        assert_eq!(
            statuses(&["success"]),
            CheckSummary {
                passed: 1,
                failing: 0,
                pending: 0
            }
        );
        assert_eq!(
            statuses(&["pending"]),
            CheckSummary {
                passed: 0,
                failing: 0,
                pending: 1
            }
        );
        assert_eq!(
            statuses(&["failure", "error"]),
            CheckSummary {
                passed: 0,
                failing: 2,
                pending: 0
            }
        );
        assert_eq!(
            statuses(&["success", "success"]).text().as_deref(),
            Some("✓ 2 checks passed")
        );
        assert_eq!(
            statuses(&["success", "pending", "success"])
                .text()
                .as_deref(),
            Some("● 1 of 3 checks pending")
        );
        assert_eq!(
            statuses(&["success", "error"]).text().as_deref(),
            Some("✗ 1 of 2 checks failing")
        );
        // A state GitHub does not document yet neither passes nor fails.
        assert_eq!(
            statuses(&["success", "skipped"]).text().as_deref(),
            Some("● 1 of 2 checks pending")
        );
    }

    #[test]
    fn a_combined_status_without_a_statuses_list_is_empty_and_junk_is_an_error() {
        let bare = CheckSummary::from_status_json(br#"{"state": "pending", "total_count": 0}"#);
        assert_eq!(bare.ok(), Some(CheckSummary::default()));
        assert!(CheckSummary::from_status_json(br#"{"statuses": [{"context": "ci"}]}"#).is_err());
        assert!(CheckSummary::from_status_json(br#"{"statuses": "none"}"#).is_err());
    }

    #[test]
    fn check_runs_and_statuses_sum_into_one_summary() {
        let from_runs = runs(&[("completed", Some("success")), ("in_progress", None)]);
        let from_statuses = statuses(&["success", "failure"]);
        let both = from_runs.plus(&from_statuses);
        assert_eq!(
            both,
            CheckSummary {
                passed: 2,
                failing: 1,
                pending: 1
            }
        );
        assert_eq!(both, from_statuses.plus(&from_runs));
        assert_eq!(both.text().as_deref(), Some("✗ 1 of 4 checks failing"));
        assert_eq!(from_runs.plus(&CheckSummary::default()), from_runs);
        assert_eq!(
            CheckSummary::default()
                .plus(&CheckSummary::default())
                .text(),
            None
        );
        assert_eq!(
            runs(&[("completed", Some("success"))])
                .plus(&statuses(&["success"]))
                .text()
                .as_deref(),
            Some("✓ 2 checks passed")
        );
    }

    fn reviews(reviews: &[(&str, &str)]) -> ReviewSummary {
        let reviews: Vec<_> = reviews
            .iter()
            .map(|(login, state)| serde_json::json!({"user": {"login": login}, "state": state}))
            .collect();
        ReviewSummary::from_json(serde_json::Value::from(reviews).to_string().as_bytes())
            .unwrap_or_default()
    }

    #[test]
    fn the_latest_decisive_review_of_each_reviewer_counts() {
        let none: Vec<String> = Vec::new();
        assert_eq!(reviews(&[]).text(&none), None);
        assert_eq!(
            reviews(&[]).text(&["octocat".to_owned()]).as_deref(),
            Some("Review requested from octocat")
        );
        assert_eq!(
            reviews(&[
                ("a", "CHANGES_REQUESTED"),
                ("a", "APPROVED"),
                ("a", "COMMENTED")
            ])
            .text(&none)
            .as_deref(),
            Some("Approved by a")
        );
        assert_eq!(
            reviews(&[
                ("a", "APPROVED"),
                ("b", "changes_requested"),
                ("c", "APPROVED")
            ])
            .text(&none)
            .as_deref(),
            Some("Changes requested by b")
        );
        assert_eq!(
            reviews(&[("a", "APPROVED"), ("b", "APPROVED"), ("c", "APPROVED")])
                .text(&none)
                .as_deref(),
            Some("Approved by a and 2 others")
        );
        assert_eq!(
            reviews(&[
                ("a", "CHANGES_REQUESTED"),
                ("a", "DISMISSED"),
                ("b", "APPROVED")
            ])
            .text(&none)
            .as_deref(),
            Some("Approved by b")
        );
    }

    #[test]
    fn timestamps_are_normalised_to_utc() {
        assert_eq!(
            rfc3339_utc("2019-05-15T17:20:33+02:00").as_deref(),
            Some("2019-05-15T15:20:33Z")
        );
        assert_eq!(rfc3339_utc("yesterday"), None);
    }
}
