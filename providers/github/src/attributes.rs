//! A pull request's preview attributes, and the [`Builder`] every kind's preview is
//! written with.
//!
//! Layout, section by section (Notion shows several attributes of one section side by
//! side, in array order):
//!
//! | id | sub-type | section | value |
//! |---|---|---|---|
//! | `title` | title | title | the PR title |
//! | `state` | enum | primary | Open / Draft / Merged / Closed, in GitHub's colour |
//! | `checks` | plain_text | primary | check runs plus commit statuses of the head commit: `✓ 12 checks passed`, `✗ 2 of 14 checks failing`, `● 3 of 14 checks pending` |
//! | `review` | plain_text | primary | `Approved by alice`, `Changes requested by bob`, `Review requested from carol` |
//! | `changes` | plain_text | primary | `+120 −30 · 4 files` |
//! | `author` | plain_text | secondary | the author's login |
//! | `updated` | datetime | secondary | `updated_at` |
//! | `branches` | plain_text | secondary | `main ← feature` (`user:feature` from a fork) |
//! | `labels` | plain_text | secondary | label names, comma-separated |
//! | `comments` | plain_text | secondary | `3 comments` (conversation plus review comments) |
//! | `identifier` | plain_text | identifier | `owner/repo#123` |
//! | `avatar` | image | avatar | the author's avatar (https only) |
//! | `entity` | color | entity | the state colour, so a mention shows the state too |
//! | `description` | plain_text | body | the body as plain text, at most ~300 characters |
//!
//! The server appends `dev` (secondary) to every preview it sends.
//!
//! `primary` carries what a reader acts on (where the PR stands), `secondary` who and when.
//! `author` goes to `secondary` rather than `avatar`: `avatar` holds the picture, and the
//! login next to the update time reads as "alice · updated 2 hours ago". Attributes
//! without a value (no labels, no comments, no checks, a closed PR's review) are left
//! out rather than shown empty.
//!
//! `checks` counts the head commit's check runs and its commit statuses (the legacy
//! Status API, which many CI services still report through) together, as github.com's
//! merge box does: a status `success` passes, `failure` and `error` fail, anything else
//! is pending. When one of the two reads fails the other is shown alone, even though it
//! may look healthier than the commit is: a preview is a glance, not a merge gate, and
//! the next read corrects it.

use notion_unfurl_sdk::attributes::{ColorSection, DateSection, ImageSection, TextSection};
use notion_unfurl_sdk::{Attribute, Color, Url};

use crate::pull::{CheckSummary, PullSummary, ReviewSummary};

/// A preview's attributes in display order, as every kind of link writes them. Each
/// call adds one attribute, or nothing when its value is absent or one Notion would
/// refuse (blank text, an avatar that is not an https URL): a preview leaves out what it
/// does not know rather than showing it empty.
#[derive(Debug, Default)]
pub(crate) struct Builder(Vec<Attribute>);

impl Builder {
    /// A preview titled `title`, or `fallback` (an identifier) when `title` is blank.
    pub(crate) fn titled(title: &str, fallback: &str) -> Self {
        Self(
            Attribute::title("title", "Title", title)
                .or_else(|_| Attribute::title("title", "Title", fallback))
                .into_iter()
                .collect(),
        )
    }

    fn push(mut self, attribute: Option<Attribute>) -> Self {
        self.0.extend(attribute);
        self
    }

    /// A plain-text line in `section`.
    pub(crate) fn text(
        self,
        id: &str,
        name: &str,
        value: Option<String>,
        section: TextSection,
    ) -> Self {
        self.push(value.and_then(|v| Attribute::plain_text(id, name, v, section).ok()))
    }

    /// A labelled state in its colour (primary).
    pub(crate) fn state(self, id: &str, name: &str, label: &str, color: Color) -> Self {
        self.push(Attribute::enumeration(id, name, label, Some(color)).ok())
    }

    /// What Notion shows under the preview and beside a mention (`owner/repo#12`), the
    /// attribute named after the kind of link.
    pub(crate) fn identifier(self, name: &str, value: String) -> Self {
        self.text("identifier", name, Some(value), TextSection::Identifier)
    }

    /// The text below the rest (a description, notes, a message).
    pub(crate) fn body(self, name: &str, value: Option<String>) -> Self {
        self.text("description", name, value, TextSection::Body)
    }

    /// Who wrote it: the login, beside the time (secondary).
    pub(crate) fn author(self, login: Option<&str>) -> Self {
        self.text(
            "author",
            "Author",
            login.map(str::to_owned),
            TextSection::Secondary,
        )
    }

    /// A moment (RFC 3339), shown beside the author (secondary).
    pub(crate) fn time(self, id: &str, name: &str, at: Option<&str>) -> Self {
        self.push(at.and_then(|t| Attribute::datetime(id, name, t, DateSection::Secondary).ok()))
    }

    /// The picture of whoever the preview is about, named `name`.
    pub(crate) fn avatar(self, name: &str, url: Option<&str>) -> Self {
        self.push(
            url.and_then(|u| Url::parse(u).ok())
                .and_then(|u| Attribute::image("avatar", name, &u, ImageSection::Avatar).ok()),
        )
    }

