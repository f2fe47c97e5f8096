//! What the live-update tests share: the real webhook payloads, signing them, a fake
//! pull-request provider whose title a test changes, and a server set up for live updates
//! (fast outbox pacing, a webhook secret, a fake Notion).
//!
//! The stories are told in `webhook_intake` (what `POST /webhooks/github` accepts and
//! refuses), `live_updates` (a change reaches each subscriber), `outbox_retries` (Notion's
//! failures and refusals), `multi_instance` (restarts and several servers on one database)
//! and `live_updates_github` (through the real GitHub provider). Webhook bodies are the
//! real payloads in `../shared/fixtures/github/webhooks/`, signed here.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use notion_unfurl::store::NewConnection;
use notion_unfurl::unfurl::registry::Registry;
use notion_unfurl_sdk::Secret;
use notion_unfurl_sdk::{
    Attribute, CacheScope, Context, Pattern, Preview, Provider, ProviderError, UnfurlRequest,
};
use regex::Regex;
use serde_json::Value;
use sha2::Sha256;

use crate::fakes::{FakeNotion, PATIENCE, Patch};
use crate::helpers::{TempDir, TestApp};

pub const WEBHOOK_SECRET: &str = "webhook-secret-for-tests";
pub const PR: &str = "https://github.com/Codertocat/Hello-World/pull/2";
pub const PR_FILES: &str = "https://github.com/Codertocat/Hello-World/pull/2/files";
pub const OTHER_PR: &str = "https://github.com/Codertocat/Hello-World/pull/3";
pub const HEAD_SHA: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

// ---------------------------------------------------------------------------------------
// Fixtures

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/github/webhooks")
}

/// A real webhook payload, or `None` (the test then skips) when the fixtures are absent.
pub fn fixture(name: &str) -> Option<Vec<u8>> {
    match std::fs::read(fixtures_dir().join(name)) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            eprintln!(
                "skipped: webhook fixture {name} not found in {}",
                fixtures_dir().display()
            );
            None
        }
    }
}

/// A fixture with some of its JSON changed.
pub fn edited(name: &str, edit: impl FnOnce(&mut Value)) -> Option<Vec<u8>> {
    let mut json: Value = serde_json::from_slice(&fixture(name)?).unwrap();
    edit(&mut json);
    Some(serde_json::to_vec(&json).unwrap())
}

/// The fixture's bytes, or return from the test (which skips, saying so).
macro_rules! fixture_or_skip {
    ($name:expr) => {
        match $crate::webhook_setup::fixture($name) {
            Some(bytes) => bytes,
            None => return,
        }
    };
}
pub(crate) use fixture_or_skip;

pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub fn delivery_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Patch {
    /// The title the PATCH would show (`crate::fakes` cannot see `crate::helpers`).
    pub fn title(&self) -> String {
        crate::helpers::title(&self.body).unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------
// Fake pull-request provider

/// Previews `https://github.com/{owner}/{repo}/pull/{n}` (and its sub-pages) with the
/// title the test set, and counts its reads. Previews are cached per account for an hour,
/// so only an invalidated cache shows a new title.
pub struct FakePulls {
    patterns: Vec<Pattern>,
    title: Mutex<String>,
    pub reads: AtomicUsize,
    /// How many coming reads answer with a stale earlier read (an upstream outage).
    pub stale_reads: AtomicUsize,
    /// How many coming reads the upstream refuses with a rate limit.
    pub rate_limited_reads: AtomicUsize,
}

impl FakePulls {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            patterns: vec![Pattern {
                domain: Some("github.com".into()),
                regex: Regex::new(
                    r"^https://github\.com/(?<owner>[^/]+)/(?<repo>[^/]+)/pull/(?<number>\d+)(?:/(?:files|commits|checks))?/?(?:[?#].*)?$",
                )
                .unwrap(),
                dashboard: None,
                samples: vec![PR.into()],
                placeholder: Vec::new(),
            }],
            title: Mutex::new("Update the README".into()),
            reads: AtomicUsize::new(0),
            stale_reads: AtomicUsize::new(0),
            rate_limited_reads: AtomicUsize::new(0),
        })
    }

    /// The pull request changed upstream.
    pub fn retitle(&self, title: &str) {
        *self.title.lock().unwrap() = title.to_owned();
    }
}

#[async_trait]
impl Provider for FakePulls {
    fn id(&self) -> &'static str {
        "fake-pulls"
    }

    fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    async fn unfurl(
        &self,
        request: &UnfurlRequest,
        _ctx: &Context,
    ) -> Result<Preview, ProviderError> {
        let read = self.reads.fetch_add(1, Ordering::SeqCst) + 1;
        if self
            .rate_limited_reads
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(ProviderError::RateLimited {
                retry_after: None,
                hint: None,
            });
        }
        let stale = self
            .stale_reads
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let title = if stale {
            "Stale earlier read".to_owned()
        } else {
            format!("{} (read {read})", self.title.lock().unwrap())
        };
        let number = &request.captures["number"];
        Ok(Preview {
            attributes: vec![
                Attribute::title("title", "Title", title).unwrap(),
                Attribute::plain_text(
                    "identifier",
                    "Identifier",
                    format!("#{number}"),
                    notion_unfurl_sdk::attributes::TextSection::Secondary,
                )
                .unwrap(),
            ],
            scope: CacheScope::Account,
            ttl: Duration::from_secs(3600),
            stale,
            bytes_read: 0,
        })
    }

    fn canonical_uri(&self, url: &url::Url) -> String {
        let captures = self.patterns[0].captures(url.as_str()).unwrap_or_default();
        format!(
            "https://github.com/{}/{}/pull/{}",
            captures["owner"].to_lowercase(),
            captures["repo"].to_lowercase(),
            captures["number"]
        )
    }
}

