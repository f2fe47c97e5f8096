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

    pub(super) fn article_text(&self, key: &str) -> Option<String> {
        self.nodes
            .iter()
            .filter(|n| types(n).any(is_article_type))
            .find_map(|n| n.get(key)?.as_str().and_then(clean_text))
    }

    /// Each page node's image URL as written (the first of a list, an `ImageObject`'s
    /// `url` or `contentUrl`), unresolved: the caller owns the base URL.
    pub(super) fn image_urls(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.page_nodes().filter_map(|n| {
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
            Some(raw)
        })
    }

    pub(super) fn date_published(&self) -> Option<DateTime<FixedOffset>> {
        self.page_nodes()
            .find_map(|n| parse_date(n.get("datePublished")?.as_str()?))
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
}
