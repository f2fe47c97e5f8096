//! Actions workflow runs: `GET /repos/{owner}/{repo}/actions/runs/{run_id}` reduced to
//! [`RunSummary`], and the preview's attributes. A job's page previews its run.
//!
//! Layout:
//!
//! | id | sub-type | section | value |
//! |---|---|---|---|
//! | `title` | title | title | `CI #163` (workflow name and run number) |
//! | `status` | enum | primary | Queued / In progress / Success / Failure / Cancelled / … in GitHub's colour |
//! | `duration` | plain_text | primary | `3m 12s` (from start to the last update of a finished run) |
//! | `commit` | plain_text | secondary | `main @ 3484a3f` |
//! | `trigger` | plain_text | secondary | `push by octocat` |
//! | `updated` | datetime | secondary | `updated_at` |
//! | `identifier` | plain_text | identifier | `owner/repo` |
//! | `avatar` | image | avatar | the actor's avatar |
//! | `entity` | color | entity | the status colour |
//! | `description` | plain_text | body | the run's title (commit message or PR title) |

use chrono::{DateTime, Utc};
use notion_unfurl_sdk::attributes::TextSection;
use notion_unfurl_sdk::{Attribute, Color};
use serde::Deserialize;

use crate::attributes::Builder;
use crate::pull::rfc3339_utc;

/// Where a run stands, with GitHub's colour for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Queued,
    InProgress,
    Success,
    Failure,
    Cancelled,
    Skipped,
    Neutral,
    ActionRequired,
}

impl RunState {
    fn of(status: &str, conclusion: Option<&str>) -> Self {
        match (status, conclusion) {
            ("completed", Some("success")) => RunState::Success,
            ("completed", Some("failure" | "timed_out" | "startup_failure")) => RunState::Failure,
            ("completed", Some("cancelled")) => RunState::Cancelled,
            ("completed", Some("skipped" | "stale")) => RunState::Skipped,
            ("completed", Some("action_required")) => RunState::ActionRequired,
            ("completed", _) => RunState::Neutral,
            ("in_progress", _) => RunState::InProgress,
            // queued, requested, waiting, pending
            _ => RunState::Queued,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RunState::Queued => "Queued",
            RunState::InProgress => "In progress",
            RunState::Success => "Success",
            RunState::Failure => "Failure",
            RunState::Cancelled => "Cancelled",
            RunState::Skipped => "Skipped",
            RunState::Neutral => "Neutral",
            RunState::ActionRequired => "Action required",
        }
    }

    /// Primer's colours, as the Actions page draws run states.
    pub fn color(self) -> Color {
        match self {
            RunState::Success => Color::rgb(0x1f, 0x88, 0x3d),
            RunState::Failure => Color::rgb(0xcf, 0x22, 0x2e),
            RunState::InProgress | RunState::ActionRequired => Color::rgb(0x9a, 0x67, 0x00),
            RunState::Queued | RunState::Cancelled | RunState::Skipped | RunState::Neutral => {
                Color::rgb(0x59, 0x63, 0x6e)
            }
        }
    }

    fn finished(self) -> bool {
        !matches!(self, RunState::Queued | RunState::InProgress)
    }
}

#[derive(Debug, Deserialize)]
struct RawActor {
    login: String,
    avatar_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawRepository {
    full_name: String,
    #[serde(default = "private_by_default")]
    private: bool,
}

fn private_by_default() -> bool {
    true
}

#[derive(Debug, Deserialize)]
struct RawRun {
    name: Option<String>,
    display_title: Option<String>,
    run_number: u64,
    status: Option<String>,
    conclusion: Option<String>,
    head_branch: Option<String>,
    head_sha: Option<String>,
    event: Option<String>,
    actor: Option<RawActor>,
    triggering_actor: Option<RawActor>,
    run_started_at: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    repository: Option<RawRepository>,
}

/// A workflow run as the preview uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub full_name: String,
    /// The run's repository is private; absent reads as private.
    pub private: bool,
    pub workflow: String,
    pub run_number: u64,
    pub title: Option<String>,
    pub state: RunState,
    pub branch: Option<String>,
    pub sha: Option<String>,
    pub event: Option<String>,
    pub actor: Option<String>,
    pub avatar_url: Option<String>,
    /// Seconds from start to the last update, for a finished run.
    pub duration_secs: Option<i64>,
    pub updated_at: Option<String>,
}

