//! From a provider file to a [`Compiled`] provider, or to every problem the file has.
//!
//! Each problem names the file, the line and the fix, in one line. A directory loads whole
//! or not at all: one bad file refuses the set, so a server never starts half-configured.
//! [`sections`] checks each part of a file; [`problem`] holds what a load reports.

pub mod problem;
pub mod sections;
pub mod service;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use notion_unfurl_sdk::Url;
use toml::Spanned;

pub use problem::{Environment, Loader, Mode, Problem, ProcessEnv};
pub use sections::{MAX_MAX_BYTES, MAX_REGEX_BYTES};
use sections::{add_template, cache, credentials, is_identifier, list, page, patterns, rule};

use crate::model::{self, Compiled, Credentials, Request, Rule};
use crate::spec::{Spec, line_of};
use crate::template::Templates;

/// Default cap on an upstream answer.
pub const DEFAULT_MAX_BYTES: usize = 1024 * 1024;
/// Default whole-request time limit.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

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

/// Files in `dir` that look like provider files in another format (`.yaml`, `.yml`): one
/// problem each, so that a file written in YAML is not silently skipped.
fn other_formats(dir: &Path) -> Vec<Problem> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<Problem> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml") && p.is_file())
        .map(|file| Problem {
            message: format!(
                "provider files are TOML, and this one would be skipped: rewrite it as {}.toml \
                 (docs/providers.md, \"The format\", says why) or move it out of the directory",
                file.file_stem().unwrap_or_default().to_string_lossy()
            ),
            file,
            line: 1,
        })
        .collect();
    found.sort_by(|a, b| a.file.cmp(&b.file));
    found
}

/// Loads every provider file in `dir`; all of them, or every problem found.
pub fn load_dir(
    dir: &Path,
    env: &dyn Environment,
    mode: Mode,
) -> Result<Vec<Compiled>, Vec<Problem>> {
    let files = files_in(dir).map_err(|p| vec![p])?;
    let mut loaded = Vec::new();
    let mut problems = other_formats(dir);
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
        // Only across files that loaded: a broken file's service would be reported twice.
        problems.extend(service::resolve(&mut loaded));
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
    let credentials_line = spec
        .credentials
        .as_ref()
        .map_or(1, |c| line_of(loader.text, c.span().start));
    let service = spec
        .service
        .as_ref()
        .and_then(|s| service::service(loader, s, credentials.as_ref(), env, mode));
    let credentials = match (credentials, &service) {
        (Some(Credentials::Account { service: id, .. }), Some(declared)) => {
            Some(Credentials::Account {
                service: id,
                display: declared.name.clone(),
            })
        }
        (credentials, _) => credentials,
    };
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

    let (scope, ttl, refresh) = cache(loader, &spec, &credentials);
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
        for (name, recorded) in &t.responses {
            if let crate::spec::Recorded::Full {
                file: Some(_),
                body: Some(_),
                ..
            } = recorded.get_ref()
            {
                // Named on the test's line: spans inside nested inline tables are not reliable.
                loader.at(
                    &t.url,
                    format!(
                        "the recorded answer {name:?} has its body in a file or in `body`, not both"
                    ),
                );
            }
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
    let webhook = spec
        .webhook
        .as_ref()
        .and_then(|w| sections::webhook(loader, &mut templates, w, env, mode));

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
        credentials_line,
        requests,
        page: page.flatten(),
        scope,
        ttl,
        refresh,
        rules,
        webhook,
        match_line,
        tests,
        service,
    })
}
