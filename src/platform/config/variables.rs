//! The names of every setting, and the one-line error that names a setting and what is
//! wrong with it (shared by the environment and the settings file).

use std::fmt;
use std::path::PathBuf;

/// A setting that could not be used; its `Display` is the one line printed at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
    /// The settings file the value came from: the message then names the file and its key,
    /// which is what the operator has to edit (the variable was never set).
    pub file: Option<PathBuf>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(path) => write!(
                f,
                "{}: `{}`: {}",
                path.display(),
                file_key(self.variable),
                self.problem
            ),
            None => write!(f, "{}: {}", self.variable, self.problem),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The settings-file key of a variable: its name without `UNFURL_`, in lower case.
pub fn file_key(variable: &str) -> String {
    variable
        .strip_prefix("UNFURL_")
        .unwrap_or(variable)
        .to_ascii_lowercase()
}

/// Read when `UNFURL_DATABASE_URL` is unset (in the environment and the file): hosts set
/// this generic name when they attach a database (`fly postgres attach`, Heroku, Render),
/// and ignoring it left each machine on an SQLite file of its own without a word.
pub const FALLBACK_DATABASE_VARIABLE: &str = "DATABASE_URL";

/// Every variable [`Settings`] reads; any other `UNFURL_*` name is warned about, and a
/// settings-file key must be one of these without the prefix.
pub const VARIABLES: &[&str] = &[
    "UNFURL_ADMIN_TOKEN",
    "UNFURL_BODY_READ_TIMEOUT_SECS",
    "UNFURL_CACHE_MAX_BYTES",
    "UNFURL_CLIENT_IP_HEADER",
    "UNFURL_DATABASE_URL",
    "UNFURL_DATA_DIR",
    "UNFURL_DEVELOPER_NAME",
    "UNFURL_FETCH_ALLOW",
    "UNFURL_FETCH_MAX_BYTES",
    "UNFURL_FETCH_TIMEOUT_SECS",
    "UNFURL_GITHUB_API_URL",
    "UNFURL_GITHUB_CLIENT_ID",
    "UNFURL_GITHUB_CLIENT_SECRET",
    "UNFURL_GITHUB_TOKEN",
    "UNFURL_GITHUB_WEBHOOK_SECRET",
    "UNFURL_GITHUB_WEB_URL",
    "UNFURL_LAB_TOKEN",
    "UNFURL_LISTEN",
    "UNFURL_LOG_FORMAT",
    "UNFURL_MAX_BODIES_PER_ADDRESS",
    "UNFURL_MAX_CONNECTIONS",
    "UNFURL_METRICS_LISTEN",
    "UNFURL_METRICS_TOKEN",
    "UNFURL_NOTION_API_URL",
    "UNFURL_NOTION_CLIENT_ID",
    "UNFURL_NOTION_CLIENT_SECRET",
    "UNFURL_OAUTH_CLIENT_ID",
    "UNFURL_OAUTH_CLIENT_SECRET",
    "UNFURL_OAUTH_REDIRECT_URIS",
    "UNFURL_OUTBOX_BACKOFF_MS",
    "UNFURL_OUTBOX_LEASE_MS",
    "UNFURL_OUTBOX_POLL_MS",
    "UNFURL_PREVIOUS_SECRET_KEYS",
    "UNFURL_PROVIDERS_DIR",
    "UNFURL_PUBLIC_URL",
    "UNFURL_SECRET_KEY",
    "UNFURL_SECRET_KEY_ID",
    "UNFURL_TOKEN_TTL_SECS",
    "UNFURL_WEBHOOK_READ_TIMEOUT_SECS",
    "UNFURL_WORKERS",
];

pub(super) fn problem(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
        file: None,
    }
}
