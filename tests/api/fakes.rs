//! Fake Notion and fake GitHub: local HTTP servers that check what the real ones check
//! (HTTP Basic client credentials, `Notion-Version`, one-time codes, the PKCE verifier) and
//! record what they were sent.
//!
//! Fake Notion plays both parts of Notion's API the server calls: the OAuth code exchange
//! (`POST /v1/oauth/token`) and preview updates (`PATCH /v1/external/object`), which it
//! answers from a script. A [`FakeNotion`] is a cheap handle: clones share one server, so
//! several instances of ours can talk to the same Notion.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const NOTION_CLIENT_ID: &str = "notion-integration-id";
pub const NOTION_CLIENT_SECRET: &str = "notion-integration-secret";
pub const GITHUB_CLIENT_ID: &str = "github-app-id";
pub const GITHUB_CLIENT_SECRET: &str = "github-app-secret";
pub const GITHUB_USER_ID: u64 = 583231;
pub const GITHUB_LOGIN: &str = "octocat";

fn basic_ok(req: &HttpRequest, id: &str, secret: &str) -> bool {
    let expected = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected)
}

/// How long a test waits for something that should happen within milliseconds.
pub const PATIENCE: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------------------
// Fake Notion

/// How fake Notion answers one PATCH.
#[derive(Clone, Copy, Debug)]
pub enum Reply {
    Status(u16),
    /// 429 with `Retry-After: <seconds>`.
    RetryAfter(u64),
    /// Never answers in time (the caller gives up or dies first).
    Stall,
}

/// One PATCH fake Notion received.
#[derive(Clone, Debug)]
pub struct Patch {
    pub authorization: String,
    pub version: String,
    pub body: Value,
    /// The status answered (0 for a stalled answer).
    pub answered: u16,
    pub at: Instant,
}

impl Patch {
    pub fn uri(&self) -> &str {
        self.body["uri"].as_str().unwrap_or_default()
    }
}

/// What fake Notion saw and will accept.
#[derive(Default)]
struct NotionState {
    /// Codes Notion "made" and will accept once.
    valid_codes: Mutex<Vec<String>>,
    /// Every accepted exchange: (code, external_account key, name).
    exchanges: Mutex<Vec<(String, String, String)>>,
    /// How many exchanges were refused.
    refused: Mutex<usize>,
    /// Every preview update received.
    patches: Mutex<Vec<Patch>>,
    /// Answers for the next PATCHes, in order; 200 once it is empty.
    script: Mutex<VecDeque<Reply>>,
    /// When set, every PATCH gets this status (the script is not used).
    always: Mutex<Option<u16>>,
}

async fn notion_token(
    req: HttpRequest,
    body: web::Json<Value>,
    state: web::Data<NotionState>,
) -> HttpResponse {
    let refuse = |status: u16, code: &str| {
        *state.refused.lock().unwrap() += 1;
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).json(
            serde_json::json!({"object":"error","status":status,"code":code,"message":"refused"}),
        )
    };
    if !basic_ok(&req, NOTION_CLIENT_ID, NOTION_CLIENT_SECRET) {
        return refuse(401, "unauthorized");
    }
    if req.headers().get("notion-version").is_none() {
        return refuse(400, "missing_version");
    }
    let code = body["code"].as_str().unwrap_or_default().to_owned();
    let key = body["external_account"]["key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let name = body["external_account"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if body["grant_type"] != "authorization_code" || key.is_empty() || name.is_empty() {
        return refuse(400, "invalid_request");
    }
    {
        let mut codes = state.valid_codes.lock().unwrap();
        let Some(at) = codes.iter().position(|c| *c == code) else {
            drop(codes);
            return refuse(400, "invalid_grant");
        };
        codes.remove(at);
    }
    state
        .exchanges
        .lock()
        .unwrap()
        .push((code.clone(), key, name));
    HttpResponse::Ok().json(serde_json::json!({
        "access_token": format!("secret_notion_token_for_{code}"),
        "token_type": "bearer",
        "bot_id": "bot-1234",
        "workspace_id": "ws-5678",
        "workspace_name": "Acme HQ",
        "workspace_icon": "https://example.com/icon.png",
        "owner": {"type": "user"},
        "duplicated_template_id": null
    }))
}

