//! The command line: `serve` (the default), `unfurl URL`, `notion-config`, `token issue`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;

use crate::platform::config::Settings;
use crate::platform::crypto::keys::{KeyError, SecretFile};
use crate::startup::Application;
use crate::state::{AppState, StartError};
use crate::unfurl::registry::Registry;
use crate::unfurl::validate_uri;

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
    /// Print the settings to paste into Notion's integration dashboard.
    NotionConfig {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Access tokens for local testing.
    Token {
        #[command(subcommand)]
        action: TokenCommand,
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

/// Run the parsed command with `settings`; the process exits with the returned code.
pub async fn run(command: Command, settings: Settings) -> ExitCode {
    match command {
        Command::Serve => serve(settings).await,
        Command::Unfurl { url, account } => unfurl(settings, &url, account).await,
        Command::NotionConfig { json } => notion_config(&settings, json),
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
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("notion-unfurl: {message}");
    ExitCode::FAILURE
}

async fn serve(settings: Settings) -> ExitCode {
    let app = match Application::build(settings).await {
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

async fn unfurl(settings: Settings, raw: &str, account: Option<String>) -> ExitCode {
    let url = match validate_uri(raw) {
        Ok(url) => url,
        Err(e) => return fail(format!("{raw:?}: {e}")),
    };
    let registry = match Registry::from_settings(&settings) {
        Ok(registry) => registry,
        Err(e) => return fail(e),
    };
    let state = match AppState::from_settings(settings, registry).await {
        Ok(state) => state,
        Err(e) => return fail(e),
    };
    let account = match account {
        None => None,
        Some(key) => match state.connections.store().account(&key).await {
            Ok(found) => Some(notion_unfurl_sdk::Account {
                key,
                upstream_token: found.and_then(|a| a.upstream_token),
            }),
            Err(e) => return fail(e),
        },
    };
    let requester = account.map(crate::unfurl::Requester::new);
    let entry = state.unfurler.unfurl(raw, &url, requester.as_ref()).await;
    println!("{}", String::from_utf8_lossy(&entry.body));
    ExitCode::SUCCESS
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
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// The dashboard settings as JSON: endpoints, then one entry per provider pattern.
pub fn notion_config_json(
    settings: &Settings,
) -> Result<serde_json::Value, crate::unfurl::registry::RegistryError> {
    let base = settings.public_url.as_str().trim_end_matches('/');
    let registry = Registry::from_settings(settings)?;
    let providers: Vec<_> = registry
        .providers()
        .iter()
        .flat_map(|provider| {
            provider.patterns().iter().map(move |pattern| {
                json!({
                    "provider": provider.id(),
                    "domain": pattern.domain,
                    "pattern": pattern.regex.as_str(),
                    "samples": pattern.samples,
                    "placeholder": pattern.placeholder,
                })
            })
        })
        .collect();
    Ok(json!({
        "oauth_authorize_url": format!("{base}/oauth/authorize"),
        "oauth_token_url": format!("{base}/oauth/token"),
        "deleted_token_callback_url": format!("{base}/oauth/revoke"),
        "unfurl_callback_url": format!("{base}/unfurl"),
        "patterns": providers,
    }))
}

fn notion_config(settings: &Settings, as_json: bool) -> ExitCode {
    let config = match notion_config_json(settings) {
        Ok(config) => config,
        Err(e) => return fail(e),
    };
    if as_json {
        println!("{config:#}");
        return ExitCode::SUCCESS;
    }
    let field = |key: &str| config[key].as_str().unwrap_or_default().to_owned();
    println!(
        "OAuth Authorize URL:         {}",
        field("oauth_authorize_url")
    );
    println!("OAuth Token URL:             {}", field("oauth_token_url"));
    println!(
        "Deleted Token Callback URL:  {}",
        field("deleted_token_callback_url")
    );
    println!(
        "Unfurl Callback URL:         {}",
        field("unfurl_callback_url")
    );
    for pattern in config["patterns"].as_array().into_iter().flatten() {
        println!();
        println!(
            "Provider: {}",
            pattern["provider"].as_str().unwrap_or_default()
        );
        match pattern["domain"].as_str() {
            Some(domain) => println!("  Unfurl URL Domain:   {domain}"),
            None => println!(
                "  Unfurl URL Domain:   any domain you have verified (this provider previews every http/https page)"
            ),
        }
        println!(
            "  URL matching pattern: {}",
            pattern["pattern"].as_str().unwrap_or_default()
        );
        for sample in pattern["samples"].as_array().into_iter().flatten() {
            println!(
                "  Sample URL:           {}",
                sample.as_str().unwrap_or_default()
            );
        }
        println!("  Placeholder attributes: {}", pattern["placeholder"]);
    }
    ExitCode::SUCCESS
}
