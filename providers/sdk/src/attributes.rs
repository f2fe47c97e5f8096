//! Notion's unfurl attribute model.
//!
//! Notion accepts only certain (section, sub-type) pairs (protocol.md, "The unfurl
//! attribute"). Each constructor here takes a section type that lists exactly the sections
//! its sub-type may use, so an invalid pairing such as an `enum` in `secondary` does not
//! compile. Embedded media must be served over https: those constructors return an error
//! for anything else instead of sending Notion a URL it will not load.

use serde::ser::{Serialize, SerializeMap, Serializer};
use url::Url;

/// An RGB colour, as Notion's `color` values and `enum` colours take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

impl Color {
    pub const fn rgb(r: u8, g: u8, b: u8) -> Self {
        Self { r, g, b }
    }
}

impl Serialize for Color {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("r", &self.r)?;
        map.serialize_entry("g", &self.g)?;
        map.serialize_entry("b", &self.b)?;
        map.end()
    }
}

/// Sections that accept `plain_text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextSection {
    Primary,
    Secondary,
    Identifier,
    Avatar,
    Body,
}

/// Sections that accept `date` and `datetime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateSection {
    Primary,
    Secondary,
}

/// Sections that accept `color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorSection {
    Entity,
    Background,
}

/// Sections that accept an `image` embed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSection {
    Identifier,
    Entity,
    Avatar,
    Embed,
}

/// Media kinds the `embed` section accepts besides images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    Html,
    Pdf,
}

impl MediaKind {
    fn key(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Html => "html",
            MediaKind::Pdf => "pdf",
        }
    }
}

/// Why an attribute could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributeError {
    #[error("media URL must use https")]
    NotHttps,
    #[error("attribute value is empty")]
    Empty,
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Title(String),
    PlainText(String, &'static str),
    Enum(String, Option<Color>),
    Date(String, &'static str),
    DateTime(String, &'static str),
    Color(Color, &'static str),
    Embed {
        src_url: String,
        kind: &'static str,
        section: &'static str,
    },
}

/// One unfurl attribute: `{"id", "name", "type", "inline"|"embed": {...}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    id: String,
    name: String,
    value: Value,
}

fn text_section(section: TextSection) -> &'static str {
    match section {
        TextSection::Primary => "primary",
        TextSection::Secondary => "secondary",
        TextSection::Identifier => "identifier",
        TextSection::Avatar => "avatar",
        TextSection::Body => "body",
    }
}

fn date_section(section: DateSection) -> &'static str {
    match section {
        DateSection::Primary => "primary",
        DateSection::Secondary => "secondary",
    }
}

fn non_empty(value: impl Into<String>) -> Result<String, AttributeError> {
    let value = value.into();
    if value.trim().is_empty() {
        Err(AttributeError::Empty)
    } else {
        Ok(value)
    }
}

fn https(url: &Url) -> Result<String, AttributeError> {
    if url.scheme() == "https" {
        Ok(url.to_string())
    } else {
        Err(AttributeError::NotHttps)
    }
}