// ---------------------------------------------------------------------------------------
// The server under test

/// Webhooks signed with [`WEBHOOK_SECRET`], and fast outbox pacing so retries take
/// milliseconds.
pub const LIVE_ENV: [(&str, &str); 3] = [
    ("UNFURL_GITHUB_WEBHOOK_SECRET", WEBHOOK_SECRET),
    ("UNFURL_OUTBOX_POLL_MS", "25"),
    ("UNFURL_OUTBOX_BACKOFF_MS", "20"),
];

/// A server for live updates with [`FakePulls`] as its only provider.
pub struct LiveApp {
    pub app: TestApp,
    pub pulls: Arc<FakePulls>,
}

impl Deref for LiveApp {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

/// A live-update server on `data_dir` talking to `notion`, with [`LIVE_ENV`] and then
/// `extra` settings.
pub async fn spawn_live(data_dir: &Path, notion: &FakeNotion, extra: &[(&str, &str)]) -> LiveApp {
    let pulls = FakePulls::new();
    let mut registry = Registry::default();
    registry.push(pulls.clone());
    let app = TestApp::builder()
        .sharing_notion(notion)
        .with_env(&LIVE_ENV)
        .with_env(extra)
        .with_registry(registry)
        .data_dir(data_dir)
        .spawn()
        .await;
    LiveApp { app, pulls }
}

impl LiveApp {
    /// A Notion connection for `account` holding `notion_token`, and an access token for it.
    pub async fn connect(&self, account: &str, notion_token: &str) -> (String, String) {
        let store = self.app_state.connections.store();
        store.upsert_account(account, account, None).await.unwrap();
        let connection = store
            .create_connection(NewConnection {
                account_key: account.to_owned(),
                bot_id: format!("bot-{account}"),
                workspace_id: format!("ws-{account}"),
                workspace_name: Some("Acme".into()),
                workspace_icon: None,
                notion_token: Some(Secret::new(notion_token)),
            })
            .await
            .unwrap();
        let token = self.app_state.tokens.issue(&connection.id).unwrap();
        (connection.id, token)
    }

    /// POST /unfurl for `uri` with `token`; the answer, whatever it is.
    pub async fn unfurl_as(&self, token: &str, uri: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/unfurl", self.address))
            .bearer_auth(token)
            .json(&serde_json::json!({ "uri": uri }))
            .send()
            .await
            .unwrap()
    }

    /// Show `uri` in Notion: unfurl it, which subscribes the connection.
    pub async fn subscribe(&self, token: &str, uri: &str) -> String {
        let response = self.unfurl_as(token, uri).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        crate::helpers::title(&body).unwrap_or_else(|| panic!("no title in {body}"))
    }

    /// DELETE /unfurl for `uri` with `token`: Notion deleted the preview.
    pub async fn delete_preview(&self, token: &str, uri: &str) -> reqwest::Response {
        self.client
            .delete(format!("{}/unfurl", self.address))
            .bearer_auth(token)
            .json(&serde_json::json!({ "uri": uri }))
            .send()
            .await
            .unwrap()
    }

    pub async fn post_webhook(
        &self,
        event: &str,
        delivery: &str,
        body: &[u8],
        signature: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/webhooks/github", self.address))
            .header("X-GitHub-Event", event)
            .header("X-GitHub-Delivery", delivery)
            .header("Content-Type", "application/json")
            .body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header("X-Hub-Signature-256", signature);
        }
        request.send().await.unwrap()
    }

    /// A correctly signed webhook; its status and JSON answer.
    pub async fn webhook(&self, event: &str, delivery: &str, body: &[u8]) -> (u16, Value) {
        let started = Instant::now();
        let response = self
            .post_webhook(event, delivery, body, Some(&sign(WEBHOOK_SECRET, body)))
            .await;
        // The answer does no upstream work (no provider or Notion call), which is what keeps
        // it under GitHub's deadline; the bound here is loose so a busy machine cannot flake.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the webhook took {:?} to answer",
            started.elapsed()
        );
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn outbox_len(&self) -> u64 {
        self.app_state
            .connections
            .store()
            .outbox_len()
            .await
            .unwrap()
    }

    pub async fn wait_until_outbox_is_empty(&self) {
        let deadline = Instant::now() + PATIENCE;
        while self.outbox_len().await > 0 {
            assert!(Instant::now() < deadline, "the outbox never drained");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Fake Notion, a server, and alice's connection showing [`PR`]: where most tests start.
pub struct Alice {
    pub app: LiveApp,
    pub token: String,
    pub notion: FakeNotion,
    pub dir: TempDir,
}

pub async fn alice_showing_pr() -> Alice {
    let notion = FakeNotion::spawn();
    let dir = TempDir::unique();
    let app = spawn_live(&dir.0, &notion, &[]).await;
    let (_, token) = app.connect("local:alice", "secret_notion_alice").await;
    app.subscribe(&token, PR).await;
    Alice {
        notion,
        dir,
        app,
        token,
    }
}
