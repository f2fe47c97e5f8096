//! Small readings of one element or URL that the document pass uses: bylines, dates shown
//! in text, microdata names, author-page links, image sizes, URLs resolved against the page.

use std::sync::LazyLock;

use notion_unfurl_sdk::Url;
use scraper::Selector;

use super::text::clean_text;

/// Longest image or icon URL kept, in bytes; longer ones are dropped, not cut.
pub const URL_MAX_BYTES: usize = 2048;

/// Bylines and microdata names looked at; more are a comment thread or a directory.
pub(super) const MAX_BYLINES: usize = 8;

/// Elements with a date in their text looked at, and the longest such text read: a date
/// is a few words, a longer text is a container of more than the date.
pub(super) const MAX_DATED: usize = 8;
pub(super) const MAX_DATED_TEXT: usize = 80;

/// The element's whitespace-collapsed text when it has at most `max` bytes; read piece by
/// piece, so a large container costs no more than `max` bytes.
pub(super) fn short_text(element: &scraper::ElementRef<'_>, max: usize) -> Option<String> {
    let mut text = String::new();
    for piece in element.text() {
        if text.len() + piece.len() > max.saturating_mul(4) {
            return None;
        }
        text.push_str(piece);
    }
    clean_text(&text).filter(|t| t.len() <= max)
}

/// A class that marks a shown publication date (`date`, `post-date`, `timestamp`,
/// `entry-time`), not a modification (`updated`, `modified`).
pub(super) fn is_date_class(class: &str) -> bool {
    // Most classes name no date: test them without lower-casing a copy.
    let has = |token: &str, part: &str| {
        token
            .as_bytes()
            .windows(part.len())
            .any(|w| w.eq_ignore_ascii_case(part.as_bytes()))
    };
    class.split_ascii_whitespace().any(|token| {
        (has(token, "date") || has(token, "time") || has(token, "publish"))
            && !has(token, "update")
            && !has(token, "modif")
    })
}

pub(super) static ITEMPROP_NAME: LazyLock<Option<Selector>> =
    LazyLock::new(|| Selector::parse("[itemprop~=name]").ok());

/// A microdata author's name: its `itemprop=name` part when it is an item, its `content`,
/// else its own text when short.
pub(super) fn microdata_name(element: &scraper::ElementRef<'_>) -> Option<String> {
    let el = element.value();
    if el.attr("itemscope").is_some() {
        let name = ITEMPROP_NAME
            .as_ref()
            .and_then(|selector| element.select(selector).next())?;
        return name
            .value()
            .attr("content")
            .and_then(clean_text)
            .or_else(|| byline_text(&name.text().collect::<String>()));
    }
    el.attr("content")
        .and_then(clean_text)
        .or_else(|| byline_text(&element.text().collect::<String>()))
}

/// A class that marks a byline (`byline`, `author`, `article__author-name`), not an
/// author's box, biography or picture.
pub(super) fn is_byline_class(class: &str) -> bool {
    const NOT: [&str; 12] = [
        "box", "bio", "avatar", "img", "image", "photo", "desc", "info", "wrap", "list", "card",
        "follow",
    ];
    class.split_ascii_whitespace().any(|token| {
        let token = token.to_ascii_lowercase();
        (token.contains("byline") || token.contains("author"))
            && !NOT.iter().any(|n| token.contains(n))
    })
}

/// Whether a link goes to an author's page: a path segment `author`, `authors`, `autor`,
/// `autoren` or `auteur` followed by another (`/author/jane-doe/`), or a query parameter
/// `author`, `author_id` or `authorid` with a value (WordPress's `/?author=3`,
/// `/author-bio.asp?author_id=837`).
pub(super) fn is_author_page(href: &str) -> bool {
    const SEGMENTS: [&str; 5] = ["author", "authors", "autor", "autoren", "auteur"];
    const PARAMETERS: [&str; 3] = ["author", "author_id", "authorid"];
    let without_fragment = href.split('#').next().unwrap_or_default();
    let (path, query) = without_fragment
        .split_once('?')
        .unwrap_or((without_fragment, ""));
    let by_parameter = query.split('&').any(|pair| {
        pair.split_once('=').is_some_and(|(key, value)| {
            !value.is_empty() && PARAMETERS.iter().any(|p| key.eq_ignore_ascii_case(p))
        })
    });
    let mut segments = path
        .split('/')
        .skip_while(|s| !SEGMENTS.iter().any(|name| s.eq_ignore_ascii_case(name)));
    by_parameter || (segments.next().is_some() && segments.next().is_some_and(|s| !s.is_empty()))
}

/// A byline's name: short text without a leading "By" or German "von".
pub(super) fn byline_text(text: &str) -> Option<String> {
    let text = clean_text(text)?;
    let name = ["By ", "by ", "BY ", "Von ", "von "]
        .iter()
        .find_map(|p| text.strip_prefix(p))
        .unwrap_or(&text)
        .trim()
        .trim_end_matches(|c: char| c.is_whitespace() || "-–—|,:".contains(c));
    let words = name.split_whitespace().count();
    // One all-lower-case word ("amw") is a handle or an editor's initials, not a name.
    let handle = words == 1 && name.chars().all(|c| c.is_ascii_lowercase());
    let plausible = (1..=6).contains(&words)
        && (3..=60).contains(&name.chars().count())
        && !name.chars().any(|c| c.is_ascii_digit())
        && !handle;
    plausible.then(|| name.to_owned())
}

/// Largest dimension in a `sizes` attribute (`"16x16 32x32"`); `any` ranks as large.
pub(super) fn largest_size(sizes: &str) -> Option<u32> {
    sizes
        .split_ascii_whitespace()
        .filter_map(|s| {
            if s.eq_ignore_ascii_case("any") {
                return Some(256);
            }
            let (w, h) = s
                .to_ascii_lowercase()
                .split_once('x')
                .map(|(w, h)| (w.parse::<u32>().ok(), h.parse::<u32>().ok()))?;
            Some(w?.max(h?))
        })
        .max()
}

/// A size written in an icon's file name (`57x57.png`, `favicon-96x96.png`), for icons
/// that declare none.
pub(super) fn size_in_name(url: &Url) -> Option<u32> {
    let name = url.path_segments()?.next_back()?.to_ascii_lowercase();
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter_map(|part| {
            let (w, h) = part.split_once('x')?;
            let (w, h) = (w.parse::<u32>().ok()?, h.parse::<u32>().ok()?);
            (w == h).then_some(w)
        })
        .max()
}

pub(super) fn favicon(final_url: &Url) -> Option<Url> {
    matches!(final_url.scheme(), "http" | "https")
        .then(|| final_url.join("/favicon.ico").ok())
        .flatten()
}

/// `raw` resolved against `base`; only http(s) results, so `javascript:` and `data:`
/// values fall out here.
pub(super) fn resolve(base: &Url, raw: &str) -> Option<Url> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let url = base.join(raw).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.as_str().len() <= URL_MAX_BYTES).then_some(url)
}

/// `html` up to (not including) its `max + 1`-th tag opening: a `<` followed by a letter,
/// `/` or `!`. Counting every such `<`, in scripts and comments too, can only end the text
/// earlier than a tokenizer would.
pub(super) fn up_to_tag(html: &str, max: usize) -> &str {
    let bytes = html.as_bytes();
    let mut tags = 0;
    for (at, _) in html.match_indices('<') {
        let opens = bytes
            .get(at + 1)
            .is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'/' | b'!'));
        if opens {
            tags += 1;
            if tags > max {
                // `<` is ASCII, so `at` is a character boundary.
                return &html[..at];
            }
        }
    }
    html
}