async fn notion_patch(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<NotionState>,
) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let always = *state.always.lock().unwrap();
    let reply = match always {
        Some(status) => Reply::Status(status),
        None => state
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Reply::Status(200)),
    };
    let answered = match reply {
        Reply::Status(status) => status,
        Reply::RetryAfter(_) => 429,
        Reply::Stall => 0,
    };
    state.patches.lock().unwrap().push(Patch {
        authorization: header("authorization"),
        version: header("notion-version"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        answered,
        at: Instant::now(),
    });
    let status = |code: u16| actix_web::http::StatusCode::from_u16(code).unwrap();
    match reply {
        Reply::Status(200) => HttpResponse::Ok().json(serde_json::json!({"object": "external_object"})),
        Reply::Status(code) => HttpResponse::build(status(code)).json(
            serde_json::json!({"object": "error", "status": code, "code": "scripted", "message": "scripted"}),
        ),
        Reply::RetryAfter(seconds) => HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", seconds.to_string()))
            .json(serde_json::json!({"object": "error", "status": 429, "code": "rate_limited"})),
        Reply::Stall => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            HttpResponse::Ok().finish()
        }
    }
}

/// Fake Notion; clones are handles to the same server, stopped when the last one goes.
#[derive(Clone)]
pub struct FakeNotion {
    pub base: String,
    state: Arc<NotionState>,
    _server: Arc<Running>,
}

impl FakeNotion {
    pub fn spawn() -> Self {
        let state = web::Data::new(NotionState::default());
        let (base, server) = start(state.clone(), 2, |cfg| {
            cfg.route("/v1/oauth/token", web::post().to(notion_token))
                .route("/v1/external/object", web::patch().to(notion_patch));
        });
        Self {
            base,
            state: state.into_inner(),
            _server: Arc::new(server),
        }
    }

    // The code exchange

    /// Notion made `code` and will accept it once.
    pub fn accept_code(&self, code: &str) {
        self.state.valid_codes.lock().unwrap().push(code.to_owned());
    }

    /// Notion forgets every code it made (expired, or already used).
    pub fn forget_codes(&self) {
        self.state.valid_codes.lock().unwrap().clear();
    }

    /// Every accepted exchange: (code, external_account key, name).
    pub fn exchanges(&self) -> Vec<(String, String, String)> {
        self.state.exchanges.lock().unwrap().clone()
    }

    /// How many exchanges were refused.
    pub fn refused(&self) -> usize {
        *self.state.refused.lock().unwrap()
    }

    // Preview updates

    /// Answers for the next PATCHes, in order (after those scripted before).
    pub fn script(&self, replies: &[Reply]) {
        self.state
            .script
            .lock()
            .unwrap()
            .extend(replies.iter().copied());
    }

    /// Answer every PATCH with `status`; `None` goes back to the script.
    pub fn answer_always(&self, status: Option<u16>) {
        *self.state.always.lock().unwrap() = status;
    }

    pub fn patches(&self) -> Vec<Patch> {
        self.state.patches.lock().unwrap().clone()
    }

    /// The PATCHes answered 200.
    pub fn delivered(&self) -> Vec<Patch> {
        self.patches()
            .into_iter()
            .filter(|p| p.answered == 200)
            .collect()
    }

