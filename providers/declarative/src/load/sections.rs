//! The checks of each part of a provider file: match rules, credentials, the page, the
//! cache, attribute rules and their templates. Each adds its problems to the [`Loader`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use notion_unfurl_sdk::regex::RegexBuilder;
use notion_unfurl_sdk::{CacheScope, Pattern, Secret, Url};
use toml::Spanned;

use super::problem::{Environment, Loader, Mode};
use crate::model::{self, Credentials, Page, Rule};
use crate::spec::{AttributeSpec, CredentialsSpec, MatchSpec, Spec};
use crate::template::Templates;

/// Largest compiled pattern, in bytes: a pattern that compiles larger is refused.
pub const MAX_REGEX_BYTES: usize = 256 * 1024;
/// Largest cap a file may set on an upstream answer.
pub const MAX_MAX_BYTES: usize = 8 * 1024 * 1024;

/// An attribute's name when the file gives none: its id, capitalised, `_` as spaces.
pub(super) fn display_name(id: &str) -> String {
    let spaced = id.replace(['_', '-'], " ");
    let mut chars = spaced.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub(super) fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

pub(super) fn list(names: &BTreeSet<String>) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// Adds a template and checks the names it reads against `known`; returns its name.
pub(super) fn add_template(
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

pub(super) fn patterns(
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
            dashboard: None,
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

pub(super) fn credentials(
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
                            "environment variable {} is not set: set it to the API token for {name}",
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

pub(super) fn page(loader: &mut Loader<'_>, spec: &Spanned<crate::spec::PageSpec>) -> Option<Page> {
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

pub(super) fn cache(
    loader: &mut Loader<'_>,
    spec: &Spec,
    credentials: &Option<Credentials>,
) -> (CacheScope, Duration, Option<Duration>) {
    let per_account = matches!(credentials, Some(Credentials::Account { .. }));
    let mut scope = if per_account {
        CacheScope::Account
    } else {
        CacheScope::Public
    };
    let mut ttl = notion_unfurl_sdk::Preview::DEFAULT_TTL;
    let mut refresh = None;
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
        if let Some(r) = &c.refresh {
            match model::parse_duration(r.get_ref()) {
                Some(d) if d >= Duration::from_secs(30) && d <= Duration::from_secs(86_400) => {
                    refresh = Some(d);
                }
                _ => loader.at(
                    r,
                    format!(
                        "refresh {:?}: write a duration from 30s to 1d, like \"5m\"",
                        r.get_ref()
                    ),
                ),
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
    (scope, ttl, refresh)
}

pub(super) fn rule(
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

/// The `[webhook]` table: its secret from the environment, valid header names, and a
/// `links` template that reads the payload only.
pub(super) fn webhook(
    loader: &mut Loader<'_>,
    templates: &mut Templates,
    spec: &Spanned<crate::spec::WebhookSpec>,
    env: &dyn Environment,
    mode: Mode,
) -> Option<model::Webhook> {
    let w = spec.get_ref();
    for name in [&w.signature_header, &w.delivery_header] {
        if notion_unfurl_sdk::reqwest::header::HeaderName::from_bytes(name.get_ref().as_bytes())
            .is_err()
        {
            loader.at(
                name,
                format!(
                    "header name {:?} is not a valid HTTP header name",
                    name.get_ref()
                ),
            );
        }
    }
    let known = BTreeSet::from(["payload".to_owned()]);
    let links = add_template(loader, templates, "webhook.links", &w.links, &known, "");
    let secret = match env.var(w.secret_env.get_ref()) {
        Some(value) if value.len() >= 16 => Secret::new(value),
        Some(_) => {
            loader.at(
                &w.secret_env,
                format!(
                    "{} must hold at least 16 bytes (e.g. `openssl rand -hex 32`)",
                    w.secret_env.get_ref()
                ),
            );
            return None;
        }
        None if mode == Mode::Playback => Secret::new("recorded-webhook-secret"),
        None => {
            loader.at(
                &w.secret_env,
                format!(
                    "environment variable {} is not set: set it to the webhook's signing secret",
                    w.secret_env.get_ref()
                ),
            );
            return None;
        }
    };
    Some(model::Webhook {
        secret,
        signature_header: w.signature_header.get_ref().to_ascii_lowercase(),
        delivery_header: w.delivery_header.get_ref().to_ascii_lowercase(),
        links,
    })
}
