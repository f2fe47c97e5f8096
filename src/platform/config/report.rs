//! What the settings turn on, said in one line at start and in full by `check-config`:
//! which database, which public URL, which account-linking pieces are complete; and the
//! warnings for pieces set half-way, which otherwise look configured and fail only at the
//! first sign-in, long after start-up.

use std::net::SocketAddr;

use url::Url;

use super::file::is_secret;
use super::variables::FALLBACK_DATABASE_VARIABLE;

/// How much of one client id/secret pair is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pair {
    Unset,
    Complete,
    IdOnly,
    SecretOnly,
}

impl Pair {
    pub fn of(id: bool, secret: bool) -> Self {
        match (id, secret) {
            (false, false) => Self::Unset,
            (true, true) => Self::Complete,
            (true, false) => Self::IdOnly,
            (false, true) => Self::SecretOnly,
        }
    }

    pub fn is_complete(self) -> bool {
        self == Self::Complete
    }

    /// A few words for `check-config`.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Unset => "not set",
            Self::Complete => "set",
            Self::IdOnly => "client id without its secret (off)",
            Self::SecretOnly => "secret without its client id (off)",
        }
    }
}

/// What the settings turn on (`Settings::overview`).
#[derive(Debug, Clone)]
pub struct Overview {
    /// The database URL without its password.
    pub database: String,
    pub public_url: String,
    /// Whether `UNFURL_PUBLIC_URL` was set rather than derived from the listen address.
    pub public_url_set: bool,
    pub listen: SocketAddr,
    /// What we present to Notion (`UNFURL_NOTION_CLIENT_*`).
    pub notion_client: Pair,
    /// What Notion presents to us (`UNFURL_OAUTH_CLIENT_*`).
    pub oauth_client: Pair,
    /// The GitHub OAuth app (`UNFURL_GITHUB_CLIENT_*`).
    pub github_sign_in: Pair,
    /// `UNFURL_GITHUB_WEBHOOK_SECRET` is set.
    pub webhooks: bool,
    /// Where `GET /metrics` is served.
    pub metrics: MetricsExposure,
}

/// Where `GET /metrics` is served (`Settings::metrics_exposure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsExposure {
    /// On `UNFURL_METRICS_LISTEN` only; behind `UNFURL_METRICS_TOKEN` too when `token`.
    Listener { address: SocketAddr, token: bool },
    /// On the public listener, behind `UNFURL_METRICS_TOKEN`.
    Token,
    /// On the public listener, open: it listens on loopback.
    Loopback,
    /// Nowhere: the public listener is not on loopback and neither setting is given.
    Off,
}

impl MetricsExposure {
    /// Where metrics go for a public listener on `listen`, the metrics listener if any, and
    /// whether a token is set. Metrics tell a reader what the server does (traffic,
    /// providers, failures), so they are served only where the operator said so: on their
    /// own listener, behind a token, or on a public listener bound to loopback (reachable
    /// from this machine alone, as in development). Anything else serves them nowhere.
    pub fn of(listen: SocketAddr, metrics_listen: Option<SocketAddr>, token: bool) -> Self {
        match metrics_listen {
            Some(address) => Self::Listener { address, token },
            None if token => Self::Token,
            None if listen.ip().is_loopback() => Self::Loopback,
            None => Self::Off,
        }
    }

    /// One sentence for the start-up log and `check-config`.
    pub fn describe(self) -> String {
        match self {
            Self::Listener { address, token } => format!(
                "on {address} only (UNFURL_METRICS_LISTEN){}",
                if token {
                    ", with UNFURL_METRICS_TOKEN"
                } else {
                    ""
                }
            ),
            Self::Token => "on the public listener, with UNFURL_METRICS_TOKEN".to_owned(),
            Self::Loopback => "on the public listener, open: it listens on loopback".to_owned(),
            Self::Off => "not served: the public listener is not on loopback; set \
                          UNFURL_METRICS_LISTEN or UNFURL_METRICS_TOKEN"
                .to_owned(),
        }
    }
}

impl Overview {
    /// One sentence per half-configured piece, naming the variables and what fails.
    pub fn warnings(&self) -> Vec<String> {
        let pairs = [
            (
                self.notion_client,
                "UNFURL_NOTION_CLIENT_ID",
                "UNFURL_NOTION_CLIENT_SECRET",
                "Notion's codes cannot be traded for tokens, so linking an account fails",
            ),
            (
                self.oauth_client,
                "UNFURL_OAUTH_CLIENT_ID",
                "UNFURL_OAUTH_CLIENT_SECRET",
                "Notion cannot authenticate at /oauth/token, so linking an account fails",
            ),
            (
                self.github_sign_in,
                "UNFURL_GITHUB_CLIENT_ID",
                "UNFURL_GITHUB_CLIENT_SECRET",
                "GitHub sign-in is off and linked accounts get no GitHub access",
            ),
        ];
        let mut warnings = Vec::new();
        for (pair, id, secret, consequence) in pairs {
            let (set, unset) = match pair {
                Pair::IdOnly => (id, secret),
                Pair::SecretOnly => (secret, id),
                Pair::Unset | Pair::Complete => continue,
            };
            warnings.push(format!("{set} is set but {unset} is not: {consequence}"));
        }
        if !self.public_url_set && !self.listen.ip().is_loopback() {
            warnings.push(format!(
                "UNFURL_PUBLIC_URL is not set while listening on {}: Notion would be given {} \
                 (see `notion-config`) and tokens would name it; set UNFURL_PUBLIC_URL to the \
                 https address Notion reaches",
                self.listen, self.public_url
            ));
        }
        warnings
    }
}

