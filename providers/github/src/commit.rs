//! Commits: `GET /repos/{owner}/{repo}/commits/{sha}` reduced to [`CommitSummary`], and
//! the preview's attributes. Checks are counted as a pull request's are (check runs plus
//! commit statuses of the commit, [`CheckSummary`]).
//!
//! Layout:
//!
//! | id | sub-type | section | value |
//! |---|---|---|---|
//! | `title` | title | title | the message's first line |
//! | `checks` | plain_text | primary | `✓ 12 checks passed`, `✗ 2 of 14 checks failing`, … |
//! | `changes` | plain_text | primary | `+120 −30 · 4 files` |
//! | `author` | plain_text | secondary | the author's login (else the name in the commit) |
//! | `date` | datetime | secondary | the author date |
//! | `identifier` | plain_text | identifier | `owner/repo@abc1234` |
//! | `avatar` | image | avatar | the author's avatar |
//! | `description` | plain_text | body | the rest of the message, at most ~300 characters |

use notion_unfurl_sdk::Attribute;
use notion_unfurl_sdk::attributes::TextSection;
use serde::Deserialize;

use crate::attributes::{Builder, lines_changed};
use crate::markdown;
use crate::pull::{CheckSummary, rfc3339_utc};

#[derive(Debug, Deserialize)]
struct RawUser {
    login: String,
    avatar_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawSignature {
    name: Option<String>,
    date: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawGitCommit {
    message: String,
    author: Option<RawSignature>,
}

#[derive(Debug, Deserialize)]
struct RawStats {
    additions: Option<u64>,
    deletions: Option<u64>,
}

/// Only the count of `files` is kept; their patches are skipped unparsed.
#[derive(Debug, Deserialize)]
struct RawFile {}

#[derive(Debug, Deserialize)]
struct RawCommit {
    sha: String,
    commit: RawGitCommit,
    author: Option<RawUser>,
    stats: Option<RawStats>,
    files: Option<Vec<RawFile>>,
}

/// A commit as the preview uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitSummary {
    /// The full commit id, lower-case.
    pub sha: String,
    pub title: String,
    /// The message after its first line, as one line of text.
    pub body: Option<String>,
    pub author: Option<String>,
    pub avatar_url: Option<String>,
    /// RFC 3339, UTC.
    pub date: Option<String>,
    pub additions: Option<u64>,
    pub deletions: Option<u64>,
    /// GitHub lists at most 300 files per page; a larger commit counts 300.
    pub files: Option<u64>,
}

impl CommitSummary {
    /// Parse `GET /repos/{owner}/{repo}/commits/{ref}`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let raw: RawCommit = serde_json::from_slice(bytes)?;
        let message = raw.commit.message.replace("\r\n", "\n");
        let (title, rest) = message.split_once('\n').unwrap_or((&message, ""));
        let rest = rest.split_whitespace().collect::<Vec<_>>().join(" ");
        let signature = raw.commit.author;
        Ok(Self {
            sha: raw.sha.to_ascii_lowercase(),
            title: title.trim().to_owned(),
            body: (!rest.is_empty()).then(|| markdown::truncate(&rest, markdown::SUMMARY_CHARS)),
            author: raw
                .author
                .as_ref()
                .map(|a| a.login.clone())
                .or_else(|| signature.as_ref().and_then(|s| s.name.clone())),
            avatar_url: raw.author.and_then(|a| a.avatar_url),
            date: signature
                .and_then(|s| s.date)
                .as_deref()
                .and_then(rfc3339_utc),
            additions: raw.stats.as_ref().and_then(|s| s.additions),
            deletions: raw.stats.as_ref().and_then(|s| s.deletions),
            files: raw.files.map(|f| f.len() as u64),
        })
    }

    /// The first seven digits, as github.com abbreviates commits.
    pub fn short_sha(&self) -> &str {
        self.sha.get(..7).unwrap_or(&self.sha)
    }
}

fn changes_text(commit: &CommitSummary) -> Option<String> {
    lines_changed(commit.additions, commit.deletions, commit.files)
}

/// Every attribute of one commit's preview, in display order; `checks` is `None` when it
/// could not be read.
pub fn attributes(
    commit: &CommitSummary,
    checks: Option<&CheckSummary>,
    full_name: &str,
) -> Vec<Attribute> {
    let identifier = format!("{full_name}@{}", commit.short_sha());
    Builder::titled(&commit.title, &identifier)
        .text(
            "checks",
            "Checks",
            checks.and_then(CheckSummary::text),
            TextSection::Primary,
        )
        .text(
            "changes",
            "Changes",
            changes_text(commit),
            TextSection::Primary,
        )
        .author(commit.author.as_deref())
        .time("date", "Date", commit.date.as_deref())
        .identifier("Commit", identifier.clone())
        .avatar("Avatar", commit.avatar_url.as_deref())
        .body("Message", commit.body.clone())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_is_the_title_and_the_rest_the_body() {
        let commit = CommitSummary::from_json(
            br#"{"sha": "ABCDEF0123456789abcdef0123456789abcdef01",
                 "commit": {"message": "Fix the parser\r\n\r\nIt read one byte\ntoo many.",
                            "author": {"name": "Mona", "date": "2024-01-01T10:00:00+01:00"}},
                 "author": null, "stats": {"additions": 3, "deletions": 1, "total": 4},
                 "files": [{"filename": "a"}]}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(commit.title, "Fix the parser");
        assert_eq!(commit.body.as_deref(), Some("It read one byte too many."));
        assert_eq!(
            commit.author.as_deref(),
            Some("Mona"),
            "no account: the name"
        );
        assert_eq!(commit.date.as_deref(), Some("2024-01-01T09:00:00Z"));
        assert_eq!(commit.short_sha(), "abcdef0");
        assert_eq!(changes_text(&commit).as_deref(), Some("+3 −1 · 1 file"));
    }
}
