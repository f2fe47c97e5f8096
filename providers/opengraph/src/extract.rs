//! HTML text to [`PageMetadata`]: pure, no I/O.
//!
//! One pass over the document collects every `<meta>`, `<link>`, `<title>`, `<base>`,
//! `<time>` and JSON-LD block (plus a few body fallbacks: the first `<h1>`, a `<video
//! poster>`, `<a rel=author>` bylines); each field is then chosen from those by a fixed
//! order of sources, most deliberate first:
//!
//! - title: `og:title`, `twitter:title`, `<title>`, JSON-LD `headline`, `<h1>`. News
//!   sites often give `og:title` a different wording from the article's headline; it is
//!   the one they chose for shared links, which is what a preview is.
//! - published: `article:published_time` and kin, JSON-LD `datePublished`, other
//!   `<meta>` conventions, `<time datetime>`, a `/YYYY/MM/DD/` URL path. Never the
//!   modification date: a preview says when the page appeared.
//! - author: every source is a candidate (JSON-LD, `<meta>` conventions, bylines); the
//!   first that names people rather than the publisher (the site name, JSON-LD
//!   `publisher`, the host) wins; when all name the publisher, the first.
//!
//! All URLs are resolved against `<base href>` (itself resolved against the page's URL)
//! or the page's URL, and only `http`/`https` results are kept.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use scraper::{ElementRef, Html, Selector};
use serde_json::Value;
use url::Url;

/// Longest description kept, in characters; previews show two or three lines of it.
pub const DESCRIPTION_MAX_CHARS: usize = 300;
/// Longest title kept, in characters; a defence against pages that put an article there.
pub const TITLE_MAX_CHARS: usize = 300;
/// JSON-LD blocks larger than this are skipped: metadata is small, data dumps are not.
pub const JSON_LD_MAX_BYTES: usize = 256 * 1024;
/// Longest site name kept, in characters.
pub const SITE_NAME_MAX_CHARS: usize = 100;
/// Longest author line kept, in characters (several names joined).
pub const AUTHOR_MAX_CHARS: usize = 200;
/// Most names one source may give for the author; a byline names a few people, not a
/// directory.
pub const MAX_AUTHOR_NAMES: usize = 8;
/// Most publisher names taken from JSON-LD.
const MAX_PUBLISHER_NAMES: usize = 16;
/// Longest image or icon URL kept, in bytes; longer ones are dropped, not cut.
pub const URL_MAX_BYTES: usize = 2048;
/// The document is parsed up to its this-many-th tag (opening or closing). html5ever's
/// tree builder takes time in the square of the nesting depth (400 KiB of nested `<div>`
/// take 14 s, 2 MiB would take minutes), and depth can be no more than the tag count, so
/// this bounds any page at about 50 ms. Of the 179 real pages in the test corpus, 5 have
/// more tags, and extraction agrees with the corpus exactly as often with the bound as
/// without it (at 2,000 it would not).
pub const MAX_TAGS: usize = 5_000;

/// What a page says about itself. Every field is optional; URLs are absolute.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageMetadata {
    pub title: Option<String>,
    pub description: Option<String>,
    /// The site's own name (`og:site_name`, `application-name`).
    pub site_name: Option<String>,
    pub image: Option<Url>,
    pub icon: Option<Url>,
    /// One name, or several joined with ", ".
    pub author: Option<String>,
    pub published: Option<DateTime<FixedOffset>>,
    /// The canonical URL the page declares (`og:url`, `<link rel=canonical>`).
    pub url: Option<Url>,
    /// The host of the URL the page was read from, without a leading `www.`: the
    /// fallback for the title and the site name.
    pub host: Option<String>,
}

const HTML_NAMESPACE: &str = "http://www.w3.org/1999/xhtml";

static ELEMENTS: LazyLock<Option<Selector>> = LazyLock::new(|| {
    Selector::parse("meta, link, title, base, script, time, h1, video[poster], a[rel~=author]").ok()
});

/// Read the metadata of an HTML document fetched from `final_url`.
pub fn from_html(html: &str, final_url: &Url) -> PageMetadata {
    let document = Html::parse_document(up_to_tag(html, MAX_TAGS));
    let found = Found::collect(&document);
    let base = found
        .base_href
        .and_then(|href| resolve(final_url, href))
        .unwrap_or_else(|| final_url.clone());
    let ld = JsonLd::new(&found.json_ld);
    let host = final_url
        .host_str()
        .map(|h| h.strip_prefix("www.").unwrap_or(h).to_owned());

    let title = found
        .meta_text(&["og:title", "twitter:title"])
        .or_else(|| found.title.as_deref().and_then(clean_text))
        .or_else(|| ld.article_text("headline"))
        .or_else(|| found.h1.as_deref().and_then(clean_text))
        .map(|t| truncate(&t, TITLE_MAX_CHARS));
    let description = found
        .meta_text(&["og:description", "twitter:description", "description"])
        .or_else(|| ld.article_text("description"))
        .map(|d| truncate(&d, DESCRIPTION_MAX_CHARS));
    let site_name = found
        .meta_text(&["og:site_name", "application-name"])
        .map(|s| truncate(&s, SITE_NAME_MAX_CHARS));
    let image = found
        .image(&base)
        .or_else(|| ld.image(&base))
        .or_else(|| found.video_poster.and_then(|p| resolve(&base, p)));
    let icon = found.icon(&base).or_else(|| favicon(final_url));
    let url = found
        .meta_content(&["og:url"])
        .and_then(|u| resolve(&base, u))
        .or_else(|| found.link_href("canonical", &base));
    let publishers = Publishers::new(site_name.as_deref(), &ld, host.as_deref());
    let author = choose_author(
        ld.author_candidates("author")
            .into_iter()
            .chain(found.author_candidates())
            .chain(ld.author_candidates("creator")),
        &publishers,
    );
    let published = found
        .published(&ld)
        .or_else(|| url.as_ref().and_then(date_in_path))
        .or_else(|| date_in_path(final_url));

    PageMetadata {
        title,
        description,
        site_name,
        image,
        icon,
        author,
        published,
        url,
        host,
    }
}

