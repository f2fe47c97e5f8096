//! HTML text to [`PageMetadata`]: pure, no I/O.
//!
//! [`from_html`] parses the head (up to [`MAX_TAGS`] tags) and finds the body's JSON-LD
//! blocks with a byte scan (`scan`); only when a field the body may hold is still missing
//! (title, description, author, image, or a publication date read from the page) does it
//! parse the whole page, the same way. Each field is then filled from the first source in
//! its chain that has a usable value (`chain`), which also records every candidate for
//! `notion-unfurl extract --explain`. The child modules gather and clean; which source
//! comes before which is decided here, in one function, so the table below can be checked
//! against it. The key lists inside one step live with their lookups in `document`.
//!
//! - `document`: the one walk over the parsed HTML, `<meta>`/`<link>` lookups, image and
//!   icon ranking, URL resolution.
//! - `scan`: where the head ends, and JSON-LD found without a parser.
//! - `json_ld`: schema.org blocks, parsed and flattened into typed nodes.
//! - `author`: author names, and the rule that picks people over the publisher.
//! - `date`: the many ways pages write a date.
//! - `lang`: language tags to BCP 47.
//! - `image`: which image URLs may stand for a page.
//! - `body`: the first paragraph, for pages without a summary.
//! - `player`: `og:video` and `twitter:player`.
//! - `text`: whitespace, length and title site-part rules.
//!
//! # Which source fills which field
//!
//! Numbers are the order in which sources are tried for a field; the first that yields a
//! value wins (author excepted, see below). Empty cells are sources never read for it.
//! Report names: `site_name` is `publisher`, `icon` is `logo`, `published` is `date`.
//!
//! | field | OpenGraph | Twitter | other `<meta>` | JSON-LD | `<link rel>` | HTML elements | heuristic |
//! |---|---|---|---|---|---|---|---|
//! | title | 1 `og:title` | 2 `twitter:title` | 5 `dc.title`, `dcterms.title` | 4 `headline` (article), else `name` (article, then main thing) | | 3 `<title>`; 6 first `<h1>` | then: the headline within it [^headline]; a site part dropped [^title] |
//! | description | 1 `og:description` | 2 `twitter:description` | 3 `description`; 5 `dc.description`, `dcterms.description`, `dcterms.abstract` | 4 `description` (article, then main thing) | | | 6 first paragraph [^paragraph] |
//! | site_name | 2 `og:site_name` [^site] | | 3 `application-name`; 4 app names [^app]; 5 `dc.publisher`, `dcterms.publisher` | 1 `publisher.name` (page) | | | 6 the titles' site part [^title] |
//! | image | 1 `og:image:secure_url`… [^image] | 1 `twitter:image`… [^image] | 1 `image` [^image] | 2 `image`, else `thumbnailUrl` (page) | 1 `image_src` [^image] | 3 first `<video poster>`; 5 first `<img>` [^img] | 4 step 1's logos |
//! | icon | 1 `og:logo` | | | 2 a square logo [^square]; 4 `publisher.logo`, else an `Organization`'s | 3 icons, best ranked [^icon] | | 5 `/favicon.ico` on the page's origin |
//! | url | 1 `og:url` | | | | 2 `canonical` | | 3 the page's URL |
//! | author | 2 `article:author` [^author] | 2 `twitter:data1`… [^author] | 2 `author`… [^author] | 1 `author` (page); 7 `creator` (page) | | 3 `<a rel=author>` texts; 4 `itemprop=author` on any element [^microdata]; 6 the first link to an author's page [^author-page] | 5 the first byline [^byline] |
//! | published | 1 `article:published_time`… [^published] | | 1 `datePublished`, `date`… [^published] | 1 `datePublished`, else `uploadDate` (page) | | 1 `itemprop=datePublished` on any element; 1 `<time datetime>` [^time]; 4 a shown date [^shown] | 2 `/YYYY/MM/DD/` in `url`'s path; 3 in the page URL's path; 5 the modification date [^modified] |
//! | lang | 3 `og:locale` | | 2 `content-language` (`http-equiv`); 5 `dc.language`, `dcterms.language` | 4 `inLanguage` | | 1 `<html lang>` | |
//! | player | 1 `og:video:secure_url`, `og:video:url`, `og:video` (https) [^player] | 2 `twitter:player`; 3 `twitter:player:stream` | | | | | |
//! | oembed | | | | | 1 `alternate` typed `application/json+oembed` | | |
//! | host | | | | | | | the page URL's host without `www.` |
//!
//! [^title]: A title splits into a headline and a site part at its last separator (` | `,
//!     ` - `, ` – `, ` — `, ` · `, ` :: `, ` » `, ` • `, ` / `, `｜`, `：`) when what follows
//!     has one to five words, or at its first when what precedes does. The site part is
//!     dropped when it is one of the publisher's names (the chosen site name, `og:site_name`,
//!     `application-name`, JSON-LD publishers) or the host's (a label of three letters or
//!     more). As a site name, the site part counts only from a title (`og:title`,
//!     `twitter:title`, `<title>`) whose headline equals another title or the first `<h1>`.
//! [^headline]: When the title from steps 1 to 3 is JSON-LD's article `headline` (else
//!     the first `<h1>`) with an aside joined at a separator character (`|`, `-`, `–`,
//!     `—`, `·`, `:`, `•`, `/`, `»`, `~`, `ㅣ`, `｜`, `：`) before or after it, the aside
//!     shorter than the headline, the headline is the title ("Headline - Section | Site",
//!     "Topic | Headline"). Compared with typographic quotes folded; not when the headline
//!     or `<h1>` is the whole title.
//! [^site]: An all-lower-case `og:site_name` takes JSON-LD's spelling of the same name
//!     ("channelpro", "ChannelPro"). Site names that are URLs are dropped; a trailing
//!     parenthetical is dropped ("X (formerly Twitter)").
//! [^app]: `al:android:app_name`, `al:iphone:app_name`, `al:ipad:app_name`,
//!     `twitter:app:name:iphone`, `twitter:app:name:googleplay`.
//! [^paragraph]: The first `<p>` of at least 80 characters that ends a sentence and is not
//!     inside `nav`, `header`, `footer`, `aside`, `form`, `figcaption`, `blockquote`,
//!     `noscript` or an element whose `class`/`id` marks a cookie banner, newsletter box,
//!     paywall or navigation; cut at the last sentence end within [`SUMMARY_MAX_CHARS`].
//! [^image]: Step 1 is one pool, in this order: `og:image:secure_url`, `og:image`,
//!     `og:image:url`, `twitter:image`, `twitter:image:src`, `image`,
//!     `<link rel=image_src>`. Its first `https` URL wins, else its first URL: Notion
//!     shows no other images. Everywhere, images on a non-public IP literal, tracking
//!     pixels, spacers, sprites and emoji are passed over; in steps 1 to 3 and 5 so are
//!     logos, favicons and avatars (by path), which step 4 then allows.
//! [^img]: The first of the first 20 `<img src>` that is not SVG or GIF.
//! [^icon]: `<link rel>` `icon`, `apple-touch-icon` or `apple-touch-icon-precomposed`.
//!     A known format (PNG, ICO or SVG, by `type` or extension) ranks first, then the
//!     largest `sizes` (`any` counts as 256), else a square size in the file name
//!     (`57x57.png`), else touch icons count as 180, SVG as 144, others as 32; among
//!     equals the first declared. `mask-icon` is not one.
//! [^author]: Step 2 reads these keys in this order, each key one candidate with all its
//!     values: `author`, `article:author`, `parsely-author`, `sailthru.author`,
//!     `cxenseparse:author`, `dcsext.author`, `byl`, `dc.creator`, `dcterms.creator`,
//!     `citation_author` (these last three "Last, First" turned around),
//!     `twitter:misc:written by`, `twitter:data1` (only when a `twitter:label1` says
//!     "written by", "author", "autor", "auteur" or "verfasst").
//! [^microdata]: An item's `itemprop=name` (its `content`, else its text), else the
//!     element's `content`, else its text when it reads as a byline (below).
//! [^byline]: The first element with a class token containing `byline` or `author` (but
//!     not `box`, `bio`, `avatar`, `img`, `image`, `photo`, `desc`, `info`, `wrap`, `list`,
//!     `card`, `follow`): its text without a leading "By"/"von" and trailing dashes, when
//!     that is one to six words, 3 to 60 characters and no digits, and not one
//!     all-lower-case word (a handle or an editor's initials, "amw").
//! [^author-page]: The first `<a>` whose `href` path has a segment `author`, `authors`,
//!     `autor`, `autoren` or `auteur` followed by another (`/author/jane-doe/`), or whose
//!     query has a non-empty `author`, `author_id` or `authorid` (`/?author=3`): its text,
//!     read as a byline is.
//! [^published]: Step 1 is one pool, in this order: `article:published_time`,
//!     `article:published:time`, `og:published_time`, `og:article:published_time`, then
//!     JSON-LD `datePublished`, then `datePublished`, `date`, `pubdate`, `publishdate`,
//!     `publish-date`, `publish_date`, `dc.date.issued`, `dcterms.issued`, `dc.date`,
//!     `dcterms.date`, `sailthru.date`, `parsely-pub-date`, `article.published`,
//!     `citation_publication_date`, `cxenseparse:recs:publishtime`, then the `content`,
//!     `datetime` or text of other elements with `itemprop=datePublished`, then `<time>`.
//!     Only values [`parse_date`] reads count (texts as a shown date's are read). A bare
//!     ISO day (`2024-03-09`) is midnight UTC, as ECMAScript reads it; a day written for
//!     people or in a URL path is noon UTC, the same calendar day from UTC−11 to UTC+11. The first wins, but when it has no real offset
//!     (UTC or none written) a later one with the same wall-clock time and a real offset
//!     replaces it: CMSs often stamp local time as UTC in one tag.
//! [^time]: Those with `itemprop=datePublished` or a `pubdate` attribute first, then the
//!     rest, in document order.
//! [^shown]: The first of the first 8 elements whose class token contains `date`, `time`
//!     or `publish` but not `update` or `modif` (`post-date`, `timestamp`), or `<time>`
//!     elements without `datetime`, whose text (at most 80 bytes) reads as a date: each
//!     part between `|`, `·`, `•` tried, a leading English weekday dropped, ordinals
//!     ("5th") read as numbers ("Thursday, May 26, 2016", "November 5th, 2020 | E117").
//! [^square]: The first publisher (of a page node, then of the `WebSite`) or
//!     `Organization` logo that is an
//!     `ImageObject` with `width` equal to `height`, at least 96 px: a square logo can
//!     stand as an icon, the usual wide wordmark cannot.
//! [^modified]: `article:modified_time`, `og:updated_time`, `dateModified`,
//!     `last-modified`, `dcterms.modified`, then JSON-LD `dateModified`: a page that never
//!     says when it appeared is dated by its last change rather than not at all.
//! [^player]: Kind by `og:video:type`: `text/html` an iframe player, `video/*` a file,
//!     anything else (Flash) no player; untyped, a video file extension makes a file.
//!
//! Reading the table:
//!
//! - `<meta>` keys match `property`, `name`, `itemprop` and `http-equiv` alike
//!   (lower-cased; the value from `content`, else `value`), so the three `<meta>` columns
//!   sort keys by the vocabulary they belong to, not by attribute. Microdata on other
//!   elements is read for `author` and `datePublished`; an `itemscope` is followed only
//!   to its `name`.
//! - JSON-LD "article" nodes have a type ending in `Article` or `Posting`, or `Report`;
//!   "main things" are `Product`, `Recipe` and `VideoObject`; "page" nodes are the article
//!   nodes, then those typed `…Page` (`WebPage`, `ProfilePage`…), then the main things. Nodes are found
//!   inside arrays, `@graph` and properties such as `mainEntity`, a few levels deep, but
//!   never inside `author`, `creator` or `publisher`. Blocks that do not parse are mended
//!   once (raw line breaks, values left out of a template) and otherwise skipped.
//! - Author: every source is a candidate, in the order of the table. The first that
//!   names people rather than the publisher (the site name, JSON-LD `publisher` and
//!   `WebSite` names, the host) wins; when all name the publisher, the first. The head
//!   alone settles it only when its author is not the site: not the site name, the host,
//!   or the domain's name ("LTO" on `lto.de`).
//! - Title: news sites often give `og:title` a different wording from the article's
//!   headline; it is the one they chose for shared links, which is what a preview is.
//! - Published: the modification date only as a last resort, since a preview says when
//!   the page appeared.
//! - Lang: a BCP 47 tag ([`language_tag`]); values that are not one are passed over.
//! - Text is whitespace-collapsed, numeric character references left by double escaping
//!   are decoded, and blank values are skipped. Title and description are cut to
//!   [`TITLE_MAX_CHARS`] and [`DESCRIPTION_MAX_CHARS`] (the preview shows
//!   [`SUMMARY_MAX_CHARS`] of the description), the site name to
//!   [`SITE_NAME_MAX_CHARS`], the author to [`AUTHOR_MAX_CHARS`].
//! - URLs are resolved against `<base href>` (itself resolved against the page's URL)
//!   or the page's URL; a result that is not `http`/`https` or is longer than
//!   [`URL_MAX_BYTES`] is passed over like a missing one.

