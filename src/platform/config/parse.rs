//! Reading one setting from the gathered variables: present, a URL, a number in range,
//! a listen address, the database URL, a secret or a token, each refused with one line
//! naming the variable.

use std::collections::HashMap;
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};

use notion_unfurl_sdk::Secret;
use url::Url;

use super::variables::{ConfigError, FALLBACK_DATABASE_VARIABLE, problem};

pub(super) type Vars = HashMap<String, String>;

pub(super) fn get<'a>(vars: &'a Vars, name: &'static str) -> Option<&'a str> {
    vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

pub(super) fn parse_url(
    vars: &Vars,
    name: &'static str,
    default: &str,
) -> Result<Url, ConfigError> {
    let raw = get(vars, name).unwrap_or(default);
    let url = Url::parse(raw).map_err(|e| problem(name, format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(problem(name, "must be an http or https URL"));
    }
    Ok(url)
}

pub(super) fn parse_number<T>(
    vars: &Vars,
    name: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    let Some(raw) = get(vars, name) else {
        return Ok(default);
    };
    let (low, high) = (range.start(), range.end());
    // A whole number too large or negative for the type fails to parse as well: it is out
    // of range, not "not a number".
    let value: T = raw.parse().map_err(|_| match raw.parse::<i128>() {
        Ok(_) => problem(name, format!("must be between {low} and {high}, got {raw}")),
        Err(_) => problem(
            name,
            format!("expected a whole number between {low} and {high}, got {raw:?}"),
        ),
    })?;
    if !range.contains(&value) {
        return Err(problem(
            name,
            format!("must be between {low} and {high}, got {raw}"),
        ));
    }
    Ok(value)
}

/// `UNFURL_LISTEN`: the address, and the text to derive the public URL from when a host
/// name was given (`localhost:8080` makes `http://localhost:8080`, not `http://[::1]:8080`).
pub(super) fn parse_listen(raw: &str) -> Result<(SocketAddr, String), ConfigError> {
    const NAME: &str = "UNFURL_LISTEN";
    if let Ok(address) = raw.parse::<SocketAddr>() {
        return Ok((address, address.to_string()));
    }
    let expected = || {
        problem(
            NAME,
            format!(
                "expected an IP address and port such as 127.0.0.1:8080 or [::1]:8080 \
                 (or a host name and port such as localhost:8080), got {raw:?}"
            ),
        )
    };
    let (host, port) = raw.rsplit_once(':').ok_or_else(expected)?;
    // An unbracketed IPv6 address would resolve but make no URL.
    if host.is_empty() || host.contains(':') {
        return Err(expected());
    }
    let port: u16 = port.parse().map_err(|_| expected())?;
    let addresses: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| {
            problem(
                NAME,
                format!("cannot resolve {host:?} ({e}); an IP address such as 127.0.0.1:8080 needs no lookup"),
            )
        })?
        .collect();
    let address = addresses
        .iter()
        .find(|a| a.is_ipv4())
        .or(addresses.first())
        .copied()
        .ok_or_else(|| problem(NAME, format!("{host:?} resolves to no address")))?;
    Ok((address, raw.to_owned()))
}

/// `UNFURL_DATABASE_URL`, else `DATABASE_URL`, else the SQLite file in the data directory.
/// Errors name the variable that was read and never echo the value (it may hold a password).
pub(super) fn database_url(vars: &Vars, data_dir: &std::path::Path) -> Result<String, ConfigError> {
    let (name, url) = match get(vars, "UNFURL_DATABASE_URL") {
        Some(url) => ("UNFURL_DATABASE_URL", url),
        None => match get(vars, FALLBACK_DATABASE_VARIABLE) {
            Some(url) => (FALLBACK_DATABASE_VARIABLE, url),
            None => return Ok(format!("sqlite://{}/notion-unfurl.db", data_dir.display())),
        },
    };
    // The same schemes `store::Backend::of` opens, so a URL that passes here opens there.
    if url.starts_with("sqlite:") {
        return Ok(url.to_owned());
    }
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(problem(
            name,
            "expected sqlite://PATH or postgres://USER@HOST/DATABASE",
        ));
    }
    Url::parse(url).map_err(|e| problem(name, format!("not a PostgreSQL URL ({e})")))?;
    Ok(url.to_owned())
}

pub(super) fn secret(vars: &Vars, name: &'static str) -> Option<Secret> {
    get(vars, name).map(Secret::new)
}

/// An operator's bearer token (metrics, admin, lab): compared, never derived from, so only
/// its length is checked.
pub(super) fn token(
    vars: &Vars,
    name: &'static str,
    min_bytes: usize,
) -> Result<Option<Secret>, ConfigError> {
    let token = secret(vars, name);
    if token.as_ref().is_some_and(|t| t.expose().len() < min_bytes) {
        return Err(problem(
            name,
            format!("must be at least {min_bytes} bytes (e.g. `openssl rand -hex 32`)"),
        ));
    }
    Ok(token)
}

pub(super) fn plain(vars: &Vars, name: &'static str) -> Option<String> {
    get(vars, name).map(str::to_owned)
}