    /// The PATCHes once `done` holds for them; fails after [`PATIENCE`].
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[Patch]) -> bool) -> Vec<Patch> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let patches = self.patches();
            if done(&patches) {
                return patches;
            }
            assert!(
                Instant::now() < deadline,
                "waited {PATIENCE:?} for {what}; Notion saw {patches:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The delivered PATCHes once there are at least `count`.
    pub async fn wait_for_deliveries(&self, count: usize) -> Vec<Patch> {
        self.wait_for(&format!("{count} delivered PATCHes"), |p| {
            p.iter().filter(|p| p.answered == 200).count() >= count
        })
        .await
        .into_iter()
        .filter(|p| p.answered == 200)
        .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Fake GitHub

/// What fake GitHub saw.
#[derive(Default)]
struct GitHubState {
    /// code -> (PKCE challenge, redirect_uri)
    codes: Mutex<HashMap<String, (String, String)>>,
    token_requests: Mutex<usize>,
    issued_tokens: Mutex<Vec<String>>,
}

/// GitHub's authorize page: approves at once and sends the browser back with a code.
async fn github_authorize(req: HttpRequest, state: web::Data<GitHubState>) -> HttpResponse {
    let query: HashMap<String, String> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    if query.get("client_id").map(String::as_str) != Some(GITHUB_CLIENT_ID)
        || query.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return HttpResponse::BadRequest().body("bad authorize request");
    }
    let code = format!("gh-code-{}", uuid::Uuid::new_v4().simple());
    let redirect = query.get("redirect_uri").cloned().unwrap_or_default();
    state.codes.lock().unwrap().insert(
        code.clone(),
        (
            query.get("code_challenge").cloned().unwrap_or_default(),
            redirect.clone(),
        ),
    );
    let mut location = url::Url::parse(&redirect).unwrap();
    location
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair(
            "state",
            query.get("state").map(String::as_str).unwrap_or_default(),
        );
    HttpResponse::Found()
        .insert_header(("Location", location.to_string()))
        .finish()
}

async fn github_access_token(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<GitHubState>,
) -> HttpResponse {
    *state.token_requests.lock().unwrap() += 1;
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let credentials_ok = basic_ok(&req, GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET)
        || (form.get("client_id").map(String::as_str) == Some(GITHUB_CLIENT_ID)
            && form.get("client_secret").map(String::as_str) == Some(GITHUB_CLIENT_SECRET));
    // GitHub answers errors with status 200 and an `error` field.
    let error = |code: &str| HttpResponse::Ok().json(serde_json::json!({"error": code}));
    if !credentials_ok {
        return error("incorrect_client_credentials");
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let Some((challenge, redirect)) = state.codes.lock().unwrap().remove(&code) else {
        return error("bad_verification_code");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge {
        return error("bad_verification_code");
    }
    if form.get("redirect_uri") != Some(&redirect) {
        return error("redirect_uri_mismatch");
    }
    let token = format!("gho_{}", uuid::Uuid::new_v4().simple());
    state.issued_tokens.lock().unwrap().push(token.clone());
    HttpResponse::Ok().json(serde_json::json!({
        "access_token": token, "token_type": "bearer", "scope": "repo,read:user"
    }))
}

async fn github_user(req: HttpRequest, state: web::Data<GitHubState>) -> HttpResponse {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    if !state.issued_tokens.lock().unwrap().contains(&token) {
        return HttpResponse::Unauthorized()
            .json(serde_json::json!({"message": "Bad credentials"}));
    }
    HttpResponse::Ok().json(serde_json::json!({"id": GITHUB_USER_ID, "login": GITHUB_LOGIN}))
}

/// Fake GitHub's sign-in (authorize, token, user); stopped when the last clone goes.
#[derive(Clone)]
pub struct FakeGitHub {
    pub base: String,
    state: Arc<GitHubState>,
    _server: Arc<Running>,
}

impl FakeGitHub {
    pub fn spawn() -> Self {
        let state = web::Data::new(GitHubState::default());
        let (base, server) = start(state.clone(), 1, |cfg| {
            cfg.route("/login/oauth/authorize", web::get().to(github_authorize))
                .route(
                    "/login/oauth/access_token",
                    web::post().to(github_access_token),
                )
                .route("/api/user", web::get().to(github_user));
        });
        Self {
            base,
            state: state.into_inner(),
            _server: Arc::new(server),
        }
    }

    /// How many times a code was presented at the token endpoint.
    pub fn token_requests(&self) -> usize {
        *self.state.token_requests.lock().unwrap()
    }

    /// The access tokens GitHub issued, in order.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state.issued_tokens.lock().unwrap().clone()
    }
}

// ---------------------------------------------------------------------------------------
// Running a fake

/// A running fake server, stopped when dropped.
struct Running(ServerHandle);

impl Drop for Running {
    fn drop(&mut self) {
        drop(self.0.stop(false));
    }
}

fn start<S: Send + Sync + 'static>(
    state: web::Data<S>,
    workers: usize,
    routes: fn(&mut web::ServiceConfig),
) -> (String, Running) {
    let server = HttpServer::new(move || App::new().app_data(state.clone()).configure(routes))
        .workers(workers)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}"), Running(handle))
}
