//! Fake Notion and fake GitHub: local HTTP servers that check what the real ones check
//! (HTTP Basic client credentials, `Notion-Version`, one-time codes, the PKCE verifier).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
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

/// What fake Notion saw and will accept.
#[derive(Default)]
pub struct NotionState {
    /// Codes Notion "made" and will accept once.
    pub valid_codes: Mutex<Vec<String>>,
    /// Every accepted exchange: (code, external_account key, name).
    pub exchanges: Mutex<Vec<(String, String, String)>>,
    pub refused: Mutex<usize>,
    /// What `PATCH /v1/external/object` answers (200 unless set).
    pub patch_status: Mutex<Option<u16>>,
    /// Every preview update received: (Authorization header, body, status answered).
    pub patches: Mutex<Vec<(String, serde_json::Value, u16)>>,
}

async fn notion_patch(
    req: HttpRequest,
    body: web::Json<serde_json::Value>,
    state: web::Data<NotionState>,
) -> HttpResponse {
    let status = state.patch_status.lock().unwrap().unwrap_or(200);
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    state
        .patches
        .lock()
        .unwrap()
        .push((authorization, body.into_inner(), status));
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .json(serde_json::json!({"object": "external_object"}))
}

async fn notion_token(
    req: HttpRequest,
    body: web::Json<serde_json::Value>,
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

/// What fake GitHub saw.
#[derive(Default)]
pub struct GitHubState {
    /// code -> (PKCE challenge, redirect_uri)
    codes: Mutex<HashMap<String, (String, String)>>,
    pub token_requests: Mutex<usize>,
    pub issued_tokens: Mutex<Vec<String>>,
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

pub struct Fake<S> {
    pub base: String,
    pub state: Arc<S>,
    handle: ServerHandle,
}

impl<S> Drop for Fake<S> {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

fn start<S: Send + Sync + 'static>(
    state: web::Data<S>,
    routes: fn(&mut web::ServiceConfig),
) -> (String, ServerHandle) {
    let server = HttpServer::new(move || App::new().app_data(state.clone()).configure(routes))
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}"), handle)
}

pub fn spawn_notion() -> Fake<NotionState> {
    let state = web::Data::new(NotionState::default());
    let (base, handle) = start(state.clone(), |cfg| {
        cfg.route("/v1/oauth/token", web::post().to(notion_token))
            .route("/v1/external/object", web::patch().to(notion_patch));
    });
    Fake {
        base,
        state: state.into_inner(),
        handle,
    }
}

pub fn spawn_github() -> Fake<GitHubState> {
    let state = web::Data::new(GitHubState::default());
    let (base, handle) = start(state.clone(), |cfg| {
        cfg.route("/login/oauth/authorize", web::get().to(github_authorize))
            .route(
                "/login/oauth/access_token",
                web::post().to(github_access_token),
            )
            .route("/api/user", web::get().to(github_user));
    });
    Fake {
        base,
        state: state.into_inner(),
        handle,
    }
}