fn parse_time(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl RunSummary {
    /// Parse `GET /repos/{owner}/{repo}/actions/runs/{run_id}` (or a webhook's
    /// `workflow_run`).
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let raw: RawRun = serde_json::from_slice(bytes)?;
        let state = RunState::of(
            raw.status.as_deref().unwrap_or(""),
            raw.conclusion.as_deref(),
        );
        let started = parse_time(raw.run_started_at.as_deref().or(raw.created_at.as_deref()));
        let updated = parse_time(raw.updated_at.as_deref());
        let duration_secs = match (state.finished(), started, updated) {
            (true, Some(start), Some(end)) if end >= start => Some((end - start).num_seconds()),
            _ => None,
        };
        let actor = raw.triggering_actor.or(raw.actor);
        Ok(Self {
            full_name: raw
                .repository
                .as_ref()
                .map(|r| r.full_name.clone())
                .unwrap_or_default(),
            private: raw.repository.as_ref().is_none_or(|r| r.private),
            workflow: raw
                .name
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "Workflow run".to_owned()),
            run_number: raw.run_number,
            title: raw
                .display_title
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty()),
            state,
            branch: raw.head_branch.filter(|b| !b.is_empty()),
            sha: raw.head_sha.filter(|s| !s.is_empty()),
            event: raw.event.filter(|e| !e.is_empty()),
            actor: actor.as_ref().map(|a| a.login.clone()),
            avatar_url: actor.and_then(|a| a.avatar_url),
            duration_secs,
            updated_at: raw.updated_at.as_deref().and_then(rfc3339_utc),
        })
    }
}

/// `45s`, `3m 12s`, `1h 4m`.
pub fn duration_text(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m"),
    }
}

/// Every attribute of one run's preview, in display order; `full_name` names the
/// repository when the answer did not.
pub fn attributes(run: &RunSummary, full_name: &str) -> Vec<Attribute> {
    let full_name = if run.full_name.is_empty() {
        full_name
    } else {
        &run.full_name
    };
    let short = run
        .sha
        .as_deref()
        .map(|s| s.get(..7).unwrap_or(s).to_owned());
    let commit = match (&run.branch, short) {
        (Some(branch), Some(sha)) => Some(format!("{branch} @ {sha}")),
        (branch, sha) => branch.clone().or(sha),
    };
    let trigger = match (&run.event, &run.actor) {
        (Some(event), Some(actor)) => Some(format!("{event} by {actor}")),
        (event, actor) => event.clone().or_else(|| actor.clone()),
    };
    let title = format!("{} #{}", run.workflow, run.run_number);
    Builder::titled(&title, &title)
        .state("status", "Status", run.state.label(), run.state.color())
        .text(
            "duration",
            "Duration",
            run.duration_secs.map(duration_text),
            TextSection::Primary,
        )
        .text("commit", "Commit", commit, TextSection::Secondary)
        .text("trigger", "Trigger", trigger, TextSection::Secondary)
        .time("updated", "Updated", run.updated_at.as_deref())
        .identifier("Workflow run", full_name.to_owned())
        .avatar("Actor", run.avatar_url.as_deref())
        .entity("Status color", run.state.color())
        .body("Description", run.title.clone())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_conclusions_read_as_one_state() {
        assert_eq!(RunState::of("queued", None), RunState::Queued);
        assert_eq!(RunState::of("waiting", None), RunState::Queued);
        assert_eq!(RunState::of("in_progress", None), RunState::InProgress);
        assert_eq!(
            RunState::of("completed", Some("success")),
            RunState::Success
        );
        assert_eq!(
            RunState::of("completed", Some("timed_out")),
            RunState::Failure
        );
        assert_eq!(
            RunState::of("completed", Some("cancelled")),
            RunState::Cancelled
        );
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration_text(45), "45s");
        assert_eq!(duration_text(192), "3m 12s");
        assert_eq!(duration_text(3840), "1h 4m");
    }

    #[test]
    fn a_running_run_has_no_duration_yet() {
        let run = RunSummary::from_json(
            br#"{"run_number": 1, "status": "in_progress",
                 "run_started_at": "2024-01-01T10:00:00Z", "updated_at": "2024-01-01T10:05:00Z"}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(run.duration_secs, None);
        assert!(run.private, "no repository reads as private");
    }
}