mod author;
mod body;
mod chain;
mod clues;
mod date;
mod document;
mod image;
mod json_ld;
mod lang;
mod player;
mod scan;
mod text;
mod titles;

use chrono::{DateTime, FixedOffset};
use notion_unfurl_sdk::Url;
use scraper::Html;
use serde_json::Value;

pub(crate) use author::name_key;
pub use author::{AUTHOR_MAX_CHARS, MAX_AUTHOR_NAMES};
use author::{Publishers, choose_author};
use chain::Chain;
pub use chain::{Explanation, Seen, Verdict};
pub use clues::URL_MAX_BYTES;
use clues::{favicon, resolve, up_to_tag};
use date::date_in_path;
pub use date::parse_date;
use document::Found;
pub use document::MAX_TAGS;
pub use json_ld::JSON_LD_MAX_BYTES;
use json_ld::JsonLd;
pub use lang::language_tag;
pub use player::{Player, PlayerKind};
use text::clean_text;
pub use text::truncate;
use titles::{headline_within, site_part_of_titles, strip_site_part};

/// Longest description kept, in characters: a defence against pages that put an article
/// there. Previews show less ([`SUMMARY_MAX_CHARS`]); the report shows what the page says.
pub const DESCRIPTION_MAX_CHARS: usize = 2000;
/// Longest description a preview shows, in characters: two or three lines. A description
/// read from the body is cut at a sentence within it.
pub const SUMMARY_MAX_CHARS: usize = 300;
/// Longest title kept, in characters; a defence against pages that put an article there.
pub const TITLE_MAX_CHARS: usize = 300;
/// Longest site name kept, in characters.
pub const SITE_NAME_MAX_CHARS: usize = 100;

