//! One field's chain of sources, tried in order, and the record of what each source
//! offered: the same code fills [`PageMetadata`](super::PageMetadata) and, when asked,
//! the `--explain` report, so the explanation cannot drift from the rules.
//!
//! Without a trace a chain stops at the first value; with one it asks every source, so the
//! report shows the candidates that lost and why.

use chrono::{DateTime, FixedOffset};
use notion_unfurl_sdk::Url;

/// What one source offered for one field, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub source: &'static str,
    pub value: String,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The first usable value of the chain.
    Chosen,
    /// Usable, but a source earlier in the chain already gave a value.
    Later,
    /// Read and refused, with the rule that refused it.
    Refused(&'static str),
}

/// Every field's candidates, in chain order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Explanation {
    pub fields: Vec<(&'static str, Vec<Seen>)>,
}

impl Explanation {
    fn field(&mut self, field: &'static str) -> &mut Vec<Seen> {
        let at = match self.fields.iter().position(|(f, _)| *f == field) {
            Some(at) => at,
            None => {
                self.fields.push((field, Vec::new()));
                self.fields.len() - 1
            }
        };
        &mut self.fields[at].1
    }

    /// A value a rule set aside after the chain chose, recorded under `field`.
    pub(super) fn refuse(
        &mut self,
        field: &'static str,
        source: &'static str,
        value: &str,
        why: &'static str,
    ) {
        self.field(field).push(Seen {
            source,
            value: value.to_owned(),
            verdict: Verdict::Refused(why),
        });
    }
}

/// How a value reads in the report.
pub(super) trait Shown {
    fn shown(&self) -> String;
}

impl Shown for String {
    fn shown(&self) -> String {
        self.clone()
    }
}

impl Shown for Url {
    fn shown(&self) -> String {
        self.to_string()
    }
}

impl Shown for DateTime<FixedOffset> {
    fn shown(&self) -> String {
        self.to_rfc3339()
    }
}

/// Sources tried in order for one field.
pub(super) struct Chain<'t, T> {
    field: &'static str,
    won: Option<(&'static str, T)>,
    trace: Option<&'t mut Explanation>,
}

impl<'t, T: Shown> Chain<'t, T> {
    pub(super) fn new(field: &'static str, trace: Option<&'t mut Explanation>) -> Self {
        Self {
            field,
            won: None,
            trace,
        }
    }

    /// Try `source` unless a value was found already (and nobody is tracing).
    pub(super) fn or(mut self, source: &'static str, read: impl FnOnce() -> Option<T>) -> Self {
        if self.won.is_some() && self.trace.is_none() {
            return self;
        }
        let Some(value) = read() else {
            return self;
        };
        let verdict = if self.won.is_some() {
            Verdict::Later
        } else {
            Verdict::Chosen
        };
        if let Some(trace) = self.trace.as_deref_mut() {
            trace.field(self.field).push(Seen {
                source,
                value: value.shown(),
                verdict,
            });
        }
        if self.won.is_none() {
            self.won = Some((source, value));
        }
        self
    }

    /// The winning value and its source.
    pub(super) fn finish(self) -> Option<(&'static str, T)> {
        self.won
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_trace_later_sources_are_not_read() {
        let mut asked = false;
        let won = Chain::new("title", None)
            .or("a", || None)
            .or("b", || Some("B".to_owned()))
            .or("c", || {
                asked = true;
                Some("C".to_owned())
            })
            .finish();
        assert_eq!(won, Some(("b", "B".to_owned())));
        assert!(!asked);
    }

    #[test]
    fn with_a_trace_every_source_is_recorded_with_its_verdict() {
        let mut trace = Explanation::default();
        let won = Chain::new("title", Some(&mut trace))
            .or("a", || None)
            .or("b", || Some("B".to_owned()))
            .or("c", || Some("C".to_owned()))
            .finish();
        assert_eq!(won.map(|(s, _)| s), Some("b"));
        let [(field, seen)] = trace.fields.as_slice() else {
            panic!("one field expected: {trace:?}");
        };
        assert_eq!(*field, "title");
        let verdicts: Vec<_> = seen.iter().map(|s| (s.source, s.verdict.clone())).collect();
        assert_eq!(verdicts, [("b", Verdict::Chosen), ("c", Verdict::Later)]);
    }
}