struct Link<'a> {
    /// Lower-cased `rel` tokens.
    rel: Vec<String>,
    href: &'a str,
    sizes: Option<&'a str>,
    mime: Option<&'a str>,
}

/// Raw material from one pass over the document, in document order.
#[derive(Default)]
struct Found<'a> {
    /// (lower-cased `property` / `name` / `itemprop`, `content`).
    meta: Vec<(String, &'a str)>,
    links: Vec<Link<'a>>,
    title: Option<String>,
    base_href: Option<&'a str>,
    json_ld: Vec<Value>,
    /// `<time datetime>` values, those marked as the publication date first.
    times: Vec<&'a str>,
    h1: Option<String>,
    video_poster: Option<&'a str>,
    /// Texts of `<a rel="author">` links.
    rel_authors: Vec<String>,
}

impl<'a> Found<'a> {
    fn collect(document: &'a Html) -> Self {
        let mut found = Found::default();
        let Some(selector) = ELEMENTS.as_ref() else {
            return found;
        };
        let mut marked_times = Vec::new();
        for element in document.select(selector) {
            let el = element.value();
            match el.name() {
                "meta" => {
                    let Some(content) = el.attr("content").or_else(|| el.attr("value")) else {
                        continue;
                    };
                    for key in ["property", "name", "itemprop"] {
                        if let Some(k) = el.attr(key) {
                            found.meta.push((k.trim().to_ascii_lowercase(), content));
                        }
                    }
                }
                "link" => {
                    if let (Some(rel), Some(href)) = (el.attr("rel"), el.attr("href")) {
                        found.links.push(Link {
                            rel: rel
                                .split_ascii_whitespace()
                                .map(str::to_ascii_lowercase)
                                .collect(),
                            href,
                            sizes: el.attr("sizes"),
                            mime: el.attr("type"),
                        });
                    }
                }
                // SVG has `<title>`s of its own ("Facebook" on a share button).
                "title" if found.title.is_none() && &*el.name.ns == HTML_NAMESPACE => {
                    found.title = Some(element.text().collect());
                }
                "base" if found.base_href.is_none() => found.base_href = el.attr("href"),
                "script" => {
                    let is_ld = el
                        .attr("type")
                        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json"));
                    if is_ld {
                        found.json_ld.extend(parse_json_ld(&element));
                    }
                }
                "time" => {
                    if let Some(datetime) = el.attr("datetime") {
                        let marked = el
                            .attr("itemprop")
                            .is_some_and(|p| p.eq_ignore_ascii_case("datePublished"))
                            || el.attr("pubdate").is_some();
                        if marked {
                            marked_times.push(datetime);
                        } else {
                            found.times.push(datetime);
                        }
                    }
                }
                "h1" if found.h1.is_none() => {
                    found.h1 = clean_text(&element.text().collect::<String>());
                }
                "video" if found.video_poster.is_none() => found.video_poster = el.attr("poster"),
                // A few bylines; a long list is a directory or comment thread, not bylines.
                "a" if found.rel_authors.len() < 8 => {
                    if let Some(name) = clean_text(&element.text().collect::<String>()) {
                        found.rel_authors.push(name);
                    }
                }
                _ => {}
            }
        }
        marked_times.append(&mut found.times);
        found.times = marked_times;
        found
    }

    /// Non-blank `content` values of one key, in document order.
    fn meta_values<'s>(&'s self, key: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.meta
            .iter()
            .filter(move |(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| *v)
    }

