//! schema.org JSON-LD: parsed leniently (hand-written blocks are often slightly broken)
//! and flattened into typed nodes, so lookups need not care how a site nests its graph.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset};
use scraper::ElementRef;
use serde_json::Value;

use super::author::{Candidate, CandidateKind, push_name};
use super::date::parse_date;
use super::text::clean_text;

/// JSON-LD blocks larger than this are skipped: metadata is small, data dumps are not.
pub const JSON_LD_MAX_BYTES: usize = 256 * 1024;

/// How deep typed nodes are looked for; schema.org pages nest the article at most a
/// few levels down (`@graph` > `WebPage` > `mainEntity`).
const JSON_LD_MAX_DEPTH: usize = 6;

pub(super) fn parse_json_ld(script: &ElementRef<'_>) -> Option<Value> {
    parse_json_ld_text(&script.text().collect::<String>())
}

/// One block's text (a script's raw content) as JSON, leniently.
pub(super) fn parse_json_ld_text(text: &str) -> Option<Value> {
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
    serde_json::from_str(body)
        .ok()
        .or_else(|| serde_json::from_str(&repaired(body)).ok())
}

/// The commonest hand-written JSON-LD errors mended: raw control characters (line breaks
/// inside strings; outside them they are whitespace either way) and values left out of a
/// template (`"width": ,`), which become `null`.
fn repaired(body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 16);
    let (mut in_string, mut escaped, mut after_colon) = (false, false, false);
    for c in body.chars() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            out.push(if c.is_control() { ' ' } else { c });
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            out.push(' ');
            continue;
        }
        if after_colon && matches!(c, ',' | '}' | ']') {
            out.push_str("null");
        }
        after_colon = c == ':';
        in_string = c == '"';
        out.push(c);
    }
    out
}

type Node = serde_json::Map<String, Value>;

/// The typed JSON-LD nodes of a page, in document order, wherever they are nested
/// (top-level objects, arrays, `@graph`, `mainEntity`…).
/// Smallest square JSON-LD logo taken as the page's icon before its `<link rel>` icons.
pub(super) const SQUARE_LOGO_MIN_PX: u64 = 96;

pub(super) struct JsonLd<'a> {
    nodes: Vec<&'a Node>,
    by_id: HashMap<&'a str, &'a Node>,
}

impl<'a> JsonLd<'a> {
    pub(super) fn new(blocks: impl IntoIterator<Item = &'a Value>) -> Self {
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

    /// Nodes that describe the page: articles first, then web pages (`WebPage` and its
    /// kinds, `…Page`), then the things a page may be about on its own ([`is_main_type`]:
    /// a product, a recipe, a video).
    fn page_nodes(&self) -> impl Iterator<Item = &'a Node> + '_ {
        let of_kind = move |kind: u8| {
            self.nodes
                .iter()
                .copied()
                .filter(move |n| page_kind(n) == Some(kind))
        };
        of_kind(0).chain(of_kind(1)).chain(of_kind(2))
    }

    pub(super) fn article_text(&self, key: &str) -> Option<String> {
        self.nodes
            .iter()
            .filter(|n| types(n).any(is_article_type))
            .find_map(|n| n.get(key)?.as_str().and_then(clean_text))
    }

    /// `key`'s text from an article, else from a product, recipe or video node.
    pub(super) fn main_text(&self, key: &str) -> Option<String> {
        self.article_text(key).or_else(|| {
            self.nodes
                .iter()
                .filter(|n| page_kind(n) == Some(2))
                .find_map(|n| n.get(key)?.as_str().and_then(clean_text))
        })
    }

    /// Each page node's image URL as written (the first of a list, an `ImageObject`'s
    /// `url` or `contentUrl`; a video's `thumbnailUrl`), unresolved: the caller owns the
    /// base URL.
    pub(super) fn image_urls(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.page_nodes().filter_map(|n| {
            let image = n.get("image").or_else(|| n.get("thumbnailUrl"))?;
            let first = match image {
                Value::Array(items) => items.first()?,
                other => other,
            };
            let raw = match first {
                Value::String(s) => s.as_str(),
                Value::Object(o) => o.get("url").or_else(|| o.get("contentUrl"))?.as_str()?,
                _ => return None,
            };
            Some(raw)
        })
    }

    /// A page node's `datePublished`, or a video's `uploadDate`.
    pub(super) fn date_published(&self) -> Option<DateTime<FixedOffset>> {
        self.page_nodes().find_map(|n| {
            let date = n.get("datePublished").or_else(|| n.get("uploadDate"))?;
            parse_date(date.as_str()?)
        })
    }

    pub(super) fn publisher_names(&self) -> impl Iterator<Item = &'a str> + '_ {
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
    pub(super) fn author_candidates(&self, key: &'static str) -> Vec<Candidate> {
        let source = if key == "creator" {
            "json-ld creator"
        } else {
            "json-ld author"
        };
        self.page_nodes()
            .filter_map(|n| {
                let mut names = Vec::new();
                let mut kind = CandidateKind::Organisation;
                self.collect_names(n.get(key)?, &mut names, &mut kind, 0);
                Candidate::new(source, names, kind)
            })
            .collect()
    }

    /// The page's publisher as its article or page node names it.
    pub(super) fn publisher_name(&self) -> Option<&'a str> {
        self.page_nodes().find_map(|n| {
            let publisher = match n.get("publisher")? {
                Value::Array(items) => items.first()?,
                one => one,
            };
            match publisher {
                Value::String(name) => Some(name.as_str()),
                other => self.deref(other)?.get("name")?.as_str(),
            }
        })
    }

    /// The publisher's logo as written (a URL or an `ImageObject`), else an
    /// `Organization`'s: unresolved, the caller owns the base URL.
    pub(super) fn publisher_logo(&self) -> Option<&'a str> {
        let logo_of = |node: &'a Node| -> Option<&'a str> {
            match node.get("logo")? {
                Value::String(s) => Some(s.as_str()),
                Value::Object(o) => o.get("url").or_else(|| o.get("contentUrl"))?.as_str(),
                _ => None,
            }
        };
        self.page_nodes()
            .filter_map(|n| self.deref(n.get("publisher")?))
            .find_map(logo_of)
            .or_else(|| {
                self.nodes
                    .iter()
                    .filter(|n| types(n).any(|t| t.ends_with("Organization")))
                    .find_map(|n| logo_of(n))
            })
    }

