//! Building the application from settings, and running it until a signal stops it.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpServer, web};
use notion_unfurl_sdk::{FetchPolicy, GuardedClient};
use tracing_actix_web::TracingLogger;

use crate::cache::PreviewCache;
use crate::config::Settings;
use crate::connections::Connections;
use crate::consent::Consent;
use crate::github_login::GitHubLogin;
use crate::grants::SignatureCheck;
use crate::http::oauth_token::RateLimits;
use crate::keys::{KeyError, Keys, SecretSource};
use crate::notion::NotionClient;
use crate::registry::Registry;
use crate::store::Store;
use crate::telemetry::RequestSpan;
use crate::tokens::Tokens;
use crate::unfurl::Unfurler;

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
    #[error("could not build the fetch client: {0}")]
    Fetch(#[from] notion_unfurl_sdk::FetchError),
    #[error("could not open the database: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("could not build the Notion client: {0}")]
    Notion(#[from] crate::notion::NotionError),
    #[error("could not set up GitHub sign-in: {0}")]
    GitHub(#[from] crate::github_login::LoginError),
    #[error(transparent)]
    Providers(#[from] crate::registry::RegistryError),
    #[error("could not listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
}

/// How many webhook bodies may be read at once (GitHub sends one delivery at a time per
/// hook; a handful covers several hooks and redeliveries).
const WEBHOOK_READS: usize = 8;

/// What every request handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub tokens: Tokens,
    pub unfurler: Unfurler,
    pub connections: Connections,
    pub notion: NotionClient,
    pub consent: Consent,
    /// GitHub sign-in, when a GitHub OAuth app is configured.
    pub github: Option<GitHubLogin>,
    /// Recognises our access tokens, expired ones included (for revocation).
    pub signature: SignatureCheck,
    /// Shared by all workers, so a limit is the limit of the process.
    pub rate_limits: Arc<RateLimits>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Wakes the outbox worker when a webhook queued updates.
    pub outbox: crate::outbox::Wakeup,
    /// Webhook bodies being read at once (each up to 25 MiB, unverified until read).
    pub webhook_reads: Arc<tokio::sync::Semaphore>,
}

/// The guarded client's policy from settings.
pub fn fetch_policy(settings: &Settings) -> FetchPolicy {
    FetchPolicy {
        allow: settings.fetch_allow.clone(),
        total_timeout: settings.fetch_timeout,
        max_body_bytes: settings.fetch_max_bytes,
        ..FetchPolicy::default()
    }
}

impl AppState {
    /// Everything but the listener: used by `serve` and by the CLI commands. Opens the
    /// database and runs its migrations.
    pub async fn from_settings(settings: Settings, registry: Registry) -> Result<Self, StartError> {
        std::fs::create_dir_all(&settings.data_dir).map_err(|source| StartError::DataDir {
            path: settings.data_dir.display().to_string(),
            source,
        })?;
        let (keys, source) = Keys::load(&settings)?;
        if source == SecretSource::FileCreated {
            tracing::warn!(
                path = %settings.data_dir.join("secret.key").display(),
                "UNFURL_SECRET_KEY is not set: generated a secret and saved it; set UNFURL_SECRET_KEY in production"
            );
        }
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
        let guarded = GuardedClient::new(fetch_policy(&settings))?;
        let unfurler = Unfurler::new(
            registry,
            PreviewCache::new(settings.cache_max_bytes),
            guarded,
            settings.developer_name.clone(),
        );
        let store = Store::connect(&settings.database_url, keys.cipher.clone()).await?;
        let notion = NotionClient::new(
            settings.notion_api_url.clone(),
            settings
                .notion_client_id
                .clone()
                .zip(settings.notion_client_secret.clone()),
            &fetch_policy(&settings).user_agent,
        )?;
        let github = GitHubLogin::from_settings(&settings, &fetch_policy(&settings).user_agent)?;
        let consent = Consent::new(keys.cipher.clone(), settings.public_url.scheme() == "https");
        let rate_limits = Arc::new(RateLimits::new(settings.client_ip_header.as_deref()));
        let (settings_issuer, settings_audience) =
            (settings.token_issuer(), settings.token_audience());
        Ok(Self {
            settings: Arc::new(settings),
            tokens,
            unfurler,
            connections: Connections::new(store),
            notion,
            consent,
            github,
            signature: SignatureCheck::new(&keys, &settings_issuer, &settings_audience),
            rate_limits,
            metrics: Arc::new(crate::metrics::Metrics::new()),
            outbox: crate::outbox::Wakeup::default(),
            webhook_reads: Arc::new(tokio::sync::Semaphore::new(WEBHOOK_READS)),
        })
    }
}

/// How long a stopping server waits for the outbox worker's deliveries in flight; those
/// cut short are delivered again once their lease runs out.
const OUTBOX_STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

impl Application {
    /// Bind `settings.listen` (port 0 picks a free port) with the default providers.
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let registry = Registry::from_settings(&settings)?;
        Self::build_with(settings, registry).await
    }

    /// Bind with an explicit provider registry (tests add fakes this way).
    pub async fn build_with(
        mut settings: Settings,
        registry: Registry,
    ) -> Result<Self, StartError> {
        let listen = settings.listen;
        let workers = settings.workers;
        let listener = TcpListener::bind(listen).map_err(|source| StartError::Bind {
            address: listen.to_string(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or(listen.port());
        // A public URL derived from `UNFURL_LISTEN=…:0` names the port actually bound.
        if settings.public_url.port() == Some(0) {
            let _ = settings.public_url.set_port(Some(port));
        }
        let state = AppState::from_settings(settings, registry).await?;
        let data = web::Data::new(state.clone());
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(TracingLogger::<RequestSpan>::new())
                .app_data(data.clone())
                .configure(crate::http::routes)
        })
        .disable_signals()
        .shutdown_timeout(10);
        if let Some(workers) = workers {
            server = server.workers(workers);
        }
        let server = server
            .listen(listener)
            .map_err(|source| StartError::Bind {
                address: listen.to_string(),
                source,
            })?
            .run();
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    fn announce(&self) {
        let address = self.state.settings.listen.ip();
        tracing::info!(%address, port = self.port, "listening");
    }

    /// Serve until the handle stops it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.announce();
        let _watch = crate::watch::Watch::start(&self.state);
        let outbox = crate::outbox::Worker::start(&self.state);
        let served = self.server.await;
        outbox.stop(OUTBOX_STOP_GRACE).await;
        served
    }

    /// Serve until SIGTERM or SIGINT, then finish in-flight requests and return.
    pub async fn run_until_signal(self) -> std::io::Result<()> {
        // Handlers are installed before "listening" is announced, so a supervisor that
        // signals as soon as it sees that line gets a graceful stop, not the default kill.
        let stop = shutdown_signal()?;
        self.announce();
        let handle = self.server.handle();
        tokio::spawn(async move {
            stop.await;
            tracing::info!("shutting down");
            handle.stop(true).await;
        });
        let _watch = crate::watch::Watch::start(&self.state);
        let outbox = crate::outbox::Worker::start(&self.state);
        let served = self.server.await;
        outbox.stop(OUTBOX_STOP_GRACE).await;
        served
    }
}

/// A future that completes on the first SIGTERM or SIGINT; the handlers are registered
/// when this returns.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
