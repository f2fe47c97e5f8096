//! Players a page declares for itself: `og:video` and `twitter:player`. Notion shows an
//! `html` embed as an iframe and a `video` embed as a file, both only from `https`.

use notion_unfurl_sdk::Url;

use super::clues::resolve;
use super::document::Found;

/// A playable form of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Player {
    /// Always `https`.
    pub url: Url,
    pub kind: PlayerKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerKind {
    /// A page made to be framed (`text/html`, a `twitter:player`).
    Html,
    /// A video file.
    Video,
}

/// File extensions of video a browser plays directly.
const VIDEO_EXTENSIONS: [&str; 5] = [".mp4", ".m4v", ".webm", ".mov", ".ogv"];

/// The first https player or video the page declares. `og:video` values typed as
/// something else (`application/x-shockwave-flash`) are passed over.
pub(super) fn declared(found: &Found<'_>, base: &Url) -> Option<Player> {
    let og_type = found
        .meta_values("og:video:type")
        .next()
        .map(|t| t.trim().to_ascii_lowercase());
    let og = ["og:video:secure_url", "og:video:url", "og:video"]
        .iter()
        .flat_map(|key| found.meta_values(key))
        .filter_map(|raw| https(base, raw))
        .find_map(|url| {
            let kind = match og_type.as_deref() {
                Some("text/html") => PlayerKind::Html,
                Some(t) if t.starts_with("video/") => PlayerKind::Video,
                Some(_) => return None,
                None if is_video_file(&url) => PlayerKind::Video,
                None => PlayerKind::Html,
            };
            Some(Player { url, kind })
        });
    og.or_else(|| {
        let url = found
            .meta_values("twitter:player")
            .find_map(|raw| https(base, raw))?;
        Some(Player {
            url,
            kind: PlayerKind::Html,
        })
    })
    .or_else(|| {
        let url = found
            .meta_values("twitter:player:stream")
            .find_map(|raw| https(base, raw))?;
        Some(Player {
            url,
            kind: PlayerKind::Video,
        })
    })
}

fn https(base: &Url, raw: &str) -> Option<Url> {
    resolve(base, raw).filter(|u| u.scheme() == "https")
}

fn is_video_file(url: &Url) -> bool {
    let path = url.path().to_ascii_lowercase();
    VIDEO_EXTENSIONS.iter().any(|e| path.ends_with(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::test_support::extract;

    #[test]
    fn an_html_player_is_read_from_opengraph_or_twitter() {
        let meta = extract(
            r#"<meta property="og:video:url" content="https://www.youtube.com/embed/abc">
               <meta property="og:video:type" content="text/html">"#,
        );
        let player = meta.player.unwrap_or_else(|| panic!("player expected"));
        assert_eq!(player.url.as_str(), "https://www.youtube.com/embed/abc");
        assert_eq!(player.kind, PlayerKind::Html);
        let meta =
            extract(r#"<meta name="twitter:player" content="https://player.vimeo.com/video/1">"#);
        assert_eq!(meta.player.map(|p| p.kind), Some(PlayerKind::Html));
    }

    #[test]
    fn video_files_are_video_and_plain_http_or_flash_is_no_player() {
        let meta = extract(r#"<meta property="og:video" content="https://cdn.x.test/clip.mp4">"#);
        assert_eq!(meta.player.map(|p| p.kind), Some(PlayerKind::Video));
        let http = extract(r#"<meta property="og:video" content="http://x.test/embed/1">"#);
        assert_eq!(http.player, None);
        let flash = extract(
            r#"<meta property="og:video" content="https://x.test/p.swf">
               <meta property="og:video:type" content="application/x-shockwave-flash">"#,
        );
        assert_eq!(flash.player, None);
    }

    #[test]
    fn the_oembed_link_is_discovered() {
        let meta = extract(
            r#"<link rel="alternate" type="application/json+oembed" href="/oembed?url=x&amp;format=json">
               <link rel="alternate" type="text/xml+oembed" href="/oembed.xml">"#,
        );
        assert_eq!(
            meta.oembed.as_ref().map(Url::as_str),
            Some("https://www.example.com/oembed?url=x&format=json")
        );
    }
}
