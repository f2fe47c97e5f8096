//! The one way to start the real server in a test: [`TestApp::builder`] (or [`spawn_app`]
//! for the defaults): the server on 127.0.0.1:0 beside a local origin serving real pages,
//! with the fakes it was asked for.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use bytes::Bytes;
use notion_unfurl::http::limits::Limits;
use notion_unfurl::platform::config::Settings;
use notion_unfurl::startup::Application;
use notion_unfurl::state::AppState;
use notion_unfurl::unfurl::registry::Registry;
use tokio::task::JoinHandle;

use crate::fakes::{FakeGitHub, FakeNotion, GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, PATIENCE};

pub const SECRET: &str = "test-secret-key-that-is-long-enough-0123456789";

/// The shared corpus of real pages (read in place, never copied into this repository).
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

/// What the origin saw.
#[derive(Default)]
pub struct OriginLog {
    hits: Mutex<HashMap<String, usize>>,
    /// Bytes of `/huge` actually handed to the socket.
    pub huge_bytes_sent: AtomicUsize,
    /// The titles of the pages `/titled/NAME`, which a test may change.
    titles: Mutex<HashMap<String, String>>,
}

impl OriginLog {
    fn hit(&self, path: &str) {
        if let Ok(mut hits) = self.hits.lock() {
            *hits.entry(path.to_owned()).or_default() += 1;
        }
    }

    pub fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .map(|h| h.get(path).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    pub fn total(&self) -> usize {
        self.hits.lock().map(|h| h.values().sum()).unwrap_or(0)
    }

    /// Serve `/titled/{name}` with `title` from now on.
    pub fn set_title(&self, name: &str, title: &str) {
        if let Ok(mut titles) = self.titles.lock() {
            titles.insert(name.to_owned(), title.to_owned());
        }
    }

    fn title(&self, name: &str) -> Option<String> {
        self.titles.lock().ok()?.get(name).cloned()
    }
}

pub struct Origin {
    pub base: String,
    pub log: Arc<OriginLog>,
    handle: ServerHandle,
}

impl Drop for Origin {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        drop(handle.stop(false));
    }
}

fn html(body: impl Into<Bytes>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body.into())
}

