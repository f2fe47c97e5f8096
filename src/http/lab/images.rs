//! The lab's image check (issue 9, "an image that does not load"): each `image` attribute's
//! `src_url` is fetched through the guarded fetcher (public addresses only, as for any page)
//! with a small cap and a short deadline, and the answer said in one sentence.

use std::time::Duration;

use notion_unfurl_sdk::fetch::{BodyMode, FetchError};
use notion_unfurl_sdk::{GuardedClient, Url};

use crate::http::lab::checks::{Check, Level};
use crate::http::lab::preview::{Attr, Content};

/// Images fetched per answer; the rest are not checked.
const MAX_IMAGES: usize = 4;
/// Bytes read of each; enough to know an image answered.
const MAX_BYTES: usize = 256 * 1024;
/// How long one image may take.
const DEADLINE: Duration = Duration::from_secs(5);

/// One finding per `image` attribute with an https `src_url` (others are the media
/// check's to flag), at most [`MAX_IMAGES`].
pub async fn checks(guarded: &GuardedClient, kept: &[Attr]) -> Vec<Check> {
    let images: Vec<(&str, Url)> = kept
        .iter()
        .filter(|a| a.subtype == "image")
        .filter_map(|a| match &a.content {
            Content::Media(src) => Url::parse(src)
                .ok()
                .filter(|u| u.scheme() == "https")
                .map(|u| (a.id.as_str(), u)),
            _ => None,
        })
        .take(MAX_IMAGES)
        .collect();
    let mut out = Vec::new();
    for (id, url) in images {
        let fetched =
            tokio::time::timeout(DEADLINE, guarded.get(&url, BodyMode::FullUpTo(MAX_BYTES))).await;
        let (level, sentence) = match fetched {
            Err(_) => (
                Level::Fail,
                format!(
                    "`{id}`: the image did not answer within {} s.",
                    DEADLINE.as_secs()
                ),
            ),
            Ok(Err(FetchError::Blocked(reason))) => (
                Level::Fail,
                format!(
                    "`{id}`: the image was not fetched ({reason}); Notion's readers could not load it either."
                ),
            ),
            Ok(Err(e)) => (
                Level::Fail,
                format!("`{id}`: the image does not load: {e}."),
            ),
            Ok(Ok(f)) if f.status != 200 => (
                Level::Fail,
                format!("`{id}`: the image does not load: status {}.", f.status),
            ),
            Ok(Ok(f)) => match f.content_type.as_deref() {
                Some(t) if t.trim_start().to_ascii_lowercase().starts_with("image/") => {
                    (Level::Pass, format!("`{id}`: the image loads ({t})."))
                }
                other => (
                    Level::Warn,
                    format!(
                        "`{id}`: src_url answers {}, not an image.",
                        other.unwrap_or("with no content type")
                    ),
                ),
            },
        };
        out.push(Check { level, sentence });
    }
    out
}
