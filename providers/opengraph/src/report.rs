//! The `notion-unfurl extract` report: what the extractor reads from a page, as one JSON
//! object, for provider authors and operators asking why a page previews as it does.
//!
//! Keys: `title`, `description`, `image`, `url`, `publisher`, `author`, `date` (RFC 3339
//! with its offset), `logo`, `lang` (BCP 47), each `null` when absent; then `video` (the
//! page's declared player: `{"url", "kind"}`), `oembed` (its oEmbed endpoint), `sources`
//! (which source gave each field) and, with `explain`, `explain`: per field, every
//! candidate seen in chain order with its verdict.

use serde_json::{Map, Value, json};

use crate::extract::{Explanation, PageMetadata, PlayerKind, Verdict};

/// What to put in the report.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportOptions {
    /// Add every candidate each field saw and why the chosen one won.
    pub explain: bool,
}

/// The report for `html` (raw bytes, decoded as [`crate::charset`] does) served from
/// `url`.
pub fn report(
    html: &[u8],
    content_type: Option<&str>,
    url: &notion_unfurl_sdk::Url,
    options: ReportOptions,
) -> Value {
    let text = crate::charset::decode(html, content_type);
    if options.explain {
        let (meta, explanation) = crate::extract::explain(&text, url);
        let mut value = fields(&meta);
        if let Value::Object(object) = &mut value {
            object.insert("explain".to_owned(), explained(&explanation));
        }
        value
    } else {
        fields(&crate::extract::from_html(&text, url))
    }
}

/// The report's fields for already extracted metadata.
pub fn fields(meta: &PageMetadata) -> Value {
    let sources: Map<String, Value> = meta
        .sources
        .iter()
        .map(|(field, source)| ((*field).to_owned(), Value::from(*source)))
        .collect();
    json!({
        "title": meta.title,
        "description": meta.description,
        "image": meta.image.as_ref().map(|u| u.as_str()),
        "url": meta.url.as_ref().map(|u| u.as_str()),
        "publisher": meta.site_name,
        "author": meta.author,
        "date": meta.published.map(|d| d.to_rfc3339()),
        "logo": meta.icon.as_ref().map(|u| u.as_str()),
        "lang": meta.lang,
        "video": meta.player.as_ref().map(|p| json!({
            "url": p.url.as_str(),
            "kind": match p.kind {
                PlayerKind::Html => "html",
                PlayerKind::Video => "video",
            },
        })),
        "oembed": meta.oembed.as_ref().map(|u| u.as_str()),
        "sources": sources,
    })
}

fn explained(explanation: &Explanation) -> Value {
    let fields: Map<String, Value> = explanation
        .fields
        .iter()
        .map(|(field, seen)| {
            let candidates: Vec<Value> = seen
                .iter()
                .map(|s| {
                    let verdict = match &s.verdict {
                        Verdict::Chosen => "chosen: the first usable value in the chain".to_owned(),
                        Verdict::Later => "not used: an earlier source gave a value".to_owned(),
                        Verdict::Refused(why) => format!("refused: {why}"),
                    };
                    json!({"source": s.source, "value": s.value, "verdict": verdict})
                })
                .collect();
            ((*field).to_owned(), Value::Array(candidates))
        })
        .collect();
    Value::Object(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use notion_unfurl_sdk::Url;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn the_report_has_every_field_null_when_absent() {
        let value = report(
            b"<html></html>",
            None,
            &url("https://x.test/a"),
            ReportOptions::default(),
        );
        for key in [
            "title",
            "description",
            "image",
            "author",
            "date",
            "lang",
            "publisher",
        ] {
            assert_eq!(value[key], Value::Null, "{key}");
        }
        assert_eq!(value["url"], "https://x.test/a");
        assert_eq!(value["sources"]["url"], "page URL");
        assert!(value.get("explain").is_none());
    }

    #[test]
    fn explain_lists_the_losing_candidates_with_their_verdicts() {
        let page = br#"<html lang="en"><head><title>Tag title</title>
            <meta property="og:title" content="OG title | Example"></head></html>"#;
        let options = ReportOptions { explain: true };
        let value = report(page, None, &url("https://example.com/"), options);
        assert_eq!(value["title"], "OG title");
        let dropped = value["explain"]["title"]
            .as_array()
            .and_then(|seen| seen.iter().find(|s| s["source"] == "site part"));
        assert_eq!(dropped.map(|s| &s["value"]), Some(&Value::from("Example")));
        assert_eq!(value["lang"], "en");
        let title = &value["explain"]["title"];
        assert_eq!(title[0]["source"], "og:title");
        assert!(
            title[0]["verdict"]
                .as_str()
                .is_some_and(|v| v.starts_with("chosen"))
        );
        assert_eq!(title[1]["value"], "Tag title");
        assert!(
            title[1]["verdict"]
                .as_str()
                .is_some_and(|v| v.starts_with("not used"))
        );
    }
}