/// What a page says about itself. Every field is optional; URLs are absolute.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageMetadata {
    pub title: Option<String>,
    pub description: Option<String>,
    /// The publisher's name (`og:site_name`, JSON-LD `publisher`, `application-name`).
    pub site_name: Option<String>,
    pub image: Option<Url>,
    pub icon: Option<Url>,
    /// One name, or several joined with ", ".
    pub author: Option<String>,
    pub published: Option<DateTime<FixedOffset>>,
    /// The canonical URL the page declares (`og:url`, `<link rel=canonical>`), else the
    /// URL it was read from.
    pub url: Option<Url>,
    /// The host of the URL the page was read from, without a leading `www.`: the
    /// fallback for the title and the site name.
    pub host: Option<String>,
    /// The page's language as a BCP 47 tag (`en`, `de-AT`).
    pub lang: Option<String>,
    /// A player or video file the page declares for itself (`og:video`, `twitter:player`).
    pub player: Option<Player>,
    /// The page's own oEmbed endpoint (`<link rel=alternate type=application/json+oembed>`).
    pub oembed: Option<Url>,
    /// Which source gave each field, by field name: what `extract --explain` summarises.
    pub sources: Vec<(&'static str, &'static str)>,
}

/// Read the metadata of an HTML document fetched from `final_url`.
pub fn from_html(html: &str, final_url: &Url) -> PageMetadata {
    read(html, final_url, None)
}

