//! The lab's HTML: the preview and the mention as Notion lays them out (an approximation),
//! the route trace, the checks and the raw answer.
//!
//! Every piece of text that came from a request, a provider or a page goes through
//! `html_escape` here and nowhere else; colours are numbers we format ourselves; a picture
//! is shown only from an https URL whose host is not a private address (the page's CSP
//! allows `img-src https: data:` and nothing else), and video, audio, pdf and html embeds
//! are drawn as labelled frames, never loaded.

use std::fmt::Write;

use chrono::{DateTime, NaiveDate, Utc};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use serde_json::Value;

use crate::http::lab::checks::Check;
use crate::http::lab::preview::{Attr, Content, ErrorOperation, Rgb};
use crate::unfurl::registry::PatternMatch;

/// Notion's default colours of an `enum` without one, and of text on it.
const GREY: Rgb = Rgb {
    r: 227,
    g: 226,
    b: 224,
};

const STYLE: &str = "*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',\
sans-serif;background:#f7f6f3;color:#37352f;margin:0}header,section,form{max-width:1180px;margin:0 auto;\
padding:12px 20px}h1{font-size:22px;margin:8px 0 2px}h2{font-size:16px;margin:18px 0 8px}\
.muted{color:#787774;font-size:13px}.notice{background:#fdebec;color:#9f2f2d;border-radius:6px;\
padding:10px 14px}form{display:grid;gap:8px}.row{display:flex;gap:8px;align-items:center;flex-wrap:wrap}\
input[type=url],input[type=password]{flex:1;min-width:240px;font:inherit;padding:6px 8px;\
border:1px solid #d3d1cb;border-radius:6px}textarea{font:12px/1.4 ui-monospace,monospace;width:100%;\
min-height:90px;padding:6px 8px;border:1px solid #d3d1cb;border-radius:6px}button{font:inherit;\
padding:6px 16px;border-radius:6px;border:1px solid #2383e2;background:#2383e2;color:#fff;cursor:pointer}\
.layout{display:grid;grid-template-columns:minmax(0,1fr) 320px;gap:20px;align-items:start}\
@media(max-width:900px){.layout{grid-template-columns:1fr}}.themes{display:grid;gap:12px}\
.theme{border-radius:8px;padding:14px;display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap}\
.theme.light{background:#fff;color:#37352f;box-shadow:0 1px 3px rgba(0,0,0,.08)}\
.theme.dark{background:#191919;color:#d4d4d4}.theme>.label{width:100%;font-size:11px;\
text-transform:uppercase;letter-spacing:.05em;opacity:.6}.preview{width:360px;max-width:100%;\
border:1px solid rgba(55,53,47,.16);border-radius:6px;overflow:hidden}.dark .preview{\
border-color:rgba(255,255,255,.13);background:#252525}.preview .media{height:170px;display:flex;\
align-items:center;justify-content:center;background:rgba(127,127,127,.12);overflow:hidden}\
.preview .media img{width:100%;height:100%;object-fit:cover}.content{padding:10px 12px}\
.heading{display:flex;gap:6px;align-items:center}.title{font-size:15px;font-weight:600;margin:0;\
overflow-wrap:anywhere}.sub{display:flex;flex-wrap:wrap;gap:6px;align-items:center;font-size:12px;\
margin-top:4px;opacity:.8}.pill{border-radius:3px;padding:0 6px;font-size:12px}\
.body{font-size:13px;margin:6px 0 0;overflow-wrap:anywhere}.foot{display:flex;justify-content:space-between;\
gap:8px;align-items:center;font-size:12px;opacity:.7;margin-top:8px}.pic{width:16px;height:16px;\
border-radius:3px;display:inline-block;object-fit:cover;flex:none;background:rgba(127,127,127,.25)}\
.avatar .pic{border-radius:50%;width:20px;height:20px}.mention{display:inline-flex;gap:6px;\
align-items:center;padding:1px 6px;border-radius:4px;background:rgba(127,127,127,.14);max-width:100%}\
.mention .identifier{opacity:.7}.inline{flex:1 1 220px;min-width:0;margin:0}.frame{border:1px dashed currentColor;border-radius:4px;padding:8px;\
margin:8px;font-size:12px;opacity:.8;overflow-wrap:anywhere}.error .title{color:#d44c47}\
.checks{list-style:none;padding:0;margin:0;display:grid;gap:6px}.checks li{background:#fff;\
border-radius:6px;padding:8px 10px 8px 28px;position:relative;font-size:13px}.checks li::before{\
position:absolute;left:9px;font-weight:700}.checks .pass::before{content:'\\2713';color:#448361}\
.checks .note::before{content:'i';color:#337ea9}.checks .warn::before{content:'!';color:#cb912f}\
.checks .fail::before{content:'\\2717';color:#d44c47}table{border-collapse:collapse;font-size:13px;\
width:100%}td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #e9e9e7;vertical-align:top}\
code,pre{font:12px/1.4 ui-monospace,monospace}pre{background:#fff;border-radius:6px;padding:12px;\
overflow:auto;max-height:420px}";

