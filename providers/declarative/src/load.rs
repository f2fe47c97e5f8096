//! From a provider file to a [`Compiled`] provider, or to every problem the file has.
//!
//! Each problem names the file, the line and the fix, in one line. A directory loads whole
//! or not at all: one bad file refuses the set, so a server never starts half-configured.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notion_unfurl_sdk::regex::RegexBuilder;
use notion_unfurl_sdk::{CacheScope, Pattern, Secret, Url};
use toml::Spanned;

use crate::model::{self, Compiled, Credentials, Page, Request, Rule};
use crate::spec::{AttributeSpec, CredentialsSpec, MatchSpec, Spec, line_of};
use crate::template::Templates;

/// Largest compiled pattern, in bytes: a pattern that compiles larger is refused.
pub const MAX_REGEX_BYTES: usize = 256 * 1024;
/// Default cap on an upstream answer.
pub const DEFAULT_MAX_BYTES: usize = 1024 * 1024;
/// Default whole-request time limit.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest cap a file may set on an upstream answer.
pub const MAX_MAX_BYTES: usize = 8 * 1024 * 1024;

/// One problem in one provider file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
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

struct Loader<'a> {
    file: &'a Path,
    text: &'a str,
    problems: Vec<Problem>,
    /// A pattern did not compile, so its captures are unknown: names in templates are not
    /// checked (they would only repeat that problem).
    captures_unknown: bool,
}

impl Loader<'_> {
    fn at<T>(&mut self, spanned: &Spanned<T>, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line: line_of(self.text, spanned.span().start),
            message: message.into(),
        });
    }
}

/// Every `*.toml` file in `dir`, sorted by name (the order they are tried in).
pub fn files_in(dir: &Path) -> Result<Vec<PathBuf>, Problem> {
    let entries = std::fs::read_dir(dir).map_err(|e| Problem {
        file: dir.to_owned(),
        line: 0,
        message: format!("cannot read the providers directory: {e}"),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// Loads every provider file in `dir`; all of them, or every problem found.
pub fn load_dir(
    dir: &Path,
    env: &dyn Environment,
    mode: Mode,
) -> Result<Vec<Compiled>, Vec<Problem>> {
    let files = files_in(dir).map_err(|p| vec![p])?;
    let mut loaded = Vec::new();
    let mut problems = Vec::new();
    let mut ids: BTreeMap<String, PathBuf> = BTreeMap::new();
    for file in files {
        match load_file(&file, env, mode) {
            Ok(compiled) => {
                if let Some(first) = ids.insert(compiled.id.to_owned(), file.clone()) {
                    problems.push(Problem {
                        file: file.clone(),
                        line: 1,
                        message: format!(
                            "id {:?} is already used by {}: give each provider its own id",
                            compiled.id,
                            first.display()
                        ),
                    });
                }
                loaded.push(compiled);
            }
            Err(mut found) => problems.append(&mut found),
        }
    }
    if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(problems)
    }
}

/// Loads one provider file.
pub fn load_file(file: &Path, env: &dyn Environment, mode: Mode) -> Result<Compiled, Vec<Problem>> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        vec![Problem {
            file: file.to_owned(),
            line: 0,
            message: format!("cannot read the file: {e}"),
        }]
    })?;
    load_str(file, &text, env, mode)
}

/// Loads a provider file's `text`; `file` names it in problems and anchors relative paths.
pub fn load_str(
    file: &Path,
    text: &str,
    env: &dyn Environment,
    mode: Mode,
) -> Result<Compiled, Vec<Problem>> {
    let mut loader = Loader {
        file,
        text,
        problems: Vec::new(),
        captures_unknown: false,
    };
    let spec: Spec = match toml::from_str(text) {
        Ok(spec) => spec,
        Err(e) => {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            let message = e.message().trim().replace('\n', " ");
            return Err(vec![Problem {
                file: file.to_owned(),
                line,
                message: format!("{message} (see docs/providers.md for the keys)"),
            }]);
        }
    };
    let compiled = compile(&mut loader, spec, env, mode);
    match compiled {
        Some(c) if loader.problems.is_empty() => Ok(c),
        _ => Err(loader.problems),
    }
}