    /// The first non-blank `content` among `keys`, in the order of `keys`.
    fn meta_content(&self, keys: &[&str]) -> Option<&'a str> {
        keys.iter().find_map(|key| self.meta_values(key).next())
    }

    fn meta_text(&self, keys: &[&str]) -> Option<String> {
        keys.iter()
            .find_map(|key| self.meta_values(key).find_map(clean_text))
    }

    fn link_href(&self, rel: &str, base: &Url) -> Option<Url> {
        self.links
            .iter()
            .filter(|l| l.rel.iter().any(|r| r == rel))
            .find_map(|l| resolve(base, l.href))
    }

    /// The preview image; an https one when the page offers any, since Notion shows
    /// nothing else.
    fn image(&self, base: &Url) -> Option<Url> {
        const KEYS: [&str; 6] = [
            "og:image",
            "og:image:url",
            "og:image:secure_url",
            "twitter:image",
            "twitter:image:src",
            "image",
        ];
        let mut candidates = KEYS
            .iter()
            .flat_map(|key| self.meta_values(key).filter_map(|v| resolve(base, v)))
            .chain(self.link_href("image_src", base));
        let first = candidates.next()?;
        if first.scheme() == "https" {
            return Some(first);
        }
        Some(candidates.find(|u| u.scheme() == "https").unwrap_or(first))
    }

    /// The largest declared icon; `apple-touch-icon`s are 180 px unless they say otherwise.
    fn icon(&self, base: &Url) -> Option<Url> {
        self.links
            .iter()
            .filter_map(|link| {
                let touch = link
                    .rel
                    .iter()
                    .any(|r| r == "apple-touch-icon" || r == "apple-touch-icon-precomposed");
                let plain = link.rel.iter().any(|r| r == "icon");
                if !(touch || plain) {
                    return None;
                }
                let url = resolve(base, link.href)?;
                let path = url.path().to_ascii_lowercase();
                let mime = link.mime.map(str::to_ascii_lowercase).unwrap_or_default();
                let svg = mime.contains("svg") || path.ends_with(".svg");
                let known_format = svg
                    || mime.contains("png")
                    || mime.contains("icon")
                    || path.ends_with(".png")
                    || path.ends_with(".ico");
                let size = link.sizes.and_then(largest_size).unwrap_or(if touch {
                    180
                } else if svg {
                    // Scalable; ranks with a large bitmap but below a declared bigger one.
                    144
                } else {
                    32
                });
                Some(((known_format, size), url))
            })
            // `max_by_key` keeps the last of equals; reverse so the first declared wins.
            .rev()
            .max_by_key(|(rank, _)| *rank)
            .map(|(_, url)| url)
    }

    /// Names from `<meta>` author conventions, each key one candidate (all its values), then
    /// the `rel=author` links.
    fn author_candidates(&self) -> Vec<Candidate> {
        const KEYS: [&str; 11] = [
            "author",
            "article:author",
            "parsely-author",
            "sailthru.author",
            "cxenseparse:author",
            "dcsext.author",
            "byl",
            "dc.creator",
            "dcterms.creator",
            "citation_author",
            "twitter:data1",
        ];
        let mut candidates: Vec<Candidate> = KEYS
            .iter()
            .filter(|key| **key != "twitter:data1" || self.twitter_label_is_author())
            .filter_map(|key| {
                // Bibliographic conventions write "Last, First".
                let inverted = matches!(*key, "dc.creator" | "dcterms.creator" | "citation_author");
                let mut names = Vec::new();
                for value in self.meta_values(key) {
                    let value = if inverted {
                        uninvert(value)
                    } else {
                        value.to_owned()
                    };
                    push_name(&mut names, &value);
                }
                Candidate::untyped(names)
            })
            .collect();
        let mut linked = Vec::new();
        for name in &self.rel_authors {
            push_name(&mut linked, name);
        }
        candidates.extend(Candidate::untyped(linked));
        candidates
    }

    /// Slack's convention: `twitter:label1` "Written by" names `twitter:data1`.
    fn twitter_label_is_author(&self) -> bool {
        self.meta_values("twitter:label1").any(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("written by") || l.contains("author")
        })
    }

    fn published(&self, ld: &JsonLd) -> Option<DateTime<FixedOffset>> {
        const FIRST: [&str; 4] = [
            "article:published_time",
            "article:published:time",
            "og:published_time",
            "og:article:published_time",
        ];
        const LATER: [&str; 15] = [
            "datepublished",
            "date",
            "pubdate",
            "publishdate",
            "publish-date",
            "publish_date",
            "dc.date.issued",
            "dcterms.issued",
            "dc.date",
            "dcterms.date",
            "sailthru.date",
            "parsely-pub-date",
            "article.published",
            "citation_publication_date",
            "cxenseparse:recs:publishtime",
        ];
        let from_meta = |keys: &[&str]| {
            keys.iter()
                .find_map(|key| self.meta_values(key).find_map(parse_date))
        };
        from_meta(&FIRST)
            .or_else(|| ld.date_published())
            .or_else(|| from_meta(&LATER))
            .or_else(|| self.times.iter().find_map(|t| parse_date(t)))
    }
}

/// One source's idea of who wrote the page.
struct Candidate {
    names: Vec<String>,
    kind: CandidateKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CandidateKind {
    /// JSON-LD types at least one of the names as a `Person`.
    People,
    /// JSON-LD types every name as an `Organization`.
    Organisation,
    /// Untyped text: judged by comparing it with the publisher's names.
    Unknown,
}

impl Candidate {
    fn untyped(names: Vec<String>) -> Option<Self> {
        (!names.is_empty()).then_some(Self {
            names,
            kind: CandidateKind::Unknown,
        })
    }

    fn is_publisher(&self, publishers: &Publishers) -> bool {
        match self.kind {
            CandidateKind::Organisation => true,
            // Sites do type themselves as a `Person` ("Krautreporter"), but a Person's
            // handle may look like a domain ("odno.kino").
            CandidateKind::People => self.names.iter().all(|n| publishers.is_publisher_name(n)),
            CandidateKind::Unknown => self
                .names
                .iter()
                .all(|n| publishers.is_publisher_name(n) || looks_like_domain(n)),
        }
    }
}

/// The first candidate naming people rather than the publisher; when every source names
/// the publisher (small sites, agency copy), the first candidate after all.
fn choose_author(
    candidates: impl Iterator<Item = Candidate>,
    publishers: &Publishers,
) -> Option<String> {
    let mut fallback = None;
    for candidate in candidates {
        if !candidate.is_publisher(publishers) {
            return Some(truncate(&candidate.names.join(", "), AUTHOR_MAX_CHARS));
        }
        fallback.get_or_insert(candidate);
    }
    fallback.map(|c| truncate(&c.names.join(", "), AUTHOR_MAX_CHARS))
}

/// Names a page may use for its publisher, as [`name_key`]s.
struct Publishers {
    /// The site name, JSON-LD publishers, the host's labels but the last (`mdr` for
    /// `mdr.de`, `edition` and `cnn` for `edition.cnn.com`).
    names: Vec<String>,
    /// The host (`hessenschaude`): a name containing it is the site's, e.g.
    /// "hessenschau.de, Frankfurt".
    host: Option<String>,
}

impl Publishers {
    fn new(site_name: Option<&str>, ld: &JsonLd, host: Option<&str>) -> Self {
        let mut names: Vec<String> = site_name.into_iter().map(name_key).collect();
        names.extend(ld.publisher_names().take(MAX_PUBLISHER_NAMES).map(name_key));
        if let Some((labels, _tld)) = host.and_then(|h| h.rsplit_once('.')) {
            names.extend(labels.split('.').filter(|l| l.len() >= 3).map(name_key));
        }
        names.retain(|n| !n.is_empty());
        Self {
            names,
            // Short hosts would match inside people's names ("t.co" in "Scott Cole").
            host: host.map(name_key).filter(|h| h.chars().count() >= 6),
        }
    }

