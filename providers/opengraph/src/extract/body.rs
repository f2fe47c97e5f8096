//! Heuristics on the page's body, used only when the metadata says nothing: the first
//! paragraph that reads as the article's own text stands in for a missing description.

use std::sync::LazyLock;

use scraper::{ElementRef, Html, Selector};

use super::text::clean_text;

/// Shortest paragraph taken as a summary; shorter ones are captions, datelines, buttons.
const MIN_PARAGRAPH_CHARS: usize = 80;
/// Paragraphs looked at before giving up: the summary is near the top or nowhere.
const MAX_PARAGRAPHS: usize = 60;

static PARAGRAPHS: LazyLock<Option<Selector>> = LazyLock::new(|| Selector::parse("p").ok());

/// Elements whose paragraphs are never the article's text.
const CHROME_ELEMENTS: [&str; 8] = [
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "figcaption",
    "blockquote",
    "noscript",
];

/// Words in a `class` or `id` that mark banners, boxes and navigation.
const CHROME_MARKERS: [&str; 14] = [
    "cookie",
    "consent",
    "gdpr",
    "subscribe",
    "newsletter",
    "signup",
    "sign-up",
    "paywall",
    "banner",
    "promo",
    "footer",
    "nav",
    "modal",
    "disclaimer",
];

/// The first substantial paragraph of the body, cut at a sentence boundary within `max`
/// characters.
pub(super) fn first_paragraph(document: &Html, max: usize) -> Option<String> {
    let selector = PARAGRAPHS.as_ref()?;
    document
        .select(selector)
        .take(MAX_PARAGRAPHS)
        .filter(|p| !in_chrome(p))
        .filter_map(|p| clean_text(&p.text().collect::<String>()))
        .find(|text| is_prose(text))
        .map(|text| cut_at_sentence(&text, max))
}

fn in_chrome(p: &ElementRef<'_>) -> bool {
    std::iter::once(p.value())
        .chain(p.ancestors().filter_map(|n| n.value().as_element()))
        .any(|el| {
            if CHROME_ELEMENTS.contains(&el.name()) {
                return true;
            }
            let marked = |attr: Option<&str>| {
                attr.is_some_and(|v| {
                    let v = v.to_ascii_lowercase();
                    CHROME_MARKERS.iter().any(|m| v.contains(m))
                })
            };
            marked(el.attr("class"))
                || marked(el.attr("id"))
                || el
                    .attr("role")
                    .is_some_and(|r| r == "navigation" || r == "dialog")
        })
}

/// Long enough, ends a sentence, and is not a boilerplate line.
fn is_prose(text: &str) -> bool {
    let lower = text.to_lowercase();
    text.chars().count() >= MIN_PARAGRAPH_CHARS
        && text.contains(['.', '!', '?', '。'])
        && ![
            "©",
            "copyright",
            "all rights reserved",
            "cookies",
            "javascript",
        ]
        .iter()
        .any(|b| lower.contains(b))
}

/// `text` up to the last sentence end within `max` characters; the whole first sentence
/// cut at `max` when even that is longer.
fn cut_at_sentence(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let limit = text
        .char_indices()
        .nth(max)
        .map_or(text.len(), |(at, _)| at);
    let head = &text[..limit];
    let end = head
        .match_indices(['.', '!', '?', '。'])
        .map(|(at, m)| at + m.len())
        .rfind(|&end| end == head.len() || head[end..].starts_with(' '));
    match end {
        Some(end) if end >= MIN_PARAGRAPH_CHARS / 2 => head[..end].to_owned(),
        _ => super::text::truncate(text, max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::test_support::extract_body;

    const PROSE: &str = "The council voted on Tuesday to rebuild the old bridge, which has been closed since the spring floods.";

    #[test]
    fn the_first_article_paragraph_describes_a_page_without_a_summary() {
        let meta = extract_body(&format!(
            r#"<nav><p>Home. News. Sport. Weather. Culture. Travel. Opinion. More sections here.</p></nav>
               <div class="cookie-banner"><p>We use cookies to improve your experience on this website. Accept all cookies.</p></div>
               <p>Short line.</p><article><p>{PROSE}</p><p>Second paragraph.</p></article>"#
        ));
        assert_eq!(meta.description.as_deref(), Some(PROSE));
    }

    #[test]
    fn a_declared_description_wins_over_the_body() {
        let html = format!(
            r#"<html><head><meta name="description" content="Declared."></head><body><p>{PROSE}</p></body></html>"#
        );
        let meta =
            crate::extract::from_html(&html, &crate::extract::test_support::url("https://x.test/"));
        assert_eq!(meta.description.as_deref(), Some("Declared."));
    }

    #[test]
    fn long_paragraphs_are_cut_at_a_sentence_end() {
        let long = format!("{PROSE} {PROSE} {PROSE} {PROSE}");
        let cut = cut_at_sentence(&long, 300);
        assert_eq!(cut, format!("{PROSE} {PROSE}"));
        assert_eq!(
            extract_body("<p>Too short to say anything.</p>").description,
            None
        );
    }
}
