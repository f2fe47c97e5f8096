//! Releases: `GET /repos/{owner}/{repo}/releases/tags/{tag}` reduced to
//! [`ReleaseSummary`], and the preview's attributes. Whether it is the latest release
//! comes from `GET /repos/{owner}/{repo}/releases/latest`, read side by side.
//!
//! Layout:
//!
//! | id | sub-type | section | value |
//! |---|---|---|---|
//! | `title` | title | title | the release name, else its tag |
//! | `kind` | enum | primary | Latest / Pre-release / Draft / Release |
//! | `tag` | plain_text | primary | the tag, when the name is not it |
//! | `author` | plain_text | secondary | the author's login |
//! | `published` | datetime | secondary | `published_at` (else `created_at`) |
//! | `identifier` | plain_text | identifier | `owner/repo` |
//! | `avatar` | image | avatar | the author's avatar |
//! | `entity` | color | entity | the kind's colour |
//! | `description` | plain_text | body | the notes as plain text ([`markdown::summary`]) |

use notion_unfurl_sdk::attributes::TextSection;
use notion_unfurl_sdk::{Attribute, Color};
use serde::Deserialize;

use crate::attributes::Builder;
use crate::markdown;
use crate::pull::rfc3339_utc;

#[derive(Debug, Deserialize)]
struct RawUser {
    login: String,
    avatar_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawRelease {
    id: u64,
    tag_name: String,
    name: Option<String>,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    prerelease: bool,
    author: Option<RawUser>,
    published_at: Option<String>,
    created_at: Option<String>,
    body: Option<String>,
}

/// A release as the preview uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSummary {
    pub id: u64,
    pub tag: String,
    pub name: Option<String>,
    pub draft: bool,
    pub prerelease: bool,
    pub author: Option<String>,
    pub avatar_url: Option<String>,
    /// RFC 3339, UTC.
    pub published_at: Option<String>,
    pub notes: Option<String>,
}

impl ReleaseSummary {
    /// Parse `GET …/releases/tags/{tag}` or `…/releases/latest` (or a webhook's `release`).
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let raw: RawRelease = serde_json::from_slice(bytes)?;
        Ok(Self {
            id: raw.id,
            tag: raw.tag_name,
            name: raw
                .name
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty()),
            draft: raw.draft,
            prerelease: raw.prerelease,
            author: raw.author.as_ref().map(|a| a.login.clone()),
            avatar_url: raw.author.and_then(|a| a.avatar_url),
            published_at: raw
                .published_at
                .as_deref()
                .or(raw.created_at.as_deref())
                .and_then(rfc3339_utc),
            notes: markdown::summary(raw.body.as_deref()),
        })
    }

    /// The label and colour of what the release is; `latest` is the id of the
    /// repository's latest release, when it was read.
    fn kind(&self, latest: Option<u64>) -> (&'static str, Color) {
        if self.draft {
            ("Draft", Color::rgb(0x59, 0x63, 0x6e))
        } else if self.prerelease {
            ("Pre-release", Color::rgb(0x9a, 0x67, 0x00))
        } else if latest == Some(self.id) {
            ("Latest", Color::rgb(0x1f, 0x88, 0x3d))
        } else {
            ("Release", Color::rgb(0x09, 0x69, 0xda))
        }
    }
}

/// Every attribute of one release's preview, in display order.
pub fn attributes(
    release: &ReleaseSummary,
    latest: Option<u64>,
    full_name: &str,
) -> Vec<Attribute> {
    let (kind, color) = release.kind(latest);
    let title = release.name.clone().unwrap_or_else(|| release.tag.clone());
    Builder::titled(&title, full_name)
        .state("kind", "Release", kind, color)
        .text(
            "tag",
            "Tag",
            (title != release.tag).then(|| release.tag.clone()),
            TextSection::Primary,
        )
        .author(release.author.as_deref())
        .time("published", "Published", release.published_at.as_deref())
        .identifier("Release", full_name.to_owned())
        .avatar("Avatar", release.avatar_url.as_deref())
        .entity("Release color", color)
        .body("Notes", release.notes.clone())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(json: &str) -> ReleaseSummary {
        ReleaseSummary::from_json(json.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn drafts_and_pre_releases_outrank_latest() {
        let plain = release(r#"{"id": 1, "tag_name": "v1"}"#);
        assert_eq!(plain.kind(Some(1)).0, "Latest");
        assert_eq!(plain.kind(Some(2)).0, "Release");
        assert_eq!(plain.kind(None).0, "Release");
        let pre = release(r#"{"id": 1, "tag_name": "v1", "prerelease": true}"#);
        assert_eq!(pre.kind(Some(1)).0, "Pre-release");
    }

    #[test]
    fn an_unnamed_release_is_titled_by_its_tag_once() {
        let plain = release(r#"{"id": 1, "tag_name": "v1", "name": ""}"#);
        let attributes = attributes(&plain, None, "o/r");
        assert_eq!(attributes[0].text(), Some("v1"));
        assert!(!attributes.iter().any(|a| a.id() == "tag"));
    }
}
