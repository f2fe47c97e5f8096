//! Typed settings, read from `UNFURL_*` environment variables over an optional TOML file
//! ([`file`]: `--config FILE` or `UNFURL_CONFIG`).
//!
//! Every variable is documented once here, next to its field, and in the README table.
//! A bad value stops start-up with one line naming the variable (or the file and its key)
//! and the problem; half-configured pieces are warned about ([`report`]).

mod file;
mod parse;
mod report;
mod variables;

pub use file::{CONFIG_VARIABLE, Gathered, gather};
pub use report::{MetricsExposure, Overview, Pair, redact_database_url, shown_value};
pub use variables::{ConfigError, FALLBACK_DATABASE_VARIABLE, VARIABLES};

use parse::{Vars, database_url, get, parse_listen, parse_number, parse_url, plain, secret, token};
use variables::problem;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use notion_unfurl_sdk::{FetchPolicy, Secret};
use url::Url;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// `UNFURL_LISTEN`: address to bind, an IP address or a host name (resolved at start,
    /// IPv4 preferred) and a port. Default `127.0.0.1:8080`; port 0 picks a free one.
    pub listen: SocketAddr,
    /// `UNFURL_PUBLIC_URL`: the URL Notion reaches us at (token issuer and audience).
    /// Default `http://<UNFURL_LISTEN>`, as written (warned about unless on loopback).
    pub public_url: Url,
    /// Whether `UNFURL_PUBLIC_URL` was set, rather than derived from `UNFURL_LISTEN`.
    pub public_url_set: bool,
    /// `UNFURL_DATA_DIR`: where the generated secret (and the SQLite file) live. Default `data`.
    pub data_dir: PathBuf,
    /// `UNFURL_DATABASE_URL`: `sqlite://…` or `postgres://…`; when unset, `DATABASE_URL`
    /// (what `fly postgres attach` sets). Default `sqlite://<UNFURL_DATA_DIR>/notion-unfurl.db`.
    pub database_url: String,
    /// `UNFURL_SECRET_KEY`: at least 32 bytes; signs access tokens. Generated into
    /// `<UNFURL_DATA_DIR>/secret.key` (with a warning) when absent.
    pub secret_key: Option<Secret>,
    /// `UNFURL_SECRET_KEY_ID`: 1–255, stored beside every token encrypted with the current
    /// secret (default 1). Raise it when rotating `UNFURL_SECRET_KEY`.
    pub secret_key_id: u8,
    /// `UNFURL_PREVIOUS_SECRET_KEYS`: `id:secret` pairs, comma-separated: earlier secrets
    /// that still decrypt tokens stored under their id. Access tokens signed with an old
    /// secret stop working (they live an hour); stored Notion and GitHub tokens do not.
    pub previous_secret_keys: Vec<(u8, Secret)>,
    /// `UNFURL_OAUTH_CLIENT_ID` / `UNFURL_OAUTH_CLIENT_SECRET`: what Notion presents to us.
    pub oauth_client_id: Option<String>,
    pub oauth_client_secret: Option<Secret>,
    /// `UNFURL_OAUTH_REDIRECT_URIS`: comma-separated exact `redirect_uri` values Notion may
    /// send. Default: both spellings of Notion's callback.
    pub oauth_redirect_uris: Vec<String>,
    /// `UNFURL_NOTION_CLIENT_ID` / `UNFURL_NOTION_CLIENT_SECRET`: what we present to Notion.
    pub notion_client_id: Option<String>,
    pub notion_client_secret: Option<Secret>,
    /// `UNFURL_NOTION_API_URL`: default `https://api.notion.com`.
    pub notion_api_url: Url,
    /// `UNFURL_GITHUB_CLIENT_ID` / `UNFURL_GITHUB_CLIENT_SECRET`: the GitHub OAuth app.
    pub github_client_id: Option<String>,
    pub github_client_secret: Option<Secret>,
    /// `UNFURL_GITHUB_API_URL`: default `https://api.github.com`.
    pub github_api_url: Url,
    /// `UNFURL_GITHUB_WEB_URL`: default `https://github.com`.
    pub github_web_url: Url,
    /// `UNFURL_GITHUB_TOKEN`: optional token for accounts without one (public repos only).
    pub github_token: Option<Secret>,
    /// `UNFURL_GITHUB_WEBHOOK_SECRET`: verifies `X-Hub-Signature-256`.
    pub github_webhook_secret: Option<Secret>,
    /// `UNFURL_DEVELOPER_NAME`: the `dev` attribute. Default `notion-unfurl`.
    pub developer_name: String,
    /// `UNFURL_PROVIDERS_DIR`: a directory of provider files (`*.toml`, docs/providers.md),
    /// loaded at start after the built-in GitHub provider and before OpenGraph. A bad
    /// file stops start-up. Unset by default: no declarative providers.
    pub providers_dir: Option<PathBuf>,
    /// `UNFURL_FETCH_ALLOW`: comma-separated CIDRs the guarded client may reach although
    /// they are not public. Empty by default; logged as a warning when set.
    pub fetch_allow: Vec<IpNet>,
    /// `UNFURL_FETCH_TIMEOUT_SECS`: total deadline of one page fetch, 1..=10 (default 10).
    pub fetch_timeout: Duration,
    /// `UNFURL_WEBHOOK_READ_TIMEOUT_SECS`: how long a webhook body may take to arrive, 1..=120
    /// (default 30). Bodies are read before their signature can be checked, so at most
    /// eight are read at once, two per client address; a delivery waits up to a third of
    /// this for a reading slot.
    pub webhook_read_timeout: Duration,
    /// `UNFURL_BODY_READ_TIMEOUT_SECS`: how long any other request body may take to arrive
    /// once its handler reads it, 1..=60 (default 10). The bodies are small (64 KiB at
    /// most); a sender slower than this only holds a connection.
    pub body_read_timeout: Duration,
    /// `UNFURL_MAX_CONNECTIONS`: open client connections, shared out among the workers
    /// (at least one each), 1..=1000000 (default 512). Beyond it new connections wait in
    /// the listen backlog, so descriptors stay for the database and the fetcher.
    pub max_connections: usize,
    /// `UNFURL_MAX_BODIES_PER_ADDRESS`: request bodies one client address may be sending at
    /// once, 1..=100000 (default 32); a request beyond it is answered 429 unread. The
    /// address is the one the rate limits use (`UNFURL_CLIENT_IP_HEADER`).
    pub max_bodies_per_address: usize,
    /// `UNFURL_FETCH_MAX_BYTES`: cap on a page's decoded bytes (default 2 MiB).
    pub fetch_max_bytes: usize,
    /// `UNFURL_CACHE_MAX_BYTES`: preview cache size (default 64 MiB).
    pub cache_max_bytes: u64,
    /// `UNFURL_TOKEN_TTL_SECS`: lifetime of our access tokens (default 3600).
    pub token_ttl: Duration,
    /// `UNFURL_CLIENT_IP_HEADER`: a header a trusted proxy sets to the client's address
    /// (`Fly-Client-IP` on Fly.io), used to rate-limit per client. Unset: the TCP peer.
    /// Set it only behind a proxy that overwrites it, or clients could pick their key.
    pub client_ip_header: Option<String>,
    /// `UNFURL_ADMIN_TOKEN`: the bearer token of the admin endpoints
    /// (`POST /admin/cache/purge`), at least 16 bytes. Unset, they answer only on a loopback
    /// listener and only requests that no proxy forwarded (security.md, "Operator pages").
    pub admin_token: Option<Secret>,
    /// `UNFURL_LAB_TOKEN`: the token that opens the preview lab (`GET /lab`), at least 16
    /// bytes, asked for once by a form and then kept in an HttpOnly cookie holding its
    /// HMAC (never the token). Unset, the lab answers only on a loopback listener and only
    /// requests that no proxy forwarded (security.md, "Operator pages").
    pub lab_token: Option<Secret>,
    /// `UNFURL_WORKERS`: HTTP worker threads (default: one per core).
    pub workers: Option<usize>,
    /// `UNFURL_LOG_FORMAT`: `text` (default) or `json`. Levels: `RUST_LOG` (default `info`).
    pub log_format: LogFormat,
    /// `UNFURL_METRICS_LISTEN`: an IP address and port for a listener of its own serving
    /// `GET /metrics` only; the public listener then has no `/metrics`. Unset by default.
    pub metrics_listen: Option<SocketAddr>,
    /// `UNFURL_METRICS_TOKEN`: when set, `/metrics` (wherever it is served) answers only a
    /// request with `Authorization: Bearer <token>`; at least 16 bytes. Unset by default:
    /// see [`Settings::metrics_exposure`] for where metrics go then.
    pub metrics_token: Option<Secret>,

    // Live updates: the outbox worker (crate::live::outbox).
    /// `UNFURL_OUTBOX_POLL_MS`: how often the update outbox is checked for due updates
    /// (default 5000). An accepted webhook wakes this instance's worker at once; polling
    /// finds retries and work queued by other instances.
    pub outbox_poll: Duration,
    /// `UNFURL_OUTBOX_LEASE_MS`: how long a claimed update is held before another worker may
    /// take it over (default 120000). Must exceed one delivery (an unfurl plus a Notion call).
    /// A server restarted after a crash releases its own leases at once (see
    /// `crate::platform::data_dir::Instance`).
    pub outbox_lease: Duration,
    /// `UNFURL_OUTBOX_BACKOFF_MS`: first retry delay after Notion is unavailable; doubled per
    /// attempt up to one hour, with ±20% jitter (default 2000).
    pub outbox_backoff: Duration,
}

