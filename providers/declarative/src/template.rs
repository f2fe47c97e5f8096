//! The one expression language of provider files: MiniJinja, fenced in.
//!
//! Templates do no I/O (MiniJinja has none) and are bounded: every render gets a fixed
//! amount of fuel (a loop that runs long runs out), an undefined name is an error instead of
//! an empty string, macros and `namespace()` (the two ways to carry a growing value across
//! a loop) are not available, a template's source is at most [`MAX_SOURCE`] bytes and its
//! output at most [`MAX_OUTPUT`]. MiniJinja itself refuses a string repeated past 100 MB.
//!
//! Filters added for provider files:
//! - `segment`: percent-escapes a value as one URL path segment (`/` becomes `%2F`). The
//!   built-in `urlencode` keeps `/`, which is wrong for a path segment.
//! - `plain`: Markdown or HTML reduced to one line of plain text.
//! - `rfc3339`: a timestamp in any common form, as RFC 3339 (for `datetime`).

use std::collections::BTreeSet;

use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, Value};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

/// Instructions one render may run.
pub const FUEL: u64 = 20_000;
/// Largest template source, in bytes.
pub const MAX_SOURCE: usize = 4096;
/// Largest rendered value, in bytes.
pub const MAX_OUTPUT: usize = 64 * 1024;

/// What a path keeps literal: everything but controls and the characters that would end
/// the path or change how it is read (`?`, `#`, `%`, quotes, brackets, spaces).
const PATH: AsciiSet = CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\');

/// Everything but unreserved characters is escaped in a path segment.
const SEGMENT: AsciiSet = PATH
    .add(b'/')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']')
    .add(b';')
    .add(b'=')
    .add(b'&')
    .add(b'+')
    .add(b'$')
    .add(b',')
    .add(b'@')
    .add(b':')
    .add(b'\'');

/// `value` escaped for a path, `/` kept (a raw capture).
pub fn path(value: &str) -> String {
    utf8_percent_encode(value, &PATH).to_string()
}

/// `value` escaped as one path segment.
pub fn segment(value: &str) -> String {
    utf8_percent_encode(value, &SEGMENT).to_string()
}

fn segment_filter(value: Value) -> String {
    match value.as_str() {
        Some(text) => segment(text),
        None => segment(&value.to_string()),
    }
}

fn plain_filter(value: String) -> String {
    crate::text::plain(&value)
}

fn rfc3339_filter(value: Value) -> Result<String, Error> {
    let text = value.to_string();
    crate::text::rfc3339(&text).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("{text:?} is not a date and time"),
        )
    })
}

/// The fenced environment with the provider file's templates added under their names.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(32);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.remove_global("namespace");
        env.remove_global("debug");
        env.add_filter("segment", segment_filter);
        env.add_filter("plain", plain_filter);
        env.add_filter("rfc3339", rfc3339_filter);
        Self { env }
    }

    /// Adds `source` as template `name`; returns the top-level names it reads. A syntax
    /// error or an oversized source is refused with MiniJinja's sentence.
    pub fn add(&mut self, name: &str, source: &str) -> Result<BTreeSet<String>, String> {
        if source.len() > MAX_SOURCE {
            return Err(format!(
                "the template is {} bytes; at most {MAX_SOURCE} are allowed",
                source.len()
            ));
        }
        self.env
            .add_template_owned(name.to_owned(), source.to_owned())
            .map_err(|e| describe(&e))?;
        let template = self.env.get_template(name).map_err(|e| describe(&e))?;
        Ok(template.undeclared_variables(false).into_iter().collect())
    }

    /// Adds the expression `expr` as a condition template `name` (rendered "1" when true).
    pub fn add_condition(&mut self, name: &str, expr: &str) -> Result<BTreeSet<String>, String> {
        self.add(name, &format!("{{% if {expr} %}}1{{% endif %}}"))
    }

    /// Renders template `name` with `context`, bounded in fuel and output size.
    pub fn render(&self, name: &str, context: &Value) -> Result<String, String> {
        let template = self.env.get_template(name).map_err(|e| describe(&e))?;
        let out = template.render(context).map_err(|e| describe(&e))?;
        if out.len() > MAX_OUTPUT {
            return Err(format!(
                "the rendered value is {} bytes; at most {MAX_OUTPUT} are allowed",
                out.len()
            ));
        }
        Ok(out)
    }

    /// Whether condition `name` holds for `context`. An undefined name is false, so that
    /// `when = "ticket.due"` leaves the attribute out when the answer has no `due`.
    pub fn holds(&self, name: &str, context: &Value) -> Result<bool, String> {
        match self.env.get_template(name).and_then(|t| t.render(context)) {
            Ok(out) => Ok(out == "1"),
            Err(e) if e.kind() == ErrorKind::UndefinedError => Ok(false),
            Err(e) => Err(describe(&e)),
        }
    }
}

