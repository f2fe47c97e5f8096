//! oEmbed (<https://oembed.com>): the player a page advertises through
//! `<link rel=alternate type=application/json+oembed>`, read when the page's own metadata
//! declares none. The endpoint is fetched through the same guarded client as the page
//! (same address policy, redirects and deadline), capped at [`OEMBED_MAX_BYTES`].
//!
//! What becomes of an answer, by its `type`: `video` and `rich` give an `html` embed whose
//! source is the `src` of the first `<iframe>` in `html` (never the markup itself: Notion
//! frames a URL, and an https one); `photo` gives an `image` embed of `url`; `link` and
//! anything unreadable give nothing, and the preview goes on without a player.

use notion_unfurl_sdk::attributes::MediaKind;
use notion_unfurl_sdk::fetch::BodyMode;
use notion_unfurl_sdk::{Context, Url};
use serde_json::Value;

/// Largest oEmbed answer read; real ones are well under 4 KiB.
pub const OEMBED_MAX_BYTES: usize = 64 * 1024;

/// Something Notion can show in its `embed` area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embed {
    pub url: Url,
    pub kind: MediaKind,
}

/// Ask `endpoint` for the page's player (`None` on any failure), with the bytes read.
pub async fn fetch(ctx: &Context, endpoint: &Url) -> (Option<Embed>, usize) {
    let fetched = match ctx
        .guarded
        .get(endpoint, BodyMode::FullUpTo(OEMBED_MAX_BYTES))
        .await
    {
        Ok(fetched) => fetched,
        Err(e) => {
            tracing::debug!(error = %e, "oEmbed endpoint not read");
            return (None, 0);
        }
    };
    if fetched.status != 200 {
        tracing::debug!(status = fetched.status, "oEmbed endpoint refused");
        return (None, 0);
    }
    let answer = serde_json::from_slice::<Value>(&fetched.body).ok();
    (answer.as_ref().and_then(embed), fetched.body.len())
}

/// The embed an oEmbed answer describes.
pub fn embed(answer: &Value) -> Option<Embed> {
    let text = |key: &str| answer.get(key).and_then(Value::as_str);
    let (raw, kind) = match text("type")? {
        "video" | "rich" => (iframe_src(text("html")?)?, MediaKind::Html),
        "photo" => (text("url")?.to_owned(), MediaKind::Image),
        _ => return None,
    };
    let url = Url::parse(raw.trim()).ok()?;
    (url.scheme() == "https").then_some(Embed { url, kind })
}

/// The `src` of the first `<iframe>` in `html`, with `&amp;` decoded.
fn iframe_src(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let tag_start = lower.find("<iframe")?;
    let tag_end = tag_start + lower[tag_start..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let tag_lower = &lower[tag_start..tag_end];
    let mut from = 0;
    while let Some(at) = tag_lower[from..].find("src") {
        let at = from + at;
        from = at + 3;
        // `data-src`, `srcdoc`: another attribute.
        let before = tag_lower[..at].chars().next_back();
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let rest = tag[at + 3..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        let value = match rest.chars().next()? {
            quote @ ('"' | '\'') => rest[1..].split(quote).next()?,
            _ => rest.split(|c: char| c.is_whitespace() || c == '>').next()?,
        };
        return Some(value.replace("&amp;", "&"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn video_and_rich_answers_give_their_iframe_source() {
        let youtube = json!({"type": "video", "version": "1.0",
            "html": "<iframe width=\"200\" height=\"113\" src=\"https://www.youtube.com/embed/dQw4w9WgXcQ?feature=oembed&amp;x=1\" frameborder=\"0\" allowfullscreen></iframe>"});
        let got = embed(&youtube).unwrap_or_else(|| panic!("embed expected"));
        assert_eq!(got.kind, MediaKind::Html);
        assert_eq!(
            got.url.as_str(),
            "https://www.youtube.com/embed/dQw4w9WgXcQ?feature=oembed&x=1"
        );
        let rich = json!({"type": "rich",
            "html": "<div><IFRAME data-src='x' SRC='https://www.loom.com/embed/abc'></IFRAME></div>"});
        assert_eq!(
            embed(&rich).map(|e| e.url.to_string()).as_deref(),
            Some("https://www.loom.com/embed/abc")
        );
    }

    #[test]
    fn photos_are_images_and_the_rest_is_nothing() {
        let photo = json!({"type": "photo", "url": "https://i.example.com/p.jpg"});
        assert_eq!(embed(&photo).map(|e| e.kind), Some(MediaKind::Image));
        for nothing in [
            json!({"type": "link", "url": "https://example.com/"}),
            json!({"type": "video", "html": "<video src=\"https://x.test/v.mp4\"></video>"}),
            json!({"type": "video", "html": "<iframe src=\"http://plain.example/embed\"></iframe>"}),
            json!({"type": "video", "html": "<iframe src=\"javascript:alert(1)\"></iframe>"}),
            json!({"html": "<iframe src=\"https://x.test/\"></iframe>"}),
        ] {
            assert_eq!(embed(&nothing), None, "{nothing}");
        }
    }
}