    /// Whether `name` is one of the publisher's names.
    fn is_publisher_name(&self, name: &str) -> bool {
        let key = name_key(name);
        self.names.contains(&key) || self.host.as_ref().is_some_and(|h| key.contains(h.as_str()))
    }
}

/// Lower-cased letters and digits only: "Krautreporter" and "krautreporter.de" differ,
/// "LTO" and "lto" do not.
pub(crate) fn name_key(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn looks_like_domain(name: &str) -> bool {
    !name.contains(' ')
        && name.rsplit_once('.').is_some_and(|(head, tld)| {
            !head.is_empty() && tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic())
        })
}

/// "Lovelace, Ada" to "Ada Lovelace"; anything else unchanged.
fn uninvert(value: &str) -> String {
    match value.split_once(',') {
        Some((last, first))
            if !first.contains(',')
                && !last.trim().is_empty()
                && !first.trim().is_empty()
                && last.split_whitespace().count() <= 3
                && first.split_whitespace().count() <= 3 =>
        {
            format!("{} {}", first.trim(), last.trim())
        }
        _ => value.to_owned(),
    }
}

/// Largest dimension in a `sizes` attribute (`"16x16 32x32"`); `any` ranks as large.
fn largest_size(sizes: &str) -> Option<u32> {
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

fn favicon(final_url: &Url) -> Option<Url> {
    matches!(final_url.scheme(), "http" | "https")
        .then(|| final_url.join("/favicon.ico").ok())
        .flatten()
}

/// A `/YYYY/MM/DD/` date in a URL's path, as news and blog URLs often carry.
fn date_in_path(url: &Url) -> Option<DateTime<FixedOffset>> {
    let segments: Vec<&str> = url.path_segments()?.collect();
    segments.windows(3).find_map(|w| {
        let all_digits = |s: &str, len: std::ops::RangeInclusive<usize>| {
            len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
        };
        if !(all_digits(w[0], 4..=4) && all_digits(w[1], 1..=2) && all_digits(w[2], 1..=2)) {
            return None;
        }
        let date =
            NaiveDate::from_ymd_opt(w[0].parse().ok()?, w[1].parse().ok()?, w[2].parse().ok()?)?;
        (1990..=2100).contains(&date.year()).then_some(())?;
        Some(date.and_hms_opt(0, 0, 0)?.and_utc().fixed_offset())
    })
}

/// `raw` resolved against `base`; only http(s) results, so `javascript:` and `data:`
/// values fall out here.
fn resolve(base: &Url, raw: &str) -> Option<Url> {
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
fn up_to_tag(html: &str, max: usize) -> &str {
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

/// Whitespace runs collapsed to one space, trimmed; `None` when nothing is left.
fn clean_text(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    for word in raw.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    (!out.is_empty()).then_some(out)
}

/// At most `max` characters, cut at a word boundary when one is near, with an ellipsis.
fn truncate(text: &str, max: usize) -> String {
    let Some((cut, _)) = text.char_indices().nth(max) else {
        return text.to_owned();
    };
    let head = &text[..cut];
    let head = match head.rfind(' ') {
        Some(space) if head[..space].chars().count() + 40 >= max => &head[..space],
        _ => head,
    };
    let head = head.trim_end_matches(|c: char| c.is_whitespace() || ",;:-–—".contains(c));
    format!("{head}…")
}

/// A person's name from an author field: `None` for links (`article:author` is often a
/// profile URL) and e-mail addresses; a leading "By" is dropped.
fn author_name(value: &str) -> Option<String> {
    let value = clean_text(value)?;
    let lower = value.to_lowercase();
    let is_link = ["http://", "https://", "//", "www."]
        .iter()
        .any(|p| lower.starts_with(p))
        || lower.contains(".com/");
    if is_link || (value.contains('@') && !value.contains(' ') && !value.starts_with('@')) {
        return None;
    }
    let name = match value.get(..3) {
        Some(prefix) if prefix.eq_ignore_ascii_case("by ") => value[3..].trim_start().to_owned(),
        _ => value,
    };
    (!name.is_empty()).then_some(name)
}

fn push_name(names: &mut Vec<String>, raw: &str) {
    if names.len() >= MAX_AUTHOR_NAMES {
        return;
    }
    if let Some(name) = author_name(raw)
        && !names.contains(&name)
    {
        names.push(name);
    }
}

/// Parse the date forms pages use and return them with their offset; dates without one
/// are taken as UTC.
pub fn parse_date(raw: &str) -> Option<DateTime<FixedOffset>> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt);
    }
    const WITH_OFFSET: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%d %H:%M%z",
    ];
    for format in WITH_OFFSET {
        if let Ok(dt) = DateTime::parse_from_str(s, format) {
            return Some(dt);
        }
    }
    const NAIVE: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ];
    let utc = FixedOffset::east_opt(0)?;
    for format in NAIVE {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, format) {
            return Some(utc.from_utc_datetime(&naive));
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?));
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return Some(dt);
    }
    // Dates written for people ("September 3, 2025") and compact ones ("20250903").
    const CALENDAR: [&str; 5] = ["%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y%m%d"];
    for format in CALENDAR {
        if let Ok(date) = NaiveDate::parse_from_str(s, format)
            && (1990..=2100).contains(&date.year())
        {
            return Some(utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?));
        }
    }
    // Unix timestamps in seconds, as some CMSs write them; only plausible ones.
    if s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit()) {
        let secs = s.parse::<i64>().ok()?;
        return Utc
            .timestamp_opt(secs, 0)
            .single()
            .map(|dt| dt.fixed_offset());
    }
    None
}

fn parse_json_ld(script: &ElementRef<'_>) -> Option<Value> {
    let text: String = script.text().collect();
    if text.len() > JSON_LD_MAX_BYTES {
        return None;
    }
    let body = text
        .trim()
        .trim_start_matches("//<![CDATA[")
        .trim_start_matches("<![CDATA[")
        .trim_end_matches("//]]>")
        .trim_end_matches("]]>")
        .trim()
        .trim_end_matches(';');
    serde_json::from_str(body).ok().or_else(|| {
        // Raw line breaks inside strings are the commonest hand-written JSON-LD error;
        // outside strings they are whitespace either way.
        let flattened: String = body
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        serde_json::from_str(&flattened).ok()
    })
}

type Node = serde_json::Map<String, Value>;

/// The typed JSON-LD nodes of a page, in document order, wherever they are nested
/// (top-level objects, arrays, `@graph`, `mainEntity`…).
struct JsonLd<'a> {
    nodes: Vec<&'a Node>,
    by_id: HashMap<&'a str, &'a Node>,
}