async fn origin_handler(req: HttpRequest, log: web::Data<OriginLog>) -> HttpResponse {
    let path = req.path().to_owned();
    log.hit(&path);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["corpus", case] => match std::fs::read(corpus_dir().join(case).join("page.html")) {
            Ok(bytes) => html(bytes),
            Err(_) => HttpResponse::NotFound().finish(),
        },
        ["status", code] => {
            let code = code.parse().unwrap_or(500);
            HttpResponse::build(
                actix_web::http::StatusCode::from_u16(code)
                    .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
            )
            .content_type("text/html")
            .body("<html><head><title>error page</title></head></html>")
        }
        ["latin1"] => {
            let mut body = b"<html><head><title>Caf\xe9 cr\xe8me \xe0 la carte</title></head><body>x</body></html>".to_vec();
            body.extend_from_slice(b"");
            HttpResponse::Ok()
                .content_type("text/html; charset=iso-8859-1")
                .body(body)
        }
        ["windows1252"] => HttpResponse::Ok().content_type("text/html").body(
            b"<html><head><meta charset=\"windows-1252\"><title>\x93Quoted\x94 \x96 na\xefve</title></head></html>"
                .to_vec(),
        ),
        ["shift_jis"] => {
            let (title, _, _) = encoding_rs::SHIFT_JIS.encode("\u{65e5}\u{672c}\u{8a9e}\u{306e}\u{30da}\u{30fc}\u{30b8}");
            let mut body = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\"><title>".to_vec();
            body.extend_from_slice(&title);
            body.extend_from_slice(b"</title></head></html>");
            HttpResponse::Ok().content_type("text/html").body(body)
        }
        ["relative"] => html(
            r#"<html><head><base href="https://cdn.example.test/assets/">
            <title>Relative</title>
            <meta property="og:image" content="img/cover.png">
            <link rel="icon" href="/favicon.png" sizes="32x32">
            </head><body></body></html>"#,
        ),
        ["relative-no-base"] => html(
            r#"<html><head><title>No base</title>
            <meta property="og:image" content="//images.example.test/cover.jpg">
            </head><body></body></html>"#,
        ),
        ["redirect"] => {
            let target = req.query_string().strip_prefix("to=").unwrap_or("/");
            let target = percent_decode(target);
            HttpResponse::Found()
                .insert_header(("Location", target))
                .finish()
        }
        ["slow", _] => {
            tokio::time::sleep(Duration::from_millis(400)).await;
            html("<html><head><title>Slow but fine</title></head></html>")
        }
        ["stall"] => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            html("<html><head><title>too late</title></head></html>")
        }
        ["huge"] => {
            let log = log.into_inner();
            let chunk = Bytes::from(vec![b'a'; 64 * 1024]);
            let prefix = Bytes::from_static(b"<html><head><title>Huge page</title><!-- ");
            let stream = futures_util::stream::iter(
                std::iter::once(prefix).chain(std::iter::repeat_n(chunk, HUGE_CHUNKS)),
            )
            .map(move |c| {
                log.huge_bytes_sent.fetch_add(c.len(), Ordering::SeqCst);
                Ok::<_, actix_web::Error>(c)
            });
            HttpResponse::Ok()
                .content_type("text/html")
                .no_chunking((HUGE_CHUNKS * 64 * 1024 + 42) as u64)
                .streaming(stream)
        }
        ["titled", name] => match log.title(name) {
            Some(title) => html(format!(
                "<html><head><title>{}</title></head></html>",
                html_escape::encode_text(&title)
            )),
            None => HttpResponse::NotFound().finish(),
        },
        ["photo.png"] => HttpResponse::Ok().content_type("image/png").body(vec![0u8; 128]),
        _ => HttpResponse::NotFound().finish(),
    }
}

use futures_util::StreamExt;

/// `/huge` is 256 MiB: far more than any socket buffers can absorb, so what
/// the origin manages to send shows how much the fetcher really read.
pub const HUGE_CHUNKS: usize = 4096;

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// A local origin web server.
pub async fn spawn_origin(host: &str) -> Origin {
    let log = web::Data::new(OriginLog::default());
    let data = log.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(origin_handler))
    })
    .workers(2)
    .disable_signals()
    .bind((host, 0))
    .unwrap_or_else(|e| panic!("origin bind: {e}"));
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    Origin {
        base: format!("http://{host}:{port}"),
        log: log.into_inner(),
        handle,
    }
}

/// A fresh path under the temporary directory for a server to keep its data in, removed
/// when dropped (a test's servers may share one).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn unique() -> Self {
        Self(std::env::temp_dir().join(format!("notion-unfurl-test-{}", uuid::Uuid::new_v4())))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Settings for a test app; `extra` overrides.
