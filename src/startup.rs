//! [`Application`]: bind the listener, run the server, start and stop the background
//! workers. The one place that knows every layer.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::KeepAlive;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::http::limits::Limits;
use crate::live::{outbox, watch};
use crate::platform::config::Settings;
use crate::platform::data_dir::{Instance, absolute};
use crate::platform::telemetry::RequestSpan;
use crate::state::{AppState, StartError};
use crate::unfurl::registry::Registry;

/// How long a stopping server waits for the outbox worker's deliveries in flight; those
/// cut short are delivered again once their lease runs out.
const OUTBOX_STOP_GRACE: Duration = Duration::from_secs(10);

// How long a connection may take at each stage, so that none is held by a client that
// sends slowly (security.md "Slow and hostile clients"); bodies have their own deadline
// (`UNFURL_BODY_READ_TIMEOUT_SECS`, `crate::http::request::read_limited`).

/// A new connection's first request head: Notion, GitHub and browsers send theirs in one
/// go; past this actix answers 408 and closes. actix times no later head of a kept-alive
/// connection; Fly's proxy reads heads whole, and `UNFURL_MAX_CONNECTIONS` bounds the rest.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// An idle connection between requests (actix's own default, chosen here on purpose).
const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// After an answer to a body that was not read to its end, how long the connection stays
/// to let the client read the answer before it is closed (actix discards what arrives).
const LINGER: Duration = Duration::from_secs(1);

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    limits: Arc<Limits>,
    /// This server's id as an outbox claimant, locked until the server is dropped.
    instance: Instance,
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
        // actix's own default (one per core), made explicit so the connection limit can be
        // shared out; clamped to what `UNFURL_WORKERS` accepts.
        let workers = settings
            .workers
            .unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
            })
            .clamp(1, 256);
        // `max_connections` is per worker; past it a worker accepts nothing until one closes.
        let connections_per_worker = settings.max_connections.div_ceil(workers).max(1);
        let listener = TcpListener::bind(listen).map_err(|source| StartError::Bind {
            address: listen.to_string(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or(listen.port());
        // A listen address `…:0`, and the public URL derived from it, name the port
        // actually bound.
        settings.listen.set_port(port);
        if settings.public_url.port() == Some(0) {
            let _ = settings.public_url.set_port(Some(port));
        }
        announce_settings(&settings, &registry);
        let state = AppState::from_settings(settings, registry).await?;
        let instance =
            Instance::claim(&state.settings.data_dir).map_err(|source| StartError::Instance {
                path: absolute(&state.settings.data_dir).display().to_string(),
                source,
            })?;
        tracing::info!(
            instance = instance.id(),
            file = %instance
                .slot_file()
                .map_or_else(|| "none (every slot is taken)".to_owned(), |f| absolute(f).display().to_string()),
            "update outbox claims are recorded under this instance id"
        );
        let data = web::Data::new(state.clone());
        let limits = Arc::new(Limits::new(&state.settings));
        let shared_limits = web::Data::from(limits.clone());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(crate::http::bodies::guard))
                .wrap(TracingLogger::<RequestSpan>::new())
                .app_data(data.clone())
                .app_data(shared_limits.clone())
                .configure(crate::http::routes)
        })
        .disable_signals()
        .shutdown_timeout(10)
        .workers(workers)
        .max_connections(connections_per_worker)
        .client_request_timeout(HEAD_TIMEOUT)
        .keep_alive(KeepAlive::Timeout(KEEP_ALIVE))
        .client_disconnect_timeout(LINGER);
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
            limits,
            instance,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The limits every handler shares (tests look at the webhook read slots).
    pub fn limits(&self) -> Arc<Limits> {
        self.limits.clone()
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
        let _watch = watch::Watch::start(self.state.watch_deps());
        let outbox = outbox::Worker::start(self.state.outbox_deps(&self.instance));
        let served = self.server.await;
        outbox.stop(OUTBOX_STOP_GRACE).await;
        // Only now may another process take this instance's id.
        drop(self.instance);
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
        let _watch = watch::Watch::start(self.state.watch_deps());
        let outbox = outbox::Worker::start(self.state.outbox_deps(&self.instance));
        let served = self.server.await;
        outbox.stop(OUTBOX_STOP_GRACE).await;
        drop(self.instance);
        served
    }
}

/// One line saying what this server uses, before the database is opened (so a failure to
/// open it follows the line naming it), then one warning per half-configured piece.
fn announce_settings(settings: &Settings, registry: &Registry) {
    let overview = settings.overview();
    let providers: Vec<&str> = registry.providers().iter().map(|p| p.id()).collect();
    tracing::info!(
        database = %overview.database,
        public_url = %overview.public_url,
        providers = %providers.join(","),
        notion_client = overview.notion_client.is_complete(),
        oauth_client = overview.oauth_client.is_complete(),
        github_sign_in = overview.github_sign_in.is_complete(),
        webhooks = overview.webhooks,
        "starting"
    );
    for warning in overview.warnings() {
        tracing::warn!("{warning}");
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