/// Whether a picture at `src` may be drawn: https, and not a private address (a page the
/// server read must not make the operator's browser knock on the operator's network).
pub fn showable(src: &str) -> bool {
    let Ok(url) = url::Url::parse(src) else {
        return false;
    };
    if url.scheme() != "https" {
        return false;
    }
    match url.host() {
        Some(url::Host::Ipv4(ip)) => notion_unfurl_sdk::ip::is_public(ip.into()),
        Some(url::Host::Ipv6(ip)) => notion_unfurl_sdk::ip::is_public(ip.into()),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name != "localhost" && !name.ends_with(".localhost")
        }
        None => false,
    }
}

fn picture(src: &str, what: &str) -> String {
    if showable(src) {
        format!(
            "<img class=\"pic\" src=\"{}\" alt=\"\" title=\"{}\" referrerpolicy=\"no-referrer\">",
            attr(src),
            attr(what)
        )
    } else {
        format!(
            "<span class=\"pic\" title=\"{} not shown: only https pictures on public hosts are\"></span>",
            attr(what)
        )
    }
}

fn rgb(c: Rgb) -> String {
    format!("rgb({}, {}, {})", c.r, c.g, c.b)
}

/// Dark text on a light colour, white on a dark one.
fn ink(c: Rgb) -> &'static str {
    let luma = 299 * u32::from(c.r) + 587 * u32::from(c.g) + 114 * u32::from(c.b);
    if luma > 150_000 { "#37352f" } else { "#fff" }
}

/// A date as Notion writes it (`Mar 9, 2024`); a timestamp with its time, in UTC here
/// (Notion uses the reader's zone). Unreadable values are shown as sent.
pub fn format_date(content: &Content) -> Option<String> {
    match content {
        Content::Date(v) => Some(
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(|d| d.format("%b %-d, %Y").to_string())
                .unwrap_or_else(|_| v.clone()),
        ),
        Content::DateTime(v) => Some(
            DateTime::parse_from_rfc3339(v)
                .map(|d| {
                    d.with_timezone(&Utc)
                        .format("%b %-d, %Y %-I:%M %p UTC")
                        .to_string()
                })
                .unwrap_or_else(|_| v.clone()),
        ),
        _ => None,
    }
}

/// One item of a subheading: an enum pill, a date or text.
fn inline_item(a: &Attr) -> String {
    match &a.content {
        Content::Enum(value, color) => {
            let c = color.unwrap_or(GREY);
            format!(
                "<span class=\"pill\" data-id=\"{}\" style=\"background-color:{};color:{}\">{}</span>",
                attr(&a.id),
                rgb(c),
                ink(c),
                text(value)
            )
        }
        Content::Text(v) | Content::Title(v) => format!("<span>{}</span>", text(v)),
        other => format_date(other)
            .map(|d| format!("<span class=\"date\">{}</span>", text(&d)))
            .unwrap_or_default(),
    }
}