/// [`from_html`], plus every candidate each field's chain saw and what became of it.
pub fn explain(html: &str, final_url: &Url) -> (PageMetadata, Explanation) {
    let mut trace = Explanation::default();
    let meta = read(html, final_url, Some(&mut trace));
    (meta, trace)
}

/// The head is parsed first, with the body's JSON-LD found by a byte scan; the whole page
/// is parsed only when a field the body may hold is still missing (see [`needs_body`]).
fn read(html: &str, final_url: &Url, trace: Option<&mut Explanation>) -> PageMetadata {
    if let Some(end) = scan::head_end(html) {
        let head = Html::parse_document(up_to_tag(&html[..end], MAX_TAGS));
        let body_ld: Vec<Value> = scan::json_ld_scripts(&html[end..])
            .into_iter()
            .filter_map(json_ld::parse_json_ld_text)
            .collect();
        let meta = fields(&head, &body_ld, final_url, None);
        if !needs_body(&meta) {
            return match trace {
                None => meta,
                Some(trace) => fields(&head, &body_ld, final_url, Some(trace)),
            };
        }
    }
    let document = Html::parse_document(up_to_tag(html, MAX_TAGS));
    fields(&document, &[], final_url, trace)
}

/// Whether a field that body elements can fill (`<h1>`, a first paragraph, bylines,
/// `<time>`, images) is missing, only guessed from a URL, or (the author) only the site.
fn needs_body(meta: &PageMetadata) -> bool {
    let date_read = meta
        .sources
        .iter()
        .any(|(field, source)| *field == "date" && *source == PUBLISHED_SOURCE);
    // An author that only names the site ("mdr.de"; "LTO" on lto.de, the domain's name) is
    // the head's last resort.
    let author_is_site = meta.author.as_deref().is_none_or(|a| {
        let key = name_key(a);
        meta.site_name
            .as_deref()
            .is_some_and(|s| name_key(s) == key)
            || meta.host.as_deref().is_some_and(|h| {
                name_key(h) == key || h.rsplit('.').nth(1).is_some_and(|d| name_key(d) == key)
            })
    });
    meta.title.is_none()
        || meta.description.is_none()
        || author_is_site
        || meta.image.is_none()
        || !date_read
}

