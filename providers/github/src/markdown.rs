//! A pull request's Markdown body reduced to one line of plain text for the preview's
//! `body` section.
//!
//! Notion shows `plain_text` verbatim, so Markdown syntax would appear as noise. This is
//! not a Markdown parser: it handles what PR bodies are made of (templates full of HTML
//! comments, headings, lists, task lists, links, images, code, tables, `<details>`) and
//! leaves anything else as text, which is the safe failure for a summary.

use std::sync::LazyLock;

use notion_unfurl_sdk::regex::{Captures, Regex};

/// Roughly three lines of a Notion preview; longer bodies end with an ellipsis.
pub const SUMMARY_CHARS: usize = 300;

/// The constant patterns are covered by the unit tests below; should one ever fail to
/// compile, its step is skipped rather than taking the provider down.
fn compile(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

static COMMENT: LazyLock<Option<Regex>> = LazyLock::new(|| compile(r"(?s)<!--.*?(?:-->|\z)"));
static FENCE: LazyLock<Option<Regex>> = LazyLock::new(|| compile(r"^\s{0,3}(`{3,}|~{3,})"));
static HEADING: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"^\s{0,3}#{1,6}(?:\s+(.*?))?(?:\s+#+)?\s*$"));
static RULE: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"^\s{0,3}(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,}|=+\s*)$"));
static LIST_ITEM: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?"));
static QUOTE: LazyLock<Option<Regex>> = LazyLock::new(|| compile(r"^\s{0,3}(?:>\s?)+"));
static TABLE_RULE: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$"));
static REFERENCE: LazyLock<Option<Regex>> = LazyLock::new(|| compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+"));
static CODE_SPAN: LazyLock<Option<Regex>> = LazyLock::new(|| compile(r"(`+)(.+?)`+"));
static IMAGE: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"!\[[^\]]*\](?:\([^)]*\)|\[[^\]]*\])"));
static LINK: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"\[([^\]]*)\](?:\([^)]*\)|\[[^\]]*\])"));
static AUTOLINK: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"<((?:https?|mailto):[^<>\s]+)>"));
static TAG: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"</?([A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*)?/?>"));
static STRONG: LazyLock<Option<Regex>> = LazyLock::new(|| compile(r"\*\*|~~"));
static UNDERSCORES: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"(^|[^\w])__?(\S(?:.*?\S)?)__?([^\w]|$)"));
static STAR: LazyLock<Option<Regex>> = LazyLock::new(|| compile(r"\*(\S(?:[^*]*?\S)?)\*"));
static ESCAPE: LazyLock<Option<Regex>> = LazyLock::new(|| compile(r"\\([!-/:-@\[-`{-~])"));

fn replace(re: &LazyLock<Option<Regex>>, text: &str, with: &str) -> String {
    match re.as_ref() {
        Some(re) => re.replace_all(text, with).into_owned(),
        None => text.to_owned(),
    }
}

fn matches(re: &LazyLock<Option<Regex>>, text: &str) -> bool {
    re.as_ref().is_some_and(|re| re.is_match(text))
}

/// Tags that separate blocks when rendered; the rest (`<b>`, `<a>`, `<img>`) vanish inline.
fn block_tag(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "br" | "p"
            | "div"
            | "details"
            | "summary"
            | "li"
            | "ul"
            | "ol"
            | "tr"
            | "td"
            | "th"
            | "table"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "hr"
            | "blockquote"
            | "pre"
    )
}

fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    text.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Backslash-escaped punctuation is moved to a private-use plane while the other rules
/// run, so `\*` or `\[` is never read as markup, and restored afterwards.
const ESCAPED: u32 = 0xF_0000;

fn protect_escapes(text: &str) -> String {
    match ESCAPE.as_ref() {
        Some(re) => re
            .replace_all(text, |c: &Captures<'_>| {
                c.get(1)
                    .and_then(|m| m.as_str().chars().next())
                    .and_then(|ch| char::from_u32(ESCAPED + u32::from(ch)))
                    .map(String::from)
                    .unwrap_or_default()
            })
            .into_owned(),
        None => text.to_owned(),
    }
}