fn compile(
    loader: &mut Loader<'_>,
    spec: Spec,
    env: &dyn Environment,
    mode: Mode,
) -> Option<Compiled> {
    let id = spec.id.get_ref().clone();
    if id.is_empty()
        || id.len() > 40
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        loader.at(
            &spec.id,
            format!("id {id:?}: use 1-40 lower-case letters, digits and '-'"),
        );
    }
    if ["github", "opengraph"].contains(&id.as_str()) {
        loader.at(
            &spec.id,
            format!("id {id:?} is a built-in provider's: choose another"),
        );
    }
    let domain = spec.domain.get_ref().clone();
    if domain.is_empty() || domain.contains(['/', ':', ' ']) {
        loader.at(
            &spec.domain,
            format!("domain {domain:?}: write the bare host, like \"tickets.example.com\""),
        );
    }

    let mut templates = Templates::new();
    let patterns = patterns(loader, &spec.matches, &domain);
    // Names every pattern captures: what templates may read as captures.
    let captures: BTreeSet<String> = patterns
        .iter()
        .map(|p| {
            p.regex
                .capture_names()
                .flatten()
                .map(str::to_owned)
                .collect::<BTreeSet<_>>()
        })
        .reduce(|a, b| a.intersection(&b).cloned().collect())
        .unwrap_or_default();
    let mut known: BTreeSet<String> = captures.clone();
    known.insert("url".into());

    let credentials = credentials(loader, spec.credentials.as_ref(), &spec.name, env, mode);
    let mut requests = Vec::new();
    for (i, r) in spec.requests.iter().enumerate() {
        let name = r.name.get_ref().clone();
        if !is_identifier(&name) || captures.contains(&name) || name == "page" || name == "url" {
            loader.at(
                &r.name,
                format!(
                    "request name {name:?}: use a name of letters, digits and '_' that is not a capture, `url` or `page`"
                ),
            );
        }
        let base_text = r
            .base_env
            .as_ref()
            .and_then(|v| env.var(v.get_ref()))
            .unwrap_or_else(|| r.base.get_ref().clone());
        let base = match Url::parse(&base_text) {
            Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => Some(u),
            _ => {
                loader.at(
                    &r.base,
                    format!("base {base_text:?} is not an http(s) URL: write the API's root, like \"https://api.example.com/v1\""),
                );
                None
            }
        };
        if let Some(b) = &base
            && b.scheme() == "http"
            && !b
                .host_str()
                .is_some_and(|h| h == "localhost" || h.starts_with("127."))
        {
            loader.at(
                &r.base,
                format!("base {base_text:?} is plain http: use https (credentials travel in it)"),
            );
        }
        let mut with_secret = known.clone();
        with_secret.insert("secret".into());
        let prefix = format!("request.{i}");
        let path = add_template(
            loader,
            &mut templates,
            &format!("{prefix}.path"),
            &r.path,
            &known,
            "",
        );
        let mut query = Vec::new();
        for (key, value) in &r.query {
            let tpl = format!("{prefix}.query.{key}");
            add_template(loader, &mut templates, &tpl, value, &with_secret, "");
            query.push((key.clone(), tpl));
        }
        let mut headers = Vec::new();
        for (key, value) in &r.headers {
            let tpl = format!("{prefix}.header.{key}");
            if notion_unfurl_sdk::reqwest::header::HeaderName::from_bytes(key.as_bytes()).is_err() {
                loader.at(
                    value,
                    format!("header name {key:?} is not a valid HTTP header name"),
                );
            }
            add_template(loader, &mut templates, &tpl, value, &with_secret, "");
            headers.push((key.clone(), tpl));
        }
        for raw in &r.raw {
            if !captures.contains(raw.get_ref()) {
                loader.at(
                    raw,
                    format!(
                        "raw {:?} is not a capture of every pattern; captures: {}",
                        raw.get_ref(),
                        list(&captures)
                    ),
                );
            }
        }
        let timeout = match &r.timeout {
            None => DEFAULT_TIMEOUT,
            Some(t) => match model::parse_duration(t.get_ref()) {
                Some(d) if d > Duration::ZERO && d <= Duration::from_secs(60) => d,
                _ => {
                    loader.at(
                        t,
                        format!(
                            "timeout {:?}: write a duration up to 60s, like \"5s\"",
                            t.get_ref()
                        ),
                    );
                    DEFAULT_TIMEOUT
                }
            },
        };
        let max_bytes = r.max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
        if max_bytes == 0 || max_bytes > MAX_MAX_BYTES {
            loader.at(
                &r.name,
                format!("max_bytes {max_bytes}: allow 1 to {MAX_MAX_BYTES} bytes"),
            );
        }
        known.insert(name.clone());
        if let Some(base) = base {
            requests.push(Request {
                name,
                base,
                path,
                query,
                headers,
                raw: r.raw.iter().map(|r| r.get_ref().clone()).collect(),
                max_bytes: max_bytes.min(MAX_MAX_BYTES),
                timeout,
                optional: r.optional,
            });
        }
    }
    let page = spec.page.as_ref().map(|p| page(loader, p));
    if page.is_some() {
        known.insert("page".into());
    }
    if spec.requests.is_empty() && page.is_none() {
        loader.at(
            &spec.attributes,
            "the file reads nothing: add a [[request]] (an API) or a [page] (the link's HTML), or both",
        );
    }

    let (scope, ttl) = cache(loader, &spec, &credentials);
    let mut rules = Vec::new();
    for (i, a) in spec.attributes.get_ref().iter().enumerate() {
        if let Some(rule) = rule(loader, &mut templates, &format!("attribute.{i}"), a, &known) {
            rules.push(rule);
        }
    }
    if !rules.iter().any(|r| r.kind == "title") {
        loader.at(
            &spec.attributes,
            "no attribute has section \"title\": Notion needs a title; add one",
        );
    }
    let placeholder_rules: Vec<Rule> = spec
        .placeholder
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            rule(
                loader,
                &mut templates,
                &format!("placeholder.{i}"),
                a,
                &captures,
            )
        })
        .collect();

    let mut patterns = patterns;
    for pattern in &mut patterns {
        let names: Vec<String> = pattern
            .regex
            .capture_names()
            .flatten()
            .map(str::to_owned)
            .collect();
        // The dashboard substitutes `$<name>`: render the placeholder with that text.
        let ctx = minijinja::Value::from_iter(names.iter().map(|n| (n.clone(), format!("$<{n}>"))));
        let mut placeholder = Vec::new();
        for r in &placeholder_rules {
            match templates.render(&r.value, &ctx).and_then(|v| r.build(&v)) {
                Ok(Some(a)) => placeholder.push(a),
                Ok(None) => {}
                Err(e) => loader.at(&spec.matches, format!("placeholder {:?}: {e}", r.id)),
            }
        }
        if placeholder.is_empty()
            && let Ok(title) =
                notion_unfurl_sdk::Attribute::title("title", "Title", spec.name.clone())
        {
            placeholder.push(title);
        }
        pattern.placeholder = placeholder;
    }

    const ERRORS: &[&str] = &[
        "not_found",
        "forbidden",
        "unauthorized",
        "rate_limited",
        "upstream",
        "timeout",
        "blocked",
        "invalid",
    ];
    let mut tests = Vec::new();
    for t in spec.tests {
        if let Some(e) = &t.error
            && !ERRORS.contains(&e.get_ref().as_str())
        {
            loader.at(
                e,
                format!(
                    "error {:?}: write one of {}",
                    e.get_ref(),
                    ERRORS.join(", ")
                ),
            );
        }
        if t.error.is_some() && t.expect.is_some() {
            loader.at(
                &t.url,
                "a test expects either attributes or an error, not both",
            );
        }
        tests.push(model::Test {
            line: line_of(loader.text, t.url.span().start),
            url: t.url.into_inner(),
            responses: t.responses,
            expect: t.expect.map(Spanned::into_inner),
            error: t.error.map(Spanned::into_inner),
        });
    }
    let match_line = line_of(loader.text, spec.matches.span().start);

    // An id is part of cache keys and logs for the life of the process: kept once.
    let id: &'static str = Box::leak(id.into_boxed_str());
    Some(Compiled {
        id,
        name: spec.name,
        dev: spec.dev,
        file: loader.file.to_owned(),
        patterns,
        templates,
        credentials: credentials?,
        requests,
        page: page.flatten(),
        scope,
        ttl,
        rules,
        match_line,
        tests,
    })
}

