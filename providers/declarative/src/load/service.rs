//! `[service]`: how accounts link the upstream service a file's `account` credentials
//! name, and the check across a directory that every such service is declared, once.

use std::collections::BTreeMap;

use notion_unfurl_sdk::{Secret, Url, trusted};
use toml::Spanned;

use super::problem::{Environment, Loader, Mode, Problem};
use crate::model::{ClientAuth, Compiled, Credentials, Service};
use crate::spec::{ServiceSpec, line_of};

/// Services linked another way: GitHub through the server's own sign-in.
const BUILT_IN: &[&str] = &["github"];

/// The `[service]` of a file whose credentials name `service` (the account kind), or
/// `None` with its problems noted.
pub(super) fn service(
    loader: &mut Loader<'_>,
    spec: &Spanned<ServiceSpec>,
    credentials: Option<&Credentials>,
    env: &dyn Environment,
    mode: Mode,
) -> Option<Service> {
    let s = spec.get_ref();
    let Some(Credentials::Account { service: id, .. }) = credentials else {
        loader.at(
            spec,
            "[service] declares how accounts link the service of `account` credentials: \
             add credentials = { kind = \"account\", service = \"…\" } or remove [service]",
        );
        return None;
    };
    if BUILT_IN.contains(&id.as_str()) {
        loader.at(
            spec,
            format!("service {id:?} is linked by the server's own sign-in: remove [service]"),
        );
        return None;
    }
    let name = s.name.get_ref().trim().to_owned();
    if name.is_empty() || name.len() > 60 {
        loader.at(
            &s.name,
            "name: write what users call the service, like \"GitLab\"",
        );
    }
    let base_text = s
        .base_env
        .as_ref()
        .and_then(|v| env.var(v.get_ref()))
        .unwrap_or_else(|| s.base.get_ref().clone());
    let base = match Url::parse(&base_text) {
        Ok(u) if is_allowed_base(&u) => Some(u),
        Ok(u) if u.scheme() == "http" => {
            loader.at(
                &s.base,
                format!(
                    "base {base_text:?} is plain http: use https (codes and tokens travel in it)"
                ),
            );
            None
        }
        _ => {
            loader.at(
                &s.base,
                format!("base {base_text:?} is not an https URL: write the service's web root, like \"https://gitlab.example.com\""),
            );
            None
        }
    };
    let mut endpoint = |path: &Spanned<String>, what: &str| {
        let base = base.as_ref()?;
        let joined = trusted::join(base, path.get_ref())
            .ok()
            .filter(|u| u.query().is_none() && u.fragment().is_none());
        if joined.is_none() {
            loader.at(
                path,
                format!(
                    "{what} {:?}: write a path under base, like \"/oauth/{}\"",
                    path.get_ref(),
                    what.trim_end_matches("_path")
                ),
            );
        }
        joined
    };
    let authorize_url = endpoint(&s.authorize_path, "authorize_path");
    let token_url = endpoint(&s.token_path, "token_path");
    let revoke_url = s
        .revoke_path
        .as_ref()
        .map(|path| endpoint(path, "revoke_path"));
    if let (Some(path), Some(base)) = (&s.revoke_path, &base)
        && base.scheme() != "https"
    {
        loader.at(
            path,
            "revoke_path needs an https base: tokens are revoked over TLS only (RFC 7009)",
        );
    }
    for scope in &s.scopes {
        if scope.is_empty() || scope.contains(char::is_whitespace) {
            loader.at(
                spec,
                format!("scope {scope:?}: one scope per string, without spaces"),
            );
        }
    }
    let client_auth = match s.client_auth.as_ref().map(|a| (a, a.get_ref().as_str())) {
        None | Some((_, "basic")) => Some(ClientAuth::Basic),
        Some((_, "post")) => Some(ClientAuth::Post),
        Some((at, other)) => {
            loader.at(
                at,
                format!(
                    "client_auth {other:?}: write \"basic\" (HTTP Basic, the default) or \"post\" \
                     (client id and secret in the form body)"
                ),
            );
            None
        }
    };
    let mut secret = |var: &Spanned<String>, what: &str| match env.var(var.get_ref()) {
        Some(value) => Some(value),
        None if mode == Mode::Playback => Some(format!("recorded-{what}")),
        None => {
            loader.at(
                var,
                format!(
                    "environment variable {} is not set: set it to the {what} of the OAuth application registered with {name}",
                    var.get_ref()
                ),
            );
            None
        }
    };
    let client_id = secret(&s.client_id_env, "client id");
    let client_secret = secret(&s.client_secret_env, "client secret");
    Some(Service {
        id: id.clone(),
        name,
        authorize_url: authorize_url?,
        token_url: token_url?,
        scopes: s.scopes.clone(),
        client_id: client_id?,
        client_secret: Secret::new(client_secret?),
        client_auth: client_auth?,
        revoke_url: match revoke_url {
            None => None,
            Some(url) => Some(url?),
        },
        file: loader.file.to_owned(),
        line: line_of(loader.text, spec.span().start),
    })
}

