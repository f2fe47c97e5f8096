//! The one walk over the parsed HTML and the lookups on what it gathered. Every field
//! reads from this single collection, so no source costs another traversal of a large
//! page; the tag bound, URL resolution and image and icon ranking live here because they
//! judge the markup and attributes the walk holds.

use chrono::{DateTime, FixedOffset};
use notion_unfurl_sdk::Url;
use scraper::Html;
use serde_json::Value;

use super::author::{Candidate, push_name, uninvert};
use super::clues::{
    MAX_BYLINES, MAX_DATED, MAX_DATED_TEXT, byline_text, is_author_page, is_byline_class,
    is_date_class, largest_size, microdata_name, resolve, short_text, size_in_name,
};
use super::date::{date_in_text, parse_date};
use super::image;
use super::json_ld::{JsonLd, parse_json_ld};
use super::text::clean_text;

/// The document is parsed up to its this-many-th tag (opening or closing). html5ever's
/// tree builder takes time in the square of the nesting depth (400 KiB of nested `<div>`
/// take 14 s, 2 MiB would take minutes), and depth can be no more than the tag count, so
/// this bounds any page at about 50 ms. Of the 179 real pages in the test corpus, 5 have
/// more tags, and extraction agrees with the corpus exactly as often with the bound as
/// without it (at 2,000 it would not).
pub const MAX_TAGS: usize = 5_000;

/// Dates compared with the first publication date when that one has no real offset.
const MAX_DATE_CANDIDATES: usize = 16;

/// `<img>` elements looked at for the last-resort image: the content image is near the top.
const MAX_IMGS: usize = 20;

const HTML_NAMESPACE: &str = "http://www.w3.org/1999/xhtml";

struct Link<'a> {
    /// Lower-cased `rel` tokens.
    rel: Vec<String>,
    href: &'a str,
    sizes: Option<&'a str>,
    mime: Option<&'a str>,
}

/// Raw material from one pass over the document, in document order.
#[derive(Default)]
pub(super) struct Found<'a> {
    /// (lower-cased `property` / `name` / `itemprop`, `content`).
    meta: Vec<(String, &'a str)>,
    links: Vec<Link<'a>>,
    pub(super) title: Option<String>,
    pub(super) base_href: Option<&'a str>,
    pub(super) json_ld: Vec<Value>,
    /// `<time datetime>` values, those marked as the publication date first.
    times: Vec<&'a str>,
    pub(super) h1: Option<String>,
    pub(super) video_poster: Option<&'a str>,
    /// Texts of `<a rel="author">` links.
    rel_authors: Vec<String>,
    /// `<html lang>`.
    pub(super) html_lang: Option<&'a str>,
    /// The first few `<img src>` values.
    pub(super) img_srcs: Vec<&'a str>,
    /// Names from microdata (`itemprop=author` on any element).
    microdata_authors: Vec<String>,
    /// The short text of the first element whose class names a byline.
    bylines: Vec<String>,
    /// The text of the first link to an author's page (`/author/…`), when it reads as a name.
    author_page_links: Vec<String>,
    /// Microdata publication dates on elements other than `<meta>` and `<time>`: their
    /// `content` or `datetime`, else their text.
    microdata_dates: Vec<String>,
    /// Short texts of the first elements whose class names a date (`date`, `post-date`,
    /// `timestamp`) and of `<time>` elements without `datetime`, in document order.
    dated_texts: Vec<String>,
}

