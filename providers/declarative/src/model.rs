//! A provider file after its checks: compiled patterns and templates, parsed colours and
//! durations, and the attribute builder that turns rendered text into Notion attributes.

use std::collections::BTreeMap;
use std::time::Duration;

use notion_unfurl_sdk::attributes::{
    ColorSection, DateSection, ImageSection, MediaKind, TextSection,
};
use notion_unfurl_sdk::{Attribute, CacheScope, Color, Pattern, Secret, Url};

use crate::template::Templates;

/// The sub-types a provider file may use, with the sections Notion accepts for each
/// (protocol.md, "The unfurl attribute").
pub const KINDS: &[(&str, &[&str])] = &[
    ("title", &["title"]),
    (
        "plain_text",
        &["primary", "secondary", "identifier", "avatar", "body"],
    ),
    ("enum", &["primary"]),
    ("date", &["primary", "secondary"]),
    ("datetime", &["primary", "secondary"]),
    ("color", &["entity", "background"]),
    ("image", &["identifier", "entity", "avatar", "embed"]),
    ("video", &["embed"]),
    ("audio", &["embed"]),
    ("html", &["embed"]),
    ("pdf", &["embed"]),
];

/// The sections `kind` may go in, or `None` for a sub-type Notion does not have.
pub fn sections_of(kind: &str) -> Option<&'static [&'static str]> {
    KINDS.iter().find(|(k, _)| *k == kind).map(|(_, s)| *s)
}

/// Where the upstream credentials come from, resolved at load.
#[derive(Debug, Clone)]
pub enum Credentials {
    None,
    /// The operator's secret, read from the environment at load.
    Secret(Secret),
    /// The asking account's token for `service`; `display` names it to users.
    Account {
        service: String,
        display: String,
    },
}

/// One upstream request.
#[derive(Debug)]
pub struct Request {
    pub name: String,
    pub base: Url,
    /// Template names.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    /// Captures inserted into the path as they are.
    pub raw: Vec<String>,
    pub max_bytes: usize,
    pub timeout: Duration,
    pub optional: bool,
}

/// The link's own page, read with selectors.
#[derive(Debug)]
pub struct Page {
    pub fields: Vec<(String, scraper::Selector, Option<String>)>,
    pub max_bytes: usize,
}

/// One attribute rule.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub section: &'static str,
    /// Template names.
    pub value: String,
    pub when: Option<String>,
    pub colors: BTreeMap<String, Color>,
    pub color: Option<Color>,
    pub max_length: Option<usize>,
}

/// Everything a provider file says, ready to run.
#[derive(Debug)]
pub struct Compiled {
    pub id: &'static str,
    pub name: String,
    pub dev: Option<String>,
    pub file: std::path::PathBuf,
    pub patterns: Vec<Pattern>,
    pub templates: Templates,
    pub credentials: Credentials,
    /// The line of `credentials`, for problems about the service it names.
    pub credentials_line: usize,
    pub requests: Vec<Request>,
    pub page: Option<Page>,
    pub scope: CacheScope,
    pub ttl: Duration,
    /// How often subscribed links are read again for changes (`[cache] refresh`).
    pub refresh: Option<Duration>,
    pub rules: Vec<Rule>,
    pub webhook: Option<Webhook>,
    /// The line of the first `[[match]]`, for problems about patterns.
    pub match_line: usize,
    pub tests: Vec<Test>,
    /// How accounts link the service of its `account` credentials, when this file says.
    pub service: Option<Service>,
}

/// An upstream OAuth 2.0 service accounts link (`[service]`): authorization code with
/// PKCE S256, refresh tokens used and rotated when the service issues them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// What `credentials.service` names, like `gitlab`.
    pub id: String,
    /// What users call it, like `GitLab`.
    pub name: String,
    pub authorize_url: Url,
    pub token_url: Url,
    pub scopes: Vec<String>,
    pub client_id: String,
    pub client_secret: Secret,
    pub client_auth: ClientAuth,
    /// RFC 7009 token revocation, when the file names it.
    pub revoke_url: Option<Url>,
    /// Where it is declared, for problems about it.
    pub file: std::path::PathBuf,
    pub line: usize,
}

/// How a service's token endpoint takes the client id and secret (RFC 6749 section 2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// HTTP Basic (`client_secret_basic`), which every server must accept.
    #[default]
    Basic,
    /// In the form body (`client_secret_post`), for services that refuse Basic.
    Post,
}

/// A signed webhook (`POST /webhooks/{id}`).
#[derive(Debug)]
pub struct Webhook {
    pub secret: Secret,
    pub signature_header: String,
    pub delivery_header: String,
    /// Template name.
    pub links: String,
}

/// A recorded test from the file.
#[derive(Debug)]
pub struct Test {
    pub line: usize,
    pub url: String,
    pub responses: BTreeMap<String, toml::Spanned<crate::spec::Recorded>>,
    pub expect: Option<crate::spec::Expect>,
    pub error: Option<String>,
}

/// `"#rrggbb"` as a colour.
pub fn parse_color(text: &str) -> Option<Color> {
    let hex = text.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |at: usize| u8::from_str_radix(hex.get(at..at + 2)?, 16).ok();
    Some(Color::rgb(byte(0)?, byte(2)?, byte(4)?))
}