/// MiniJinja's error as one line: its own sentence, without the template dump.
fn describe(error: &Error) -> String {
    let mut text = error.kind().to_string();
    if let Some(detail) = error.detail() {
        text = format!("{text}: {detail}");
    }
    if error.kind() == ErrorKind::OutOfFuel {
        text = format!("{text} (a loop or expression too long for one value)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(json: serde_json::Value) -> Value {
        Value::from_serialize(&json)
    }

    #[test]
    fn captures_are_escaped_as_one_path_segment() {
        assert_eq!(segment("a/b c?d#e"), "a%2Fb%20c%3Fd%23e");
        assert_eq!(segment("../admin"), "..%2Fadmin");
        assert_eq!(segment("plain-id_1.2~x"), "plain-id_1.2~x");
        let mut t = Templates::new();
        t.add("p", "/t/{{ id | segment }}")
            .unwrap_or_else(|e| panic!("{e}"));
        let out = t.render("p", &ctx(serde_json::json!({"id": "1/2"})));
        assert_eq!(out.as_deref(), Ok("/t/1%2F2"));
    }

    #[test]
    fn undefined_names_fail_and_referenced_names_are_reported() {
        let mut t = Templates::new();
        let names = t
            .add("v", "{{ ticket.title }} by {{ owner }}")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            vec!["owner".to_owned(), "ticket".to_owned()]
        );
        let err = t
            .render("v", &ctx(serde_json::json!({"ticket": {"title": "x"}})))
            .err()
            .unwrap_or_default();
        assert!(err.contains("undefined"), "{err}");
    }

    #[test]
    fn long_loops_and_huge_values_are_cut_off_with_a_clear_error() {
        let mut t = Templates::new();
        t.add("loop", "{% for i in range(100000) %}{{ i }}{% endfor %}")
            .unwrap_or_else(|e| panic!("{e}"));
        let err = t
            .render("loop", &ctx(serde_json::json!({})))
            .err()
            .unwrap_or_default();
        assert!(err.contains("fuel"), "{err}");

        t.add("big", "{{ 'x' * 1000000 }}")
            .unwrap_or_else(|e| panic!("{e}"));
        let err = t
            .render("big", &ctx(serde_json::json!({})))
            .err()
            .unwrap_or_default();
        assert!(err.contains("at most 65536"), "{err}");

        assert!(
            t.add("ns", "{% set n = namespace(s='x') %}{{ n.s }}")
                .is_ok()
        );
        let err = t
            .render("ns", &ctx(serde_json::json!({})))
            .err()
            .unwrap_or_default();
        assert!(
            err.contains("undefined") || err.contains("unknown"),
            "{err}"
        );
        assert!(
            t.add("macro", "{% macro m() %}x{% endmacro %}{{ m() }}")
                .is_err()
        );
        assert!(t.add("long", &"x".repeat(MAX_SOURCE + 1)).is_err());
    }

    #[test]
    fn conditions_are_false_on_undefined_and_true_on_values() {
        let mut t = Templates::new();
        t.add_condition("c", "ticket.due")
            .unwrap_or_else(|e| panic!("{e}"));
        let with = ctx(serde_json::json!({"ticket": {"due": "2026-01-02"}}));
        let without = ctx(serde_json::json!({"ticket": {}}));
        let null = ctx(serde_json::json!({"ticket": {"due": null}}));
        assert_eq!(t.holds("c", &with), Ok(true));
        assert_eq!(t.holds("c", &without), Ok(false));
        assert_eq!(t.holds("c", &null), Ok(false));
    }
}