/// `url` fit to print: an SQLite path as it is; a PostgreSQL URL without its password
/// (in the user part or a `password=` parameter).
pub fn redact_database_url(raw: &str) -> String {
    if raw.starts_with("sqlite:") {
        return raw.to_owned();
    }
    let Ok(mut url) = Url::parse(raw) else {
        // An unparsable URL may still hold a password somewhere: show none of it.
        return "(not shown: not a URL)".to_owned();
    };
    let _ = url.set_password(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(key, _)| !key.to_ascii_lowercase().contains("password"))
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    url.to_string()
}

/// The value of variable `name` fit to print: secrets redacted, database URLs without
/// their password.
pub fn shown_value(name: &str, value: &str) -> String {
    if name == "UNFURL_DATABASE_URL" || name == FALLBACK_DATABASE_VARIABLE {
        redact_database_url(value)
    } else if is_secret(name) {
        "<redacted>".to_owned()
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_lose_their_passwords_and_nothing_else() {
        assert_eq!(
            redact_database_url("postgres://unfurl:hunter2@db.internal:5433/unfurl"),
            "postgres://unfurl@db.internal:5433/unfurl"
        );
        assert_eq!(
            redact_database_url("postgres://db/unfurl?user=u&password=hunter2&sslmode=require"),
            "postgres://db/unfurl?user=u&sslmode=require"
        );
        assert_eq!(
            redact_database_url("postgresql://db/x?password=hunter2"),
            "postgresql://db/x"
        );
        assert_eq!(
            redact_database_url("sqlite://data/notion-unfurl.db"),
            "sqlite://data/notion-unfurl.db"
        );
        assert!(!redact_database_url("postgres://u:hunter2@[bad").contains("hunter2"));
    }

    #[test]
    fn secrets_are_redacted_and_plain_values_shown() {
        for name in [
            "UNFURL_SECRET_KEY",
            "UNFURL_PREVIOUS_SECRET_KEYS",
            "UNFURL_OAUTH_CLIENT_SECRET",
            "UNFURL_NOTION_CLIENT_SECRET",
            "UNFURL_GITHUB_CLIENT_SECRET",
            "UNFURL_GITHUB_TOKEN",
            "UNFURL_GITHUB_WEBHOOK_SECRET",
            "UNFURL_ADMIN_TOKEN",
            "UNFURL_LAB_TOKEN",
            "UNFURL_METRICS_TOKEN",
        ] {
            assert_eq!(shown_value(name, "hunter2"), "<redacted>", "{name}");
        }
        assert_eq!(
            shown_value("DATABASE_URL", "postgres://u:hunter2@h/d"),
            "postgres://u@h/d"
        );
        assert_eq!(shown_value("UNFURL_LISTEN", "0.0.0.0:8080"), "0.0.0.0:8080");
    }

    fn overview() -> Overview {
        Overview {
            database: "sqlite://data/notion-unfurl.db".to_owned(),
            public_url: "http://127.0.0.1:8080/".to_owned(),
            public_url_set: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            notion_client: Pair::Unset,
            oauth_client: Pair::Complete,
            github_sign_in: Pair::Unset,
            webhooks: false,
            metrics: MetricsExposure::Loopback,
        }
    }

    #[test]
    fn half_set_pairs_are_warned_about_by_name() {
        assert!(overview().warnings().is_empty());
        let warnings = Overview {
            notion_client: Pair::IdOnly,
            github_sign_in: Pair::SecretOnly,
            ..overview()
        }
        .warnings();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].starts_with(
                "UNFURL_NOTION_CLIENT_ID is set but UNFURL_NOTION_CLIENT_SECRET is not"
            ),
            "{warnings:?}"
        );
        assert!(
            warnings[1]
                .starts_with("UNFURL_GITHUB_CLIENT_SECRET is set but UNFURL_GITHUB_CLIENT_ID"),
            "{warnings:?}"
        );
    }

    #[test]
    fn metrics_are_served_where_the_operator_said_and_openly_only_on_loopback() {
        let address = |s: &str| s.parse::<SocketAddr>().unwrap_or_else(|e| panic!("{e}"));
        let of = MetricsExposure::of;
        for loopback in ["127.0.0.1:8080", "[::1]:8080", "127.0.0.2:8080"] {
            assert_eq!(
                of(address(loopback), None, false),
                MetricsExposure::Loopback
            );
        }
        for public in ["0.0.0.0:8080", "[::]:8080", "10.0.0.5:8080"] {
            assert_eq!(of(address(public), None, false), MetricsExposure::Off);
            assert_eq!(of(address(public), None, true), MetricsExposure::Token);
        }
        let own = address("127.0.0.1:9090");
        for (listen, token) in [("127.0.0.1:8080", false), ("0.0.0.0:8080", true)] {
            assert_eq!(
                of(address(listen), Some(own), token),
                MetricsExposure::Listener {
                    address: own,
                    token
                }
            );
        }
        assert!(
            MetricsExposure::Off
                .describe()
                .contains("UNFURL_METRICS_TOKEN")
        );
    }

    #[test]
    fn a_public_listener_without_a_public_url_is_warned_about() {
        let exposed = Overview {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            public_url: "http://0.0.0.0:8080/".to_owned(),
            ..overview()
        };
        let warnings = exposed.warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("UNFURL_PUBLIC_URL is not set"));
        assert!(warnings[0].contains("http://0.0.0.0:8080/"));
        let named = Overview {
            public_url_set: true,
            ..exposed
        };
        assert!(named.warnings().is_empty());
    }
}
