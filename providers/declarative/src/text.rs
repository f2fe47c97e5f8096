//! Small text helpers the template filters use: plain text from Markdown or HTML, and
//! timestamps normalised to RFC 3339.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

/// Markdown or HTML reduced to one line of plain text: tags, link targets, images,
/// emphasis marks and heading marks dropped, whitespace collapsed.
pub fn plain(text: &str) -> String {
    let html = scraper::Html::parse_fragment(text);
    let stripped: String = if text.contains('<') {
        html.root_element().text().collect()
    } else {
        text.to_owned()
    };
    let mut out = String::with_capacity(stripped.len());
    let mut chars = stripped.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // `![alt](src)` drops whole; `[text](target)` keeps the text.
            '!' if chars.peek() == Some(&'[') => {
                skip_bracketed(&mut chars);
            }
            '[' => {
                let inner: String = chars.by_ref().take_while(|&c| c != ']').collect();
                out.push_str(&inner);
                if chars.peek() == Some(&'(') {
                    chars.by_ref().take_while(|&c| c != ')').for_each(drop);
                }
            }
            '*' | '_' | '`' | '#' | '>' | '~' => {}
            c if c.is_whitespace() => {
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ');
                }
            }
            c => out.push(c),
        }
    }
    out.trim_end().to_owned()
}

fn skip_bracketed(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    chars.by_ref().take_while(|&c| c != ']').for_each(drop);
    if chars.peek() == Some(&'(') {
        chars.by_ref().take_while(|&c| c != ')').for_each(drop);
    }
}

/// `text` as an RFC 3339 timestamp: RFC 3339 itself (offset kept), RFC 2822, a naive
/// `YYYY-MM-DD[T ]HH:MM:SS` taken as UTC, a bare date (midnight UTC) or Unix seconds.
pub fn rfc3339(text: &str) -> Option<String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(text) {
        return Some(t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
    }
    for format in ["%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true));
    }
    if !text.is_empty() && text.len() <= 12 && text.bytes().all(|b| b.is_ascii_digit()) {
        let seconds: i64 = text.parse().ok()?;
        return DateTime::<Utc>::from_timestamp(seconds, 0)
            .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
    }
    None
}

/// The calendar date `YYYY-MM-DD` at the start of `text` (a date or a timestamp).
pub fn date(text: &str) -> Option<(i32, u32, u32)> {
    let head = text.trim().get(..10)?;
    let d = NaiveDate::parse_from_str(head, "%Y-%m-%d").ok()?;
    use chrono::Datelike;
    Some((d.year(), d.month(), d.day()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_and_html_become_one_plain_line() {
        assert_eq!(
            plain(
                "## Fix **the** login\n\nSee [the docs](https://x.example/d) ![shot](a.png) `now`"
            ),
            "Fix the login See the docs now"
        );
        assert_eq!(
            plain("<p>Hello <b>world</b></p>\n<p>again</p>"),
            "Hello world again"
        );
    }

    #[test]
    fn timestamps_become_rfc3339_with_their_offset() {
        assert_eq!(
            rfc3339("2026-03-01T10:00:00.123+02:00").as_deref(),
            Some("2026-03-01T10:00:00.123+02:00")
        );
        assert_eq!(
            rfc3339("2026-03-01 10:00:00 +0100").as_deref(),
            Some("2026-03-01T10:00:00+01:00")
        );
        assert_eq!(
            rfc3339("2026-03-01T10:00:00").as_deref(),
            Some("2026-03-01T10:00:00Z")
        );
        assert_eq!(
            rfc3339("2026-03-01").as_deref(),
            Some("2026-03-01T00:00:00Z")
        );
        assert_eq!(
            rfc3339("1767225600").as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert_eq!(rfc3339("soon"), None);
        assert_eq!(date("2026-03-01T10:00:00Z"), Some((2026, 3, 1)));
        assert_eq!(date("03/01/2026"), None);
    }
}