impl<'a> Found<'a> {
    pub(super) fn collect(document: &'a Html) -> Self {
        let mut found = Found::default();
        let mut marked_times = Vec::new();
        // A walk over the element nodes, dispatching on the name: matching a selector list
        // against every element costs more than the whole dispatch.
        let elements = document
            .root_element()
            .descendants()
            .filter_map(scraper::ElementRef::wrap);
        for element in elements {
            let el = element.value();
            if let Some(prop) = el.attr("itemprop")
                && !matches!(el.name(), "meta" | "time")
            {
                let has = |name: &str| {
                    prop.split_ascii_whitespace()
                        .any(|p| p.eq_ignore_ascii_case(name))
                };
                if found.microdata_authors.len() < MAX_BYLINES && has("author") {
                    found.microdata_authors.extend(microdata_name(&element));
                }
                if found.microdata_dates.len() < MAX_DATED && has("datePublished") {
                    let value = el.attr("content").or_else(|| el.attr("datetime"));
                    found.microdata_dates.extend(match value {
                        Some(value) => Some(value.to_owned()),
                        None => short_text(&element, MAX_DATED_TEXT),
                    });
                }
            }
            let dated = match el.name() {
                "time" => el.attr("datetime").is_none(),
                _ => el.attr("class").is_some_and(is_date_class),
            };
            if dated && found.dated_texts.len() < MAX_DATED {
                found
                    .dated_texts
                    .extend(short_text(&element, MAX_DATED_TEXT));
            }
            // The first byline only: later ones belong to related articles and teasers.
            if found.bylines.is_empty() && el.attr("class").is_some_and(is_byline_class) {
                found
                    .bylines
                    .extend(byline_text(&element.text().collect::<String>()));
            }
            if el.name() == "a"
                && found.author_page_links.is_empty()
                && el.attr("href").is_some_and(is_author_page)
            {
                found
                    .author_page_links
                    .extend(byline_text(&element.text().collect::<String>()));
            }
            match el.name() {
                "html" if found.html_lang.is_none() => {
                    found.html_lang = el.attr("lang").or_else(|| el.attr("xml:lang"));
                }
                "meta" => {
                    let Some(content) = el.attr("content").or_else(|| el.attr("value")) else {
                        continue;
                    };
                    for key in ["property", "name", "itemprop", "http-equiv"] {
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
                "img" if found.img_srcs.len() < MAX_IMGS => found.img_srcs.extend(el.attr("src")),
                // A few bylines; a long list is a directory or comment thread, not bylines.
                "a" if found.rel_authors.len() < 8
                    && el
                        .attr("rel")
                        .is_some_and(|r| r.to_ascii_lowercase().contains("author")) =>
                {
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
    pub(super) fn meta_values<'s>(&'s self, key: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.meta
            .iter()
            .filter(move |(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| *v)
    }

    /// The first non-blank `content` among `keys`, in the order of `keys`.
    pub(super) fn meta_content(&self, keys: &[&str]) -> Option<&'a str> {
        keys.iter().find_map(|key| self.meta_values(key).next())
    }

    pub(super) fn meta_text(&self, keys: &[&str]) -> Option<String> {
        keys.iter()
            .find_map(|key| self.meta_values(key).find_map(clean_text))
    }

    pub(super) fn link_href(&self, rel: &str, base: &Url) -> Option<Url> {
        self.links
            .iter()
            .filter(|l| l.rel.iter().any(|r| r == rel))
            .find_map(|l| resolve(base, l.href))
    }

    /// `<link rel=alternate type=application/json+oembed>`.
    pub(super) fn oembed_link(&self, base: &Url) -> Option<Url> {
        self.links
            .iter()
            .filter(|l| l.rel.iter().any(|r| r == "alternate"))
            .filter(|l| {
                l.mime
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json+oembed"))
            })
            .find_map(|l| resolve(base, l.href))
    }

    /// The preview image; an https one when the page offers any, since Notion shows
    /// nothing else.
    pub(super) fn image(&self, base: &Url, logos: bool) -> Option<Url> {
        const KEYS: [&str; 6] = [
            "og:image:secure_url",
            "og:image",
            "og:image:url",
            "twitter:image",
            "twitter:image:src",
            "image",
        ];
        let mut candidates = KEYS
            .iter()
            .flat_map(|key| self.meta_values(key).filter_map(|v| resolve(base, v)))
            .chain(self.link_href("image_src", base))
            .filter(|u| image::usable(u) && (logos || !image::is_logo(u)));
        let first = candidates.next()?;
        if first.scheme() == "https" {
            return Some(first);
        }
        Some(candidates.find(|u| u.scheme() == "https").unwrap_or(first))
    }

    /// The largest declared icon; `apple-touch-icon`s are 180 px unless they say otherwise.
    pub(super) fn icon(&self, base: &Url) -> Option<Url> {
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
                let size = link
                    .sizes
                    .and_then(largest_size)
                    .or_else(|| size_in_name(&url));
                let size = size.unwrap_or(if touch {
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
    pub(super) fn author_candidates(&self) -> Vec<Candidate> {
        const KEYS: [&str; 12] = [
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
            "twitter:misc:written by",
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
                Candidate::untyped(key, names)
            })
            .collect();
        for (source, texts) in [
            ("<a rel=author>", &self.rel_authors),
            ("itemprop=author", &self.microdata_authors),
            ("byline class", &self.bylines),
            ("author page link", &self.author_page_links),
        ] {
            let mut names = Vec::new();
            for name in texts {
                push_name(&mut names, name);
            }
            candidates.extend(Candidate::untyped(source, names));
        }
        candidates
    }

    /// Slack's convention: `twitter:label1` "Written by" names `twitter:data1`.
    fn twitter_label_is_author(&self) -> bool {
        self.meta_values("twitter:label1").any(|l| {
            let l = l.to_lowercase();
            ["written by", "author", "autor", "auteur", "verfasst"]
                .iter()
                .any(|w| l.contains(w))
        })
    }

    /// The modification date: a fallback when the page never says when it appeared.
    pub(super) fn modified(&self, ld: &JsonLd) -> Option<DateTime<FixedOffset>> {
        const KEYS: [&str; 5] = [
            "article:modified_time",
            "og:updated_time",
            "datemodified",
            "last-modified",
            "dcterms.modified",
        ];
        KEYS.iter()
            .find_map(|key| self.meta_values(key).find_map(parse_date))
            .or_else(|| ld.date_modified())
    }

    /// A publication date from the page's visible text: the first element whose class
    /// names a date, or `<time>` without `datetime`, that reads as one (see
    /// [`date_in_text`]). After every machine-readable date and the URL's.
    pub(super) fn shown_date(&self) -> Option<DateTime<FixedOffset>> {
        self.dated_texts.iter().find_map(|t| date_in_text(t))
    }

    pub(super) fn published(&self, ld: &JsonLd) -> Option<DateTime<FixedOffset>> {
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
        let from_meta = |keys: &'static [&'static str]| {
            keys.iter()
                .flat_map(|key| self.meta_values(key).filter_map(parse_date))
        };
        let mut candidates = from_meta(&FIRST)
            .chain(ld.date_published())
            .chain(from_meta(&LATER))
            .chain(self.microdata_dates.iter().filter_map(|t| date_in_text(t)))
            .chain(self.times.iter().filter_map(|t| parse_date(t)));
        let first = candidates.next()?;
        if first.offset().local_minus_utc() != 0 {
            return Some(first);
        }
        // Many CMSs write local time marked as UTC (or unmarked, which reads as UTC) in
        // one tag and correctly with its offset in another: the same wall-clock time with
        // a real offset is the better reading.
        let with_offset = candidates
            .take(MAX_DATE_CANDIDATES)
            .find(|d| d.offset().local_minus_utc() != 0 && d.naive_local() == first.naive_local());
        Some(with_offset.unwrap_or(first))
    }
}

#[cfg(test)]
mod tests {
    use super::super::clues::{ITEMPROP_NAME, up_to_tag};
    use super::*;
    use crate::extract::from_html;
    use crate::extract::test_support::{extract, extract_body, s, url};

    #[test]
    fn selectors_compile() {
        assert!(ITEMPROP_NAME.is_some());
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
            r#"<link rel="apple-touch-icon" sizes="152x152" href="/a/152x152.png">
               <link rel="apple-touch-icon-precomposed" href="/b/57x57.png">"#,
        );
        assert_eq!(s(&meta.icon), Some("https://www.example.com/a/152x152.png"));
        let meta = extract(
            r#"<link rel="apple-touch-icon" href="/touch.png">
               <link rel="icon" sizes="192x192" href="/i192.png">"#,
        );
        assert_eq!(s(&meta.icon), Some("https://www.example.com/i192.png"));
    }

    #[test]
    fn author_page_links_and_handles() {
        for (href, yes) in [
            ("/author/jane-doe/", true),
            ("https://x.test/autoren/name/max?ref=1", true),
            ("/authors/", false),
            ("/author", false),
            ("/blog/authority/post", false),
            ("/about#author/x", false),
            ("https://blog.example/?author=3", true),
            ("/author-bio.asp?author_id=837", true),
            ("/search?author=", false),
            ("/list?coauthor=2", false),
        ] {
            assert_eq!(is_author_page(href), yes, "{href}");
        }
        let body = r#"<a href="/team">Team</a><a href="/author/jane-doe/">Jane Doe</a>
            <a href="/author/john-roe/">John Roe</a>"#;
        assert_eq!(
            crate::extract::test_support::extract_body(body)
                .author
                .as_deref(),
            Some("Jane Doe")
        );
        assert_eq!(byline_text("amw"), None);
        assert_eq!(byline_text("By Ana"), Some("Ana".to_owned()));
        let page = r#"<span class="author">amw</span><a href="/author/x/">kicker</a>"#;
        assert_eq!(
            crate::extract::test_support::extract_body(page).author,
            None
        );
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
    fn microdata_dates_on_any_element_count_as_published() {
        let meta = extract_body(
            r#"<span itemprop="datePublished" content="2021-02-03T04:05:06+01:00">Feb 3</span>"#,
        );
        assert_eq!(
            meta.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2021-02-03T04:05:06+01:00")
        );
        let meta =
            extract_body(r#"<p>By Ann <span itemprop="datePublished">March 4, 2022</span></p>"#);
        assert_eq!(
            meta.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2022-03-04T12:00:00+00:00")
        );
    }

    #[test]
    fn a_shown_date_is_read_when_no_markup_dates_the_page() {
        let meta = extract_body(
            r#"<div class="post-header"><span class="updated-at">June 9, 2023</span>
               <div class="entry-date">Thursday, May 26, 2016</div></div>
               <span class="date">May 1, 2016</span>"#,
        );
        assert_eq!(
            meta.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2016-05-26T12:00:00+00:00")
        );
        let meta = extract_body(r#"<time>Aug 14, 2020</time>"#);
        assert_eq!(
            meta.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2020-08-14T12:00:00+00:00")
        );
        // A date in the URL's path comes first; a container is not a date.
        let page = r#"<html><body><p class="date">May 1, 2016</p></body></html>"#;
        let meta = from_html(page, &url("https://x.test/2016/04/30/post"));
        assert_eq!(
            meta.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2016-04-30T12:00:00+00:00")
        );
        let long = format!(
            r#"<div class="dateline">{} May 1, 2016</div>"#,
            "word ".repeat(30)
        );
        assert_eq!(extract_body(&long).published, None);
        let meta = from_html(page, &url("https://x.test/post"));
        assert_eq!(
            meta.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2016-05-01T12:00:00+00:00")
        );
        // The text of a modification date is not a publication date.
        assert!(!is_date_class("last-updated"));
        assert!(!is_date_class("dateModified"));
        assert!(is_date_class("post-page__date"));
    }

    #[test]
    fn a_date_without_a_real_offset_takes_the_offset_another_source_writes() {
        let meta = extract(
            r#"<meta property="article:published_time" content="2023-04-28T18:41:00">
               <script type="application/ld+json">{"@type":"NewsArticle",
                 "datePublished":"2023-04-28T18:41:00+02:00"}</script>"#,
        );
        assert_eq!(
            meta.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2023-04-28T18:41:00+02:00")
        );
        let other_time = extract(
            r#"<meta property="article:published_time" content="2023-04-28T18:41:00Z">
               <meta name="date" content="2023-04-29T10:00:00+02:00">"#,
        );
        assert_eq!(
            other_time.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2023-04-28T18:41:00+00:00")
        );
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
}