    /// The first publisher (of a page node, then of the `WebSite`) or `Organization` logo
    /// declared as a square `ImageObject` of
    /// at least [`SQUARE_LOGO_MIN_PX`] (`width` equal to `height`, numbers or numeric
    /// strings): unresolved, the caller owns the base URL. A square logo can stand as an
    /// icon; a wide wordmark, the usual publisher logo, cannot.
    pub(super) fn square_logo(&self) -> Option<&'a str> {
        let px = |v: Option<&Value>| match v? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().trim_end_matches("px").parse().ok(),
            _ => None,
        };
        let square = |node: &'a Node| -> Option<&'a str> {
            let logo = self.deref(node.get("logo")?)?;
            let (width, height) = (px(logo.get("width"))?, px(logo.get("height"))?);
            (width == height && width >= SQUARE_LOGO_MIN_PX).then_some(())?;
            logo.get("url").or_else(|| logo.get("contentUrl"))?.as_str()
        };
        let sites = self
            .nodes
            .iter()
            .copied()
            .filter(|n| types(n).any(|t| t == "WebSite"));
        self.page_nodes()
            .chain(sites)
            .filter_map(|n| self.deref(n.get("publisher")?))
            .chain(
                self.nodes
                    .iter()
                    .copied()
                    .filter(|n| types(n).any(|t| t.ends_with("Organization"))),
            )
            .find_map(square)
    }

    /// `inLanguage` of a page node, or of the `WebSite`.
    pub(super) fn in_language(&self) -> Option<&'a str> {
        let lang_of = |n: &&'a Node| match n.get("inLanguage")? {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) => o.get("alternateName")?.as_str(),
            _ => None,
        };
        self.page_nodes()
            .find_map(|n| lang_of(&n))
            .or_else(|| self.nodes.iter().find_map(lang_of))
    }

    pub(super) fn date_modified(&self) -> Option<DateTime<FixedOffset>> {
        self.page_nodes()
            .find_map(|n| parse_date(n.get("dateModified")?.as_str()?))
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

/// 0 for an article, 1 for a web page, 2 for a product, recipe or video; `None` for
/// anything else (a site, an organisation, a breadcrumb list).
fn page_kind(node: &Node) -> Option<u8> {
    if types(node).any(is_article_type) {
        Some(0)
    } else if types(node).any(|t| t.ends_with("Page")) {
        Some(1)
    } else if types(node).any(is_main_type) {
        Some(2)
    } else {
        None
    }
}

/// Things a page may be about by itself, read like an article when no article is there.
fn is_main_type(t: &str) -> bool {
    matches!(t, "Product" | "Recipe" | "VideoObject")
}

fn is_article_type(t: &str) -> bool {
    t.ends_with("Article") || t.ends_with("Posting") || t == "Report"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::test_support::extract;

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
        let hole = r#"<script type="application/ld+json">{"@type":"Article","image":{"width": ,
            "height":
            },"author":{"@type":"Person","name":"Filled"}}</script>"#;
        assert_eq!(extract(hole).author.as_deref(), Some("Filled"));
        let newline = "<script type=\"application/ld+json\">\
                       {\"@type\":\"Article\",\"author\":\"Line\nBreak\"}</script>";
        assert_eq!(extract(newline).author.as_deref(), Some("Line Break"));
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
    fn a_square_json_ld_logo_is_the_icon_before_link_icons() {
        let ld = |logo: &str| {
            format!(
                r#"<link rel="icon" href="/favicon-32.png" sizes="32x32">
                <script type="application/ld+json">{{"@graph":[
                  {{"@type":"Organization","@id":"/#org","logo":{logo}}},
                  {{"@type":"BlogPosting","publisher":{{"@id":"/#org"}}}}]}}</script>"#
            )
        };
        let square = extract(&ld(
            r#"{"@type":"ImageObject","url":"/sq.png","width":"512","height":512}"#,
        ));
        assert_eq!(
            square.icon.as_ref().map(|u| u.as_str()),
            Some("https://www.example.com/sq.png")
        );
        // The article's publisher has a wide logo, the site's publisher a square one.
        let site = extract(
            r#"<link rel="icon" href="/favicon-32.png" sizes="32x32">
            <script type="application/ld+json">{"@graph":[{"@type":"WebSite","publisher":
              {"@type":"Organization","logo":{"url":"/site.png","width":512,"height":512}}}]}
            </script><script type="application/ld+json">{"@type":"NewsArticle","publisher":
              {"@type":"Organization","name":"N","logo":{"url":"/w.png","width":186,"height":60}}}
            </script>"#,
        );
        assert_eq!(
            site.icon.as_ref().map(|u| u.as_str()),
            Some("https://www.example.com/site.png")
        );
        for not_square in [
            r#"{"@type":"ImageObject","url":"/wide.png","width":600,"height":60}"#,
            r#"{"@type":"ImageObject","url":"/unsized.png"}"#,
            r#"{"@type":"ImageObject","url":"/tiny.png","width":16,"height":16}"#,
            r#""/plain.png""#,
        ] {
            let meta = extract(&ld(not_square));
            assert_eq!(
                meta.icon.as_ref().map(|u| u.as_str()),
                Some("https://www.example.com/favicon-32.png"),
                "{not_square}"
            );
        }
    }

    #[test]
    fn products_recipes_and_videos_describe_a_page_without_an_article() {
        let meta = extract(
            r#"<script type="application/ld+json">[
              {"@type":"BreadcrumbList","name":"Crumbs"},
              {"@type":"Recipe","name":"Lemon cake","description":"A cake with lemons.",
               "image":["/cake.jpg"],"author":{"@type":"Person","name":"Cook Name"},
               "datePublished":"2020-02-02T10:00:00Z"}]</script>"#,
        );
        assert_eq!(meta.title.as_deref(), Some("Lemon cake"));
        assert_eq!(meta.description.as_deref(), Some("A cake with lemons."));
        assert_eq!(meta.author.as_deref(), Some("Cook Name"));
        assert_eq!(
            meta.image.as_ref().map(|u| u.as_str()),
            Some("https://www.example.com/cake.jpg")
        );
        let video = extract(
            r#"<script type="application/ld+json">{"@type":"VideoObject","name":"Clip",
              "thumbnailUrl":"https://cdn.example.com/t.jpg","uploadDate":"2021-03-04T05:06:07+02:00"}
              </script>"#,
        );
        assert_eq!(
            video.image.as_ref().map(|u| u.as_str()),
            Some("https://cdn.example.com/t.jpg")
        );
        assert_eq!(
            video.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2021-03-04T05:06:07+02:00")
        );
        // An article's text comes before a product's it mentions; a profile page is a page.
        let both = extract(
            r#"<script type="application/ld+json">{"@graph":[
              {"@type":"Product","name":"Gadget","description":"Product text"},
              {"@type":"ProfilePage","datePublished":"2019-01-01T00:00:00Z"},
              {"@type":"Review","name":"Not a page"},
              {"@type":"NewsArticle","headline":"Review of the gadget","description":"Article text"}]}
              </script>"#,
        );
        assert_eq!(both.title.as_deref(), Some("Review of the gadget"));
        assert_eq!(both.description.as_deref(), Some("Article text"));
        assert_eq!(
            both.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2019-01-01T00:00:00+00:00")
        );
    }
}