/// https, or http to this machine (a test double).
fn is_allowed_base(url: &Url) -> bool {
    url.host().is_some()
        && (url.scheme() == "https"
            || (url.scheme() == "http"
                && url
                    .host_str()
                    .is_some_and(|h| h == "localhost" || h.starts_with("127."))))
}

/// Across a directory: every service an `account` file names is declared by some file
/// (GitHub excepted), no two declarations of one service differ, and every file names
/// the service by its declared name. Returns the problems found.
pub(super) fn resolve(loaded: &mut [Compiled]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut declared: BTreeMap<String, Service> = BTreeMap::new();
    for compiled in loaded.iter() {
        let Some(service) = &compiled.service else {
            continue;
        };
        match declared.get(&service.id) {
            Some(first) if !same_link(first, service) => problems.push(Problem {
                file: service.file.clone(),
                line: service.line,
                message: format!(
                    "service {:?} is also declared in {}:{} with other values: declare it once",
                    service.id,
                    first.file.display(),
                    first.line
                ),
            }),
            Some(_) => {}
            None => {
                declared.insert(service.id.clone(), service.clone());
            }
        }
    }
    for compiled in loaded.iter_mut() {
        let line = compiled.credentials_line;
        let Credentials::Account { service, display } = &mut compiled.credentials else {
            continue;
        };
        if BUILT_IN.contains(&service.as_str()) {
            continue;
        }
        match declared.get(service.as_str()) {
            Some(found) => *display = found.name.clone(),
            None => problems.push(Problem {
                file: compiled.file.clone(),
                line,
                message: format!(
                    "service {service:?} is not declared: add a [service] table (its OAuth \
                     URLs and client variables) to one of the files that use it"
                ),
            }),
        }
    }
    problems
}

/// Two declarations that would link accounts the same way.
fn same_link(a: &Service, b: &Service) -> bool {
    (
        &a.name,
        &a.authorize_url,
        &a.token_url,
        &a.scopes,
        &a.client_id,
        a.client_auth,
        &a.revoke_url,
    ) == (
        &b.name,
        &b.authorize_url,
        &b.token_url,
        &b.scopes,
        &b.client_id,
        b.client_auth,
        &b.revoke_url,
    ) && a.client_secret == b.client_secret
}

/// The declared services of a loaded set, each once.
pub fn services<'a>(loaded: impl IntoIterator<Item = &'a Compiled>) -> Vec<Service> {
    let mut seen: BTreeMap<&str, &Service> = BTreeMap::new();
    for service in loaded.into_iter().filter_map(|c| c.service.as_ref()) {
        seen.entry(service.id.as_str()).or_insert(service);
    }
    seen.into_values().cloned().collect()
}
