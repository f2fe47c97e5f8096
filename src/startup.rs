//! [`Application`]: bind the listener, run the server, start and stop the background
//! workers. The one place that knows every layer.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_http::HttpService;
use actix_service::{ServiceFactoryExt, fn_service, map_config};
use actix_web::dev::{AppConfig, Server, ServerHandle};
use actix_web::http::KeepAlive;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::http::head_deadline::HeadDeadline;
use crate::http::limits::Limits;
use crate::http::metrics::{Measure, MetricsAccess, ROUTES};
use crate::live::{outbox, watch};
use crate::platform::config::{MetricsExposure, Settings};
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

/// Every request head: Notion, GitHub and browsers send theirs in one go. Past this, actix
/// answers a connection's first request 408 and closes; a later head of a kept-alive
/// connection, which actix does not time, has its read failed by
/// [`HeadDeadline`](crate::http::head_deadline::HeadDeadline), which closes the connection.
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
    /// The listener of `UNFURL_METRICS_LISTEN`, when set.
    metrics: Option<MetricsServer>,
}

/// A second server, on a listener of its own, serving `/metrics` alone.
struct MetricsServer {
    port: u16,
    server: Server,
}

/// Stops the metrics server when the public one is done, or when the task running them is
/// dropped (tests abort it).
struct StopsMetrics(Option<ServerHandle>);

impl StopsMetrics {
    /// Stop it and wait until it has.
    async fn stop(mut self) {
        if let Some(handle) = self.0.take() {
            handle.stop(true).await;
        }
    }
}

