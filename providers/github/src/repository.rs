//! Repositories: `GET /repos/{owner}/{repo}` reduced to [`RepoSummary`], and the
//! preview's attributes. The same read tells the provider whether a repository is public
//! when the object it previews does not say (issues, commits, releases, files).
//!
//! Layout:
//!
//! | id | sub-type | section | value |
//! |---|---|---|---|
//! | `title` | title | title | `owner/repo` |
//! | `visibility` | enum | primary | Public / Private / Internal (`, archived`) |
//! | `language` | plain_text | primary | the primary language |
//! | `stars` | plain_text | primary | `1,234 stars` |
//! | `open_issues` | plain_text | primary | `12 open issues` (GitHub counts open PRs in) |
//! | `topics` | plain_text | secondary | topics, comma-separated |
//! | `pushed` | datetime | secondary | the last push |
//! | `identifier` | plain_text | identifier | `owner/repo` |
//! | `avatar` | image | avatar | the owner's avatar |
//! | `entity` | color | entity | the visibility colour |
//! | `description` | plain_text | body | the description |

use notion_unfurl_sdk::attributes::TextSection;
use notion_unfurl_sdk::{Attribute, Color};
use serde::Deserialize;

use crate::attributes::{Builder, labels_text, plural};
use crate::pull::rfc3339_utc;

#[derive(Debug, Deserialize)]
struct RawOwner {
    avatar_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawRepository {
    full_name: String,
    // Absent would be unexpected; it is then treated as private, the safe reading.
    #[serde(default = "private_by_default")]
    private: bool,
    visibility: Option<String>,
    description: Option<String>,
    language: Option<String>,
    stargazers_count: Option<u64>,
    open_issues_count: Option<u64>,
    #[serde(default)]
    topics: Vec<String>,
    /// RFC 3339 from the REST API; webhook payloads of `push` write unix seconds.
    pushed_at: Option<serde_json::Value>,
    #[serde(default)]
    archived: bool,
    owner: Option<RawOwner>,
}

fn private_by_default() -> bool {
    true
}

/// A repository as the preview uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSummary {
    pub full_name: String,
    pub private: bool,
    /// `public`, `private` or `internal` (GitHub Enterprise).
    pub visibility: String,
    pub description: Option<String>,
    pub language: Option<String>,
    pub stars: u64,
    pub open_issues: u64,
    pub topics: Vec<String>,
    /// RFC 3339, UTC.
    pub pushed_at: Option<String>,
    pub archived: bool,
    pub avatar_url: Option<String>,
}

impl RepoSummary {
    /// Parse `GET /repos/{owner}/{repo}` (or a webhook's `repository`).
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let raw: RawRepository = serde_json::from_slice(bytes)?;
        let pushed_at = match raw.pushed_at {
            Some(serde_json::Value::String(text)) => rfc3339_utc(&text),
            Some(serde_json::Value::Number(epoch)) => epoch
                .as_i64()
                .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            _ => None,
        };
        Ok(Self {
            visibility: raw
                .visibility
                .unwrap_or_else(|| if raw.private { "private" } else { "public" }.to_owned()),
            full_name: raw.full_name,
            private: raw.private,
            description: raw
                .description
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty()),
            language: raw.language.filter(|l| !l.is_empty()),
            stars: raw.stargazers_count.unwrap_or(0),
            open_issues: raw.open_issues_count.unwrap_or(0),
            topics: raw.topics,
            pushed_at,
            archived: raw.archived,
            avatar_url: raw.owner.and_then(|o| o.avatar_url),
        })
    }

    fn visibility_label(&self) -> String {
        let mut label = match self.visibility.as_str() {
            "internal" => "Internal".to_owned(),
            _ if self.private => "Private".to_owned(),
            _ => "Public".to_owned(),
        };
        if self.archived {
            label.push_str(", archived");
        }
        label
    }

    /// Primer's neutral grey for public, attention amber for anything restricted.
    fn visibility_color(&self) -> Color {
        if self.private || self.visibility == "internal" {
            Color::rgb(0x9a, 0x67, 0x00)
        } else {
            Color::rgb(0x59, 0x63, 0x6e)
        }
    }
}

/// `1,234`: stars read at a glance.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Every attribute of one repository's preview, in display order.
pub fn attributes(repo: &RepoSummary) -> Vec<Attribute> {
    let stars = if repo.stars == 1 { "star" } else { "stars" };
    Builder::titled(&repo.full_name, &repo.full_name)
        .state(
            "visibility",
            "Visibility",
            &repo.visibility_label(),
            repo.visibility_color(),
        )
        .text(
            "language",
            "Language",
            repo.language.clone(),
            TextSection::Primary,
        )
        .text(
            "stars",
            "Stars",
            Some(format!("{} {stars}", grouped(repo.stars))),
            TextSection::Primary,
        )
        .text(
            "open_issues",
            "Open issues",
            Some(plural(repo.open_issues, "open issue", "open issues")),
            TextSection::Primary,
        )
        .text(
            "topics",
            "Topics",
            labels_text(&repo.topics),
            TextSection::Secondary,
        )
        .time("pushed", "Last push", repo.pushed_at.as_deref())
        .identifier("Repository", repo.full_name.clone())
        .avatar("Owner", repo.avatar_url.as_deref())
        .entity("Visibility color", repo.visibility_color())
        .body("Description", repo.description.clone())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1234), "1,234");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn the_webhook_form_and_the_rest_form_both_parse() {
        let rest = RepoSummary::from_json(
            br#"{"full_name": "o/r", "private": true, "pushed_at": "2024-01-01T10:00:00+01:00"}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rest.pushed_at.as_deref(), Some("2024-01-01T09:00:00Z"));
        assert_eq!(rest.visibility_label(), "Private");
        let hook = RepoSummary::from_json(br#"{"full_name": "o/r", "pushed_at": 1557933657}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hook.pushed_at.as_deref(), Some("2019-05-15T15:20:57Z"));
        // No `private` field reads as private.
        assert!(hook.private);
    }
}
