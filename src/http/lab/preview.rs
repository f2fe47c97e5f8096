//! An unfurl answer read back leniently: a callback body (`{"uri", "operations"}`) or a bare
//! attribute array, as the server sent it or as someone pasted it. Nothing here refuses a
//! shape Notion would refuse: it keeps what it can read, so the checks can say what is
//! wrong and the cards can still draw the rest.

use serde_json::Value;

/// An RGB colour of an `enum` or a `color` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

impl Rgb {
    fn from_json(value: &Value) -> Option<Self> {
        let channel = |name: &str| u8::try_from(value.get(name)?.as_u64()?).ok();
        Some(Self {
            r: channel("r")?,
            g: channel("g")?,
            b: channel("b")?,
        })
    }
}

/// What one attribute holds, by its sub-type.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Title(String),
    Text(String),
    Enum(String, Option<Rgb>),
    Date(String),
    DateTime(String),
    Color(Option<Rgb>),
    /// An embed (`image`, `video`, `audio`, `html`, `pdf`): its `src_url`.
    Media(String),
    /// Notion's `relation` type: the related object's `uri`.
    Relation(String),
    /// A sub-type the lab does not know, or a value of the wrong JSON type.
    Unreadable,
}

/// One attribute as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    pub id: String,
    pub name: String,
    /// `inline`, `embed` or `relation` (or whatever was sent).
    pub kind: String,
    /// The key inside `inline` / `embed` (`title`, `enum`, `image`, …), or `mention`.
    pub subtype: String,
    pub section: String,
    pub content: Content,
}

/// Notion's `error` operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorOperation {
    pub status: Option<u64>,
    pub message: String,
}

/// A whole answer: what Notion would read from it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payload {
    pub uri: Option<String>,
    /// Every attribute in the order sent, overridden ones included.
    pub sent: Vec<Attr>,
    pub error: Option<ErrorOperation>,
}

/// Why pasted JSON could not be read as an answer at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("this is not JSON: {0}")]
    NotJson(String),
    #[error(
        "expected a callback body {{\"uri\", \"operations\"}}, an array of attributes or one attribute"
    )]
    Shape,
}

impl Payload {
    /// Pasted text: JSON of a callback body, an attribute array or a single attribute.
    pub fn parse(text: &str) -> Result<(Self, Value), PayloadError> {
        let json: Value =
            serde_json::from_str(text).map_err(|e| PayloadError::NotJson(e.to_string()))?;
        let payload = Self::from_json(&json).ok_or(PayloadError::Shape)?;
        Ok((payload, json))
    }

    pub fn from_json(json: &Value) -> Option<Self> {
        match json {
            Value::Array(items) => Some(Self {
                sent: items.iter().map(read_attr).collect(),
                ..Self::default()
            }),
            Value::Object(map) if map.contains_key("operations") => {
                let mut payload = Self {
                    uri: map.get("uri").and_then(Value::as_str).map(str::to_owned),
                    ..Self::default()
                };
                for op in map.get("operations")?.as_array()? {
                    match op["path"][0].as_str() {
                        Some("attributes") => {
                            let set = op["set"].as_array().map(Vec::as_slice).unwrap_or(&[]);
                            payload.sent.extend(set.iter().map(read_attr));
                        }
                        Some("error") => {
                            payload.error = Some(ErrorOperation {
                                status: op["set"]["status"].as_u64(),
                                message: op["set"]["message"]
                                    .as_str()
                                    .unwrap_or_default()
                                    .to_owned(),
                            });
                        }
                        _ => {}
                    }
                }
                Some(payload)
            }
            Value::Object(map) if map.contains_key("id") => Some(Self {
                sent: vec![read_attr(json)],
                ..Self::default()
            }),
            _ => None,
        }
    }

    /// The attributes Notion keeps: a later attribute with the same `id` replaces an
    /// earlier one (protocol.md), in the earlier one's place.
    pub fn effective(&self) -> Vec<Attr> {
        let mut kept: Vec<Attr> = Vec::with_capacity(self.sent.len());
        for attr in &self.sent {
            match kept.iter_mut().find(|k| k.id == attr.id) {
                Some(earlier) => *earlier = attr.clone(),
                None => kept.push(attr.clone()),
            }
        }
        kept
    }

