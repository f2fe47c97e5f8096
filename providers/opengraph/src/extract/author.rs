//! Who wrote the page. Sources disagree and often name the publisher instead of a
//! person, so every source yields a [`Candidate`] and one rule here picks among them;
//! the sources themselves ([`super::document`], [`super::json_ld`]) only gather names.

use super::chain::{Explanation, Seen, Verdict};
use super::text::{clean_text, truncate};

/// Longest author line kept, in characters (several names joined).
pub const AUTHOR_MAX_CHARS: usize = 200;
/// Most names one source may give for the author; a byline names a few people, not a
/// directory.
pub const MAX_AUTHOR_NAMES: usize = 8;
/// Most publisher names taken from JSON-LD.
const MAX_PUBLISHER_NAMES: usize = 16;

/// One source's idea of who wrote the page.
pub(super) struct Candidate {
    /// Where the names were read, for `--explain`.
    source: &'static str,
    names: Vec<String>,
    kind: CandidateKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum CandidateKind {
    /// JSON-LD types at least one of the names as a `Person`.
    People,
    /// JSON-LD types every name as an `Organization`.
    Organisation,
    /// Untyped text: judged by comparing it with the publisher's names.
    Unknown,
}

impl Candidate {
    /// `None` when the source named nobody.
    pub(super) fn new(
        source: &'static str,
        names: Vec<String>,
        kind: CandidateKind,
    ) -> Option<Self> {
        (!names.is_empty()).then_some(Self {
            source,
            names,
            kind,
        })
    }

    pub(super) fn untyped(source: &'static str, names: Vec<String>) -> Option<Self> {
        Self::new(source, names, CandidateKind::Unknown)
    }

    fn line(&self) -> String {
        truncate(&self.names.join(", "), AUTHOR_MAX_CHARS)
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
pub(super) fn choose_author(
    candidates: impl Iterator<Item = Candidate>,
    publishers: &Publishers,
    trace: Option<&mut Explanation>,
) -> Option<(&'static str, String)> {
    let mut fallback = None;
    let mut chosen = None;
    let mut seen = Vec::new();
    for candidate in candidates {
        let verdict = if chosen.is_some() {
            Verdict::Later
        } else if candidate.is_publisher(publishers) {
            Verdict::Refused("names the publisher, not a person")
        } else {
            Verdict::Chosen
        };
        if trace.is_some() {
            seen.push(Seen {
                source: candidate.source,
                value: candidate.line(),
                verdict: verdict.clone(),
            });
        }
        match verdict {
            Verdict::Chosen => {
                chosen = Some((candidate.source, candidate.line()));
                if trace.is_none() {
                    break;
                }
            }
            Verdict::Refused(_) => {
                fallback.get_or_insert(candidate);
            }
            Verdict::Later => {}
        }
    }
    let chosen = chosen.or_else(|| {
        let fallback = fallback?;
        if let Some(first) = seen.iter_mut().find(|s| s.source == fallback.source) {
            first.verdict = Verdict::Chosen;
        }
        Some((fallback.source, fallback.line()))
    });
    if let Some(trace) = trace {
        trace.fields.push(("author", seen));
    }
    chosen
}

/// Names a page may use for its publisher, as [`name_key`]s.
pub(super) struct Publishers {
    /// The site name, JSON-LD publishers, the host's labels but the last (`mdr` for
    /// `mdr.de`, `edition` and `cnn` for `edition.cnn.com`).
    names: Vec<String>,
    /// The host (`hessenschaude`): a name containing it is the site's, e.g.
    /// "hessenschau.de, Frankfurt".
    host: Option<String>,
}

impl Publishers {
    /// `json_ld` is what the page's JSON-LD names as its publisher, in document order.
    pub(super) fn new<'n>(
        site_name: Option<&str>,
        json_ld: impl Iterator<Item = &'n str>,
        host: Option<&str>,
    ) -> Self {
        let mut names: Vec<String> = site_name.into_iter().map(name_key).collect();
        names.extend(json_ld.take(MAX_PUBLISHER_NAMES).map(name_key));
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
pub(super) fn uninvert(value: &str) -> String {
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

pub(super) fn push_name(names: &mut Vec<String>, raw: &str) {
    if names.len() >= MAX_AUTHOR_NAMES {
        return;
    }
    if let Some(name) = author_name(raw)
        && !names.contains(&name)
    {
        names.push(name);
    }
}

#[cfg(test)]
mod tests {
    use crate::extract::test_support::extract;

    #[test]
    fn article_author_urls_are_not_names() {
        let meta = extract(
            r#"<meta property="article:author" content="https://facebook.com/someone">
               <meta name="parsely-author" content="Real Name">"#,
        );
        assert_eq!(meta.author.as_deref(), Some("Real Name"));
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
    fn microdata_and_bylines_name_authors_the_head_does_not() {
        use crate::extract::test_support::extract_body;
        let item = r#"<div itemprop="author" itemscope itemtype="https://schema.org/Person">
            <img src="/a.jpg"><span itemprop="name">Ada Lovelace</span> wrote this</div>"#;
        assert_eq!(extract_body(item).author.as_deref(), Some("Ada Lovelace"));
        let plain = r#"<span itemprop="author">Grace Hopper</span>"#;
        assert_eq!(extract_body(plain).author.as_deref(), Some("Grace Hopper"));
        let byline = r#"<div class="author-box">A long biography of 2 people</div>
            <p class="article__byline">von David Straub -</p>
            <p class="byline">Someone Else</p>"#;
        assert_eq!(extract_body(byline).author.as_deref(), Some("David Straub"));
        let long =
            r#"<p class="byline">Posted on 3 May 2024 by the whole editorial team of us</p>"#;
        assert_eq!(extract_body(long).author, None);
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
        let german = r#"<meta name="twitter:label1" content="Verfasst von">
            <meta name="twitter:data1" content="Gregor Meier">"#;
        assert_eq!(extract(german).author.as_deref(), Some("Gregor Meier"));
        let misc = r#"<meta name="author" content="d.kuckelkorn@example.com">
            <meta name="twitter:misc:Written by" content="Dieter Kuckelkorn">"#;
        assert_eq!(extract(misc).author.as_deref(), Some("Dieter Kuckelkorn"));
        let slack = r#"<meta name="twitter:label1" content="Written by">
            <meta name="twitter:data1" content="Ada Lovelace">"#;
        assert_eq!(extract(slack).author.as_deref(), Some("Ada Lovelace"));
        let reading_time = r#"<meta name="twitter:label1" content="Est. reading time">
            <meta name="twitter:data1" content="3 minutes">"#;
        assert_eq!(extract(reading_time).author, None);
    }
}