impl Attribute {
    fn new(id: impl Into<String>, name: impl Into<String>, value: Value) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            value,
        }
    }

    /// The main heading (`inline.title` in section `title`).
    pub fn title(
        id: impl Into<String>,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, AttributeError> {
        Ok(Self::new(id, name, Value::Title(non_empty(value)?)))
    }

    pub fn plain_text(
        id: impl Into<String>,
        name: impl Into<String>,
        value: impl Into<String>,
        section: TextSection,
    ) -> Result<Self, AttributeError> {
        Ok(Self::new(
            id,
            name,
            Value::PlainText(non_empty(value)?, text_section(section)),
        ))
    }

    /// An `enum` value; Notion shows it only in `primary`.
    pub fn enumeration(
        id: impl Into<String>,
        name: impl Into<String>,
        value: impl Into<String>,
        color: Option<Color>,
    ) -> Result<Self, AttributeError> {
        Ok(Self::new(id, name, Value::Enum(non_empty(value)?, color)))
    }

    /// A calendar date, written `YYYY-MM-DD`.
    pub fn date(
        id: impl Into<String>,
        name: impl Into<String>,
        year: i32,
        month: u32,
        day: u32,
        section: DateSection,
    ) -> Result<Self, AttributeError> {
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || !(0..=9999).contains(&year) {
            return Err(AttributeError::Empty);
        }
        Ok(Self::new(
            id,
            name,
            Value::Date(
                format!("{year:04}-{month:02}-{day:02}"),
                date_section(section),
            ),
        ))
    }

    /// A timestamp; `rfc3339` must already be RFC 3339 (providers normalise before calling).
    pub fn datetime(
        id: impl Into<String>,
        name: impl Into<String>,
        rfc3339: impl Into<String>,
        section: DateSection,
    ) -> Result<Self, AttributeError> {
        Ok(Self::new(
            id,
            name,
            Value::DateTime(non_empty(rfc3339)?, date_section(section)),
        ))
    }

    pub fn color(
        id: impl Into<String>,
        name: impl Into<String>,
        color: Color,
        section: ColorSection,
    ) -> Self {
        let section = match section {
            ColorSection::Entity => "entity",
            ColorSection::Background => "background",
        };
        Self::new(id, name, Value::Color(color, section))
    }

    /// An image shown as a small picture (`identifier`, `entity`, `avatar`) or large (`embed`).
    pub fn image(
        id: impl Into<String>,
        name: impl Into<String>,
        src_url: &Url,
        section: ImageSection,
    ) -> Result<Self, AttributeError> {
        let section = match section {
            ImageSection::Identifier => "identifier",
            ImageSection::Entity => "entity",
            ImageSection::Avatar => "avatar",
            ImageSection::Embed => "embed",
        };
        Ok(Self::new(
            id,
            name,
            Value::Embed {
                src_url: https(src_url)?,
                kind: "image",
                section,
            },
        ))
    }

    /// Media in the large `embed` area.
    pub fn embed(
        id: impl Into<String>,
        name: impl Into<String>,
        src_url: &Url,
        kind: MediaKind,
    ) -> Result<Self, AttributeError> {
        Ok(Self::new(
            id,
            name,
            Value::Embed {
                src_url: https(src_url)?,
                kind: kind.key(),
                section: "embed",
            },
        ))
    }

    /// The `dev` attribute every response carries: who runs this deployment. The server
    /// adds it to each preview it sends; providers leave it out.
    pub fn developer(name: impl Into<String>) -> Result<Self, AttributeError> {
        Self::plain_text("dev", "Developer", name, TextSection::Secondary)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The text of a `title`, `plain_text`, `enum`, `date` or `datetime` value.
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Title(v)
            | Value::PlainText(v, _)
            | Value::Enum(v, _)
            | Value::Date(v, _)
            | Value::DateTime(v, _) => Some(v),
            Value::Embed { src_url, .. } => Some(src_url),
            Value::Color(..) => None,
        }
    }

    /// A rough size in bytes, for cache weighing.
    pub fn weight(&self) -> usize {
        64 + self.id.len() + self.name.len() + self.text().map_or(0, str::len)
    }
}

struct Inner<'a, T: Serialize>(&'a str, &'a T, &'a str);

impl<T: Serialize> Serialize for Inner<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.0, &ValueSection(self.1, self.2))?;
        map.end()
    }
}

struct ValueSection<'a, T: Serialize>(&'a T, &'a str);

impl<T: Serialize> Serialize for ValueSection<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("value", self.0)?;
        map.serialize_entry("section", self.1)?;
        map.end()
    }
}

struct EnumValue<'a>(&'a str, Option<Color>);

impl Serialize for EnumValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("value", self.0)?;
        if let Some(color) = self.1 {
            map.serialize_entry("color", &color)?;
        }
        map.serialize_entry("section", "primary")?;
        map.end()
    }
}

struct SectionOnly<'a>(&'a str);

impl Serialize for SectionOnly<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("section", self.0)?;
        map.end()
    }
}

struct EmbedBody<'a>(&'a str, &'a str, &'a str);

impl Serialize for EmbedBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("src_url", self.0)?;
        map.serialize_entry(self.1, &SectionOnly(self.2))?;
        map.end()
    }
}

impl Serialize for Attribute {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("name", &self.name)?;
        match &self.value {
            Value::Embed {
                src_url,
                kind,
                section,
            } => {
                map.serialize_entry("type", "embed")?;
                map.serialize_entry("embed", &EmbedBody(src_url, kind, section))?;
            }
            inline => {
                map.serialize_entry("type", "inline")?;
                match inline {
                    Value::Title(v) => {
                        map.serialize_entry("inline", &Inner("title", v, "title"))?
                    }
                    Value::PlainText(v, s) => {
                        map.serialize_entry("inline", &Inner("plain_text", v, s))?
                    }
                    Value::Enum(v, color) => {
                        map.serialize_entry("inline", &EnumInline(v, *color))?
                    }
                    Value::Date(v, s) => map.serialize_entry("inline", &Inner("date", v, s))?,
                    Value::DateTime(v, s) => {
                        map.serialize_entry("inline", &Inner("datetime", v, s))?
                    }
                    Value::Color(c, s) => map.serialize_entry("inline", &Inner("color", c, s))?,
                    Value::Embed { .. } => {}
                }
            }
        }
        map.end()
    }
}

