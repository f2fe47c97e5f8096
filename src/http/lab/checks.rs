//! What the lab says about an answer, one sentence per finding: the rules of protocol.md
//! ("The unfurl attribute") applied to what was sent, and the cache scope it was read with.

use chrono::{DateTime, NaiveDate};

use crate::http::lab::preview::{Attr, Content, Payload};

/// How a finding reads beside the preview; ordered from least to most serious.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Pass,
    Note,
    Warn,
    Fail,
}

impl Level {
    pub fn class(self) -> &'static str {
        match self {
            Level::Pass => "pass",
            Level::Note => "note",
            Level::Warn => "warn",
            Level::Fail => "fail",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub level: Level,
    pub sentence: String,
}

/// Who may be served the cached answer, when known (an unfurl, not pasted JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// The provider declared it public: every account is answered from one copy.
    Public,
    /// Cached for the account that asked only.
    Account,
    Unknown,
}

/// Notion publishes no length limits; these are where our own providers cut (opengraph's
/// `TITLE_MAX_CHARS` and `DESCRIPTION_MAX_CHARS`, GitHub's `SUMMARY_CHARS`, opengraph's
/// `SITE_NAME_MAX_CHARS` for the short lines), which is what a preview shows whole.
pub const TITLE_MAX_CHARS: usize = 300;
pub const BODY_MAX_CHARS: usize = 300;
pub const LINE_MAX_CHARS: usize = 100;

/// The sub-types each section accepts (protocol.md's table).
pub fn accepted(section: &str) -> Option<&'static [&'static str]> {
    Some(match section {
        "title" => &["title"],
        "primary" => &["enum", "date", "datetime", "plain_text"],
        "secondary" => &["date", "datetime", "plain_text"],
        "identifier" => &["image", "plain_text"],
        "entity" => &["color", "image"],
        "avatar" => &["image", "plain_text"],
        "background" => &["color"],
        "body" => &["plain_text"],
        "embed" => &["audio", "html", "image", "pdf", "video"],
        _ => return None,
    })
}

fn check(level: Level, sentence: impl Into<String>) -> Check {
    Check {
        level,
        sentence: sentence.into(),
    }
}

/// Every finding about `payload`, most important first.
pub fn run(payload: &Payload, sharing: Sharing) -> Vec<Check> {
    let kept = payload.effective();
    let mut out = Vec::new();
    if let Some(error) = &payload.error {
        let status = error.status.map(|s| format!(" ({s})")).unwrap_or_default();
        out.push(check(
            Level::Note,
            format!(
                "The answer holds an error operation{status}: Notion shows its message, \u{201c}{}\u{201d}.",
                error.message
            ),
        ));
    }
    if kept.is_empty() && payload.error.is_some() {
        return out;
    }
    required(&kept, &mut out);
    pairs(&kept, &mut out);
    media(&kept, &mut out);
    dates(&kept, &mut out);
    lengths(&kept, &mut out);
    for id in payload.overridden() {
        out.push(check(
            Level::Note,
            format!("`{id}` is sent more than once: Notion keeps the last one."),
        ));
    }
    match sharing {
        Sharing::Public => out.push(check(
            Level::Pass,
            "Cached as public: every account is shown this copy, which is right only if anyone can see the link without signing in.",
        )),
        Sharing::Account => out.push(check(
            Level::Warn,
            "Cached for the asking account only: this preview would be shown to every account if its provider declared it public, so it must stay per-account if it shows anything private.",
        )),
        Sharing::Unknown => {}
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.level));
    out
}

fn required(kept: &[Attr], out: &mut Vec<Check>) {
    let title = kept
        .iter()
        .any(|a| a.id == "title" && matches!(a.content, Content::Title(_)));
    out.push(if title {
        check(Level::Pass, "The `title` attribute is there.")
    } else {
        check(
            Level::Fail,
            "There is no `title` attribute (id `title`, sub-type `title`): Notion requires one.",
        )
    });
    out.push(if kept.iter().any(|a| a.id == "dev") {
        check(Level::Pass, "The `dev` attribute is there.")
    } else {
        check(
            Level::Fail,
            "There is no `dev` attribute: Notion requires one naming who made the preview.",
        )
    });
}

