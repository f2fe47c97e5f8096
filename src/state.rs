//! [`AppState`]: what every request handler and CLI command shares, built from settings.
//!
//! Background workers never hold it: each gets the dependencies struct it names
//! ([`crate::live::outbox::Deps`], [`crate::live::watch::Deps`]), made here.
//! May import: `live` and everything below it.

use std::sync::Arc;

use notion_unfurl_sdk::GuardedClient;

use crate::clients::github::GitHubLogin;
use crate::clients::notion::NotionClient;
use crate::clients::services::{ServiceApp, ServiceLogins};
use crate::live::outbox::{self, Wakeup};
use crate::live::watch;
use crate::oauth::connections::Connections;
use crate::oauth::consent::Consent;
use crate::oauth::grants::SignatureCheck;
use crate::oauth::tokens::Tokens;
use crate::platform::config::Settings;
use crate::platform::crypto::keys::{KeyError, Keys, SecretFile, SecretSource, secret_path};
use crate::platform::data_dir::{Instance, absolute};
use crate::platform::metrics::Metrics;
use crate::store::{Store, database_location};
use crate::unfurl::Unfurler;
use crate::unfurl::cache::PreviewCache;
use crate::unfurl::registry::Registry;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("could not create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("could not take an instance id in {path}: {source}")]
    Instance {
        path: String,
        source: std::io::Error,
    },
    #[error("could not build the fetch client: {0}")]
    Fetch(#[from] notion_unfurl_sdk::FetchError),
    #[error("could not open the database: {0}")]
    Store(#[from] crate::store::OpenError),
    #[error("could not build the Notion client: {0}")]
    Notion(#[from] crate::clients::notion::NotionError),
    #[error("could not set up GitHub sign-in: {0}")]
    GitHub(#[from] crate::clients::github::LoginError),
    #[error("could not set up the services provider files declare: {0}")]
    Services(#[from] crate::clients::services::ServiceError),
    #[error(transparent)]
    Providers(#[from] crate::unfurl::registry::RegistryError),
    #[error("could not listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
}

/// What every request handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub tokens: Tokens,
    pub unfurler: Unfurler,
    pub connections: Connections,
    pub notion: NotionClient,
    pub consent: Consent,
    /// GitHub sign-in, when a GitHub OAuth app is configured.
    pub github: Option<GitHubLogin>,
    /// The services provider files declare, which accounts link on the consent page.
    pub services: ServiceLogins,
    /// Recognises our access tokens, expired ones included (for revocation).
    pub signature: SignatureCheck,
    pub metrics: Arc<Metrics>,
    /// Records GitHub webhook deliveries as queued updates.
    #[cfg(feature = "github")]
    pub webhooks: crate::live::webhooks::GitHubWebhooks,
    /// Wakes the outbox worker when a webhook queued updates.
    pub outbox: Wakeup,
}

impl AppState {
    /// Everything but the listener: used by `serve` and by the CLI commands. Opens the
    /// database and runs its migrations; generates the secret file when it is missing.
    pub async fn from_settings(settings: Settings, registry: Registry) -> Result<Self, StartError> {
        Self::from_settings_with(settings, registry, SecretFile::CreateIfMissing).await
    }

    /// Like [`AppState::from_settings`]; `secret` says whether a missing secret file may be
    /// generated. Nothing is created (no data directory, no database) before the secret is
    /// settled, so a command refused for want of the server's secret leaves no trace.
    pub async fn from_settings_with(
        settings: Settings,
        registry: Registry,
        secret: SecretFile,
    ) -> Result<Self, StartError> {
        let (keys, source) = Keys::load_with(&settings, secret)?;
        let data_dir = absolute(&settings.data_dir);
        std::fs::create_dir_all(&data_dir).map_err(|source| StartError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        let secret_file = absolute(&secret_path(&settings.data_dir));
        if source == SecretSource::FileCreated {
            tracing::warn!(
                path = %secret_file.display(),
                "UNFURL_SECRET_KEY is not set: generated a secret and saved it; set UNFURL_SECRET_KEY in production"
            );
        }
        // Absolute paths: a command run from another directory than the server's names
        // other files, and this line is where that shows.
        tracing::info!(
            data_dir = %data_dir.display(),
            database = %database_location(&settings.database_url),
            secret = %match source {
                SecretSource::Environment => "UNFURL_SECRET_KEY".to_owned(),
                _ => secret_file.display().to_string(),
            },
            "data directory, database and secret"
        );
        if !settings.fetch_allow.is_empty() {
            let nets: Vec<String> = settings
                .fetch_allow
                .iter()
                .map(ToString::to_string)
                .collect();
            tracing::warn!(
                allow = %nets.join(","),
                "UNFURL_FETCH_ALLOW is set: the fetcher may reach these private networks"
            );
        }
        let tokens = Tokens::new(
            &keys,
            settings.token_issuer(),
            settings.token_audience(),
            settings.token_ttl,
        );
        let guarded = GuardedClient::new(settings.fetch_policy())?;
        let metrics = Arc::new(Metrics::new());
        let services = ServiceLogins::new(
            service_apps(&registry),
            &settings.public_url,
            &settings.fetch_policy().user_agent,
        )?;
        let unfurler = Unfurler::new(
            registry,
            PreviewCache::new(settings.cache_max_bytes),
            guarded,
            settings.developer_name.clone(),
            &metrics,
        );
        let store = Store::connect(&settings.database_url, keys.cipher.clone()).await?;
        let notion = NotionClient::new(
            settings.notion_api_url.clone(),
            settings
                .notion_client_id
                .clone()
                .zip(settings.notion_client_secret.clone()),
            &settings.fetch_policy().user_agent,
        )?;
        let github = GitHubLogin::from_settings(&settings, &settings.fetch_policy().user_agent)?;
        let consent = Consent::new(keys.cipher.clone(), settings.public_url.scheme() == "https");
        let (settings_issuer, settings_audience) =
            (settings.token_issuer(), settings.token_audience());
        let outbox = Wakeup::default();
        Ok(Self {
            #[cfg(feature = "github")]
            webhooks: crate::live::webhooks::GitHubWebhooks {
                store: store.clone(),
                unfurler: unfurler.clone(),
                wakeup: outbox.clone(),
                web_url: settings.github_web_url.clone(),
            },
            settings: Arc::new(settings),
            tokens,
            unfurler,
            connections: Connections::new(store.clone(), services.clone()),
            services,
            store,
            notion,
            consent,
            github,
            signature: SignatureCheck::new(&keys, &settings_issuer, &settings_audience),
            metrics,
            outbox,
        })
    }

    /// What the outbox worker of `instance` needs; the caller keeps `instance` (its lock)
    /// for as long as the worker runs.
    pub fn outbox_deps(&self, instance: &Instance) -> outbox::Deps {
        outbox::Deps {
            store: self.store.clone(),
            connections: self.connections.clone(),
            tokens: self.tokens.clone(),
            unfurler: self.unfurler.clone(),
            notion: self.notion.clone(),
            metrics: self.metrics.clone(),
            wakeup: self.outbox.clone(),
            options: outbox::OutboxOptions::from_settings(&self.settings),
            instance: instance.id().to_owned(),
        }
    }

    /// What the invalidation watch needs.
    pub fn watch_deps(&self) -> watch::Deps {
        watch::Deps {
            store: self.store.clone(),
            connections: self.connections.clone(),
            cache: self.unfurler.cache().clone(),
        }
    }
}

/// The OAuth applications of the services the provider files declare.
fn service_apps(registry: &Registry) -> Vec<ServiceApp> {
    #[cfg(feature = "declarative")]
    return registry
        .services()
        .into_iter()
        .map(|s| ServiceApp {
            id: s.id,
            name: s.name,
            authorize_url: s.authorize_url,
            token_url: s.token_url,
            scopes: s.scopes,
            client_id: s.client_id,
            client_secret: s.client_secret,
            secret_in_body: s.client_auth == notion_unfurl_declarative::model::ClientAuth::Post,
            revoke_url: s.revoke_url,
        })
        .collect();
    #[cfg(not(feature = "declarative"))]
    {
        let _ = registry;
        Vec::new()
    }
}