impl Drop for StopsMetrics {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            // The stop command is sent at the call; the returned future only waits for it.
            drop(handle.stop(true));
        }
    }
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
        let exposure = state.settings.metrics_exposure();
        let token = state.settings.metrics_token.clone();
        let public_access = match (exposure, token.clone()) {
            (MetricsExposure::Token, Some(token)) => MetricsAccess::Token(token),
            (MetricsExposure::Loopback, _) => MetricsAccess::Open,
            _ => MetricsAccess::Closed,
        };
        let requests = state.metrics.requests(ROUTES);
        let metrics = match exposure {
            MetricsExposure::Listener { address, .. } => {
                let access = token.map_or(MetricsAccess::Open, MetricsAccess::Token);
                Some(metrics_server(address, &data, &requests, access)?)
            }
            _ => None,
        };
        let measured = requests.clone();
        let local = listener.local_addr().map_err(|source| StartError::Bind {
            address: listen.to_string(),
            source,
        })?;
        // actix-web's `HttpServer`, built by hand so that each accepted connection can be
        // wrapped in a `HeadDeadline` first (the settings below are the ones `HttpServer`
        // would pass on).
        let builder = Server::build()
            .disable_signals()
            .shutdown_timeout(10)
            .workers(workers)
            .max_concurrent_connections(connections_per_worker);
        let shutdown = builder.graceful_shutdown_signal();
        let server = builder
            .listen("notion-unfurl", listener, move || {
                let app = App::new()
                    .wrap(from_fn(crate::http::bodies::guard))
                    .wrap(TracingLogger::<RequestSpan>::new())
                    .wrap(Measure::new(measured.clone()))
                    .app_data(data.clone())
                    .app_data(shared_limits.clone())
                    .app_data(public_access.clone())
                    .configure(crate::http::routes);
                let shutdown = shutdown.clone();
                let http = HttpService::build()
                    .graceful_shutdown_signal(move || {
                        let signal = shutdown.clone();
                        async move { signal.notified().await }
                    })
                    .client_request_timeout(HEAD_TIMEOUT)
                    .keep_alive(KeepAlive::Timeout(KEEP_ALIVE))
                    .client_disconnect_timeout(LINGER)
                    .local_addr(local)
                    .h1(map_config(app, move |_| AppConfig::default()));
                fn_service(|io: actix_web::rt::net::TcpStream| {
                    let peer = io.peer_addr().ok();
                    std::future::ready(Ok::<_, actix_http::error::DispatchError>((
                        HeadDeadline::new(io, HEAD_TIMEOUT),
                        peer,
                    )))
                })
                .and_then(http)
            })
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
            metrics,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the `UNFURL_METRICS_LISTEN` listener, when there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|m| m.port)
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
        let metrics = self.state.settings.metrics_exposure();
        match (metrics, &self.metrics) {
            (MetricsExposure::Listener { address, .. }, Some(server)) => {
                let address = address.ip();
                tracing::info!(%address, port = server.port, "metrics listening (GET /metrics only)");
            }
            (MetricsExposure::Off, _) => tracing::info!("/metrics: {}", metrics.describe()),
            _ => tracing::info!("/metrics is served {}", metrics.describe()),
        }
    }

    /// Start the metrics server, if any, in the background: it stops with the guard.
    fn start_metrics(&mut self) -> StopsMetrics {
        StopsMetrics(self.metrics.take().map(|metrics| {
            let handle = metrics.server.handle();
            tokio::spawn(metrics.server);
            handle
        }))
    }

    /// The provider files' refresher ([`crate::live::files::Refresher`]), if any file
    /// asks for one.
    #[cfg(feature = "declarative")]
    fn start_refresher(&self) -> Option<crate::live::files::Refresher> {
        crate::live::files::Refresher::start(crate::live::files::RefreshDeps {
            store: self.state.store.clone(),
            unfurler: self.state.unfurler.clone(),
            wakeup: self.state.outbox.clone(),
            connections: self.state.connections.clone(),
        })
    }

    /// Serve until the handle stops it.
    pub async fn run_until_stopped(mut self) -> std::io::Result<()> {
        self.announce();
        let metrics = self.start_metrics();
        let _watch = watch::Watch::start(self.state.watch_deps());
        #[cfg(feature = "declarative")]
        let _refresher = self.start_refresher();
        let outbox = outbox::Worker::start(self.state.outbox_deps(&self.instance));
        let served = self.server.await;
        metrics.stop().await;
        outbox.stop(OUTBOX_STOP_GRACE).await;
        // Only now may another process take this instance's id.
        drop(self.instance);
        served
    }

    /// Serve until SIGTERM or SIGINT, then finish in-flight requests and return.
    pub async fn run_until_signal(mut self) -> std::io::Result<()> {
        // Handlers are installed before "listening" is announced, so a supervisor that
        // signals as soon as it sees that line gets a graceful stop, not the default kill.
        let stop = shutdown_signal()?;
        self.announce();
        let metrics = self.start_metrics();
        let handle = self.server.handle();
        tokio::spawn(async move {
            stop.await;
            tracing::info!("shutting down");
            handle.stop(true).await;
        });
        let _watch = watch::Watch::start(self.state.watch_deps());
        #[cfg(feature = "declarative")]
        let _refresher = self.start_refresher();
        let outbox = outbox::Worker::start(self.state.outbox_deps(&self.instance));
        let served = self.server.await;
        metrics.stop().await;
        outbox.stop(OUTBOX_STOP_GRACE).await;
        drop(self.instance);
        served
    }
}

/// Bind `address` for a server of one worker answering `GET /metrics` (and nothing else:
/// every other path is a 404 here).
fn metrics_server(
    address: std::net::SocketAddr,
    data: &web::Data<AppState>,
    requests: &crate::platform::metrics::RequestMetrics,
    access: MetricsAccess,
) -> Result<MetricsServer, StartError> {
    let bind_error = |source| StartError::Bind {
        address: address.to_string(),
        source,
    };
    let listener = TcpListener::bind(address).map_err(bind_error)?;
    let port = listener.local_addr().map_err(bind_error)?.port();
    let (data, requests) = (data.clone(), requests.clone());
    let server = HttpServer::new(move || {
        App::new()
            .wrap(Measure::new(requests.clone()))
            .app_data(data.clone())
            .app_data(access.clone())
            .route("/metrics", web::get().to(crate::http::metrics::scrape))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)
    .map_err(bind_error)?
    .run();
    Ok(MetricsServer { port, server })
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