impl<'a> JsonLd<'a> {
    fn new(blocks: &'a [Value]) -> Self {
        let mut nodes = Vec::new();
        for block in blocks {
            flatten(block, &mut nodes, 0);
        }
        let by_id = nodes
            .iter()
            .filter_map(|n| Some((n.get("@id")?.as_str()?, *n)))
            .collect();
        Self { nodes, by_id }
    }

    /// Nodes that describe the page: articles first, then web pages.
    fn page_nodes(&self) -> impl Iterator<Item = &'a Node> + '_ {
        let articles = self
            .nodes
            .iter()
            .copied()
            .filter(|n| types(n).any(is_article_type));
        let pages =
            self.nodes.iter().copied().filter(|n| {
                !types(n).any(is_article_type) && types(n).any(|t| t.ends_with("WebPage"))
            });
        articles.chain(pages)
    }

    fn article_text(&self, key: &str) -> Option<String> {
        self.nodes
            .iter()
            .filter(|n| types(n).any(is_article_type))
            .find_map(|n| n.get(key)?.as_str().and_then(clean_text))
    }

    fn image(&self, base: &Url) -> Option<Url> {
        self.page_nodes().find_map(|n| {
            let image = n.get("image")?;
            let first = match image {
                Value::Array(items) => items.first()?,
                other => other,
            };
            let raw = match first {
                Value::String(s) => s.as_str(),
                Value::Object(o) => o.get("url").or_else(|| o.get("contentUrl"))?.as_str()?,
                _ => return None,
            };
            resolve(base, raw)
        })
    }

    fn date_published(&self) -> Option<DateTime<FixedOffset>> {
        self.page_nodes()
            .find_map(|n| parse_date(n.get("datePublished")?.as_str()?))
    }

    fn publisher_names(&self) -> impl Iterator<Item = &'a str> + '_ {
        let publishers = self.page_nodes().filter_map(|n| {
            let publisher = self.deref(n.get("publisher")?)?;
            publisher.get("name")?.as_str()
        });
        let sites = self
            .nodes
            .iter()
            .filter(|n| types(n).any(|t| t == "WebSite" || t == "NewsMediaOrganization"))
            .filter_map(|n| n.get("name")?.as_str());
        publishers.chain(sites)
    }

    /// One candidate per page node that has `key` (`author`, `creator`).
    fn author_candidates(&self, key: &str) -> Vec<Candidate> {
        self.page_nodes()
            .filter_map(|n| {
                let mut names = Vec::new();
                let mut kind = CandidateKind::Organisation;
                self.collect_names(n.get(key)?, &mut names, &mut kind, 0);
                (!names.is_empty()).then_some(Candidate { names, kind })
            })
            .collect()
    }

