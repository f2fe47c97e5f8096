//! The command line: `serve` (the default), `unfurl URL`, `extract --base-url URL FILE`,
//! `notion-config`, `check-config`, `token issue`, `cache purge URL`,
//! `providers check|test [DIR]`.
//!
//! Commands write their output through [`emit`], so a reader that goes away early
//! (`notion-unfurl notion-config | head -1`) ends the command quietly instead of with a
//! panic: Rust ignores SIGPIPE, and `println!` panics on the broken pipe it then gets.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::platform::config::{Gathered, Settings};
use crate::platform::crypto::keys::{KeyError, SecretFile};
use crate::startup::Application;
use crate::state::{AppState, StartError};
use crate::unfurl::body::validate_uri;
use crate::unfurl::registry::{Registry, RegistryError};

#[derive(Debug, Parser)]
#[command(
    name = "notion-unfurl",
    version,
    about = "Notion Link Preview server: OAuth, unfurl callback, pluggable providers",
    long_about = "Notion Link Preview server. Configuration comes from UNFURL_* environment variables, over an optional TOML file (see README.md)."
)]
pub struct Cli {
    /// TOML settings file (keys: the UNFURL_* names without the prefix, in lower case);
    /// environment variables override it. Default: the file UNFURL_CONFIG names, if any.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Print the exact /unfurl response body for URL, with no Notion involved.
    Unfurl {
        url: String,
        /// Unfurl on behalf of this account key.
        #[arg(long)]
        account: Option<String>,
    },
    /// Print, as JSON, what the OpenGraph extractor reads from a local HTML file served
    /// from URL (title, description, image, url, publisher, author, date, logo, lang,
    /// video, oembed, and the source of each). Offline: nothing is fetched.
    #[cfg(feature = "opengraph")]
    Extract {
        /// The address the page is taken to come from: the base for relative URLs.
        #[arg(long, value_name = "URL")]
        base_url: String,
        /// The HTML file, or `-` for standard input.
        file: std::path::PathBuf,
        /// Also print, per field, every candidate seen and why the chosen one won.
        #[arg(long)]
        explain: bool,
    },
    /// Print the settings to paste into Notion's integration dashboard.
    NotionConfig {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check the settings and the database without serving: print what is set (secrets
    /// redacted) and what it turns on. Exits 1 on a problem (the database cannot be
    /// opened…), 2 on a bad setting; warnings exit 0 unless --strict.
    CheckConfig {
        /// Exit 1 on warnings too (half-configured pieces, a generated secret…).
        #[arg(long)]
        strict: bool,
    },
    /// Access tokens for local testing.
    Token {
        #[command(subcommand)]
        action: TokenCommand,
    },
    /// The preview caches of the servers sharing this database.
    Cache {
        #[command(subcommand)]
        action: CacheCommand,
    },
    /// Provider files (docs/providers.md): check them, or run their recorded tests.
    #[cfg(feature = "declarative")]
    Providers {
        #[command(subcommand)]
        action: ProvidersCommand,
    },
}

#[cfg(feature = "declarative")]
#[derive(Debug, Subcommand)]
pub enum ProvidersCommand {
    /// Load every `*.toml` in DIR as the server would (default: UNFURL_PROVIDERS_DIR) and
    /// print each problem as `file:line: problem and fix`. Exits 1 on any problem. The
    /// environment variables the files name must be set, as for the server.
    Check { dir: Option<std::path::PathBuf> },
    /// Run every file's samples, rejects and recorded tests against the recorded answers
    /// beside it (nothing is fetched), and print the attributes each test made. Exits 1
    /// on any failure.
    Test {
        dir: Option<std::path::PathBuf>,
        /// Write each test's `expect` file from what the provider made (review the diff).
        #[arg(long)]
        write: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Drop every cached preview of URL (every account, every form of the link) on every
    /// server sharing the database, so the next unfurl reads the page again. Written to the
    /// database, which each server reads every second: no server needs to be reachable.
    /// Run it with the server's settings (its UNFURL_DATA_DIR or UNFURL_DATABASE_URL, and
    /// its secret).
    Purge {
        /// The link as pasted in Notion (its other forms are purged with it).
        url: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print one access token for ACCOUNT on stdout, signed with the server's secret.
    Issue {
        #[arg(long)]
        account: String,
        /// Generate a secret into the data directory when there is none. Without it a
        /// missing secret file is waited for a few seconds (a server may be starting) and
        /// then refused: a new secret would sign tokens the server refuses.
        #[arg(long)]
        create_secret: bool,
    },
}

/// Where the commands get their providers: [`Registry::from_settings`] for this binary; a
/// program that embeds the server passes its own (the default set plus its providers), so
/// `serve`, `unfurl`, `notion-config` and `check-config` all see the same ones.
pub type ProviderSource = fn(&Settings) -> Result<Registry, RegistryError>;

/// The whole program: parse the command line, read the settings, start logging, run the
/// command with the providers `providers` makes. `notion-unfurl` is
/// `main_with(Registry::from_settings)`; a program that embeds the server with providers
/// of its own calls it with its [`ProviderSource`] (see `examples/embed.rs`).
pub async fn main_with(providers: ProviderSource) -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    let gathered = match crate::platform::config::gather(cli.config.as_deref(), std::env::vars()) {
        Ok(gathered) => gathered,
        Err(e) => {
            eprintln!("notion-unfurl: {e}");
            return ExitCode::from(2);
        }
    };
    let settings = match Settings::from_gathered(&gathered) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("notion-unfurl: {e}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Serve => crate::platform::telemetry::init(settings.log_format),
        // Commands print their result on stdout; logs go to stderr so they can be piped.
        _ => crate::platform::telemetry::init_with_writer(settings.log_format, std::io::stderr),
    }
    run_with(command, settings, &gathered, providers).await
}

/// Run the parsed command with `settings` (made from `gathered`) and the default
/// providers; the process exits with the returned code.
pub async fn run(command: Command, settings: Settings, gathered: &Gathered) -> ExitCode {
    run_with(command, settings, gathered, Registry::from_settings).await
}

/// [`run`] with the providers `providers` makes (an embedding program's).
pub async fn run_with(
    command: Command,
    settings: Settings,
    gathered: &Gathered,
    providers: ProviderSource,
) -> ExitCode {
    // `check-config` prints the warnings in its report; `serve` logs the settings' own
    // beside its start-up line (`Application::build`).
    if !matches!(command, Command::CheckConfig { .. }) {
        for warning in &gathered.warnings {
            tracing::warn!("{warning}");
        }
    }
    if !matches!(command, Command::Serve | Command::CheckConfig { .. }) {
        for warning in settings.warnings() {
            tracing::warn!("{warning}");
        }
    }
    match command {
        Command::Serve => serve(settings, providers).await,
        Command::Unfurl { url, account } => unfurl(settings, &url, account, providers).await,
        #[cfg(feature = "opengraph")]
        Command::Extract {
            base_url,
            file,
            explain,
        } => extract(&base_url, &file, explain),
        Command::NotionConfig { json } => notion_config(&settings, json, providers),
        Command::CheckConfig { strict } => {
            check_config(&settings, gathered, strict, providers).await
        }
        Command::Token {
            action:
                TokenCommand::Issue {
                    account,
                    create_secret,
                },
        } => {
            let secret = if create_secret {
                SecretFile::CreateIfMissing
            } else {
                SecretFile::MustExist
            };
            issue_token(settings, &account, secret).await
        }
        Command::Cache {
            action: CacheCommand::Purge { url },
        } => purge_cache(settings, &url, providers).await,
        #[cfg(feature = "declarative")]
        Command::Providers { action } => provider_files(&settings, action).await,
    }
}

/// `providers check` and `providers test`.
#[cfg(feature = "declarative")]
async fn provider_files(settings: &Settings, action: ProvidersCommand) -> ExitCode {
    use notion_unfurl_declarative::{Mode, ProcessEnv, load_providers, run_tests};
    let (dir, mode) = match &action {
        ProvidersCommand::Check { dir } => (dir, Mode::Serve),
        ProvidersCommand::Test { dir, .. } => (dir, Mode::Playback),
    };
    let Some(dir) = dir.clone().or_else(|| settings.providers_dir.clone()) else {
        return fail("name a directory of provider files, or set UNFURL_PROVIDERS_DIR");
    };
    let user_agent = settings.fetch_policy().user_agent;
    let providers = match load_providers(&dir, &ProcessEnv, mode, &user_agent) {
        Ok(providers) => providers,
        Err(problems) => {
            for problem in &problems {
                eprintln!("{problem}");
            }
            return fail(format!(
                "{} problem(s) in {}",
                problems.len(),
                dir.display()
            ));
        }
    };
    let mut out = Vec::new();
    let mut failed = 0;
    match action {
        ProvidersCommand::Check { .. } => {
            for p in &providers {
                let c = p.compiled();
                out.push(format!(
                    "ok {} ({}): {} pattern(s), {} request(s), {} attribute rule(s)",
                    c.id,
                    c.file.display(),
                    c.patterns.len(),
                    c.requests.len(),
                    c.rules.len()
                ));
            }
        }
        ProvidersCommand::Test { write, .. } => {
            for o in run_tests(&providers, write).await {
                let verdict = if o.failure.is_some() { "FAIL" } else { "ok" };
                out.push(format!(
                    "{verdict} {}:{} {} ({} request(s))",
                    o.file.display(),
                    o.line,
                    o.url,
                    o.requests
                ));
                match (&o.result, &o.failure) {
                    (Ok(json), _) => out.push(format!("  {json}")),
                    (Err(error), _) => out.push(format!("  error {error}")),
                }
                if let Some(why) = &o.failure {
                    failed += 1;
                    out.push(format!("  {why}"));
                }
            }
        }
    }
    out.push(format!(
        "{} provider file(s) in {}{}",
        providers.len(),
        dir.display(),
        if failed > 0 {
            format!(", {failed} test(s) failed")
        } else {
            String::new()
        }
    ));
    let code = emit(&lines(&out));
    if failed > 0 { ExitCode::FAILURE } else { code }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("notion-unfurl: {message}");
    ExitCode::FAILURE
}

/// Write a command's whole output to stdout. A reader that has gone away (`| head -1`)
/// did not want the rest: success, quietly, as ripgrep does.
fn emit(text: &str) -> ExitCode {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(format!("could not write the output: {e}")),
    }
}

/// Lines joined for [`emit`], each ended by a newline.
fn lines(lines: &[String]) -> String {
    lines.iter().map(|line| format!("{line}\n")).collect()
}

async fn serve(settings: Settings, providers: ProviderSource) -> ExitCode {
    let registry = match providers(&settings) {
        Ok(registry) => registry,
        Err(e) => return fail(e),
    };
    let app = match Application::build_with(settings, registry).await {
        Ok(app) => app,
        Err(e) => return fail(e),
    };
    match app.run_until_signal().await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

async fn unfurl(
    settings: Settings,
    raw: &str,
    account: Option<String>,
    providers: ProviderSource,
) -> ExitCode {
    let url = match validate_uri(raw) {
        Ok(url) => url,
        Err(e) => return fail(format!("{raw:?}: {e}")),
    };
    let registry = match providers(&settings) {
        Ok(registry) => registry,
        Err(e) => return fail(e),
    };
    let state = match AppState::from_settings(settings, registry).await {
        Ok(state) => state,
        Err(e) => return fail(e),
    };
    let requester = match account {
        None => None,
        Some(key) => match state.connections.requester(&key).await {
            Ok(Some(requester)) => Some(requester),
            // An account never stored unfurls without credentials, as it always has.
            Ok(None) => Some(crate::unfurl::Requester::new(
                notion_unfurl_sdk::Account::new(key, None),
            )),
            Err(e) => return fail(e),
        },
    };
    let entry = state.unfurler.unfurl(raw, &url, requester.as_ref()).await;
    let written = emit(&format!("{}\n", String::from_utf8_lossy(&entry.body)));
    // The body is printed either way (it is what Notion would get); the exit status says
    // whether it is a preview, so scripts need not read the JSON.
    match entry.outcome {
        crate::unfurl::entry::Outcome::Failed { status } => fail(format!(
            "no preview: the answer is an error operation (status {status})"
        )),
        crate::unfurl::entry::Outcome::Preview { .. } => written,
    }
}

/// `extract`: the OpenGraph extractor's report on a local file.
#[cfg(feature = "opengraph")]
fn extract(base_url: &str, file: &std::path::Path, explain: bool) -> ExitCode {
    use std::io::Read;
    let url = match notion_unfurl_sdk::Url::parse(base_url) {
        Ok(url) => url,
        Err(e) => return fail(format!("--base-url {base_url:?}: {e}")),
    };
    let mut html = Vec::new();
    let read = if file.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut html).map(drop)
    } else {
        std::fs::read(file).map(|bytes| html = bytes)
    };
    if let Err(e) = read {
        return fail(format!("{}: {e}", file.display()));
    }
    let options = notion_unfurl_opengraph::report::ReportOptions { explain };
    let report = notion_unfurl_opengraph::report::report(&html, None, &url, options);
    let text = if explain {
        serde_json::to_string_pretty(&report)
    } else {
        serde_json::to_string(&report)
    };
    match text {
        Ok(text) => emit(&format!("{text}\n")),
        Err(e) => fail(e),
    }
}

/// Why a local token could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum LocalTokenError {
    #[error("the account key must not be empty")]
    EmptyAccount,
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Token(#[from] crate::oauth::tokens::TokenError),
}

/// An access token for `account_key` without Notion: the account is created when missing
/// and its first active connection is used (a Notion-less one is made when it has none).
pub async fn local_token(state: &AppState, account_key: &str) -> Result<String, LocalTokenError> {
    let account_key = account_key.trim();
    if account_key.is_empty() {
        return Err(LocalTokenError::EmptyAccount);
    }
    let store = state.connections.store();
    if store.account(account_key).await?.is_none() {
        store.upsert_account(account_key, account_key, None).await?;
    }
    let existing = store
        .connections_for_account(account_key)
        .await?
        .into_iter()
        .find(|c| !c.is_revoked());
    let connection = match existing {
        Some(connection) => connection,
        None => {
            store
                .create_connection(crate::store::NewConnection {
                    account_key: account_key.to_owned(),
                    bot_id: "local".to_owned(),
                    workspace_id: "local".to_owned(),
                    workspace_name: Some("Local testing".to_owned()),
                    workspace_icon: None,
                    notion_token: None,
                })
                .await?
        }
    };
    Ok(state.tokens.issue(&connection.id)?)
}

async fn issue_token(settings: Settings, account: &str, secret: SecretFile) -> ExitCode {
    let state = match AppState::from_settings_with(settings, Registry::default(), secret).await {
        Ok(state) => state,
        Err(StartError::Keys(KeyError::Missing { path })) => {
            return fail(format!(
                "no secret at {path}: token issue signs with the server's secret and does not \
                 make a new one; run it where the server runs (or with the server's \
                 UNFURL_DATA_DIR or UNFURL_SECRET_KEY), or pass --create-secret"
            ));
        }
        Err(e) => return fail(e),
    };
    match local_token(&state, account).await {
        Ok(token) => emit(&format!("{token}\n")),
        Err(e) => fail(e),
    }
}

/// `cache purge`: recorded in the server's database, not sent to a server (see
/// [`crate::live::purge`]), so it reaches every instance and needs none running. The
/// server's secret must be found, as for `token issue`: without it this is not the server's
/// data directory, and a purge recorded in a new database would reach nobody.
async fn purge_cache(settings: Settings, raw: &str, providers: ProviderSource) -> ExitCode {
    let registry = match providers(&settings) {
        Ok(registry) => registry,
        Err(e) => return fail(e),
    };
    let state = match AppState::from_settings_with(settings, registry, SecretFile::MustExist).await
    {
        Ok(state) => state,
        Err(StartError::Keys(KeyError::Missing { path })) => {
            return fail(format!(
                "no secret at {path}: cache purge writes to the server's database, and \
                     this is not the server's data directory; run it where the server runs \
                     (or with the server's UNFURL_DATA_DIR, or its UNFURL_DATABASE_URL and \
                     UNFURL_SECRET_KEY)"
            ));
        }
        Err(e) => return fail(e),
    };
    match crate::live::purge::purge(&state.store, &state.unfurler, raw).await {
        Ok(purged) => {
            let mut out = vec!["Purged the cached previews of:".to_owned()];
            out.extend(purged.links.iter().map(|link| format!("  {link}")));
            out.push(
                "Every server using this database drops them within about a second.".to_owned(),
            );
            emit(&lines(&out))
        }
        Err(e) => fail(e),
    }
}

/// The dashboard settings as JSON ([`crate::unfurl::dashboard`]) for the default providers.
pub fn notion_config_json(
    settings: &Settings,
) -> Result<serde_json::Value, crate::unfurl::registry::RegistryError> {
    notion_config_json_with(settings, Registry::from_settings)
}

/// [`notion_config_json`] for the providers `providers` makes.
pub fn notion_config_json_with(
    settings: &Settings,
    providers: ProviderSource,
) -> Result<serde_json::Value, crate::unfurl::registry::RegistryError> {
    Ok(crate::unfurl::dashboard::settings(
        settings,
        &providers(settings)?,
    ))
}

fn notion_config(settings: &Settings, as_json: bool, providers: ProviderSource) -> ExitCode {
    let config = match notion_config_json_with(settings, providers) {
        Ok(config) => config,
        Err(e) => return fail(e),
    };
    if as_json {
        return emit(&format!("{config:#}\n"));
    }
    let field = |key: &str| config[key].as_str().unwrap_or_default().to_owned();
    let mut out = vec![
        format!(
            "OAuth Authorize URL:         {}",
            field("oauth_authorize_url")
        ),
        format!("OAuth Token URL:             {}", field("oauth_token_url")),
        format!(
            "Deleted Token Callback URL:  {}",
            field("deleted_token_callback_url")
        ),
        format!(
            "Unfurl Callback URL:         {}",
            field("unfurl_callback_url")
        ),
    ];
    for service in config["services"].as_array().into_iter().flatten() {
        out.push(String::new());
        out.push(format!(
            "Service: {} ({}), linked by users after consent",
            service["name"].as_str().unwrap_or_default(),
            service["service"].as_str().unwrap_or_default()
        ));
        out.push(format!(
            "  Redirect URI to register with it: {}",
            service["redirect_uri"].as_str().unwrap_or_default()
        ));
    }
    for pattern in config["patterns"].as_array().into_iter().flatten() {
        out.push(String::new());
        out.push(format!(
            "Provider: {}",
            pattern["provider"].as_str().unwrap_or_default()
        ));
        out.push(match pattern["domain"].as_str() {
            Some(domain) => format!("  Unfurl URL Domain:   {domain}"),
            None => "  Unfurl URL Domain:   any domain you have verified (this provider previews every http/https page)".to_owned(),
        });
        out.push(format!(
            "  URL matching pattern: {}",
            pattern["pattern"].as_str().unwrap_or_default()
        ));
        for sample in pattern["samples"].as_array().into_iter().flatten() {
            out.push(format!(
                "  Sample URL:           {}",
                sample.as_str().unwrap_or_default()
            ));
        }
        out.push(format!(
            "  Placeholder attributes: {}",
            pattern["placeholder"]
        ));
    }
    emit(&lines(&out))
}

/// `check-config`: what `serve` would use, checked without serving and without changing
/// the database's schema (see [`crate::store::inspect`]). A problem exits 1; warnings exit
/// 0 unless `strict`. Bad settings never get here: loading them exits 2 first.
async fn check_config(
    settings: &Settings,
    gathered: &Gathered,
    strict: bool,
    providers: ProviderSource,
) -> ExitCode {
    use crate::platform::config::{FALLBACK_DATABASE_VARIABLE, VARIABLES, shown_value};

    let mut out = vec![match &gathered.file {
        Some(file) => format!("Settings (the environment over {}):", file.display()),
        None => "Settings (the environment):".to_owned(),
    }];
    let mut set: Vec<(&String, &String)> = gathered.vars.iter().collect();
    set.sort();
    if set.is_empty() {
        out.push("  none: every setting has its default".to_owned());
    }
    let width = set.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, value) in set {
        let known = VARIABLES.contains(&name.as_str()) || name == FALLBACK_DATABASE_VARIABLE;
        // An unknown name (a typo of a secret's, a test suite's URL) may hold anything.
        let shown = if known {
            shown_value(name, value)
        } else {
            "(not a setting: not shown)".to_owned()
        };
        let origin = match &gathered.file {
            Some(file) if gathered.from_file.contains(name) => file.display().to_string(),
            _ => "environment".to_owned(),
        };
        out.push(format!("  {name:width$}  {shown}  ({origin})"));
    }

