//! What a load reports and reads: [`Problem`] (file, line, fix), the [`Environment`]
//! secrets come from, the load [`Mode`], and the [`Loader`] that collects problems.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::spec::line_of;

/// One problem in one provider file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            // About the file or directory as a whole (it cannot be read).
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
        }
    }
}

/// What a loaded file may read from its surroundings: environment variables.
pub trait Environment {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Environment for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// How strictly to load: a server needs its secrets; `providers test` plays recorded
/// answers and only needs something to put in the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Serve,
    Playback,
}

pub struct Loader<'a> {
    pub file: &'a Path,
    pub text: &'a str,
    pub problems: Vec<Problem>,
    /// A pattern did not compile, so its captures are unknown: names in templates are not
    /// checked (they would only repeat that problem).
    pub captures_unknown: bool,
}

impl Loader<'_> {
    pub fn at<T>(&mut self, spanned: &Spanned<T>, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line: line_of(self.text, spanned.span().start),
            message: message.into(),
        });
    }
}