const PUBLISHED_SOURCE: &str = "published <meta>/json-ld/<time>";

/// Every field from one parsed document, plus JSON-LD blocks found outside it.
fn fields(
    document: &Html,
    extra_ld: &[Value],
    final_url: &Url,
    mut trace: Option<&mut Explanation>,
) -> PageMetadata {
    let found = Found::collect(document);
    let base = found
        .base_href
        .and_then(|href| resolve(final_url, href))
        .unwrap_or_else(|| final_url.clone());
    let ld = JsonLd::new(found.json_ld.iter().chain(extra_ld));
    let host = final_url
        .host_str()
        .map(|h| h.strip_prefix("www.").unwrap_or(h).to_owned());
    let mut sources = Vec::new();
    let f = &found;
    let meta = |key: &'static str| move || f.meta_text(&[key]);
    let meta_any = |keys: &'static [&'static str]| move || f.meta_text(keys);

    let raw_title = Chain::new("title", trace.as_deref_mut())
        .or("og:title", meta("og:title"))
        .or("twitter:title", meta("twitter:title"))
        .or("<title>", || found.title.as_deref().and_then(clean_text))
        .or("json-ld headline", || {
            ld.article_text("headline").or_else(|| ld.main_text("name"))
        })
        .or("dc.title", meta_any(&["dc.title", "dcterms.title"]))
        .or("<h1>", || found.h1.as_deref().and_then(clean_text))
        .finish();
    let title_site_part = || site_part_of_titles(&found, raw_title.as_ref().map(|(_, t)| t));

    let site_name = Chain::new("publisher", trace.as_deref_mut())
        .or("json-ld publisher", || {
            ld.publisher_name().and_then(clean_text)
        })
        .or("og:site_name", || {
            // A lower-cased site name ("channelpro") that JSON-LD spells properly.
            let name = f.meta_text(&["og:site_name"])?;
            let spelled = ld
                .publisher_name()
                .and_then(clean_text)
                .filter(|p| name_key(p) == name_key(&name) && p != &name);
            Some(
                spelled
                    .filter(|_| !name.chars().any(char::is_uppercase))
                    .unwrap_or(name),
            )
        })
        .or("application-name", meta("application-name"))
        .or("app name", || {
            f.meta_text(&[
                "al:android:app_name",
                "al:iphone:app_name",
                "al:ipad:app_name",
                "twitter:app:name:iphone",
                "twitter:app:name:googleplay",
            ])
        })
        .or(
            "dc.publisher",
            meta_any(&["dc.publisher", "dcterms.publisher"]),
        )
        .or("title site part", title_site_part)
        .finish()
        .filter(|(_, s)| !text::looks_like_url(s))
        .map(|(source, s)| {
            (
                source,
                truncate(&text::without_aside(&s), SITE_NAME_MAX_CHARS),
            )
        });
    let site_name = record(&mut sources, "publisher", site_name);

    let headlines: Vec<String> = ld
        .article_text("headline")
        .into_iter()
        .chain(found.h1.as_deref().and_then(clean_text))
        .collect();
    let title = raw_title.map(|(source, t)| {
        let (source, t) = match headline_within(&t, &headlines) {
            Some(headline) if source != "json-ld headline" && source != "<h1>" => {
                if let Some(trace) = trace.as_deref_mut() {
                    trace.refuse("title", "aside", &t, "the headline plus an aside");
                }
                ("headline in title", headline)
            }
            _ => (source, t),
        };
        let names: Vec<String> = site_name
            .iter()
            .cloned()
            .chain(f.meta_text(&["og:site_name", "application-name"]))
            .chain(ld.publisher_names().filter_map(clean_text))
            .collect();
        let kept = match strip_site_part(&t, &names, host.as_deref()) {
            Some((headline, site)) => {
                if let Some(trace) = trace.as_deref_mut() {
                    trace.refuse(
                        "title",
                        "site part",
                        &site,
                        "names the publisher or the host",
                    );
                }
                headline
            }
            None => t,
        };
        (source, truncate(&kept, TITLE_MAX_CHARS))
    });
    let title = record(&mut sources, "title", title);

    let description = Chain::new("description", trace.as_deref_mut())
        .or("og:description", meta("og:description"))
        .or("twitter:description", meta("twitter:description"))
        .or("description", meta("description"))
        .or("json-ld description", || ld.main_text("description"))
        .or(
            "dc.description",
            meta_any(&["dc.description", "dcterms.description", "dcterms.abstract"]),
        )
        .or("first paragraph", || {
            body::first_paragraph(document, SUMMARY_MAX_CHARS)
        })
        .finish()
        .map(|(source, d)| (source, truncate(&d, DESCRIPTION_MAX_CHARS)));
    let description = record(&mut sources, "description", description);

    let content = |u: &Url| image::usable(u) && !image::is_logo(u);
    let image = Chain::new("image", trace.as_deref_mut())
        .or("<meta> image", || found.image(&base, false))
        .or("json-ld image", || {
            ld.image_urls()
                .filter_map(|raw| resolve(&base, raw))
                .find(content)
        })
        .or("<video poster>", || {
            found
                .video_poster
                .and_then(|p| resolve(&base, p))
                .filter(content)
        })
        .or("<meta> image, a logo", || found.image(&base, true))
        .or("first <img>", || {
            found
                .img_srcs
                .iter()
                .filter_map(|src| resolve(&base, src))
                // Spacers and icons are GIF and SVG more often than photos are.
                .find(|u| {
                    let path = u.path().to_ascii_lowercase();
                    content(u) && !path.ends_with(".svg") && !path.ends_with(".gif")
                })
        })
        .finish();
    let image = record(&mut sources, "image", image);

    let icon = Chain::new("logo", trace.as_deref_mut())
        .or("og:logo", || {
            found
                .meta_content(&["og:logo"])
                .and_then(|u| resolve(&base, u))
        })
        .or("json-ld square logo", || {
            ld.square_logo().and_then(|u| resolve(&base, u))
        })
        .or("<link rel=icon>", || found.icon(&base))
        .or("json-ld publisher logo", || {
            ld.publisher_logo().and_then(|u| resolve(&base, u))
        })
        .or("/favicon.ico", || favicon(final_url))
        .finish();
    let icon = record(&mut sources, "logo", icon);

    let url = Chain::new("url", trace.as_deref_mut())
        .or("og:url", || {
            found
                .meta_content(&["og:url"])
                .and_then(|u| resolve(&base, u))
        })
        .or("<link rel=canonical>", || {
            found.link_href("canonical", &base)
        })
        .or("page URL", || Some(final_url.clone()))
        .finish();
    let url = record(&mut sources, "url", url);

    let publishers = Publishers::new(site_name.as_deref(), ld.publisher_names(), host.as_deref());
    let author = choose_author(
        ld.author_candidates("author")
            .into_iter()
            .chain(found.author_candidates())
            .chain(ld.author_candidates("creator")),
        &publishers,
        trace.as_deref_mut(),
    );
    let author = record(&mut sources, "author", author);

    let published = Chain::new("date", trace.as_deref_mut())
        .or(PUBLISHED_SOURCE, || found.published(&ld))
        .or("date in canonical URL", || {
            url.as_ref().and_then(date_in_path)
        })
        .or("date in page URL", || date_in_path(final_url))
        .or("shown date", || found.shown_date())
        .or("modified", || found.modified(&ld))
        .finish();
    let published = record(&mut sources, "date", published);

    let lang = Chain::new("lang", trace)
        .or("<html lang>", || found.html_lang.and_then(language_tag))
        .or("content-language", || {
            found
                .meta_content(&["content-language"])
                .and_then(language_tag)
        })
        .or("og:locale", || {
            found.meta_content(&["og:locale"]).and_then(language_tag)
        })
        .or("json-ld inLanguage", || {
            ld.in_language().and_then(language_tag)
        })
        .or("dc.language", || {
            found
                .meta_content(&["dc.language", "dcterms.language"])
                .and_then(language_tag)
        })
        .finish();
    let lang = record(&mut sources, "lang", lang);

    let player = player::declared(&found, &base);
    let oembed = found.oembed_link(&base);

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
        lang,
        player,
        oembed,
        sources,
    }
}