fn pairs(kept: &[Attr], out: &mut Vec<Check>) {
    let mut wrong = 0;
    for attr in kept {
        if attr.kind == "relation" {
            continue;
        }
        if attr.content == Content::Unreadable {
            wrong += 1;
            out.push(check(
                Level::Fail,
                format!(
                    "`{}`: its value cannot be read as a `{}` of type `{}`.",
                    attr.id, attr.subtype, attr.kind
                ),
            ));
            continue;
        }
        match accepted(&attr.section) {
            None => {
                wrong += 1;
                out.push(check(
                    Level::Fail,
                    format!(
                        "`{}`: `{}` is not a section Notion knows.",
                        attr.id, attr.section
                    ),
                ));
            }
            Some(subtypes) if !subtypes.contains(&attr.subtype.as_str()) => {
                wrong += 1;
                out.push(check(
                    Level::Fail,
                    format!(
                        "`{}`: section `{}` does not accept `{}` (it takes {}).",
                        attr.id,
                        attr.section,
                        attr.subtype,
                        subtypes.join(", ")
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    if wrong == 0 {
        out.push(check(
            Level::Pass,
            "Every section and sub-type pair is one Notion accepts.",
        ));
    }
}

fn media(kept: &[Attr], out: &mut Vec<Check>) {
    let mut any = false;
    let mut wrong = 0;
    for attr in kept {
        let Content::Media(src) = &attr.content else {
            continue;
        };
        any = true;
        match url::Url::parse(src) {
            Ok(url) if url.scheme() == "https" => {}
            Ok(url) => {
                wrong += 1;
                out.push(check(
                    Level::Fail,
                    format!(
                        "`{}`: src_url uses {}; Notion loads media over https only.",
                        attr.id,
                        url.scheme()
                    ),
                ));
            }
            Err(_) => {
                wrong += 1;
                out.push(check(
                    Level::Fail,
                    format!("`{}`: src_url is not an absolute URL.", attr.id),
                ));
            }
        }
    }
    if any && wrong == 0 {
        out.push(check(Level::Pass, "Every src_url is https."));
    }
}

fn dates(kept: &[Attr], out: &mut Vec<Check>) {
    let mut any = false;
    let mut wrong = 0;
    for attr in kept {
        let (valid, form) = match &attr.content {
            Content::Date(v) => (
                NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok() && v.len() == 10,
                "a date written YYYY-MM-DD",
            ),
            Content::DateTime(v) => (
                DateTime::parse_from_rfc3339(v).is_ok(),
                "an RFC 3339 timestamp",
            ),
            _ => continue,
        };
        any = true;
        if !valid {
            wrong += 1;
            out.push(check(
                Level::Fail,
                format!("`{}`: the value is not {form}.", attr.id),
            ));
        }
    }
    if any && wrong == 0 {
        out.push(check(Level::Pass, "Every date is valid."));
    }
}

fn lengths(kept: &[Attr], out: &mut Vec<Check>) {
    for attr in kept {
        let (text, max) = match &attr.content {
            Content::Title(t) => (t, TITLE_MAX_CHARS),
            Content::Text(t) if attr.section == "body" => (t, BODY_MAX_CHARS),
            Content::Text(t) | Content::Enum(t, _) => (t, LINE_MAX_CHARS),
            _ => continue,
        };
        let chars = text.chars().count();
        if chars > max {
            out.push(check(
                Level::Warn,
                format!(
                    "`{}` is {chars} characters long: Notion cuts it (previews show about {max}).",
                    attr.id
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn inline(id: &str, subtype: &str, value: Value, section: &str) -> Value {
        json!({"id": id, "name": id, "type": "inline",
               "inline": {subtype: {"value": value, "section": section}}})
    }

    fn findings(attrs: Vec<Value>) -> Vec<Check> {
        let payload =
            Payload::from_json(&Value::Array(attrs)).unwrap_or_else(|| panic!("unreadable"));
        run(&payload, Sharing::Unknown)
    }

    fn base() -> Vec<Value> {
        vec![
            inline("title", "title", json!("Hello"), "title"),
            inline("dev", "plain_text", json!("Acme"), "secondary"),
        ]
    }

    fn failures(checks: &[Check]) -> Vec<&str> {
        checks
            .iter()
            .filter(|c| c.level >= Level::Warn)
            .map(|c| c.sentence.as_str())
            .collect()
    }

    #[test]
    fn a_good_preview_passes_everything() {
        let mut attrs = base();
        attrs.push(inline("due", "date", json!("2024-03-09"), "primary"));
        attrs.push(json!({"id": "cover", "name": "Cover", "type": "embed",
            "embed": {"src_url": "https://x.test/c.png", "image": {"section": "embed"}}}));
        let checks = findings(attrs);
        assert!(failures(&checks).is_empty(), "{checks:?}");
        assert!(
            checks
                .iter()
                .any(|c| c.sentence == "Every src_url is https.")
        );
    }

    #[test]
    fn missing_title_and_dev_fail() {
        let checks = findings(vec![inline("x", "plain_text", json!("y"), "body")]);
        let failed = failures(&checks);
        assert!(
            failed.iter().any(|s| s.contains("no `title`")),
            "{failed:?}"
        );
        assert!(failed.iter().any(|s| s.contains("no `dev`")), "{failed:?}");
    }

    #[test]
    fn an_enum_in_secondary_is_flagged() {
        let mut attrs = base();
        attrs.push(inline("state", "enum", json!("Open"), "secondary"));
        let checks = findings(attrs);
        assert_eq!(
            failures(&checks),
            vec![
                "`state`: section `secondary` does not accept `enum` (it takes date, datetime, plain_text)."
            ]
        );
    }

    #[test]
    fn an_http_src_url_is_flagged() {
        let mut attrs = base();
        attrs.push(json!({"id": "cover", "name": "Cover", "type": "embed",
            "embed": {"src_url": "http://x.test/c.png", "image": {"section": "embed"}}}));
        let checks = findings(attrs);
        assert_eq!(
            failures(&checks),
            vec!["`cover`: src_url uses http; Notion loads media over https only."]
        );
    }

    #[test]
    fn a_long_title_is_flagged() {
        let mut attrs = base();
        attrs.push(inline("title", "title", json!("t".repeat(301)), "title"));
        let checks = findings(attrs);
        assert_eq!(
            failures(&checks),
            vec!["`title` is 301 characters long: Notion cuts it (previews show about 300)."]
        );
        assert!(
            checks
                .iter()
                .any(|c| c.sentence.contains("`title` is sent more than once"))
        );
    }

    #[test]
    fn bad_dates_are_flagged() {
        let mut attrs = base();
        attrs.push(inline("d", "date", json!("2024-02-30"), "primary"));
        attrs.push(inline("t", "datetime", json!("yesterday"), "secondary"));
        let checks = findings(attrs);
        assert_eq!(
            failures(&checks),
            vec![
                "`d`: the value is not a date written YYYY-MM-DD.",
                "`t`: the value is not an RFC 3339 timestamp."
            ]
        );
    }

    #[test]
    fn a_per_account_preview_is_called_out() {
        let payload = Payload::from_json(&Value::Array(base())).unwrap_or_default();
        let checks = run(&payload, Sharing::Account);
        assert!(
            checks
                .iter()
                .any(|c| c.level == Level::Warn && c.sentence.contains("asking account only"))
        );
    }
}