fn restore_escapes(text: &str) -> String {
    text.chars()
        .map(|c| match u32::from(c).checked_sub(ESCAPED) {
            Some(ascii @ 0..=0x7f) => char::from_u32(ascii).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Inline Markdown of text outside code spans.
fn inline_prose(text: &str) -> String {
    let text = protect_escapes(text);
    let text = replace(&IMAGE, &text, "");
    let text = replace(&LINK, &text, "$1");
    let text = replace(&AUTOLINK, &text, "$1");
    let text = match TAG.as_ref() {
        Some(re) => re
            .replace_all(&text, |c: &Captures<'_>| {
                if c.get(1).is_some_and(|m| block_tag(m.as_str())) {
                    " "
                } else {
                    ""
                }
            })
            .into_owned(),
        None => text,
    };
    let text = replace(&STRONG, &text, "");
    // `_` only marks emphasis at word edges: `snake_case` and `__init__` inside words stay.
    let text = replace(&UNDERSCORES, &text, "$1$2$3");
    let text = replace(&STAR, &text, "$1");
    restore_escapes(&decode_entities(&text))
}

/// Inline Markdown of one line: code spans keep their content verbatim.
fn inline(text: &str) -> String {
    let Some(code) = CODE_SPAN.as_ref() else {
        return inline_prose(text);
    };
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for caps in code.captures_iter(text) {
        let (Some(whole), Some(content)) = (caps.get(0), caps.get(2)) else {
            continue;
        };
        out.push_str(&inline_prose(&text[last..whole.start()]));
        out.push_str(content.as_str().trim());
        last = whole.end();
    }
    out.push_str(&inline_prose(&text[last..]));
    out
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Blocks of text in reading order: paragraphs, headings, list items, table rows, code.
fn blocks(markdown: &str) -> Vec<String> {
    let text = markdown.replace("\r\n", "\n").replace('\r', "\n");
    let text = replace(&COMMENT, &text, "");
    let mut blocks: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut fence: Option<String> = None;
    let flush = |current: &mut String, blocks: &mut Vec<String>| {
        let block = collapse(current);
        if !block.is_empty() {
            blocks.push(block);
        }
        current.clear();
    };
    for line in text.lines() {
        if let Some(marker) = FENCE
            .as_ref()
            .and_then(|re| re.captures(line))
            .and_then(|c| c.get(1))
        {
            let marker = marker.as_str();
            match &fence {
                Some(open) if marker.starts_with(open.as_str()) => {
                    fence = None;
                    flush(&mut current, &mut blocks);
                    continue;
                }
                // A shorter or other fence inside a code block is code.
                Some(_) => {}
                None => {
                    flush(&mut current, &mut blocks);
                    fence = Some(marker.to_owned());
                    continue;
                }
            }
        }
        if fence.is_some() {
            // Code stays as text (a body may be nothing but a snippet); it is one block.
            current.push(' ');
            current.push_str(line);
            continue;
        }
        if line.trim().is_empty()
            || matches(&RULE, line)
            || matches(&TABLE_RULE, line) && line.contains('-')
            || matches(&REFERENCE, line)
        {
            flush(&mut current, &mut blocks);
            continue;
        }
        if let Some(caps) = HEADING.as_ref().and_then(|re| re.captures(line)) {
            flush(&mut current, &mut blocks);
            let heading = collapse(&inline(caps.get(1).map_or("", |m| m.as_str())));
            if !heading.is_empty() {
                // A heading introduces what follows: "Summary: Fixes the parser".
                let colon = if heading.ends_with(|c: char| c.is_ascii_punctuation()) {
                    ""
                } else {
                    ":"
                };
                blocks.push(format!("{heading}{colon}"));
            }
            continue;
        }
        let line = replace(&QUOTE, line, "");
        let line = if matches(&LIST_ITEM, &line) {
            flush(&mut current, &mut blocks);
            replace(&LIST_ITEM, &line, "")
        } else {
            line
        };
        let trimmed = line.trim();
        if trimmed.starts_with('|') || trimmed.ends_with('|') && trimmed.contains(" | ") {
            flush(&mut current, &mut blocks);
            current.push_str(&inline(trimmed.trim_matches('|')));
            flush(&mut current, &mut blocks);
            continue;
        }
        current.push(' ');
        current.push_str(&inline(&line));
    }
    flush(&mut current, &mut blocks);
    blocks
}

/// The whole body as one line of plain text.
pub fn to_plain_text(markdown: &str) -> String {
    let mut out = String::new();
    for block in blocks(markdown) {
        if !out.is_empty() {
            // Sentences already end in punctuation; bare list items and table rows need
            // a visible separator once the line breaks are gone.
            let separator = if out.ends_with(|c: char| ".!?:;,…".contains(c)) {
                " "
            } else {
                " · "
            };
            out.push_str(separator);
        }
        out.push_str(&block);
    }
    out
}

/// At most `max_chars` characters, cut at a word boundary when one is near, with `…`.
pub fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars || max_chars == 0 {
        return text.to_owned();
    }
    let cut = text
        .char_indices()
        .nth(max_chars.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i);
    let head = &text[..cut];
    let ends_a_word = text[cut..].starts_with(char::is_whitespace);
    let head = match head.rfind(char::is_whitespace) {
        Some(space) if !ends_a_word && head[..space].chars().count() * 10 >= max_chars * 7 => {
            &head[..space]
        }
        _ => head,
    };
    let head = head.trim_end_matches(|c: char| c.is_whitespace() || ",;:·-".contains(c));
    format!("{head}…")
}

/// The preview's description: `None` for a missing or effectively empty body.
pub fn summary(body: Option<&str>) -> Option<String> {
    let text = to_plain_text(body?);
    if text.trim().is_empty() {
        None
    } else {
        Some(truncate(&text, SUMMARY_CHARS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        for re in [
            &COMMENT,
            &FENCE,
            &HEADING,
            &RULE,
            &LIST_ITEM,
            &QUOTE,
            &TABLE_RULE,
            &REFERENCE,
            &CODE_SPAN,
            &IMAGE,
            &LINK,
            &AUTOLINK,
            &TAG,
            &STRONG,
            &UNDERSCORES,
            &STAR,
            &ESCAPE,
        ] {
            assert!(re.is_some());
        }
    }

    #[test]
    fn a_pr_template_reads_as_one_line() {
        let body = "<!-- Thanks for contributing! Describe your change below. -->\r\n\
            ## Summary\r\n\
            This fixes the **parser** when [the input](https://example.com/x) is empty.\r\n\
            It also handles `__init__` files.\r\n\r\n\
            ## Changes\r\n\
            - [x] Adds a *regression* test\r\n\
            - [ ] Updates the docs\r\n\r\n\
            ![screenshot](https://user-images.githubusercontent.com/1/2.png)\r\n\
            <details><summary>Logs</summary>\r\n\r\n\
            ```text\r\nerror: boom\r\n```\r\n\
            </details>\r\n\
            Fixes #12";
        assert_eq!(
            to_plain_text(body),
            "Summary: This fixes the parser when the input is empty. It also handles \
             __init__ files. Changes: Adds a regression test · Updates the docs · Logs · \
             error: boom · Fixes #12"
        );
    }

    #[test]
    fn inline_markup_is_reduced_to_its_text() {
        assert_eq!(
            to_plain_text(
                "A [![badge](https://x.test/b.svg)](https://x.test) _really_ ~~bad~~ good \
                 <b>bold</b> &amp; <https://x.test/a> snake_case 2 * 3 \\*literal\\*"
            ),
            "A really bad good bold & https://x.test/a snake_case 2 * 3 *literal*"
        );
    }

    #[test]
    fn tables_quotes_rules_and_references_are_flattened() {
        let body = "> Quoted **text**\n\n| a | b |\n|---|:-:|\n| 1 | 2 |\n\n---\n\n\
                    [ref]: https://x.test\nSee [docs][ref].\n# Title #\nSetext\n===";
        assert_eq!(
            to_plain_text(body),
            "Quoted text · a | b · 1 | 2 · See docs. Title: Setext"
        );
    }

    #[test]
    fn an_unterminated_comment_or_fence_hides_nothing_it_should_not() {
        assert_eq!(to_plain_text("Text <!-- left open"), "Text");
        assert_eq!(to_plain_text("```\ncode only"), "code only");
    }

    #[test]
    fn long_text_is_cut_at_a_word_with_an_ellipsis() {
        let text = "word ".repeat(100);
        let cut = truncate(text.trim(), 50);
        assert!(cut.chars().count() <= 50, "{cut}");
        assert!(cut.ends_with("word…"), "{cut}");
        let unbroken = "é".repeat(60);
        let cut = truncate(&unbroken, 50);
        assert_eq!(cut.chars().count(), 50);
        assert!(cut.ends_with('…'));
        assert_eq!(truncate("short", 50), "short");
    }

    #[test]
    fn empty_and_comment_only_bodies_have_no_summary() {
        assert_eq!(summary(None), None);
        assert_eq!(summary(Some("")), None);
        assert_eq!(summary(Some("<!-- template -->\r\n\r\n   ")), None);
        assert_eq!(summary(Some("Hi")), Some("Hi".to_owned()));
    }
}
