//! The title's site part: found by comparing the page's titles, and dropped when it names
//! the publisher or the host; a headline kept when the title only adds to it.

use super::author::name_key;
use super::document::Found;
use super::text::{clean_text, split_site_parts};

/// The site part of a title that also appears without it: `<title>` "Headline - Site"
/// beside `og:title` "Headline".
pub(super) fn site_part_of_titles(found: &Found<'_>, chosen: Option<&String>) -> Option<String> {
    let titles = [
        found.meta_text(&["og:title"]),
        found.meta_text(&["twitter:title"]),
        found.title.as_deref().and_then(clean_text),
    ];
    let headlines: Vec<&str> = titles
        .iter()
        .flatten()
        .map(String::as_str)
        .chain(chosen.map(String::as_str))
        .chain(found.h1.as_deref())
        .collect();
    titles.iter().flatten().find_map(|title| {
        split_site_parts(title).find_map(|(head, site)| {
            headlines
                .iter()
                .any(|h| name_key(h) == name_key(&head))
                .then_some(site)
        })
    })
}

/// The article's headline (JSON-LD `headline`, the first `<h1>`) when `title` is that
/// headline with an aside joined at a separator, before or after it, that is shorter than
/// the headline: "Headline - Section | Site", "Topic | Headline", "Headline-Section".
/// Compared with typographic quotes folded and whitespace collapsed. Not when either
/// of them is the whole title: then the page calls the aside part of its headline.
pub(super) fn headline_within(title: &str, headlines: &[String]) -> Option<String> {
    const SEPARATORS: &[char] = &[
        '|', '-', '–', '—', '·', ':', '•', '/', '»', '~', 'ㅣ', '｜', '：',
    ];
    let title = fold_quotes(title);
    if headlines.iter().any(|h| fold_quotes(h) == title) {
        return None;
    }
    headlines.iter().find_map(|headline| {
        let key = fold_quotes(headline);
        if key.is_empty() {
            return None;
        }
        let shorter = |aside: &str| aside.chars().count() < key.chars().count();
        let trailing = title.strip_prefix(key.as_str()).is_some_and(|rest| {
            let rest = rest.trim_start();
            rest.starts_with(SEPARATORS) && shorter(rest)
        });
        let leading = title.strip_suffix(key.as_str()).is_some_and(|rest| {
            let rest = rest.trim_end();
            rest.ends_with(SEPARATORS) && shorter(rest)
        });
        (trailing || leading).then(|| headline.clone())
    })
}

/// Typographic quotes as straight ones, whitespace collapsed.
pub(super) fn fold_quotes(text: &str) -> String {
    let folded: String = text
        .chars()
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{2032}' => '\'',
            '\u{201c}' | '\u{201d}' | '\u{201e}' | '\u{2033}' => '"',
            c => c,
        })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `title` without a leading or trailing site part that is one of the publisher's names
/// or the host's.
pub(super) fn strip_site_part(
    title: &str,
    site_names: &[String],
    host: Option<&str>,
) -> Option<(String, String)> {
    split_site_parts(title).find_map(|(headline, site)| {
        let site_key = name_key(&site);
        let names_site = site_names.iter().any(|s| name_key(s) == site_key)
            || host.is_some_and(|h| {
                name_key(h) == site_key
                    || h.split('.')
                        .filter(|label| label.len() >= 3)
                        .any(|label| name_key(label) == site_key)
            });
        names_site.then_some((headline, site))
    })
}