pub fn test_settings(data_dir: &Path, extra: &[(&str, &str)]) -> Settings {
    let mut vars: HashMap<String, String> = [
        ("UNFURL_LISTEN", "127.0.0.1:0"),
        ("UNFURL_SECRET_KEY", SECRET),
        ("UNFURL_FETCH_ALLOW", "127.0.0.1/32"),
        ("UNFURL_DEVELOPER_NAME", "Test Dev"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    vars.insert("UNFURL_DATA_DIR".to_owned(), data_dir.display().to_string());
    for (k, v) in extra {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    Settings::from_vars(vars).unwrap_or_else(|e| panic!("settings: {e}"))
}

/// The real server with the default settings: [`TestApp::builder`] with nothing added.
pub async fn spawn_app() -> TestApp {
    TestApp::builder().spawn().await
}

/// How a test wants its server: `TestApp::builder().with_notion().with_env(&[…]).spawn()`.
///
/// Every server gets the test settings ([`test_settings`]), a local origin and a token of
/// the account `local:test-account`; the rest is asked for. Settings are applied in order:
/// the test settings, then the fakes' URLs, then each `with_env` (a later value wins).
#[must_use]
pub struct TestAppBuilder {
    env: Vec<(String, String)>,
    notion: Option<FakeNotion>,
    github: Option<FakeGitHub>,
    registry: Option<Registry>,
    data_dir: Option<PathBuf>,
}

impl TestAppBuilder {
    /// Settings on top of the test settings (`UNFURL_*` variables).
    pub fn with_env(mut self, vars: &[(&str, &str)]) -> Self {
        self.env
            .extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        self
    }

    /// A fake Notion of its own (`UNFURL_NOTION_API_URL`).
    pub fn with_notion(self) -> Self {
        self.sharing_notion(&FakeNotion::spawn())
    }

    /// The given fake Notion, which other servers of the test may talk to as well.
    pub fn sharing_notion(mut self, notion: &FakeNotion) -> Self {
        self.notion = Some(notion.clone());
        self
    }

    /// A fake GitHub to sign in with: its client id and secret, web and API URLs.
    pub fn with_github(mut self) -> Self {
        self.github = Some(FakeGitHub::spawn());
        self
    }

    /// These providers instead of the default ones.
    pub fn with_registry(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Keep data in `dir`, which the test owns (and may give to another server), instead of
    /// a directory of the server's own, removed with it.
    pub fn data_dir(mut self, dir: &Path) -> Self {
        self.data_dir = Some(dir.to_owned());
        self
    }

    pub async fn spawn(self) -> TestApp {
        let origin = spawn_origin("127.0.0.1").await;
        let (data_dir, owned_dir) = match self.data_dir {
            Some(dir) => (dir, None),
            None => {
                let owned = TempDir::unique();
                (owned.0.clone(), Some(owned))
            }
        };
        let mut env: Vec<(String, String)> = Vec::new();
        if let Some(notion) = &self.notion {
            env.push(("UNFURL_NOTION_API_URL".into(), notion.base.clone()));
        }
        if let Some(github) = &self.github {
            env.extend([
                ("UNFURL_GITHUB_CLIENT_ID".into(), GITHUB_CLIENT_ID.into()),
                (
                    "UNFURL_GITHUB_CLIENT_SECRET".into(),
                    GITHUB_CLIENT_SECRET.into(),
                ),
                ("UNFURL_GITHUB_WEB_URL".into(), github.base.clone()),
                (
                    "UNFURL_GITHUB_API_URL".into(),
                    format!("{}/api", github.base),
                ),
            ]);
        }
        env.extend(self.env);
        let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let settings = test_settings(&data_dir, &vars);
        let app = match self.registry {
            Some(registry) => Application::build_with(settings, registry).await,
            None => Application::build(settings).await,
        }
        .unwrap_or_else(|e| panic!("app: {e}"));
        let address = format!("http://127.0.0.1:{}", app.port());
        let metrics_address = app
            .metrics_port()
            .map(|port| format!("http://127.0.0.1:{port}"));
        let app_state = app.state().clone();
        let limits = app.limits();
        let token = notion_unfurl::cli::local_token(&app_state, "local:test-account")
            .await
            .unwrap_or_else(|e| panic!("token: {e}"));
        let handle = app.handle();
        let task = tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap_or_else(|e| panic!("client: {e}"));
        TestApp {
            address,
            metrics_address,
            client,
            origin,
            token,
            app_state,
            limits,
            data_dir,
            notion: self.notion,
            github: self.github,
            handle,
            task: Some(task),
            _owned_dir: owned_dir,
        }
    }
}

/// The real server on 127.0.0.1:0, running in this test's runtime, and what it talks to.
/// Dropping it stops the server at once (and removes its data directory if it owns one).
pub struct TestApp {
    pub address: String,
    /// The `UNFURL_METRICS_LISTEN` listener, when the test set one.
    pub metrics_address: Option<String>,
    pub client: reqwest::Client,
    /// A local origin serving real pages.
    pub origin: Origin,
    /// An access token of the account `local:test-account` (no Notion token).
    pub token: String,
    pub app_state: AppState,
    /// The limits every handler shares (`Application::limits()`).
    pub limits: Arc<Limits>,
    pub data_dir: PathBuf,
    pub notion: Option<FakeNotion>,
    pub github: Option<FakeGitHub>,
    handle: ServerHandle,
    task: Option<JoinHandle<std::io::Result<()>>>,
    _owned_dir: Option<TempDir>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        drop(self.handle.stop(false));
    }
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            env: Vec::new(),
            notion: None,
            github: None,
            registry: None,
            data_dir: None,
        }
    }

    /// The fake Notion this server talks to (the builder was asked for one).
    pub fn notion(&self) -> &FakeNotion {
        self.notion
            .as_ref()
            .unwrap_or_else(|| panic!("built without with_notion()"))
    }

    /// The fake GitHub this server signs in with (the builder was asked for one).
    pub fn github(&self) -> &FakeGitHub {
        self.github
            .as_ref()
            .unwrap_or_else(|| panic!("built without with_github()"))
    }

    pub fn unfurl_url(&self) -> String {
        format!("{}/unfurl", self.address)
    }

    /// POST /unfurl for `uri` with the test account's token; the JSON body.
    pub async fn unfurl(&self, uri: &str) -> serde_json::Value {
        let response = self
            .client
            .post(self.unfurl_url())
            .bearer_auth(&self.token)
            .json(&serde_json::json!({ "uri": uri }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("unfurl request: {e}"));
        assert_eq!(response.status(), 200, "unfurl of {uri}");
        response
            .json()
            .await
            .unwrap_or_else(|e| panic!("unfurl body: {e}"))
    }

    /// `POST /unfurl` for `uri`, whatever the answer: its status and body text.
    pub async fn unfurl_response(&self, uri: &str) -> (u16, String) {
        let response = self
            .client
            .post(self.unfurl_url())
            .bearer_auth(&self.token)
            .json(&serde_json::json!({ "uri": uri }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("unfurl request: {e}"));
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    pub fn origin_url(&self, path: &str) -> String {
        format!("{}{}", self.origin.base, path)
    }

    /// Stop serving and let the worker finish its round, as on SIGTERM.
    pub async fn shutdown(mut self) {
        self.handle.stop(true).await;
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.app_state.connections.store().close().await;
    }

    /// Stop at once, deliveries in flight included, as `kill -9` would.
    pub async fn kill(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        self.handle.stop(false).await;
        self.app_state.connections.store().close().await;
    }
}

/// Wait until `done` holds, looking every 10 ms; fails, naming `what`, after [`PATIENCE`].
pub async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not happen in time"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The attribute with `id` in an unfurl response, if any.
pub fn attribute<'a>(body: &'a serde_json::Value, id: &str) -> Option<&'a serde_json::Value> {
    body["operations"]
        .as_array()?
        .iter()
        .find(|op| op["path"][0] == "attributes")?["set"]
        .as_array()?
        .iter()
        .find(|a| a["id"] == id)
}

/// The title text of an unfurl response.
pub fn title(body: &serde_json::Value) -> Option<String> {
    attribute(body, "title")?["inline"]["title"]["value"]
        .as_str()
        .map(str::to_owned)
}

/// The `error` operation's `set`, if any.
pub fn error_op(body: &serde_json::Value) -> Option<&serde_json::Value> {
    body["operations"]
        .as_array()?
        .iter()
        .find(|op| op["path"][0] == "error")
        .map(|op| &op["set"])
}

/// A direct connection to the SQLite database of a server whose data directory is
/// `data_dir`, to look at rows no endpoint shows.
pub async fn raw_database(data_dir: &Path) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}/notion-unfurl.db", data_dir.display());
    <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
}