struct EnumInline<'a>(&'a str, Option<Color>);

impl Serialize for EnumInline<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("enum", &EnumValue(self.0, self.1))?;
        map.end()
    }
}

/// Whether a list has a `title` attribute of the title sub-type, the one attribute every
/// provider must supply.
pub fn has_title(attributes: &[Attribute]) -> bool {
    attributes
        .iter()
        .any(|a| a.id == "title" && matches!(a.value, Value::Title(_)))
}

/// Whether a list holds the two attributes Notion requires (`title` and `dev`): what the
/// server checks before it sends a preview.
pub fn has_required(attributes: &[Attribute]) -> bool {
    has_title(attributes) && attributes.iter().any(|a| a.id == "dev")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn to_json(a: &Attribute) -> serde_json::Value {
        serde_json::to_value(a).unwrap_or_default()
    }

    #[test]
    fn title_serialises_exactly_as_notion_expects() {
        let a = Attribute::title("title", "Title", "Hello").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            to_json(&a),
            json!({"id":"title","name":"Title","type":"inline",
                   "inline":{"title":{"value":"Hello","section":"title"}}})
        );
    }

    #[test]
    fn enum_carries_its_colour_in_primary() {
        let a = Attribute::enumeration("state", "State", "Open", Some(Color::rgb(31, 136, 61)))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            to_json(&a),
            json!({"id":"state","name":"State","type":"inline",
                   "inline":{"enum":{"value":"Open","color":{"r":31,"g":136,"b":61},"section":"primary"}}})
        );
    }

    #[test]
    fn image_is_an_embed_with_its_section() {
        let a = Attribute::image(
            "icon",
            "Icon",
            &url("https://x.test/i.png"),
            ImageSection::Entity,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            to_json(&a),
            json!({"id":"icon","name":"Icon","type":"embed",
                   "embed":{"src_url":"https://x.test/i.png","image":{"section":"entity"}}})
        );
    }

    #[test]
    fn plain_http_media_is_refused() {
        assert_eq!(
            Attribute::image("i", "I", &url("http://x.test/i.png"), ImageSection::Embed),
            Err(AttributeError::NotHttps)
        );
        assert_eq!(
            Attribute::embed("v", "V", &url("ftp://x.test/v.mp4"), MediaKind::Video),
            Err(AttributeError::NotHttps)
        );
    }

    #[test]
    fn empty_values_are_refused() {
        assert_eq!(
            Attribute::plain_text("d", "D", "  ", TextSection::Body),
            Err(AttributeError::Empty)
        );
        assert_eq!(
            Attribute::title("title", "T", ""),
            Err(AttributeError::Empty)
        );
    }

    #[test]
    fn date_and_datetime_and_color_serialise() {
        let d = Attribute::date("d", "D", 2024, 3, 9, DateSection::Secondary)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            to_json(&d)["inline"],
            json!({"date":{"value":"2024-03-09","section":"secondary"}})
        );
        let t = Attribute::datetime("t", "T", "2024-03-09T10:00:00Z", DateSection::Primary)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            to_json(&t)["inline"],
            json!({"datetime":{"value":"2024-03-09T10:00:00Z","section":"primary"}})
        );
        let c = Attribute::color("bg", "Bg", Color::rgb(1, 2, 3), ColorSection::Background);
        assert_eq!(
            to_json(&c)["inline"],
            json!({"color":{"value":{"r":1,"g":2,"b":3},"section":"background"}})
        );
        assert!(Attribute::date("d", "D", 2024, 13, 1, DateSection::Primary).is_err());
    }

    #[test]
    fn required_attributes_are_detected() {
        let title = Attribute::title("title", "Title", "x").unwrap_or_else(|e| panic!("{e}"));
        let dev = Attribute::developer("Acme").unwrap_or_else(|e| panic!("{e}"));
        assert!(has_title(std::slice::from_ref(&title)));
        assert!(!has_required(std::slice::from_ref(&title)));
        assert!(!has_title(std::slice::from_ref(&dev)));
        assert!(has_required(&[title, dev]));
    }
}
