//! Issues: `GET /repos/{owner}/{repo}/issues/{number}` reduced to [`IssueSummary`], and
//! the preview's attributes.
//!
//! GitHub numbers issues and pull requests in one sequence, and its issues endpoint
//! answers for both: an answer carrying `pull_request` is a pull request, which the
//! provider then previews as one ([`IssueSummary::is_pull`]).
//!
//! Layout, section by section (as a pull request's, minus what only PRs have):
//!
//! | id | sub-type | section | value |
//! |---|---|---|---|
//! | `title` | title | title | the issue title |
//! | `state` | enum | primary | Open / Closed as completed / Closed as not planned / Closed as duplicate, in GitHub's colour |
//! | `assignees` | plain_text | primary | `Assigned to alice and bob` |
//! | `milestone` | plain_text | primary | `Milestone v1.0` |
//! | `author` | plain_text | secondary | the author's login |
//! | `updated` | datetime | secondary | `updated_at` |
//! | `labels` | plain_text | secondary | label names, comma-separated |
//! | `comments` | plain_text | secondary | `3 comments` |
//! | `identifier` | plain_text | identifier | `owner/repo#123` |
//! | `avatar` | image | avatar | the author's avatar (https only) |
//! | `entity` | color | entity | the state colour |
//! | `description` | plain_text | body | the body as plain text ([`markdown::summary`]) |
//!
//! The issue object carries no repository visibility, so its preview is cached per
//! account unless the repository was read too (see the provider).

use notion_unfurl_sdk::attributes::TextSection;
use notion_unfurl_sdk::{Attribute, Color, Url};
use serde::Deserialize;

use crate::attributes::{Builder, labels_text, plural};
use crate::markdown;
use crate::pull::{people, rfc3339_utc};

/// Where an issue stands, with GitHub's colour for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueState {
    Open,
    Completed,
    NotPlanned,
    Duplicate,
}