/// `"30s"`, `"500ms"`, `"10m"`, `"2h"`, `"1d"` as a duration.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let seconds = match unit {
        "ms" => return Some(Duration::from_millis(n)),
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(seconds))
}

/// Text cut to `max` characters, ending in "…" when cut.
fn cut(text: &str, max: Option<usize>) -> String {
    match max {
        Some(max) if text.chars().count() > max => {
            let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
            out.push('…');
            out
        }
        _ => text.to_owned(),
    }
}

impl Rule {
    /// The attribute for the rendered `value`, or why it cannot be one. An empty value
    /// gives no attribute (`Ok(None)`): the data simply has nothing to show.
    pub fn build(&self, value: &str) -> Result<Option<Attribute>, String> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        let text = cut(value, self.max_length);
        let (id, name) = (self.id.as_str(), self.name.as_str());
        let date_section = match self.section {
            "secondary" => DateSection::Secondary,
            _ => DateSection::Primary,
        };
        let built = match self.kind {
            "title" => Attribute::title(id, name, text),
            "plain_text" => Attribute::plain_text(id, name, text, text_section(self.section)),
            "enum" => {
                let color = self.colors.get(value).copied().or(self.color);
                Attribute::enumeration(id, name, text, color)
            }
            "date" => {
                let (y, m, d) = crate::text::date(value)
                    .ok_or_else(|| format!("{value:?} is not a date (YYYY-MM-DD)"))?;
                Attribute::date(id, name, y, m, d, date_section)
            }
            "datetime" => {
                let at = crate::text::rfc3339(value)
                    .ok_or_else(|| format!("{value:?} is not a date and time"))?;
                Attribute::datetime(id, name, at, date_section)
            }
            "color" => {
                let color = parse_color(value)
                    .ok_or_else(|| format!("{value:?} is not a colour (#rrggbb)"))?;
                let section = match self.section {
                    "background" => ColorSection::Background,
                    _ => ColorSection::Entity,
                };
                Ok(Attribute::color(id, name, color, section))
            }
            media => {
                let url = Url::parse(value).map_err(|e| format!("{value:?} is not a URL: {e}"))?;
                if media == "image" {
                    Attribute::image(id, name, &url, image_section(self.section))
                } else {
                    Attribute::embed(id, name, &url, media_kind(media))
                }
            }
        };
        built.map(Some).map_err(|e| e.to_string())
    }
}

fn text_section(section: &str) -> TextSection {
    match section {
        "primary" => TextSection::Primary,
        "secondary" => TextSection::Secondary,
        "identifier" => TextSection::Identifier,
        "avatar" => TextSection::Avatar,
        _ => TextSection::Body,
    }
}

fn image_section(section: &str) -> ImageSection {
    match section {
        "identifier" => ImageSection::Identifier,
        "entity" => ImageSection::Entity,
        "avatar" => ImageSection::Avatar,
        _ => ImageSection::Embed,
    }
}

fn media_kind(kind: &str) -> MediaKind {
    match kind {
        "video" => MediaKind::Video,
        "audio" => MediaKind::Audio,
        "pdf" => MediaKind::Pdf,
        _ => MediaKind::Html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(kind: &'static str, section: &'static str) -> Rule {
        Rule {
            id: "x".into(),
            name: "X".into(),
            kind,
            section,
            value: String::new(),
            when: None,
            colors: BTreeMap::from([("open".to_owned(), Color::rgb(1, 2, 3))]),
            color: Some(Color::rgb(9, 9, 9)),
            max_length: Some(5),
        }
    }

    fn json(attribute: Option<Attribute>) -> serde_json::Value {
        serde_json::to_value(attribute).unwrap_or_default()
    }

    #[test]
    fn rendered_text_becomes_the_declared_attribute() {
        let open = rule("enum", "primary").build("open").ok().flatten();
        assert_eq!(json(open)["inline"]["enum"]["color"]["g"], 2);
        let other = rule("enum", "primary").build("closed").ok().flatten();
        assert_eq!(json(other)["inline"]["enum"]["color"]["g"], 9);
        let long = rule("plain_text", "body").build("abcdefgh").ok().flatten();
        assert_eq!(json(long)["inline"]["plain_text"]["value"], "abcd…");
        let date = rule("date", "secondary")
            .build("2026-02-03T04:05:06Z")
            .ok()
            .flatten();
        assert_eq!(json(date)["inline"]["date"]["value"], "2026-02-03");
        assert!(rule("date", "primary").build("tomorrow").is_err());
        assert!(
            rule("image", "avatar")
                .build("http://x.example/a.png")
                .is_err()
        );
        assert_eq!(rule("title", "title").build("  ").ok(), Some(None));
    }

    #[test]
    fn colours_and_durations_parse() {
        assert_eq!(parse_color("#1a7f37"), Some(Color::rgb(0x1a, 0x7f, 0x37)));
        assert_eq!(parse_color("1a7f37"), None);
        assert_eq!(parse_color("#1a7f3"), None);
        assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("10 minutes"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(sections_of("enum"), Some(&["primary"][..]));
        assert_eq!(sections_of("emoji"), None);
    }
}