    /// Ids sent more than once (each once), in the order first sent.
    pub fn overridden(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for (i, attr) in self.sent.iter().enumerate() {
            let again = self.sent[..i].iter().any(|a| a.id == attr.id);
            if again && !ids.contains(&attr.id.as_str()) {
                ids.push(&attr.id);
            }
        }
        ids
    }
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

fn read_attr(json: &Value) -> Attr {
    let kind = json["type"].as_str().unwrap_or_default().to_owned();
    let mut attr = Attr {
        id: text(&json["id"]).unwrap_or_default(),
        name: text(&json["name"]).unwrap_or_default(),
        kind: kind.clone(),
        subtype: String::new(),
        section: String::new(),
        content: Content::Unreadable,
    };
    let body = &json[kind.as_str()];
    match kind.as_str() {
        "inline" => {
            let Some((subtype, inner)) = body.as_object().and_then(|m| m.iter().next()) else {
                return attr;
            };
            attr.subtype.clone_from(subtype);
            attr.section = text(&inner["section"]).unwrap_or_default();
            let value = &inner["value"];
            attr.content = match subtype.as_str() {
                "title" => text(value).map(Content::Title),
                "plain_text" => text(value).map(Content::Text),
                "enum" => text(value).map(|v| Content::Enum(v, Rgb::from_json(&inner["color"]))),
                "date" => text(value).map(Content::Date),
                "datetime" => text(value).map(Content::DateTime),
                "color" => Some(Content::Color(Rgb::from_json(value))),
                _ => None,
            }
            .unwrap_or(Content::Unreadable);
        }
        "embed" => {
            let found = body
                .as_object()
                .and_then(|m| m.iter().find(|(key, _)| key.as_str() != "src_url"));
            if let Some((subtype, inner)) = found {
                attr.subtype.clone_from(subtype);
                attr.section = text(&inner["section"]).unwrap_or_default();
            }
            if let Some(src) = text(&body["src_url"]) {
                attr.content = Content::Media(src);
            }
        }
        "relation" => {
            "mention".clone_into(&mut attr.subtype);
            attr.section = text(&body["mention"]["section"]).unwrap_or_default();
            if let Some(uri) = text(&body["uri"]) {
                attr.content = Content::Relation(uri);
            }
        }
        _ => {}
    }
    attr
}

/// Notion's `$<group>` substitution of a placeholder's text with a link's captures.
pub fn substitute(template: &str, captures: &[(String, String)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in captures {
        out = out.replace(&format!("$<{name}>"), value);
    }
    out
}

/// A placeholder attribute array with every string substituted (see [`substitute`]).
pub fn substitute_json(value: &Value, captures: &[(String, String)]) -> Value {
    match value {
        Value::String(s) => Value::String(substitute(s, captures)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| substitute_json(v, captures)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute_json(v, captures)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(json: Value) -> Payload {
        Payload::from_json(&json).unwrap_or_else(|| panic!("unreadable: {json}"))
    }

    #[test]
    fn a_callback_body_yields_its_attributes_and_error() {
        let p = payload(json!({"uri": "https://x.test/", "operations": [
            {"path": ["attributes"], "set": [
                {"id": "title", "name": "Title", "type": "inline",
                 "inline": {"title": {"value": "Hi", "section": "title"}}},
                {"id": "state", "name": "State", "type": "inline",
                 "inline": {"enum": {"value": "Open", "color": {"r": 31, "g": 136, "b": 61},
                 "section": "primary"}}},
                {"id": "cover", "name": "Cover", "type": "embed",
                 "embed": {"src_url": "https://x.test/c.png", "image": {"section": "embed"}}}
            ]},
            {"path": ["error"], "set": {"status": 404, "message": "Gone."}}
        ]}));
        assert_eq!(p.uri.as_deref(), Some("https://x.test/"));
        assert_eq!(p.sent[0].content, Content::Title("Hi".into()));
        assert_eq!(
            p.sent[1].content,
            Content::Enum(
                "Open".into(),
                Some(Rgb {
                    r: 31,
                    g: 136,
                    b: 61
                })
            )
        );
        assert_eq!(
            (p.sent[2].subtype.as_str(), p.sent[2].section.as_str()),
            ("image", "embed")
        );
        assert_eq!(
            p.error,
            Some(ErrorOperation {
                status: Some(404),
                message: "Gone.".into()
            })
        );
    }

    #[test]
    fn a_later_attribute_with_the_same_id_overrides_in_place() {
        let attr = |id: &str, v: &str| {
            json!({"id": id, "name": id, "type": "inline",
                   "inline": {"plain_text": {"value": v, "section": "body"}}})
        };
        let p = payload(json!([attr("a", "1"), attr("b", "2"), attr("a", "3")]));
        let kept = p.effective();
        assert_eq!(kept.len(), 2);
        assert_eq!(
            (kept[0].id.as_str(), &kept[0].content),
            ("a", &Content::Text("3".into()))
        );
        assert_eq!(p.overridden(), vec!["a"]);
    }

    #[test]
    fn anything_else_is_refused_with_a_sentence() {
        assert!(matches!(Payload::parse("{"), Err(PayloadError::NotJson(_))));
        assert_eq!(Payload::parse("42").err(), Some(PayloadError::Shape));
    }

    #[test]
    fn placeholders_take_the_captures() {
        let captures = vec![("owner".to_owned(), "acme".to_owned())];
        let out = substitute_json(&json!([{"v": "$<owner>/x $<none>"}]), &captures);
        assert_eq!(out, json!([{"v": "acme/x $<none>"}]));
    }
}