    /// The colour a mention of the link shows.
    pub(crate) fn entity(self, name: &str, color: Color) -> Self {
        self.push(Some(Attribute::color(
            "entity",
            name,
            color,
            ColorSection::Entity,
        )))
    }

    pub(crate) fn build(self) -> Vec<Attribute> {
        self.0
    }
}

/// Labels beyond this many are counted, not named: the line is not a label list.
const MAX_LABELS: usize = 5;

pub(crate) fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A pull request's `+120 −30 · 4 files` ([`lines_changed`]).
pub fn changes_text(pr: &PullSummary) -> Option<String> {
    lines_changed(pr.additions, pr.deletions, pr.changed_files)
}

/// `+120 −30 · 4 files`, with a true minus sign as github.com prints it; `None` without
/// both line counts.
pub(crate) fn lines_changed(
    additions: Option<u64>,
    deletions: Option<u64>,
    files: Option<u64>,
) -> Option<String> {
    let (additions, deletions) = (additions?, deletions?);
    let mut text = format!("+{additions} −{deletions}");
    if let Some(files) = files {
        text.push_str(" · ");
        text.push_str(&plural(files, "file", "files"));
    }
    Some(text)
}

pub(crate) fn labels_text(labels: &[String]) -> Option<String> {
    let named: Vec<&str> = labels
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    match named.len() {
        0 => None,
        n if n <= MAX_LABELS => Some(named.join(", ")),
        n => Some(format!(
            "{}, +{} more",
            named[..MAX_LABELS].join(", "),
            n - MAX_LABELS
        )),
    }
}

/// The identifier Notion shows under the preview and beside a mention.
pub fn identifier(full_name: &str, number: u64) -> String {
    format!("{full_name}#{number}")
}

/// Every attribute of one pull request's preview, in display order; `checks` (check
/// runs and commit statuses summed) and `reviews` are `None` when they were not read
/// (closed PRs) or could not be.
pub fn attributes(
    pr: &PullSummary,
    checks: Option<&CheckSummary>,
    reviews: Option<&ReviewSummary>,
) -> Vec<Attribute> {
    let identifier = identifier(&pr.full_name, pr.number);
    Builder::titled(&pr.title, &identifier)
        .state("state", "State", pr.state.label(), pr.state.color())
        .text(
            "checks",
            "Checks",
            checks.and_then(CheckSummary::text),
            TextSection::Primary,
        )
        .text(
            "review",
            "Review",
            reviews.and_then(|r| r.text(&pr.requested_reviewers)),
            TextSection::Primary,
        )
        .text("changes", "Changes", changes_text(pr), TextSection::Primary)
        .author(pr.author.as_deref())
        .time("updated", "Updated", pr.updated_at.as_deref())
        .text(
            "branches",
            "Branches",
            Some(format!("{} ← {}", pr.base_branch, pr.head_branch)),
            TextSection::Secondary,
        )
        .text(
            "labels",
            "Labels",
            labels_text(&pr.labels),
            TextSection::Secondary,
        )
        .text(
            "comments",
            "Comments",
            (pr.comments > 0).then(|| plural(pr.comments, "comment", "comments")),
            TextSection::Secondary,
        )
        .identifier("Pull request", identifier.clone())
        .avatar("Avatar", pr.avatar_url.as_deref())
        .entity("State color", pr.state.color())
        .body("Description", pr.description.clone())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pull::State;

    fn pr() -> PullSummary {
        PullSummary {
            full_name: "octo/hello".into(),
            number: 7,
            title: "Fix it".into(),
            state: State::Open,
            private: false,
            author: Some("alice".into()),
            avatar_url: Some("http://insecure.example/a.png".into()),
            updated_at: None,
            description: None,
            labels: (1..=7).map(|i| format!("l{i}")).collect(),
            additions: Some(1),
            deletions: Some(0),
            changed_files: Some(1),
            comments: 1,
            base_branch: "main".into(),
            head_branch: "fix".into(),
            head_sha: "abc".into(),
            requested_reviewers: Vec::new(),
        }
    }

    fn ids(attributes: &[Attribute]) -> Vec<&str> {
        attributes.iter().map(Attribute::id).collect()
    }

    #[test]
    fn values_are_worded_for_one_line() {
        let pr = pr();
        assert_eq!(changes_text(&pr).as_deref(), Some("+1 −0 · 1 file"));
        assert_eq!(
            labels_text(&pr.labels).as_deref(),
            Some("l1, l2, l3, l4, l5, +2 more")
        );
        assert_eq!(labels_text(&[" ".into()]), None);
        let attributes = attributes(&pr, None, None);
        let comments = attributes.iter().find(|a| a.id() == "comments");
        assert_eq!(comments.and_then(Attribute::text), Some("1 comment"));
    }

    #[test]
    fn an_http_avatar_and_missing_values_are_left_out() {
        let mut pr = pr();
        pr.labels.clear();
        pr.comments = 0;
        pr.additions = None;
        assert_eq!(
            ids(&attributes(&pr, None, None)),
            [
                "title",
                "state",
                "author",
                "branches",
                "identifier",
                "entity"
            ]
        );
    }

    #[test]
    fn an_empty_title_falls_back_to_the_identifier() {
        let mut pr = pr();
        pr.title = "  ".into();
        let attributes = attributes(&pr, None, None);
        assert_eq!(attributes[0].text(), Some("octo/hello#7"));
    }
}