impl IssueState {
    pub fn label(self) -> &'static str {
        match self {
            IssueState::Open => "Open",
            IssueState::Completed => "Closed as completed",
            IssueState::NotPlanned => "Closed as not planned",
            IssueState::Duplicate => "Closed as duplicate",
        }
    }

    /// Primer's colours, as github.com draws the issue state badges.
    pub fn color(self) -> Color {
        match self {
            IssueState::Open => Color::rgb(0x1f, 0x88, 0x3d),
            IssueState::Completed => Color::rgb(0x82, 0x50, 0xdf),
            IssueState::NotPlanned | IssueState::Duplicate => Color::rgb(0x59, 0x63, 0x6e),
        }
    }

    /// `state` and `state_reason` as GitHub sends them. A closed issue without a reason
    /// (closed before reasons existed, or through the API without one) shows as completed,
    /// as github.com shows it.
    fn of(state: &str, reason: Option<&str>) -> Self {
        match (state, reason) {
            ("closed", Some("not_planned")) => IssueState::NotPlanned,
            ("closed", Some("duplicate")) => IssueState::Duplicate,
            ("closed", _) => IssueState::Completed,
            _ => IssueState::Open,
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawUser {
    login: String,
    avatar_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawLabel {
    name: String,
}

#[derive(Debug, Deserialize)]
struct RawMilestone {
    title: String,
}

#[derive(Debug, Deserialize)]
struct RawIssue {
    number: u64,
    title: String,
    state: String,
    state_reason: Option<String>,
    body: Option<String>,
    user: Option<RawUser>,
    #[serde(default)]
    labels: Vec<RawLabel>,
    #[serde(default)]
    assignees: Vec<RawUser>,
    milestone: Option<RawMilestone>,
    comments: Option<u64>,
    updated_at: Option<String>,
    repository_url: Option<String>,
    /// Present (an object) when the issue is a pull request.
    pull_request: Option<serde::de::IgnoredAny>,
}

/// An issue as the preview uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueSummary {
    /// `owner/repo` as GitHub spells it now, from `repository_url`; empty when absent.
    pub full_name: String,
    pub number: u64,
    pub title: String,
    pub state: IssueState,
    pub author: Option<String>,
    pub avatar_url: Option<String>,
    /// RFC 3339, normalised to UTC.
    pub updated_at: Option<String>,
    pub description: Option<String>,
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    pub milestone: Option<String>,
    pub comments: u64,
    /// The number is a pull request's.
    pub is_pull: bool,
}

impl IssueSummary {
    /// Parse `GET /repos/{owner}/{repo}/issues/{number}` (or a webhook's `issue`).
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let raw: RawIssue = serde_json::from_slice(bytes)?;
        Ok(Self {
            full_name: raw
                .repository_url
                .as_deref()
                .and_then(full_name_of_api_url)
                .unwrap_or_default(),
            number: raw.number,
            title: raw.title,
            state: IssueState::of(&raw.state, raw.state_reason.as_deref()),
            author: raw.user.as_ref().map(|u| u.login.clone()),
            avatar_url: raw.user.and_then(|u| u.avatar_url),
            updated_at: raw.updated_at.as_deref().and_then(rfc3339_utc),
            description: markdown::summary(raw.body.as_deref()),
            labels: raw.labels.into_iter().map(|l| l.name).collect(),
            assignees: raw.assignees.into_iter().map(|u| u.login).collect(),
            milestone: raw.milestone.map(|m| m.title),
            comments: raw.comments.unwrap_or(0),
            is_pull: raw.pull_request.is_some(),
        })
    }
}

/// `owner/repo` of a repository's API URL (`…/repos/{owner}/{repo}`, any API prefix).
pub fn full_name_of_api_url(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    let segments: Vec<&str> = url.path_segments()?.collect();
    let at = segments.iter().position(|s| *s == "repos")?;
    match segments.get(at + 1..)? {
        [owner, repo] if !owner.is_empty() && !repo.is_empty() => Some(format!("{owner}/{repo}")),
        _ => None,
    }
}

/// Every attribute of one issue's preview, in display order. `full_name` names the
/// repository when the answer did not.
pub fn attributes(issue: &IssueSummary, full_name: &str) -> Vec<Attribute> {
    let full_name = if issue.full_name.is_empty() {
        full_name
    } else {
        &issue.full_name
    };
    let identifier = format!("{full_name}#{}", issue.number);
    Builder::titled(&issue.title, &identifier)
        .state("state", "State", issue.state.label(), issue.state.color())
        .text(
            "assignees",
            "Assignees",
            (!issue.assignees.is_empty())
                .then(|| format!("Assigned to {}", people(&issue.assignees))),
            TextSection::Primary,
        )
        .text(
            "milestone",
            "Milestone",
            issue.milestone.as_ref().map(|m| format!("Milestone {m}")),
            TextSection::Primary,
        )
        .author(issue.author.as_deref())
        .time("updated", "Updated", issue.updated_at.as_deref())
        .text(
            "labels",
            "Labels",
            labels_text(&issue.labels),
            TextSection::Secondary,
        )
        .text(
            "comments",
            "Comments",
            (issue.comments > 0).then(|| plural(issue.comments, "comment", "comments")),
            TextSection::Secondary,
        )
        .identifier("Issue", identifier.clone())
        .avatar("Avatar", issue.avatar_url.as_deref())
        .entity("State color", issue.state.color())
        .body("Description", issue.description.clone())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(json: serde_json::Value) -> IssueSummary {
        IssueSummary::from_json(json.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn closed_issues_show_why_they_were_closed() {
        let base = |state: &str, reason: serde_json::Value| {
            issue(serde_json::json!({
                "number": 1, "title": "t", "state": state, "state_reason": reason
            }))
            .state
        };
        assert_eq!(base("open", serde_json::Value::Null), IssueState::Open);
        assert_eq!(base("open", "reopened".into()), IssueState::Open);
        assert_eq!(base("closed", "completed".into()), IssueState::Completed);
        assert_eq!(
            base("closed", serde_json::Value::Null),
            IssueState::Completed
        );
        assert_eq!(base("closed", "not_planned".into()), IssueState::NotPlanned);
        assert_eq!(base("closed", "duplicate".into()), IssueState::Duplicate);
        assert_eq!(IssueState::NotPlanned.label(), "Closed as not planned");
    }

    #[test]
    fn an_issue_that_is_a_pull_request_says_so() {
        let pull = issue(serde_json::json!({
            "number": 2, "title": "t", "state": "open",
            "pull_request": {"url": "https://api.github.com/repos/o/r/pulls/2"}
        }));
        assert!(pull.is_pull);
        let plain = issue(serde_json::json!({"number": 1, "title": "t", "state": "open"}));
        assert!(!plain.is_pull);
    }

    #[test]
    fn the_repository_is_named_from_its_api_url_under_any_prefix() {
        assert_eq!(
            full_name_of_api_url("https://ghe.example/api/v3/repos/Team/App").as_deref(),
            Some("Team/App")
        );
        assert_eq!(full_name_of_api_url("https://api.github.com/users/x"), None);
    }

    #[test]
    fn an_untitled_issue_with_nothing_else_shows_its_identifier() {
        let bare = issue(serde_json::json!({"number": 3, "title": " ", "state": "open"}));
        let attributes = attributes(&bare, "o/r");
        let ids: Vec<&str> = attributes.iter().map(Attribute::id).collect();
        assert_eq!(ids, ["title", "state", "identifier", "entity"]);
        assert_eq!(attributes[0].text(), Some("o/r#3"));
    }
}