/// Notion's OAuth callback, as its documentation spells it, with and without `www.`.
pub const DEFAULT_REDIRECT_URIS: [&str; 2] = [
    "https://www.notion.so/externalIntegrationAuthCallback",
    "https://notion.so/externalIntegrationAuthCallback",
];

/// The smallest secret we accept: 256 bits of key material (RFC 8725 for HS256).
pub const MIN_SECRET_BYTES: usize = 32;

/// The shortest metrics token accepted: the endpoint has no rate limit, so the token alone
/// must resist guessing.
pub const MIN_METRICS_TOKEN_BYTES: usize = 16;

/// The shortest lab token accepted, for the same reason as the admin token's.
pub const MIN_LAB_TOKEN_BYTES: usize = 16;

/// The shortest admin token accepted: it is compared, not derived from, so 16 random
/// bytes' worth of text is plenty, and a word someone typed is refused.
pub const MIN_ADMIN_TOKEN_BYTES: usize = 16;

impl Settings {
    /// Settings from the process environment over the file `UNFURL_CONFIG` names, if any.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_gathered(&gather(None, std::env::vars())?)
    }

    /// Settings from what [`gather`] collected; a bad value read from the settings file is
    /// reported under the file's path and key, which is what the operator has to edit.
    pub fn from_gathered(gathered: &Gathered) -> Result<Self, ConfigError> {
        Self::from_vars(gathered.vars.clone()).map_err(|e| gathered.attribute(e))
    }

    /// Settings from explicit variables (tests use this; unset means default).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars: Vars = vars
            .into_iter()
            .filter(|(k, _)| k.starts_with("UNFURL_") || k == FALLBACK_DATABASE_VARIABLE)
            .collect();

        let (listen, listen_shown) =
            parse_listen(get(&vars, "UNFURL_LISTEN").unwrap_or("127.0.0.1:8080"))?;
        let public_url_set = get(&vars, "UNFURL_PUBLIC_URL").is_some();
        let public_url = parse_url(
            &vars,
            "UNFURL_PUBLIC_URL",
            &format!("http://{listen_shown}"),
        )?;
        let data_dir = PathBuf::from(get(&vars, "UNFURL_DATA_DIR").unwrap_or("data"));
        let database_url = database_url(&vars, &data_dir)?;
        let secret_key = secret(&vars, "UNFURL_SECRET_KEY");
        if let Some(key) = &secret_key
            && key.expose().len() < MIN_SECRET_BYTES
        {
            return Err(problem(
                "UNFURL_SECRET_KEY",
                format!("must be at least {MIN_SECRET_BYTES} bytes (e.g. `openssl rand -hex 32`)"),
            ));
        }
        let secret_key_id = parse_number(&vars, "UNFURL_SECRET_KEY_ID", 1u8, 1..=255)?;
        let previous_secret_keys = match get(&vars, "UNFURL_PREVIOUS_SECRET_KEYS") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|pair| {
                    let bad = || {
                        problem(
                            "UNFURL_PREVIOUS_SECRET_KEYS",
                            format!(
                                "expected id:secret pairs (id 1-255, secret of at least {MIN_SECRET_BYTES} bytes)"
                            ),
                        )
                    };
                    let (id, secret) = pair.split_once(':').ok_or_else(bad)?;
                    let id: u8 = id.trim().parse().map_err(|_| bad())?;
                    if id == 0 || id == secret_key_id || secret.len() < MIN_SECRET_BYTES {
                        return Err(bad());
                    }
                    Ok((id, Secret::new(secret)))
                })
                .collect::<Result<_, _>>()?,
        };
        let fetch_allow = match get(&vars, "UNFURL_FETCH_ALLOW") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|cidr| {
                    cidr.parse::<IpNet>()
                        .or_else(|_| cidr.parse::<std::net::IpAddr>().map(IpNet::from))
                        .map_err(|_| {
                            problem(
                                "UNFURL_FETCH_ALLOW",
                                format!("{cidr:?} is not a CIDR such as 10.0.0.0/8"),
                            )
                        })
                })
                .collect::<Result<_, _>>()?,
        };
        let log_format = match get(&vars, "UNFURL_LOG_FORMAT") {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(problem(
                    "UNFURL_LOG_FORMAT",
                    format!("expected text or json, got {other:?}"),
                ));
            }
        };
        let metrics_listen = match get(&vars, "UNFURL_METRICS_LISTEN") {
            None => None,
            Some(raw) => Some(raw.parse::<SocketAddr>().map_err(|_| {
                problem(
                    "UNFURL_METRICS_LISTEN",
                    format!("expected an IP address and port such as 127.0.0.1:9090, got {raw:?}"),
                )
            })?),
        };
        let metrics_token = token(&vars, "UNFURL_METRICS_TOKEN", MIN_METRICS_TOKEN_BYTES)?;
        let admin_token = token(&vars, "UNFURL_ADMIN_TOKEN", MIN_ADMIN_TOKEN_BYTES)?;
        let lab_token = token(&vars, "UNFURL_LAB_TOKEN", MIN_LAB_TOKEN_BYTES)?;
        let workers = match get(&vars, "UNFURL_WORKERS") {
            None => None,
            Some(_) => Some(parse_number(&vars, "UNFURL_WORKERS", 1usize, 1..=256)?),
        };

        Ok(Self {
            listen,
            public_url,
            public_url_set,
            data_dir,
            database_url,
            secret_key,
            secret_key_id,
            previous_secret_keys,
            oauth_client_id: plain(&vars, "UNFURL_OAUTH_CLIENT_ID"),
            oauth_client_secret: secret(&vars, "UNFURL_OAUTH_CLIENT_SECRET"),
            oauth_redirect_uris: match get(&vars, "UNFURL_OAUTH_REDIRECT_URIS") {
                None => DEFAULT_REDIRECT_URIS
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
                Some(list) => list
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|uri| match Url::parse(uri) {
                        Ok(url) if matches!(url.scheme(), "https" | "http") => Ok(uri.to_owned()),
                        _ => Err(problem(
                            "UNFURL_OAUTH_REDIRECT_URIS",
                            format!("{uri:?} is not an absolute http(s) URL"),
                        )),
                    })
                    .collect::<Result<_, _>>()?,
            },
            notion_client_id: plain(&vars, "UNFURL_NOTION_CLIENT_ID"),
            notion_client_secret: secret(&vars, "UNFURL_NOTION_CLIENT_SECRET"),
            notion_api_url: parse_url(&vars, "UNFURL_NOTION_API_URL", "https://api.notion.com")?,
            github_client_id: plain(&vars, "UNFURL_GITHUB_CLIENT_ID"),
            github_client_secret: secret(&vars, "UNFURL_GITHUB_CLIENT_SECRET"),
            github_api_url: parse_url(&vars, "UNFURL_GITHUB_API_URL", "https://api.github.com")?,
            github_web_url: parse_url(&vars, "UNFURL_GITHUB_WEB_URL", "https://github.com")?,
            github_token: secret(&vars, "UNFURL_GITHUB_TOKEN"),
            github_webhook_secret: secret(&vars, "UNFURL_GITHUB_WEBHOOK_SECRET"),
            developer_name: plain(&vars, "UNFURL_DEVELOPER_NAME")
                .unwrap_or_else(|| "notion-unfurl".to_owned()),
            providers_dir: plain(&vars, "UNFURL_PROVIDERS_DIR").map(PathBuf::from),
            fetch_allow,
            fetch_timeout: Duration::from_secs(parse_number(
                &vars,
                "UNFURL_FETCH_TIMEOUT_SECS",
                10u64,
                1..=10,
            )?),
            webhook_read_timeout: Duration::from_secs(parse_number(
                &vars,
                "UNFURL_WEBHOOK_READ_TIMEOUT_SECS",
                30u64,
                1..=120,
            )?),
            body_read_timeout: Duration::from_secs(parse_number(
                &vars,
                "UNFURL_BODY_READ_TIMEOUT_SECS",
                10u64,
                1..=60,
            )?),
            max_connections: parse_number(
                &vars,
                "UNFURL_MAX_CONNECTIONS",
                512usize,
                1..=1_000_000,
            )?,
            max_bodies_per_address: parse_number(
                &vars,
                "UNFURL_MAX_BODIES_PER_ADDRESS",
                32usize,
                1..=100_000,
            )?,
            fetch_max_bytes: parse_number(
                &vars,
                "UNFURL_FETCH_MAX_BYTES",
                2 * 1024 * 1024usize,
                64 * 1024..=64 * 1024 * 1024,
            )?,
            cache_max_bytes: parse_number(
                &vars,
                "UNFURL_CACHE_MAX_BYTES",
                64 * 1024 * 1024u64,
                0..=u64::MAX,
            )?,
            token_ttl: Duration::from_secs(parse_number(
                &vars,
                "UNFURL_TOKEN_TTL_SECS",
                3600u64,
                60..=86_400,
            )?),
            admin_token,
            lab_token,
            workers,
            client_ip_header: match get(&vars, "UNFURL_CLIENT_IP_HEADER") {
                None => None,
                Some(name) => Some(
                    actix_web::http::header::HeaderName::try_from(name)
                        .map_err(|_| problem("UNFURL_CLIENT_IP_HEADER", "not a header name"))?
                        .to_string(),
                ),
            },
            log_format,
            metrics_listen,
            metrics_token,

            outbox_poll: Duration::from_millis(parse_number(
                &vars,
                "UNFURL_OUTBOX_POLL_MS",
                5_000u64,
                10..=600_000,
            )?),
            outbox_lease: Duration::from_millis(parse_number(
                &vars,
                "UNFURL_OUTBOX_LEASE_MS",
                120_000u64,
                100..=3_600_000,
            )?),
            outbox_backoff: Duration::from_millis(parse_number(
                &vars,
                "UNFURL_OUTBOX_BACKOFF_MS",
                2_000u64,
                1..=600_000,
            )?),
        })
    }

    /// What these settings turn on, for the start-up line and `check-config`.
    pub fn overview(&self) -> Overview {
        Overview {
            database: redact_database_url(&self.database_url),
            public_url: self.public_url.to_string(),
            public_url_set: self.public_url_set,
            listen: self.listen,
            notion_client: Pair::of(
                self.notion_client_id.is_some(),
                self.notion_client_secret.is_some(),
            ),
            oauth_client: Pair::of(
                self.oauth_client_id.is_some(),
                self.oauth_client_secret.is_some(),
            ),
            github_sign_in: Pair::of(
                self.github_client_id.is_some(),
                self.github_client_secret.is_some(),
            ),
            webhooks: self.github_webhook_secret.is_some(),
            metrics: self.metrics_exposure(),
        }
    }

    /// Where `GET /metrics` is served ([`MetricsExposure::of`]).
    pub fn metrics_exposure(&self) -> MetricsExposure {
        MetricsExposure::of(
            self.listen,
            self.metrics_listen,
            self.metrics_token.is_some(),
        )
    }

    /// Half-configured pieces, one sentence each; logged at start, listed by `check-config`.
    pub fn warnings(&self) -> Vec<String> {
        self.overview().warnings()
    }

    /// The audience of our access tokens: the unfurl endpoint.
    pub fn token_audience(&self) -> String {
        format!("{}/unfurl", self.public_url.as_str().trim_end_matches('/'))
    }

    /// The issuer of our access tokens.
    /// The guarded client's policy; its user agent is also the one every other client of
    /// ours sends.
    pub fn fetch_policy(&self) -> FetchPolicy {
        FetchPolicy {
            allow: self.fetch_allow.clone(),
            total_timeout: self.fetch_timeout,
            max_body_bytes: self.fetch_max_bytes,
            ..FetchPolicy::default()
        }
    }

    pub fn token_issuer(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_list_names_exactly_what_settings_read() {
        let source = include_str!("mod.rs");
        let read: std::collections::BTreeSet<&str> = source
            .split('"')
            .filter(|s| s.len() > "UNFURL_".len() && s.starts_with("UNFURL_"))
            .filter(|s| s.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
            .collect();
        let listed: std::collections::BTreeSet<&str> = VARIABLES.iter().copied().collect();
        assert_eq!(read, listed);
        let readme = include_str!("../../../README.md");
        for name in VARIABLES
            .iter()
            .chain([&CONFIG_VARIABLE, &FALLBACK_DATABASE_VARIABLE])
        {
            assert!(
                readme.contains(&format!("`{name}`")),
                "{name} is not in README.md"
            );
        }
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn no_configuration_gives_the_embedded_defaults() {
        let s = Settings::from_vars(vars(&[])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.public_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(s.database_url, "sqlite://data/notion-unfurl.db");
        assert!(s.fetch_allow.is_empty());
        assert_eq!(s.fetch_timeout, Duration::from_secs(10));
        assert_eq!(s.token_audience(), "http://127.0.0.1:8080/unfurl");
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let cases = [
            ("UNFURL_LISTEN", "nowhere"),
            ("UNFURL_FETCH_ALLOW", "10.0.0.0/8, banana"),
            ("UNFURL_SECRET_KEY", "short"),
            ("UNFURL_LOG_FORMAT", "xml"),
            ("UNFURL_FETCH_TIMEOUT_SECS", "60"),
            ("UNFURL_NOTION_API_URL", "ftp://x"),
            ("UNFURL_DATABASE_URL", "mysql://x"),
            ("UNFURL_DATABASE_URL", "postgresfoo://x"),
            ("UNFURL_DATABASE_URL", "postgres://[x"),
            ("DATABASE_URL", "postgresfoo://x"),
            ("UNFURL_PREVIOUS_SECRET_KEYS", "2"),
            ("UNFURL_SECRET_KEY_ID", "0"),
            ("UNFURL_ADMIN_TOKEN", "letmein"),
            ("UNFURL_LAB_TOKEN", "letmein"),
        ];
        for (name, value) in cases {
            let err = Settings::from_vars(vars(&[(name, value)]))
                .err()
                .unwrap_or_else(|| panic!("{name}={value} was accepted"));
            assert_eq!(err.variable, name);
            assert!(err.to_string().starts_with(name), "{err}");
        }
    }

    fn problem_of(pairs: &[(&str, &str)]) -> String {
        match Settings::from_vars(vars(pairs)) {
            Ok(_) => panic!("{pairs:?} was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_number_out_of_range_says_the_range_not_that_it_is_no_number() {
        let too_big = problem_of(&[("UNFURL_SECRET_KEY_ID", "300")]);
        assert_eq!(
            too_big,
            "UNFURL_SECRET_KEY_ID: must be between 1 and 255, got 300"
        );
        let negative = problem_of(&[("UNFURL_TOKEN_TTL_SECS", "-5")]);
        assert!(negative.contains("between 60 and 86400"), "{negative}");
        let word = problem_of(&[("UNFURL_WORKERS", "many")]);
        assert!(
            word.contains("expected a whole number between 1 and 256"),
            "{word}"
        );
    }

    #[test]
    fn listen_takes_a_host_name_and_keeps_it_in_the_public_url() {
        let s = Settings::from_vars(vars(&[("UNFURL_LISTEN", "localhost:8080")]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(s.listen.ip().is_loopback(), "{}", s.listen);
        assert_eq!(s.listen.port(), 8080);
        assert_eq!(s.public_url.as_str(), "http://localhost:8080/");
        for bad in ["localhost", "127.0.0.1", "::1:8080", ":8080"] {
            let message = problem_of(&[("UNFURL_LISTEN", bad)]);
            assert!(
                message.contains("an IP address and port such as 127.0.0.1:8080"),
                "{bad}: {message}"
            );
        }
    }

    #[test]
    fn database_url_is_read_when_unfurl_database_url_is_unset() {
        let fly = "postgres://app:hunter2@db.flycast:5432/app?sslmode=disable";
        let s =
            Settings::from_vars(vars(&[("DATABASE_URL", fly)])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.database_url, fly);
        assert_eq!(
            s.overview().database,
            "postgres://app@db.flycast:5432/app?sslmode=disable"
        );
        let ours = Settings::from_vars(vars(&[
            ("DATABASE_URL", fly),
            ("UNFURL_DATABASE_URL", "sqlite://x.db"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ours.database_url, "sqlite://x.db");
        let bad = problem_of(&[("DATABASE_URL", "mysql://u:hunter2@h/d")]);
        assert!(bad.starts_with("DATABASE_URL: "), "{bad}");
        assert!(!bad.contains("hunter2"), "{bad}");
    }

    #[test]
    fn metrics_settings_are_checked_and_the_token_is_never_shown() {
        let variable = |pairs: &[(&str, &str)]| {
            Settings::from_vars(vars(pairs))
                .map(|_| ())
                .map_err(|e| e.variable)
        };
        assert_eq!(
            variable(&[("UNFURL_METRICS_TOKEN", "short")]),
            Err("UNFURL_METRICS_TOKEN")
        );
        assert_eq!(
            variable(&[("UNFURL_METRICS_LISTEN", "localhost")]),
            Err("UNFURL_METRICS_LISTEN")
        );
        let token = ("UNFURL_METRICS_TOKEN", "0123456789abcdef");
        let settings = Settings::from_vars(vars(&[token, ("UNFURL_LISTEN", "0.0.0.0:8080")]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(settings.metrics_exposure(), MetricsExposure::Token);
        assert!(!format!("{settings:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn a_public_listener_without_a_public_url_warns() {
        let exposed = Settings::from_vars(vars(&[("UNFURL_LISTEN", "0.0.0.0:8080")]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!exposed.public_url_set);
        let warnings = exposed.warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("UNFURL_PUBLIC_URL is not set while listening on 0.0.0.0:8080")
        );
        let named = Settings::from_vars(vars(&[
            ("UNFURL_LISTEN", "0.0.0.0:8080"),
            ("UNFURL_PUBLIC_URL", "https://unfurl.example.com"),
            ("UNFURL_NOTION_CLIENT_ID", "id"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        let warnings = named.warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with(
                "UNFURL_NOTION_CLIENT_ID is set but UNFURL_NOTION_CLIENT_SECRET is not"
            )
        );
    }

    #[test]
    fn fetch_allow_takes_cidrs_and_bare_addresses() {
        let s = Settings::from_vars(vars(&[("UNFURL_FETCH_ALLOW", "127.0.0.1/32, ::1")]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.fetch_allow.len(), 2);
        assert_eq!(s.fetch_allow[1].to_string(), "::1/128");
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let key = "k".repeat(40);
        let admin = "a".repeat(20);
        let lab = "l".repeat(20);
        let s = Settings::from_vars(vars(&[
            ("UNFURL_SECRET_KEY", &key),
            ("UNFURL_ADMIN_TOKEN", &admin),
            ("UNFURL_LAB_TOKEN", &lab),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        let shown = format!("{s:?}");
        assert!(!shown.contains(&key) && !shown.contains(&admin) && !shown.contains(&lab));
    }
}