    let mut problems = Vec::new();
    let mut warnings = gathered.warnings.clone();
    warnings.extend(settings.warnings());
    let overview = settings.overview();
    let providers = match providers(settings) {
        Ok(registry) => registry
            .providers()
            .iter()
            .map(|p| p.id().to_owned())
            .collect::<Vec<_>>()
            .join(", "),
        Err(e) => {
            problems.push(e.to_string());
            "(none: see the problems)".to_owned()
        }
    };
    if let Err(e) = notion_unfurl_sdk::GuardedClient::new(settings.fetch_policy()) {
        problems.push(format!("could not build the fetch client: {e}"));
    }
    let user_agent = settings.fetch_policy().user_agent;
    if let Err(e) = crate::clients::notion::NotionClient::new(
        settings.notion_api_url.clone(),
        None,
        &user_agent,
    ) {
        problems.push(format!("could not build the Notion client: {e}"));
    }
    if let Err(e) = crate::clients::github::GitHubLogin::from_settings(settings, &user_agent) {
        problems.push(format!("could not set up GitHub sign-in: {e}"));
    }
    let secret = if settings.secret_key.is_some() {
        "UNFURL_SECRET_KEY".to_owned()
    } else {
        let path = settings.data_dir.join("secret.key");
        let state = if path.is_file() {
            "generated earlier"
        } else {
            "`serve` generates it"
        };
        warnings.push(format!(
            "UNFURL_SECRET_KEY is not set: {} is used ({state}); set UNFURL_SECRET_KEY in production",
            path.display()
        ));
        format!("{} ({state})", path.display())
    };
    let public_url = if overview.public_url_set {
        overview.public_url.clone()
    } else {
        format!("{} (derived from UNFURL_LISTEN)", overview.public_url)
    };
    let database = match crate::store::inspect(&settings.database_url).await {
        Ok(found) => {
            if found.unknown > 0 {
                warnings.push(format!(
                    "the database has {} migration(s) this version does not know: a newer version ran against it",
                    found.unknown
                ));
            }
            match found.pending {
                0 => format!(
                    "connected; schema up to date ({} migrations)",
                    found.applied
                ),
                pending => format!(
                    "connected; {pending} migration(s) pending, which `serve` applies at start (check-config applies none)"
                ),
            }
        }
        Err(e) => {
            problems.push(format!("could not open the database: {e}"));
            "not reachable: see the problems".to_owned()
        }
    };
    out.extend([
        String::new(),
        format!("Listening on:      {}", settings.listen),
        format!("Public URL:        {public_url}"),
        format!("Database:          {}", overview.database),
        format!("                   {database}"),
        format!("Secret key:        {secret}"),
        format!("Providers:         {providers}"),
        format!("Notion client:     {}", overview.notion_client.describe()),
        format!("Our OAuth client:  {}", overview.oauth_client.describe()),
        format!("GitHub sign-in:    {}", overview.github_sign_in.describe()),
        format!(
            "GitHub webhooks:   {}",
            if overview.webhooks { "set" } else { "not set" }
        ),
        format!("Metrics:           {}", overview.metrics.describe()),
        format!(
            "Admin endpoints:   {}",
            match (&settings.admin_token, settings.listen.ip().is_loopback()) {
                (Some(_), _) => "on, behind UNFURL_ADMIN_TOKEN",
                (None, true) =>
                    "on for this machine only (loopback listener, no UNFURL_ADMIN_TOKEN)",
                (None, false) => "off (set UNFURL_ADMIN_TOKEN to turn them on)",
            }
        ),
        format!(
            "Preview lab:       {}",
            match (&settings.lab_token, settings.listen.ip().is_loopback()) {
                (Some(_), _) => "on at /lab, behind UNFURL_LAB_TOKEN",
                (None, true) => "on at /lab for this machine only (loopback listener)",
                (None, false) => "off (set UNFURL_LAB_TOKEN to turn it on)",
            }
        ),
    ]);
    for (heading, items) in [("Warnings:", &warnings), ("Problems:", &problems)] {
        if !items.is_empty() {
            out.push(String::new());
            out.push(heading.to_owned());
            out.extend(items.iter().map(|item| format!("  - {item}")));
        }
    }
    let failed = !problems.is_empty() || (strict && !warnings.is_empty());
    out.push(String::new());
    out.push(format!(
        "{}: {} problem(s), {} warning(s){}",
        if failed { "FAILED" } else { "OK" },
        problems.len(),
        warnings.len(),
        if strict { " (--strict)" } else { "" }
    ));
    let written = emit(&lines(&out));
    if failed {
        // The report is on stdout; stderr gets the first problem, for logs and scripts.
        return fail(match problems.first() {
            Some(problem) => problem.clone(),
            None => "check-config --strict: warnings were found".to_owned(),
        });
    }
    written
}