/// The small picture of `entity` (or `identifier`/`avatar` when an image).
fn small(a: &Attr) -> String {
    match &a.content {
        Content::Color(Some(c)) => format!(
            "<span class=\"pic\" style=\"background-color:{}\"></span>",
            rgb(*c)
        ),
        Content::Media(src) => picture(src, &a.name),
        Content::Text(v) => format!("<span>{}</span>", text(v)),
        _ => String::new(),
    }
}

/// The attributes of a section Notion accepts there (others are left to the checks).
fn section<'a>(kept: &'a [Attr], name: &str) -> Vec<&'a Attr> {
    kept.iter()
        .filter(|a| {
            a.section == name
                && a.content != Content::Unreadable
                && crate::http::lab::checks::accepted(name)
                    .is_some_and(|s| s.contains(&a.subtype.as_str()))
        })
        .collect()
}

fn first<'a>(kept: &'a [Attr], name: &str) -> Option<&'a Attr> {
    section(kept, name).into_iter().next()
}

fn title_of(kept: &[Attr]) -> String {
    first(kept, "title")
        .and_then(|a| match &a.content {
            Content::Title(t) => Some(t.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

fn media(a: &Attr) -> String {
    let Content::Media(src) = &a.content else {
        return String::new();
    };
    if a.subtype == "image" && showable(src) {
        return format!(
            "<div class=\"media\"><img src=\"{}\" alt=\"{}\" referrerpolicy=\"no-referrer\"></div>",
            attr(src),
            attr(&a.name)
        );
    }
    let why = if a.subtype == "image" {
        "not shown: only https pictures on public hosts are"
    } else {
        "Notion shows it here; the lab never loads it"
    };
    format!(
        "<div class=\"media\"><div class=\"frame\"><b>{} embed</b> \u{b7} <code>{}</code><br>{why}</div></div>",
        text(&a.subtype),
        text(src)
    )
}

/// The full preview card.
pub fn preview(kept: &[Attr], error: Option<&ErrorOperation>) -> String {
    let mut out = String::new();
    let background = first(kept, "background").and_then(|a| match a.content {
        Content::Color(Some(c)) => Some(c),
        _ => None,
    });
    let class = if kept.is_empty() && error.is_some() {
        "preview error"
    } else {
        "preview"
    };
    match background {
        Some(c) => {
            let _ = write!(
                out,
                "<div class=\"{class}\" style=\"background-color:{};color:{}\">",
                rgb(c),
                ink(c)
            );
        }
        None => {
            let _ = write!(out, "<div class=\"{class}\">");
        }
    }
    if let Some(embed) = first(kept, "embed") {
        out.push_str(&media(embed));
    }
    out.push_str("<div class=\"content\">");
    if let (true, Some(e)) = (kept.is_empty(), error) {
        let _ = write!(
            out,
            "<div class=\"heading\"><p class=\"title\">Could not load the preview</p></div>\
                 <p class=\"body\">{}</p></div></div>",
            text(&e.message)
        );
        return out;
    }
    out.push_str("<div class=\"heading\">");
    if let Some(entity) = first(kept, "entity") {
        out.push_str(&small(entity));
    }
    let _ = write!(
        out,
        "<p class=\"title\">{}</p></div>",
        text(&title_of(kept))
    );
    for name in ["primary", "secondary"] {
        let items: Vec<String> = section(kept, name).into_iter().map(inline_item).collect();
        if !items.is_empty() {
            let _ = write!(out, "<div class=\"sub {name}\">{}</div>", items.join(""));
        }
    }
    for body in section(kept, "body") {
        if let Content::Text(t) = &body.content {
            let _ = write!(out, "<p class=\"body\">{}</p>", text(t));
        }
    }
    let avatar = first(kept, "avatar").map(small).unwrap_or_default();
    let identifier = first(kept, "identifier").map(small).unwrap_or_default();
    if !avatar.is_empty() || !identifier.is_empty() {
        let _ = write!(
            out,
            "<div class=\"foot\"><span class=\"avatar\">{avatar}</span>\
             <span class=\"identifier\">{identifier}</span></div>"
        );
    }
    if let (false, Some(e)) = (kept.is_empty(), error) {
        let _ = write!(out, "<p class=\"body error\">{}</p>", text(&e.message));
    }
    out.push_str("</div></div>");
    out
}

/// The inline mention: entity picture, identifier, title.
pub fn mention(kept: &[Attr], error: Option<&ErrorOperation>) -> String {
    if kept.is_empty() {
        let message = error.map(|e| e.message.as_str()).unwrap_or_default();
        return format!(
            "<span class=\"mention error\">\u{26a0} {}</span>",
            text(message)
        );
    }
    let entity = first(kept, "entity").map(small).unwrap_or_default();
    let identifier = first(kept, "identifier")
        .map(|a| format!("<span class=\"identifier\">{}</span>", small(a)))
        .unwrap_or_default();
    format!(
        "<span class=\"mention\">{entity}{identifier}<b class=\"title\">{}</b></span>",
        text(&title_of(kept))
    )
}

/// The preview and the mention, side by side, in Notion's light and dark themes.
pub fn themes(kept: &[Attr], error: Option<&ErrorOperation>) -> String {
    let mut out = String::from("<div class=\"themes\">");
    for theme in ["light", "dark"] {
        let _ = write!(
            out,
            "<div class=\"theme {theme}\" data-theme=\"{theme}\"><span class=\"label\">{theme}</span>{}\
             <p class=\"inline\">In a page\u{2019}s text: {}</p></div>",
            preview(kept, error),
            mention(kept, error)
        );
    }
    out.push_str("</div>");
    out
}

/// The checks beside the preview.
pub fn checks(list: &[Check]) -> String {
    let mut out = String::from("<ul class=\"checks\" id=\"checks\">");
    for c in list {
        let _ = write!(
            out,
            "<li class=\"{}\">{}</li>",
            c.level.class(),
            text(&c.sentence)
        );
    }
    out.push_str("</ul>");
    out
}

/// The exact answer, pretty-printed.
pub fn raw(json: &Value) -> String {
    let pretty = serde_json::to_string_pretty(json).unwrap_or_default();
    format!("<pre id=\"raw\">{}</pre>", text(&pretty))
}

/// How the link was routed and where the answer came from.
pub struct Trace<'a> {
    pub patterns: &'a [PatternMatch],
    /// The cache key, written out; `None` when no provider accepts the link.
    pub key: Option<String>,
    pub cache: &'a str,
}

pub fn trace(t: &Trace<'_>) -> String {
    let mut out = String::from(
        "<table id=\"trace\"><tr><th>Provider</th><th>Pattern</th><th>Result</th></tr>",
    );
    for p in t.patterns {
        let result = if p.chosen {
            let captures: Vec<String> = p
                .captures
                .iter()
                .map(|(k, v)| format!("<code>{}</code> = <code>{}</code>", text(k), text(v)))
                .collect();
            if captures.is_empty() {
                "<b>routed here</b>".to_owned()
            } else {
                format!("<b>routed here</b>; captures: {}", captures.join(", "))
            }
        } else if p.matched {
            "matches, but an earlier pattern wins".to_owned()
        } else {
            "did not match".to_owned()
        };
        let _ = write!(
            out,
            "<tr class=\"{}\"><td>{}</td><td><code>{}</code></td><td>{result}</td></tr>",
            if p.chosen { "chosen" } else { "other" },
            text(p.provider),
            text(&p.regex)
        );
    }
    if t.patterns.iter().all(|p| !p.chosen) {
        out.push_str("<tr><td colspan=\"3\">No provider accepts this link.</td></tr>");
    }
    out.push_str("</table>");
    let key = t.key.as_deref().unwrap_or("none (nothing is cached)");
    let _ = write!(
        out,
        "<p>Cache key: <code id=\"cache-key\">{}</code><br>Answer: <span id=\"cache-use\">{}</span></p>",
        text(key),
        text(t.cache)
    );
    out
}

/// What a page shows besides the forms.
pub struct Page<'a> {
    pub nonce: &'a str,
    pub url: &'a str,
    pub refresh: bool,
    /// The `as` field: the account named to unfurl as (empty: the lab account).
    pub as_field: &'a str,
    /// A sentence about input that could not be used.
    pub notice: Option<&'a str>,
    /// The rendered result sections, when there is a result.
    pub result: Option<String>,
    /// Provider files' recorded tests: `(value, label)`; and the one chosen.
    pub tests: &'a [(String, String)],
    pub test: &'a str,
}

/// The permalink of pasted JSON: in the fragment, which browsers never send.
pub fn json_permalink(json: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(json.as_bytes()).collect();
    format!("/lab#json={encoded}")
}

/// Fills the textarea from `#json=…`: pasted JSON travels in the fragment only.
const SCRIPT: &str = "(function(){var h=location.hash;if(h.indexOf('#json=')!==0)return;\
var t=document.getElementById('json');if(!t||t.value)return;\
try{t.value=decodeURIComponent(h.slice(6).replace(/\\+/g,' '));}catch(e){}})();";

pub fn page(p: &Page<'_>) -> String {
    let notice = p
        .notice
        .map(|n| {
            format!(
                "<section><p class=\"notice\" id=\"notice\">{}</p></section>",
                text(n)
            )
        })
        .unwrap_or_default();
    let tests = if p.tests.is_empty() {
        String::new()
    } else {
        let options: String = p
            .tests
            .iter()
            .map(|(value, label)| {
                format!(
                    "<option value=\"{}\"{}>{}</option>",
                    attr(value),
                    if value == p.test { " selected" } else { "" },
                    text(label)
                )
            })
            .collect();
        format!(
            "<form method=\"get\" action=\"/lab\" id=\"by-test\"><div class=\"row\">\
             <select name=\"test\" id=\"test\">{options}</select>\
             <button type=\"submit\">Play recorded test</button>\
             <span class=\"muted\">A provider file's test, against its recorded answers.</span>\
             </div></form>"
        )
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Preview lab</title><style>{STYLE}</style></head><body>\
         <header><h1>Preview lab</h1><p class=\"muted\">How Notion would draw a Link Preview \
         from this server, and why. An approximation of Notion's layout, not Notion itself; \
         previews are read as a lab account with no upstream token, so only public ones show, \
         unless you name an account to read them as.</p></header>\
         <form method=\"get\" action=\"/lab\" id=\"by-url\"><div class=\"row\">\
         <input type=\"url\" name=\"url\" id=\"url\" placeholder=\"https://…\" value=\"{url}\" required>\
         <label>as <input type=\"text\" name=\"as\" id=\"as\" placeholder=\"lab:preview\" value=\"{as_field}\" \
         title=\"An account key (github:12345, local:alice): its private view. Empty: the lab account.\"></label>\
         <label><input type=\"checkbox\" name=\"refresh\" value=\"1\"{checked}> refresh (skip the cache)</label>\
         <button type=\"submit\">Preview</button></div></form>\
         <form method=\"post\" action=\"/lab\" id=\"by-json\">\
         <textarea name=\"json\" id=\"json\" placeholder=\"Paste a callback body or an attribute array\"></textarea>\
         <div class=\"row\"><button type=\"submit\">Render this JSON</button>\
         <span class=\"muted\">Pasted JSON is sent in the body and kept only in the link's fragment.</span></div></form>\
         {tests}{notice}{result}<script nonce=\"{nonce}\">{SCRIPT}</script></body></html>",
        url = attr(p.url),
        as_field = attr(p.as_field),
        checked = if p.refresh { " checked" } else { "" },
        result = p.result.as_deref().unwrap_or_default(),
        nonce = attr(p.nonce),
    )
}

/// The page asking for `UNFURL_LAB_TOKEN`.
pub fn login(message: Option<&str>) -> String {
    let message = message
        .map(|m| format!("<p class=\"notice\">{}</p>", text(m)))
        .unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Preview lab</title><style>{STYLE}</style></head><body>\
         <header><h1>Preview lab</h1><p class=\"muted\">Enter the lab token \
         (<code>UNFURL_LAB_TOKEN</code>) to open the lab in this browser.</p></header>{message}\
         <form method=\"post\" action=\"/lab/login\" id=\"login\"><div class=\"row\">\
         <input type=\"password\" name=\"token\" id=\"token\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Open</button></div></form></body></html>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::lab::preview::Payload;
    use serde_json::json;

    fn kept(json: Value) -> Vec<Attr> {
        Payload::from_json(&json)
            .unwrap_or_else(|| panic!("unreadable"))
            .effective()
    }

    fn inline(id: &str, subtype: &str, value: Value, section: &str) -> Value {
        json!({"id": id, "name": id, "type": "inline",
               "inline": {subtype: {"value": value, "section": section}}})
    }

    #[test]
    fn text_from_a_payload_is_escaped() {
        let attrs = kept(json!([
            inline(
                "title",
                "title",
                json!("<script>alert(1)</script>"),
                "title"
            ),
            inline("b", "plain_text", json!("a \"quote\" & <b>"), "body"),
        ]));
        let html = themes(&attrs, None);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&lt;b&gt;") && !html.contains("<b>\""));
        let raw = raw(&json!({"x": "</pre><script>"}));
        assert!(raw.contains("&lt;/pre&gt;&lt;script&gt;"), "{raw}");
    }

    #[test]
    fn a_later_attribute_replaces_the_earlier_in_the_card() {
        let attrs = kept(json!([
            inline("title", "title", json!("First"), "title"),
            inline("title", "title", json!("Second"), "title"),
        ]));
        let html = preview(&attrs, None);
        assert!(
            html.contains(">Second<") && !html.contains("First"),
            "{html}"
        );
    }

    #[test]
    fn an_enum_pill_takes_its_colour() {
        let attrs = kept(json!([{"id": "state", "name": "State", "type": "inline",
            "inline": {"enum": {"value": "Open", "color": {"r": 31, "g": 136, "b": 61},
            "section": "primary"}}}]));
        let html = preview(&attrs, None);
        assert!(
            html.contains("background-color:rgb(31, 136, 61);color:#fff\">Open</span>"),
            "{html}"
        );
    }

    #[test]
    fn dates_read_as_notion_writes_them() {
        assert_eq!(
            format_date(&Content::Date("2024-03-09".into())).as_deref(),
            Some("Mar 9, 2024")
        );
        assert_eq!(
            format_date(&Content::DateTime("2024-03-09T15:04:00+01:00".into())).as_deref(),
            Some("Mar 9, 2024 2:04 PM UTC")
        );
        assert_eq!(
            format_date(&Content::Date("soon".into())).as_deref(),
            Some("soon")
        );
    }

    #[test]
    fn only_https_public_pictures_load_and_other_embeds_never() {
        assert!(showable("https://cdn.example.com/a.png"));
        for refused in [
            "http://cdn.example.com/a.png",
            "https://127.0.0.1/a.png",
            "https://[::1]/a.png",
            "https://10.0.0.8/a.png",
            "https://localhost/a.png",
            "javascript:alert(1)",
        ] {
            assert!(!showable(refused), "{refused}");
        }
        let attrs = kept(json!([{"id": "v", "name": "V", "type": "embed",
            "embed": {"src_url": "https://x.test/v.mp4", "video": {"section": "embed"}}}]));
        let html = preview(&attrs, None);
        assert!(
            html.contains("video embed") && !html.contains("<video") && !html.contains("<iframe")
        );
    }

    #[test]
    fn an_error_operation_shows_its_message() {
        let error = ErrorOperation {
            status: Some(404),
            message: "This kind of link has no preview.".into(),
        };
        let html = themes(&[], Some(&error));
        assert!(html.contains("This kind of link has no preview."));
        assert!(html.contains("preview error"));
    }

    #[test]
    fn the_json_permalink_lives_in_the_fragment() {
        assert_eq!(
            json_permalink("[{\"a\":1}]"),
            "/lab#json=%5B%7B%22a%22%3A1%7D%5D"
        );
    }
}