/// An attribute's name when the file gives none: its id, capitalised, `_` as spaces.
fn display_name(id: &str) -> String {
    let spaced = id.replace(['_', '-'], " ");
    let mut chars = spaced.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

fn list(names: &BTreeSet<String>) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// Adds a template and checks the names it reads against `known`; returns its name.
fn add_template(
    loader: &mut Loader<'_>,
    templates: &mut Templates,
    name: &str,
    source: &Spanned<String>,
    known: &BTreeSet<String>,
    condition: &str,
) -> String {
    let added = if condition.is_empty() {
        templates.add(name, source.get_ref())
    } else {
        templates.add_condition(name, source.get_ref())
    };
    match added {
        Err(e) => loader.at(source, format!("template {:?}: {e}", source.get_ref())),
        Ok(_) if loader.captures_unknown => {}
        Ok(names) => {
            for unknown in names.difference(known) {
                let hint = if unknown == "secret" {
                    "the secret may only be used in request headers and query".to_owned()
                } else {
                    format!("names here: {}", list(known))
                };
                loader.at(
                    source,
                    format!("template reads {unknown:?}, which is not defined here ({hint})"),
                );
            }
        }
    }
    name.to_owned()
}

fn patterns(
    loader: &mut Loader<'_>,
    matches: &Spanned<Vec<MatchSpec>>,
    domain: &str,
) -> Vec<Pattern> {
    if matches.get_ref().is_empty() {
        loader.at(
            matches,
            "no [[match]] rule: add one with a pattern and samples",
        );
    }
    let mut out = Vec::new();
    for m in matches.get_ref() {
        let source = m.pattern.get_ref();
        if !source.starts_with('^') || !source.ends_with('$') {
            loader.at(
                &m.pattern,
                "the pattern must be anchored: start it with ^ and end it with $",
            );
        }
        let regex = match RegexBuilder::new(source)
            .size_limit(MAX_REGEX_BYTES)
            .build()
        {
            Ok(r) => r,
            Err(e) => {
                let e = e
                    .to_string()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                loader.at(&m.pattern, format!("the pattern does not compile: {e}"));
                loader.captures_unknown = true;
                continue;
            }
        };
        if m.samples.get_ref().is_empty() {
            loader.at(
                &m.samples,
                "no sample: add at least one URL the pattern must match",
            );
        }
        let pattern = Pattern {
            domain: Some(domain.to_owned()),
            regex,
            samples: m
                .samples
                .get_ref()
                .iter()
                .map(|s| s.url.get_ref().clone())
                .collect(),
            placeholder: Vec::new(),
        };
        for sample in m.samples.get_ref() {
            let url = sample.url.get_ref();
            match pattern.captures(url) {
                None => loader.at(
                    &sample.url,
                    format!("sample {url:?} does not match the pattern"),
                ),
                Some(got) => {
                    let got: BTreeMap<String, String> = got.into_iter().collect();
                    if got != sample.captures {
                        loader.at(
                            &sample.url,
                            format!("sample {url:?} captures {got:?}, the file says {:?}: fix the pattern or the captures", sample.captures),
                        );
                    }
                }
            }
            if Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .as_deref()
                != Some(domain)
            {
                loader.at(
                    &sample.url,
                    format!("sample {url:?} is not on the domain {domain:?}"),
                );
            }
            // A spoofed host must never match: the domain as a prefix of another host.
            let spoofed = url.replacen(
                &format!("//{domain}"),
                &format!("//{domain}.evil.example"),
                1,
            );
            if spoofed != *url && pattern.regex.is_match(&spoofed) {
                loader.at(
                    &m.pattern,
                    format!("the pattern also matches {spoofed:?}: escape the dots and end the host with '/'"),
                );
            }
        }
        for reject in &m.reject {
            if pattern.regex.is_match(reject.get_ref()) {
                loader.at(
                    reject,
                    format!(
                        "reject {:?} matches the pattern: tighten it",
                        reject.get_ref()
                    ),
                );
            }
        }
        out.push(pattern);
    }
    out
}

fn credentials(
    loader: &mut Loader<'_>,
    spec: Option<&Spanned<CredentialsSpec>>,
    name: &str,
    env: &dyn Environment,
    mode: Mode,
) -> Option<Credentials> {
    let Some(spec) = spec else {
        return Some(Credentials::None);
    };
    let c = spec.get_ref();
    let kind = c.kind.get_ref().as_str();
    if kind != "secret" && c.env.is_some() {
        loader.at(&c.kind, "`env` goes with kind = \"secret\" only");
    }
    if kind != "account" && c.service.is_some() {
        loader.at(&c.kind, "`service` goes with kind = \"account\" only");
    }
    match kind {
        "none" => Some(Credentials::None),
        "secret" => {
            let Some(var) = &c.env else {
                loader.at(
                    &c.kind,
                    "kind = \"secret\" needs env = \"NAME_OF_THE_VARIABLE\"",
                );
                return None;
            };
            match env.var(var.get_ref()) {
                Some(value) => Some(Credentials::Secret(Secret::new(value))),
                None if mode == Mode::Playback => {
                    Some(Credentials::Secret(Secret::new("recorded-secret")))
                }
                None => {
                    loader.at(
                        var,
                        format!(
                            "environment variable {} is not set: set it to {name}'s API token",
                            var.get_ref()
                        ),
                    );
                    None
                }
            }
        }
        "account" => {
            let Some(service) = &c.service else {
                loader.at(
                    &c.kind,
                    "kind = \"account\" needs service = \"github\" (the service the account links)",
                );
                return None;
            };
            let service = service.get_ref().clone();
            let display = match service.as_str() {
                "github" => "GitHub".to_owned(),
                "gitlab" => "GitLab".to_owned(),
                other => other.to_owned(),
            };
            Some(Credentials::Account { service, display })
        }
        other => {
            loader.at(
                &c.kind,
                format!("credentials kind {other:?}: write \"none\", \"secret\" or \"account\""),
            );
            None
        }
    }
}

fn page(loader: &mut Loader<'_>, spec: &Spanned<crate::spec::PageSpec>) -> Option<Page> {
    let mut fields = Vec::new();
    for (name, selector) in &spec.get_ref().fields {
        let (css, attr) = match selector.get_ref().rsplit_once('@') {
            Some((css, attr)) if !attr.contains([' ', ']', '"', '\'']) => {
                (css, Some(attr.to_owned()))
            }
            _ => (selector.get_ref().as_str(), None),
        };
        match scraper::Selector::parse(css) {
            Ok(s) => fields.push((name.clone(), s, attr)),
            Err(e) => loader.at(selector, format!("selector {css:?} does not parse: {e}")),
        }
    }
    let max_bytes = spec.get_ref().max_bytes.unwrap_or(512 * 1024);
    if max_bytes == 0 || max_bytes > MAX_MAX_BYTES {
        loader.at(
            spec,
            format!("max_bytes {max_bytes}: allow 1 to {MAX_MAX_BYTES} bytes"),
        );
    }
    Some(Page {
        fields,
        max_bytes: max_bytes.min(MAX_MAX_BYTES),
    })
}

fn cache(
    loader: &mut Loader<'_>,
    spec: &Spec,
    credentials: &Option<Credentials>,
) -> (CacheScope, Duration) {
    let per_account = matches!(credentials, Some(Credentials::Account { .. }));
    let mut scope = if per_account {
        CacheScope::Account
    } else {
        CacheScope::Public
    };
    let mut ttl = notion_unfurl_sdk::Preview::DEFAULT_TTL;
    if let Some(c) = &spec.cache {
        if let Some(s) = &c.scope {
            match s.get_ref().as_str() {
                "account" => scope = CacheScope::Account,
                "public" if per_account => loader.at(
                    s,
                    "scope \"public\" with account credentials would share one account's preview with every account: remove it (per account is forced)",
                ),
                "public" => scope = CacheScope::Public,
                other => loader.at(s, format!("scope {other:?}: write \"public\" or \"account\"")),
            }
        }
        if let Some(t) = &c.ttl {
            match model::parse_duration(t.get_ref()) {
                Some(d) if d >= Duration::from_secs(1) && d <= Duration::from_secs(7 * 86_400) => {
                    ttl = d
                }
                _ => loader.at(
                    t,
                    format!(
                        "ttl {:?}: write a duration from 1s to 7d, like \"10m\"",
                        t.get_ref()
                    ),
                ),
            }
        }
    }
    (scope, ttl)
}

fn rule(
    loader: &mut Loader<'_>,
    templates: &mut Templates,
    prefix: &str,
    a: &AttributeSpec,
    known: &BTreeSet<String>,
) -> Option<Rule> {
    let section = a.section.get_ref().as_str();
    let default_kind = if section == "title" {
        "title"
    } else {
        "plain_text"
    };
    let kind_text = a
        .kind
        .as_ref()
        .map_or(default_kind, |k| k.get_ref().as_str());
    let Some((kind, sections)) = model::KINDS.iter().find(|(k, _)| *k == kind_text) else {
        let all: Vec<&str> = model::KINDS.iter().map(|(k, _)| *k).collect();
        let at = a.kind.as_ref().map_or(&a.section, |k| k);
        loader.at(
            at,
            format!(
                "type {kind_text:?} is not one of Notion's: {}",
                all.join(", ")
            ),
        );
        return None;
    };
    let Some(section) = sections.iter().find(|s| **s == section) else {
        loader.at(
            &a.section,
            format!(
                "section {section:?} does not take {kind:?}; {kind:?} goes in: {}",
                sections.join(", ")
            ),
        );
        return None;
    };
    if a.id.get_ref().is_empty() || a.id.get_ref() == "dev" {
        loader.at(
            &a.id,
            "attribute id must be set, and not \"dev\" (the server adds it)",
        );
    }
    let value = add_template(
        loader,
        templates,
        &format!("{prefix}.value"),
        &a.value,
        known,
        "",
    );
    let when = a.when.as_ref().map(|w| {
        add_template(
            loader,
            templates,
            &format!("{prefix}.when"),
            w,
            known,
            "when",
        )
    });
    let mut colors = BTreeMap::new();
    for (value, color) in &a.colors {
        match model::parse_color(color.get_ref()) {
            Some(c) => {
                colors.insert(value.clone(), c);
            }
            None => loader.at(
                color,
                format!("colour {:?}: write \"#rrggbb\"", color.get_ref()),
            ),
        }
    }
    if !a.colors.is_empty() && *kind != "enum" {
        loader.at(&a.section, "colors apply to type \"enum\" only");
    }
    let color = a.color.as_ref().and_then(|c| {
        let parsed = model::parse_color(c.get_ref());
        if parsed.is_none() {
            loader.at(c, format!("colour {:?}: write \"#rrggbb\"", c.get_ref()));
        }
        parsed
    });
    Some(Rule {
        id: a.id.get_ref().clone(),
        name: a
            .name
            .clone()
            .unwrap_or_else(|| display_name(a.id.get_ref())),
        kind,
        section,
        value,
        when,
        colors,
        color,
        max_length: a.max_length,
    })
}