    /// An object, or the node a `{"@id": …}` reference points to.
    fn deref(&self, value: &'a Value) -> Option<&'a Node> {
        let object = value.as_object()?;
        if object.contains_key("name") {
            return Some(object);
        }
        let referenced = object
            .get("@id")
            .and_then(Value::as_str)
            .and_then(|id| self.by_id.get(id));
        Some(referenced.copied().unwrap_or(object))
    }

    fn collect_names(
        &self,
        value: &'a Value,
        names: &mut Vec<String>,
        kind: &mut CandidateKind,
        depth: usize,
    ) {
        if depth > 3 {
            return;
        }
        match value {
            Value::String(s) => {
                if *kind == CandidateKind::Organisation {
                    *kind = CandidateKind::Unknown;
                }
                push_name(names, s);
            }
            Value::Array(items) => {
                for item in items {
                    self.collect_names(item, names, kind, depth + 1);
                }
            }
            Value::Object(_) => {
                let Some(node) = self.deref(value) else {
                    return;
                };
                if types(node).any(|t| t == "Person") {
                    *kind = CandidateKind::People;
                } else if *kind == CandidateKind::Organisation
                    && !types(node).any(|t| t.ends_with("Organization"))
                {
                    *kind = CandidateKind::Unknown;
                }
                match node.get("name") {
                    Some(Value::String(name)) => push_name(names, name),
                    _ => {
                        let part = |k: &str| node.get(k).and_then(Value::as_str).unwrap_or("");
                        push_name(
                            names,
                            &format!("{} {}", part("givenName"), part("familyName")),
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

/// How deep typed nodes are looked for; schema.org pages nest the article at most a
/// few levels down (`@graph` > `WebPage` > `mainEntity`).
const JSON_LD_MAX_DEPTH: usize = 6;

fn flatten<'a>(value: &'a Value, nodes: &mut Vec<&'a Node>, depth: usize) {
    if depth > JSON_LD_MAX_DEPTH {
        return;
    }
    match value {
        Value::Array(items) => {
            for item in items {
                flatten(item, nodes, depth + 1);
            }
        }
        Value::Object(object) => {
            if object.contains_key("@type") {
                nodes.push(object);
            }
            for (key, child) in object {
                // Authors and publishers are read through their parent, not as pages.
                if !matches!(key.as_str(), "author" | "creator" | "publisher")
                    && (child.is_object() || child.is_array())
                {
                    flatten(child, nodes, depth + 1);
                }
            }
        }
        _ => {}
    }
}

fn types(node: &Node) -> impl Iterator<Item = &str> {
    let (one, many) = match node.get("@type") {
        Some(Value::String(t)) => (Some(t.as_str()), None),
        Some(Value::Array(ts)) => (None, Some(ts.iter().filter_map(Value::as_str))),
        _ => (None, None),
    };
    one.into_iter().chain(many.into_iter().flatten())
}

fn is_article_type(t: &str) -> bool {
    t.ends_with("Article") || t.ends_with("Posting") || t == "Report"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn extract(head: &str) -> PageMetadata {
        let html = format!("<!doctype html><html><head>{head}</head><body></body></html>");
        from_html(
            &html,
            &url("https://www.example.com/news/2024/story.html?ref=x"),
        )
    }

    fn extract_body(body: &str) -> PageMetadata {
        let html = format!("<!doctype html><html><head></head><body>{body}</body></html>");
        from_html(&html, &url("https://www.example.com/news/2024/story.html"))
    }

    fn s(v: &Option<Url>) -> Option<&str> {
        v.as_ref().map(Url::as_str)
    }

    #[test]
    fn selectors_compile() {
        assert!(ELEMENTS.is_some());
    }

    #[test]
    fn the_parse_stops_at_the_tag_bound() {
        assert_eq!(up_to_tag("<a><b></b></a>", 2), "<a><b>");
        assert_eq!(
            up_to_tag("<a>1 < 2 <!-- x --></a>", 2),
            "<a>1 < 2 <!-- x -->"
        );
        assert_eq!(up_to_tag("<a>é<b>", 1), "<a>é");
        assert_eq!(up_to_tag("no tags < here", 0), "no tags < here");
        // A hostile page: thousands of nested tags before its metadata. What comes after
        // the bound is not read; what comes before is.
        let nested = "<div>".repeat(MAX_TAGS);
        let late = extract_body(&format!(
            r#"<h1>Early</h1>{nested}<meta property="og:title" content="Late">"#
        ));
        assert_eq!(late.title.as_deref(), Some("Early"));
    }

    #[test]
    fn site_author_and_urls_are_bounded() {
        let long_name = "N".repeat(5000);
        let authors: String = (0..50)
            .map(|i| format!(r#"<meta name="author" content="Person Number{i}">"#))
            .collect();
        let long_image = format!("https://img.example.com/{}.png", "x".repeat(5000));
        let page = extract(&format!(
            r#"<meta property="og:site_name" content="{long_name}">{authors}
               <meta property="og:image" content="{long_image}">"#
        ));
        let site = page.site_name.unwrap_or_default();
        assert!(site.chars().count() <= SITE_NAME_MAX_CHARS + 1, "{site}");
        let author = page.author.unwrap_or_default();
        assert!(
            author.starts_with("Person Number0, Person Number1"),
            "{author}"
        );
        assert!(
            author.matches("Person").count() <= MAX_AUTHOR_NAMES,
            "{author}"
        );
        assert!(author.chars().count() <= AUTHOR_MAX_CHARS + 1, "{author}");
        assert_eq!(page.image, None, "a 5 KB image URL is dropped");
    }

    #[test]
    fn title_prefers_opengraph_then_twitter_then_title_tag() {
        let all = r#"<title>Tag</title><meta name="twitter:title" content="Twitter">
                     <meta property="og:title" content="OG">"#;
        assert_eq!(extract(all).title.as_deref(), Some("OG"));
        let no_og = r#"<title>Tag</title><meta name="twitter:title" content="Twitter">
                       <meta property="og:title" content="  ">"#;
        assert_eq!(extract(no_og).title.as_deref(), Some("Twitter"));
        assert_eq!(extract("<title>Tag</title>").title.as_deref(), Some("Tag"));
        let ld = r#"<script type="application/ld+json">
            {"@type":"NewsArticle","headline":"From JSON-LD"}</script>"#;
        assert_eq!(extract(ld).title.as_deref(), Some("From JSON-LD"));
        assert_eq!(extract("").title, None);
        assert_eq!(extract("").host.as_deref(), Some("example.com"));
    }

    #[test]
    fn svg_titles_in_the_body_do_not_replace_the_document_title() {
        let html = "<html><head><title>Doc</title></head><body>\
                    <svg><title>icon</title></svg></body></html>";
        let meta = from_html(html, &url("https://x.test/"));
        assert_eq!(meta.title.as_deref(), Some("Doc"));
        let untitled = "<html><head></head><body><svg><title>Facebook</title></svg>\
                        <h1>Headline</h1></body></html>";
        let meta = from_html(untitled, &url("https://x.test/"));
        assert_eq!(meta.title.as_deref(), Some("Headline"));
    }

    #[test]
    fn entities_are_decoded_and_whitespace_collapsed() {
        let meta = extract(
            "<title>\n  Tom &amp; Jerry&#8217;s\t\u{a0}big   day &quot;out&quot;\n</title>\
             <meta name=\"description\" content=\"  one\n\n two &lt;b&gt;  \">",
        );
        assert_eq!(
            meta.title.as_deref(),
            Some("Tom & Jerry\u{2019}s big day \"out\"")
        );
        assert_eq!(meta.description.as_deref(), Some("one two <b>"));
    }

    #[test]
    fn long_descriptions_are_cut_at_a_word_with_an_ellipsis() {
        let long = "word ".repeat(100) + "ünïcödé";
        let meta = extract(&format!(
            r#"<meta property="og:description" content="{long}">"#
        ));
        let d = meta.description.unwrap_or_default();
        assert!(d.ends_with("word…"), "{d}");
        assert!(d.chars().count() <= DESCRIPTION_MAX_CHARS + 1);
        let dense = "é".repeat(400);
        assert_eq!(truncate(&dense, 300).chars().count(), 301);
    }

    #[test]
    fn relative_urls_resolve_against_the_final_url() {
        let meta = extract(
            r#"<meta property="og:image" content="img/a.png">
               <link rel="icon" href="../../favicon.png">
               <link rel="canonical" href="/canonical">"#,
        );
        assert_eq!(
            s(&meta.image),
            Some("https://www.example.com/news/2024/img/a.png")
        );
        assert_eq!(s(&meta.icon), Some("https://www.example.com/favicon.png"));
        assert_eq!(s(&meta.url), Some("https://www.example.com/canonical"));
    }

    #[test]
    fn base_href_changes_the_base_and_is_itself_resolved() {
        let meta = extract(
            r#"<base href="/static/v2/"><meta property="og:image" content="a.jpg">
               <link rel="icon" href="//cdn.example.net/i.ico">"#,
        );
        assert_eq!(
            s(&meta.image),
            Some("https://www.example.com/static/v2/a.jpg")
        );
        assert_eq!(s(&meta.icon), Some("https://cdn.example.net/i.ico"));
        let meta = extract(
            r#"<base href="https://media.example.org/root/"><meta name="twitter:image" content="../x.png">"#,
        );
        assert_eq!(s(&meta.image), Some("https://media.example.org/x.png"));
    }

    #[test]
    fn script_and_data_urls_are_ignored() {
        let meta = extract(
            r#"<meta property="og:image" content="javascript:alert(1)">
               <meta property="og:image" content=" data:image/png;base64,AAAA">
               <meta name="twitter:image" content="https://cdn.example.com/ok.png">
               <link rel="icon" href="data:,">"#,
        );
        assert_eq!(s(&meta.image), Some("https://cdn.example.com/ok.png"));
        assert_eq!(s(&meta.icon), Some("https://www.example.com/favicon.ico"));
    }

    #[test]
    fn an_https_image_is_preferred_over_a_plain_http_one() {
        let meta = extract(
            r#"<meta property="og:image" content="http://cdn.example.com/a.png">
               <meta property="og:image:secure_url" content="https://cdn.example.com/a.png">"#,
        );
        assert_eq!(s(&meta.image), Some("https://cdn.example.com/a.png"));
        let only_http =
            extract(r#"<meta property="og:image" content="http://cdn.example.com/a.png">"#);
        assert_eq!(s(&only_http.image), Some("http://cdn.example.com/a.png"));
    }

    #[test]
    fn the_largest_icon_wins_and_mask_icons_are_ignored() {
        let meta = extract(
            r#"<link rel="shortcut icon" href="/favicon.ico">
               <link rel="icon" type="image/png" sizes="32x32" href="/i32.png">
               <link rel="icon" type="image/png" sizes="16x16 96x96" href="/i96.png">
               <link rel="apple-touch-icon" href="/touch.png">
               <link rel="mask-icon" href="/mask.svg" sizes="any">"#,
        );
        assert_eq!(s(&meta.icon), Some("https://www.example.com/touch.png"));
        let meta = extract(
            r#"<link rel="apple-touch-icon" href="/touch.png">
               <link rel="icon" sizes="192x192" href="/i192.png">"#,
        );
        assert_eq!(s(&meta.icon), Some("https://www.example.com/i192.png"));
    }

    #[test]
    fn json_ld_object_gives_author_and_date() {
        let meta = extract(
            r#"<script type="application/ld+json">
            {"@context":"https://schema.org","@type":"NewsArticle",
             "author":{"@type":"Person","name":"Ada Lovelace"},
             "datePublished":"2024-03-09T10:00:00+01:00"}</script>"#,
        );
        assert_eq!(meta.author.as_deref(), Some("Ada Lovelace"));
        assert_eq!(
            meta.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2024-03-09T10:00:00+01:00")
        );
    }

    #[test]
    fn json_ld_top_level_array_with_author_array_of_objects() {
        let meta = extract(
            r#"<script type="application/ld+json">
            [{"@type":"BreadcrumbList","itemListElement":[]},
             {"@type":["Article","NewsArticle"],"datePublished":"2023-04-28",
              "author":[{"@type":"Person","name":"A. One"},{"@type":"Person","name":" B.\n Two "},
                        "C. Three", {"@type":"Person","name":"A. One"}]}]
            </script>"#,
        );
        assert_eq!(meta.author.as_deref(), Some("A. One, B. Two, C. Three"));
        assert_eq!(
            meta.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2023-04-28T00:00:00+00:00")
        );
    }

    #[test]
    fn json_ld_graph_resolves_author_references() {
        let meta = extract(
            r##"<script type="application/ld+json">
            {"@context":"https://schema.org","@graph":[
              {"@type":"WebPage","@id":"https://x/#page","datePublished":"2020-01-01T00:00:00Z"},
              {"@type":"Article","@id":"https://x/#article","author":{"@id":"https://x/#/person/1"},
               "datePublished":"2021-02-03T04:05:06+00:00"},
              {"@type":"Person","@id":"https://x/#/person/1","name":"Grace Hopper"}]}
            </script>"##,
        );
        assert_eq!(meta.author.as_deref(), Some("Grace Hopper"));
        assert_eq!(
            meta.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2021-02-03T04:05:06+00:00")
        );
    }

    #[test]
    fn broken_or_oversized_json_ld_is_skipped() {
        let big = format!(
            r#"<script type="application/ld+json">{{"@type":"Article","author":"Big","x":"{}"}}</script>"#,
            "a".repeat(JSON_LD_MAX_BYTES)
        );
        assert_eq!(extract(&big).author, None);
        let broken = r#"<script type="application/ld+json">{"@type":"Article",</script>
                        <meta name="author" content="Meta Author">"#;
        assert_eq!(extract(broken).author.as_deref(), Some("Meta Author"));
        let newline = "<script type=\"application/ld+json\">\
                       {\"@type\":\"Article\",\"author\":\"Line\nBreak\"}</script>";
        assert_eq!(extract(newline).author.as_deref(), Some("Line Break"));
    }

    #[test]
    fn article_author_urls_are_not_names() {
        let meta = extract(
            r#"<meta property="article:author" content="https://facebook.com/someone">
               <meta name="parsely-author" content="Real Name">"#,
        );
        assert_eq!(meta.author.as_deref(), Some("Real Name"));
    }

    #[test]
    fn published_prefers_article_meta_and_falls_back_to_time() {
        let meta = extract(
            r#"<meta property="article:published_time" content="2024-01-02T03:04:05+0100">
               <meta itemprop="datePublished" content="1999-01-01">"#,
        );
        assert_eq!(
            meta.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2024-01-02T03:04:05+01:00")
        );
        let meta = extract_body(
            r#"<time datetime="2019-05-05">x</time><time pubdate datetime="2020-06-06T10:00">y</time>"#,
        );
        assert_eq!(
            meta.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2020-06-06T10:00:00+00:00")
        );
    }

    #[test]
    fn dates_are_normalised() {
        let cases = [
            ("2024-03-09T10:00:00Z", "2024-03-09T10:00:00+00:00"),
            (
                "2024-03-09T10:00:00.123+02:00",
                "2024-03-09T10:00:00.123+02:00",
            ),
            ("2024-03-09T10:00:00+0200", "2024-03-09T10:00:00+02:00"),
            ("2024-03-09 10:00:00", "2024-03-09T10:00:00+00:00"),
            ("2024-03-09T10:00:00", "2024-03-09T10:00:00+00:00"),
            ("2024-03-09T10:00", "2024-03-09T10:00:00+00:00"),
            ("2024-03-09T10:00:00.5", "2024-03-09T10:00:00.500+00:00"),
            (" 2024-03-09 ", "2024-03-09T00:00:00+00:00"),
            ("Sat, 09 Mar 2024 10:00:00 GMT", "2024-03-09T10:00:00+00:00"),
            ("1710000000", "2024-03-09T16:00:00+00:00"),
            ("September 3, 2025", "2025-09-03T00:00:00+00:00"),
            ("3 Sep 2025", "2025-09-03T00:00:00+00:00"),
            ("20250903", "2025-09-03T00:00:00+00:00"),
        ];
        for (raw, want) in cases {
            assert_eq!(
                parse_date(raw).map(|d| d.to_rfc3339()).as_deref(),
                Some(want),
                "{raw}"
            );
        }
        for bad in ["", "yesterday", "2024-13-01", "12345", "99999999"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn json_ld_nested_under_main_entity_with_split_names() {
        let meta = extract(
            r#"<script type="application/ld+json">
            {"@type":"WebPage","mainEntity":{"@type":"NewsArticle","datePublished":"2025-11-03",
              "author":[{"@type":"Person","givenName":"Anna Giulia","familyName":"Fink"},
                        {"@type":"Person","name":"By Jan Marchart"}]}}</script>"#,
        );
        assert_eq!(
            meta.author.as_deref(),
            Some("Anna Giulia Fink, Jan Marchart")
        );
        assert_eq!(
            meta.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2025-11-03T00:00:00+00:00")
        );
    }

    #[test]
    fn authors_naming_the_publisher_give_way_to_people() {
        let org_in_ld = r#"<meta property="og:site_name" content="Krautreporter">
            <meta name="author" content="Shany Littman">
            <script type="application/ld+json">{"@type":"NewsArticle",
              "author":{"@type":"Person","name":"Krautreporter "}}</script>"#;
        assert_eq!(extract(org_in_ld).author.as_deref(), Some("Shany Littman"));
        let org_typed = r#"<meta name="cXenseParse:author" content="松岡大地">
            <script type="application/ld+json">{"@type":"NewsArticle",
              "author":{"@type":"Organization","name":"毎日新聞"}}</script>"#;
        assert_eq!(extract(org_typed).author.as_deref(), Some("松岡大地"));
        // Only the publisher is named: better that than nothing.
        let only_site = r#"<meta name="author" content="example.com">"#;
        assert_eq!(extract(only_site).author.as_deref(), Some("example.com"));
        // A person whose handle looks like a domain is still a person.
        let handle = r#"<script type="application/ld+json">{"@type":"Article",
              "author":{"@type":"Person","name":"odno.kino"}}</script>"#;
        assert_eq!(extract(handle).author.as_deref(), Some("odno.kino"));
    }

    #[test]
    fn meta_authors_are_joined_uninverted_and_cleaned() {
        let several = r#"<meta name="author" content="Lucy Thornton">
            <meta name="author" content="Tim Hanlon"><meta name="author" content="Lucy Thornton">"#;
        assert_eq!(
            extract(several).author.as_deref(),
            Some("Lucy Thornton, Tim Hanlon")
        );
        let dublin_core = r#"<meta name="dc.creator" content="You, Xiaoying">
            <meta name="dc.creator" content="Lenharo, Mariana">"#;
        assert_eq!(
            extract(dublin_core).author.as_deref(),
            Some("Xiaoying You, Mariana Lenharo")
        );
        let email = r#"<meta name="author" content="d.kuckelkorn@example.com">
            <meta name="byl" content="By Dieter Kuckelkorn">"#;
        assert_eq!(extract(email).author.as_deref(), Some("Dieter Kuckelkorn"));
        let slack = r#"<meta name="twitter:label1" content="Written by">
            <meta name="twitter:data1" content="Ada Lovelace">"#;
        assert_eq!(extract(slack).author.as_deref(), Some("Ada Lovelace"));
        let reading_time = r#"<meta name="twitter:label1" content="Est. reading time">
            <meta name="twitter:data1" content="3 minutes">"#;
        assert_eq!(extract(reading_time).author, None);
    }

    #[test]
    fn body_fallbacks_fill_what_the_head_lacks() {
        let meta = extract_body(
            r#"<h1> The <em>headline</em> </h1><h1>Second</h1>
               <video poster="/media/poster.gif"></video>
               <a rel="author" href="/a/kyt">Kyt Dotson</a><a rel="author" href="/a/kyt">Kyt Dotson</a>"#,
        );
        assert_eq!(meta.title.as_deref(), Some("The headline"));
        assert_eq!(
            s(&meta.image),
            Some("https://www.example.com/media/poster.gif")
        );
        assert_eq!(meta.author.as_deref(), Some("Kyt Dotson"));
    }

    #[test]
    fn a_date_in_the_url_path_is_the_last_resort() {
        let page = "<html><head><title>t</title></head></html>";
        let meta = from_html(page, &url("https://blog.example/2016/05/16/some-post/"));
        assert_eq!(
            meta.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2016-05-16T00:00:00+00:00")
        );
        for no_date in [
            "https://x.test/2016/05/post",
            "https://x.test/1234/56/78/",
            "https://x.test/p/2016/13/01/",
        ] {
            assert_eq!(from_html(page, &url(no_date)).published, None, "{no_date}");
        }
    }

    #[test]
    fn site_name_and_canonical_url() {
        let meta = extract(
            r#"<meta name="application-name" content="App">
               <meta property="og:site_name" content=" The Site ">
               <meta property="og:url" content="https://example.com/canonical/">"#,
        );
        assert_eq!(meta.site_name.as_deref(), Some("The Site"));
        assert_eq!(s(&meta.url), Some("https://example.com/canonical/"));
    }
}