/// The winning value, its source noted under `field`.
fn record<T>(
    sources: &mut Vec<(&'static str, &'static str)>,
    field: &'static str,
    won: Option<(&'static str, T)>,
) -> Option<T> {
    won.map(|(source, value)| {
        sources.push((field, source));
        value
    })
}

/// Page builders shared by the tests of every child module.
#[cfg(test)]
mod test_support {
    use notion_unfurl_sdk::Url;

    use super::{PageMetadata, from_html};

    pub(super) fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    pub(super) fn extract(head: &str) -> PageMetadata {
        let html = format!("<!doctype html><html><head>{head}</head><body></body></html>");
        from_html(
            &html,
            &url("https://www.example.com/news/2024/story.html?ref=x"),
        )
    }

    pub(super) fn extract_body(body: &str) -> PageMetadata {
        let html = format!("<!doctype html><html><head></head><body>{body}</body></html>");
        from_html(&html, &url("https://www.example.com/news/2024/story.html"))
    }

    pub(super) fn s(v: &Option<Url>) -> Option<&str> {
        v.as_ref().map(Url::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::{extract, s, url};

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
    fn the_body_is_read_for_json_ld_always_and_for_elements_only_when_needed() {
        let head = r#"<html><head><title>T</title><meta name="description" content="D">
            <meta property="og:image" content="/i.png">
            <meta property="article:published_time" content="2024-01-01T00:00:00Z">
            </head><body>"#;
        let ld = r#"<script type="application/ld+json">
            {"@type":"Article","author":{"@type":"Person","name":"From Body"}}</script>"#;
        let page = format!("{head}<h1>Headline</h1>{ld}<a rel=author>Byline</a></body></html>");
        let meta = from_html(&page, &url("https://x.test/"));
        assert_eq!(meta.author.as_deref(), Some("From Body"));
        assert_eq!(meta.title.as_deref(), Some("T"));
        // Nothing names the author in the head or JSON-LD: the body's byline is read.
        let page = format!("{head}<a rel=author>Byline</a></body></html>");
        let meta = from_html(&page, &url("https://x.test/"));
        assert_eq!(meta.author.as_deref(), Some("Byline"));
    }

    #[test]
    fn the_headline_inside_a_title_with_an_aside_is_the_title() {
        let ld = |headline: &str| {
            format!(
                r#"<script type="application/ld+json">
                {{"@type":"NewsArticle","headline":"{headline}"}}</script>"#
            )
        };
        // A section and a site name after the headline; quotes spelled differently.
        let page = extract(&format!(
            r#"<meta property="og:title" content="Rain's back after the driest month - Local | Daily Paper">{}"#,
            ld("Rain\u{2019}s back after the driest month")
        ));
        assert_eq!(
            page.title.as_deref(),
            Some("Rain\u{2019}s back after the driest month")
        );
        // A topic before it, and a suffix joined without spaces.
        let page = extract(&format!(
            r#"<meta property="og:title" content="Weather | Storm hits the coast">{}"#,
            ld("Storm hits the coast")
        ));
        assert_eq!(page.title.as_deref(), Some("Storm hits the coast"));
        let page = extract(&format!(
            r#"<meta property="og:title" content="Storm hits the coast-Politics">{}"#,
            ld("Storm hits the coast")
        ));
        assert_eq!(page.title.as_deref(), Some("Storm hits the coast"));
        // No separator at the join, or an aside longer than the headline: kept whole.
        let page = extract(&format!(
            r#"<meta property="og:title" content="Storm hits the coast tonight">{}"#,
            ld("Storm hits the coast")
        ));
        assert_eq!(page.title.as_deref(), Some("Storm hits the coast tonight"));
        let page = extract(&format!(
            r#"<meta property="og:title" content="Storm - what the forecasters say about it">{}"#,
            ld("Storm")
        ));
        assert_eq!(
            page.title.as_deref(),
            Some("Storm - what the forecasters say about it")
        );
        // The JSON-LD headline is the whole title: the aside is part of it.
        let whole = "Fires spread across the hills - what we know so far today";
        let html = format!(
            r#"<html><head><meta property="og:title" content="{whole}">{}
               </head><body><h1>Fires spread across the hills</h1></body></html>"#,
            ld(whole)
        );
        let page = from_html(&html, &url("https://x.test/a"));
        assert_eq!(page.title.as_deref(), Some(whole));
        // The first <h1> serves when there is no JSON-LD headline.
        let html = r#"<html><head><title>Fires spread - Latest news</title></head>
            <body><h1>Fires spread</h1></body></html>"#;
        let page = from_html(html, &url("https://x.test/a"));
        assert_eq!(page.title.as_deref(), Some("Fires spread"));
    }

    #[test]
    fn an_author_naming_the_domain_sends_the_reader_to_the_body() {
        let page = r#"<html><head><title>T</title><meta name="description" content="D">
            <meta property="og:image" content="/i.png"><meta name="author" content="XYZ">
            <meta property="article:published_time" content="2024-01-01T00:00:00Z">
            </head><body><p class="meta">von <a href="/autoren/name/jane-roe">Dr. Jane Roe</a></p>
            </body></html>"#;
        let meta = from_html(page, &url("https://www.xyz.de/story/1"));
        assert_eq!(meta.author.as_deref(), Some("Dr. Jane Roe"));
        // Elsewhere "XYZ" is a name like any other and the head settles it.
        let meta = from_html(page, &url("https://news.example.org/story/1"));
        assert_eq!(meta.author.as_deref(), Some("XYZ"));
    }

    #[test]
    fn dublin_core_fills_what_nothing_else_gives() {
        let dc = r#"<meta name="DC.title" content="DC Title">
            <meta name="DC.description" content="DC description.">
            <meta name="DC.publisher" content="DC Press">
            <meta name="DC.language" content="fr-CA">
            <meta name="DC.creator" content="Lovelace, Ada">"#;
        let page = extract(dc);
        assert_eq!(page.title.as_deref(), Some("DC Title"));
        assert_eq!(page.description.as_deref(), Some("DC description."));
        assert_eq!(page.site_name.as_deref(), Some("DC Press"));
        assert_eq!(page.lang.as_deref(), Some("fr-CA"));
        assert_eq!(page.author.as_deref(), Some("Ada Lovelace"));
        // The page's own title, summary and site name come first.
        let page = extract(&format!(
            r#"{dc}<title>Tag</title><meta name="description" content="Summary.">
               <meta property="og:site_name" content="Site">"#
        ));
        assert_eq!(page.title.as_deref(), Some("Tag"));
        assert_eq!(page.description.as_deref(), Some("Summary."));
        assert_eq!(page.site_name.as_deref(), Some("Site"));
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
