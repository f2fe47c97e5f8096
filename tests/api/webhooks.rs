//! Live updates: `POST /webhooks/github` and the outbox worker pushing to a fake Notion.
//!
//! The real server runs with a fake pull-request provider (so these tests do not depend on
//! the GitHub provider crate) whose title the test changes, and a fake Notion that records
//! every `PATCH /v1/external/object` and answers from a script. Webhook bodies are the real
//! payloads in `../shared/fixtures/github/webhooks/`, signed here.

use std::ops::Deref;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use futures_util::FutureExt;
use hmac::{Hmac, Mac};
use notion_unfurl::clients::notion::NOTION_VERSION;
use notion_unfurl::store::{NewConnection, WebhookDelivery};
use notion_unfurl::unfurl::registry::Registry;
use notion_unfurl_sdk::Secret;
use notion_unfurl_sdk::{
    Attribute, CacheScope, Context, Pattern, Preview, Provider, ProviderError, UnfurlRequest,
};
use regex::Regex;
use serde_json::Value;
use sha2::Sha256;

use crate::fakes::{FakeNotion, PATIENCE, Patch, Reply};
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
        match $crate::webhooks::fixture($name) {
            Some(bytes) => bytes,
            None => return,
        }
    };
}

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
    fn new() -> Arc<Self> {
        Arc::new(Self {
            patterns: vec![Pattern {
                domain: Some("github.com".into()),
                regex: Regex::new(
                    r"^https://github\.com/(?<owner>[^/]+)/(?<repo>[^/]+)/pull/(?<number>\d+)(?:/(?:files|commits|checks))?/?(?:[?#].*)?$",
                )
                .unwrap(),
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

// ---------------------------------------------------------------------------------------
// Accepting webhooks

#[tokio::test]
async fn bad_or_missing_signatures_are_refused_and_record_nothing() {
    let body = fixture_or_skip!("pull_request.opened.json");
    let alice = alice_showing_pr().await;
    let (notion, app) = (&alice.notion, &alice.app);
    let delivery = delivery_id();

    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let good = sign(WEBHOOK_SECRET, &body);
    let attempts: [(&[u8], Option<String>); 5] = [
        (&body, None),
        (&body, Some(sign("another-secret", &body))),
        (&tampered, Some(good.clone())),
        (&body, Some(good.trim_start_matches("sha256=").to_owned())),
        (&body, Some("sha256=not-hex".to_owned())),
    ];
    for (sent, signature) in attempts {
        let response = app
            .post_webhook("pull_request", &delivery, sent, signature.as_deref())
            .await;
        assert_eq!(response.status(), 401, "signature {signature:?}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], "invalid_signature");
    }
    assert_eq!(app.outbox_len().await, 0);

    // The refused attempts did not spend the delivery id either.
    let (status, _) = app.webhook("pull_request", &delivery, &body).await;
    assert_eq!(status, 202);
    notion.wait_for_deliveries(1).await;
    assert_eq!(notion.patches().len(), 1);
}

#[tokio::test]
async fn webhooks_are_refused_when_no_secret_is_configured() {
    let body = fixture_or_skip!("pull_request.opened.json");
    let notion = FakeNotion::spawn();
    let dir = TempDir::unique();
    let app = spawn_live(&dir.0, &notion, &[("UNFURL_GITHUB_WEBHOOK_SECRET", "")]).await;
    let (_, token) = app.connect("local:alice", "secret_notion_alice").await;
    app.subscribe(&token, PR).await;
    for signature in [
        Some(sign(WEBHOOK_SECRET, &body)),
        Some(sign("", &body)),
        None,
    ] {
        let response = app
            .post_webhook("pull_request", &delivery_id(), &body, signature.as_deref())
            .await;
        assert_eq!(response.status(), 401);
    }
    assert_eq!(app.outbox_len().await, 0);
    assert!(notion.patches().is_empty());
}

#[tokio::test]
async fn a_redelivered_webhook_pushes_nothing_more() {
    let body = fixture_or_skip!("pull_request.closed.json");
    let alice = alice_showing_pr().await;
    let (notion, app) = (&alice.notion, &alice.app);
    let delivery = delivery_id();

    assert_eq!(app.webhook("pull_request", &delivery, &body).await.0, 202);
    notion.wait_for_deliveries(1).await;
    app.wait_until_outbox_is_empty().await;

    let (status, ack) = app.webhook("pull_request", &delivery, &body).await;
    assert_eq!(status, 200);
    assert_eq!(ack["status"], "duplicate");
    assert_eq!(
        app.outbox_len().await,
        0,
        "nothing was queued for the redelivery"
    );
    assert_eq!(notion.patches().len(), 1);
}

#[tokio::test]
async fn ping_is_answered_and_other_events_are_ignored() {
    let ping = fixture_or_skip!("ping.json");
    let comment_on_issue = fixture_or_skip!("issue_comment.created.json");
    let alice = alice_showing_pr().await;
    let (notion, app) = (&alice.notion, &alice.app);

    let (status, ack) = app.webhook("ping", &delivery_id(), &ping).await;
    assert_eq!((status, ack["status"].as_str()), (200, Some("pong")));
    let (status, ack) = app.webhook("star", &delivery_id(), &ping).await;
    assert_eq!((status, ack["status"].as_str()), (202, Some("ignored")));
    // The fixture comments on an issue, not a pull request.
    let (status, ack) = app
        .webhook("issue_comment", &delivery_id(), &comment_on_issue)
        .await;
    assert_eq!((status, ack["status"].as_str()), (202, Some("ignored")));
    assert_eq!(app.outbox_len().await, 0);
    assert!(notion.patches().is_empty());
}

#[tokio::test]
async fn a_body_over_25_megabytes_is_refused() {
    let notion = FakeNotion::spawn();
    let dir = TempDir::unique();
    let app = spawn_live(&dir.0, &notion, &[]).await;
    let huge = vec![b' '; 25 * 1024 * 1024 + 1];
    let response = app
        .post_webhook(
            "pull_request",
            &delivery_id(),
            &huge,
            Some(&sign(WEBHOOK_SECRET, &huge)),
        )
        .await;
    assert_eq!(response.status(), 413);
    // Just under the cap is read and verified (and then is no valid payload).
    let big = vec![b' '; 25 * 1024 * 1024 - 1];
    let response = app
        .post_webhook(
            "pull_request",
            &delivery_id(),
            &big,
            Some(&sign(WEBHOOK_SECRET, &big)),
        )
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn slow_unverified_bodies_hold_at_most_eight_reading_slots_for_a_bounded_time() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let notion = FakeNotion::spawn();
    let dir = TempDir::unique();
    // Bodies get 6 s to arrive; a delivery waits 2 s for a reading slot. (The margin
    // keeps a slow machine from freeing a stalled slot while the ninth still waits.)
    let app = spawn_live(
        &dir.0,
        &notion,
        &[("UNFURL_WEBHOOK_READ_TIMEOUT_SECS", "6")],
    )
    .await;
    let host = app.address.trim_start_matches("http://").to_owned();
    // Eight senders announce a kilobyte, send a few bytes of it and stall, as a sender
    // without the secret can (the signature is only checked once the body is in).
    let mut stalled = Vec::new();
    for _ in 0..8 {
        let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
        let head = format!(
            "POST /webhooks/github HTTP/1.1\r\nHost: {host}\r\nX-GitHub-Event: ping\r\n\
             X-GitHub-Delivery: {}\r\nX-Hub-Signature-256: sha256=00\r\n\
             Content-Type: application/json\r\nContent-Length: 1024\r\n\r\n{{\"zen\":",
            delivery_id()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stalled.push(stream);
    }
    let deadline = Instant::now() + PATIENCE;
    while app.limits.webhook_reads.available_permits() > 0 {
        assert!(
            Instant::now() < deadline,
            "the stalled senders never got a slot"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // A ninth, correctly signed delivery finds no slot in time and is told to retry
    // (GitHub redelivers), without its body being read.
    let ping = br#"{"zen":"Keep it logically awesome."}"#;
    let refused = app
        .post_webhook(
            "ping",
            &delivery_id(),
            ping,
            Some(&sign(WEBHOOK_SECRET, ping)),
        )
        .await;
    assert_eq!(refused.status(), 503);

    // Each stalled sender is cut off at the deadline, and its slot is freed.
    for mut stream in stalled {
        let mut answer = vec![0u8; 512];
        let read = tokio::time::timeout(PATIENCE, stream.read(&mut answer))
            .await
            .expect("a stalled sender was never cut off")
            .unwrap();
        let answer = String::from_utf8_lossy(&answer[..read]);
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    }
    let deadline = Instant::now() + PATIENCE;
    while app.limits.webhook_reads.available_permits() < 8 {
        assert!(
            Instant::now() < deadline,
            "reading slots were not given back"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, ack) = app.webhook("ping", &delivery_id(), ping).await;
    assert_eq!((status, ack["status"].as_str()), (200, Some("pong")));
}

// ---------------------------------------------------------------------------------------
// Delivering updates

/// The `set` of the `attributes` operation: what Notion would show.
fn attributes_op(body: &Value) -> &Value {
    body["operations"]
        .as_array()
        .and_then(|ops| {
            ops.iter()
                .find(|op| op["path"] == serde_json::json!(["attributes"]))
        })
        .map(|op| &op["set"])
        .unwrap_or(&Value::Null)
}

#[tokio::test]
async fn a_signed_pull_request_event_pushes_the_new_preview_to_each_subscriber() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    let notion = FakeNotion::spawn();
    let dir = TempDir::unique();
    let app = spawn_live(&dir.0, &notion, &[]).await;
    let (_, alice) = app.connect("local:alice", "secret_notion_alice").await;
    let (_, bob) = app.connect("local:bob", "secret_notion_bob").await;
    let (_, carol) = app.connect("local:carol", "secret_notion_carol").await;
    let before = app.subscribe(&alice, PR).await;
    app.subscribe(&bob, PR).await;
    app.subscribe(&carol, OTHER_PR).await;
    assert!(before.starts_with("Update the README"));

    app.pulls.retitle("Update the README, rebased");
    let (status, ack) = app.webhook("pull_request", &delivery_id(), &body).await;
    assert_eq!(status, 202, "{ack}");
    assert_eq!(ack, serde_json::json!({"status": "queued", "updates": 2}));

    let delivered = notion.wait_for_deliveries(2).await;
    app.wait_until_outbox_is_empty().await;
    assert_eq!(
        notion.patches().len(),
        2,
        "one PATCH per subscribed connection"
    );
    let mut bearers: Vec<&str> = delivered.iter().map(|p| p.authorization.as_str()).collect();
    bearers.sort_unstable();
    assert_eq!(
        bearers,
        ["Bearer secret_notion_alice", "Bearer secret_notion_bob"]
    );
    for patch in &delivered {
        assert_eq!(patch.version, NOTION_VERSION);
        assert_eq!(patch.uri(), PR);
        let ops = patch.body["operations"].as_array().unwrap();
        assert_eq!(
            ops.len(),
            1,
            "attributes only, which clears an earlier error"
        );
        assert_eq!(ops[0]["path"], serde_json::json!(["attributes"]));
        assert!(
            attributes_op(&patch.body)
                .as_array()
                .is_some_and(|a| a.len() >= 2)
        );
        assert!(
            patch
                .title()
                .starts_with("Update the README, rebased (read "),
            "{}",
            patch.title()
        );
    }
}

#[tokio::test]
async fn a_sub_page_subscription_is_updated_through_its_pull_request() {
    let body = fixture_or_skip!("pull_request.labeled.json");
    let notion = FakeNotion::spawn();
    let dir = TempDir::unique();
    let app = spawn_live(&dir.0, &notion, &[]).await;
    let (_, token) = app.connect("local:alice", "secret_notion_alice").await;
    app.subscribe(&token, PR_FILES).await;

    app.pulls.retitle("Labelled");
    let (status, _) = app.webhook("pull_request", &delivery_id(), &body).await;
    assert_eq!(status, 202);
    let delivered = notion.wait_for_deliveries(1).await;
    assert_eq!(
        delivered[0].uri(),
        PR_FILES,
        "Notion is told about the link it shows"
    );
    assert!(delivered[0].title().starts_with("Labelled"));
}

#[tokio::test]
async fn an_event_for_a_pull_request_nobody_shows_pushes_nothing() {
    let body = fixture_or_skip!("pull_request.reopened.json");
    let notion = FakeNotion::spawn();
    let dir = TempDir::unique();
    let app = spawn_live(&dir.0, &notion, &[]).await;
    let (_, token) = app.connect("local:alice", "secret_notion_alice").await;
    app.subscribe(&token, OTHER_PR).await;

    let (status, ack) = app.webhook("pull_request", &delivery_id(), &body).await;
    assert_eq!(status, 202);
    assert_eq!(ack["updates"], 0);
    assert_eq!(app.outbox_len().await, 0);
    assert!(notion.patches().is_empty());
}

#[tokio::test]
async fn comments_reviews_checks_and_statuses_on_a_pull_request_update_it() {
    let Some(comment) = edited("issue_comment.created.json", |json| {
        json["issue"]["pull_request"] = serde_json::json!({
            "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2",
            "html_url": PR,
        });
    }) else {
        return;
    };
    let review = fixture_or_skip!("pull_request_review.submitted.json");
    let check_run = fixture_or_skip!("check_run.completed.json");
    let check_suite = fixture_or_skip!("check_suite.completed.json");
    let status_elsewhere = fixture_or_skip!("status.json");
    let Some(status_on_head) = edited("status.json", |json| json["sha"] = HEAD_SHA.into()) else {
        return;
    };
    let alice = alice_showing_pr().await;
    let (notion, app) = (&alice.notion, &alice.app);

    let events: [(&str, &[u8]); 4] = [
        ("issue_comment", &comment),
        ("pull_request_review", &review),
        ("check_run", &check_run),
        ("check_suite", &check_suite),
    ];
    for (n, (event, body)) in events.into_iter().enumerate() {
        app.pulls.retitle(&format!("After {event}"));
        let (status, ack) = app.webhook(event, &delivery_id(), body).await;
        assert_eq!(
            (status, &ack["updates"]),
            (202, &serde_json::json!(1)),
            "{event}"
        );
        let delivered = notion.wait_for_deliveries(n + 1).await;
        assert!(delivered[n].title().starts_with(&format!("After {event}")));
        app.wait_until_outbox_is_empty().await;
    }

    // A status names only a commit: the pull request whose head it is, as the review and
    // check events above taught.
    let (status, ack) = app
        .webhook("status", &delivery_id(), &status_elsewhere)
        .await;
    assert_eq!((status, &ack["updates"]), (202, &serde_json::json!(0)));
    app.pulls.retitle("After status");
    let (status, ack) = app.webhook("status", &delivery_id(), &status_on_head).await;
    assert_eq!((status, &ack["updates"]), (202, &serde_json::json!(1)));
    let delivered = notion.wait_for_deliveries(5).await;
    assert!(delivered[4].title().starts_with("After status"));
}

#[tokio::test]
async fn no_update_is_pushed_after_notion_deletes_the_preview() {
    let body = fixture_or_skip!("pull_request.opened.json");
    let alice = alice_showing_pr().await;
    let (notion, app, token) = (&alice.notion, &alice.app, alice.token.as_str());
    let deleted = app.delete_preview(token, PR).await;
    assert_eq!(deleted.status(), 204);

    let (status, ack) = app.webhook("pull_request", &delivery_id(), &body).await;
    assert_eq!((status, &ack["updates"]), (202, &serde_json::json!(0)));
    assert!(notion.patches().is_empty());
}

#[tokio::test]
async fn a_connection_without_a_notion_token_gets_no_push() {
    let body = fixture_or_skip!("pull_request.opened.json");
    let notion = FakeNotion::spawn();
    let dir = TempDir::unique();
    let app = spawn_live(&dir.0, &notion, &[]).await;
    // `token issue` makes such connections for local testing.
    let token = notion_unfurl::cli::local_token(&app.app_state, "local:tester")
        .await
        .unwrap();
    app.subscribe(&token, PR).await;

    let (status, ack) = app.webhook("pull_request", &delivery_id(), &body).await;
    assert_eq!((status, &ack["updates"]), (202, &serde_json::json!(1)));
    app.wait_until_outbox_is_empty().await;
    assert!(notion.patches().is_empty());
}

// ---------------------------------------------------------------------------------------
// Retries and refusals

#[tokio::test]
async fn notion_503s_and_conflicts_are_retried_until_the_update_is_delivered_once() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    let notion = FakeNotion::spawn();
    // Notion's 409 `conflict_error` asks the caller to try again, like a 503.
    notion.script(&[Reply::Status(503), Reply::Status(409), Reply::Status(503)]);
    let dir = TempDir::unique();
    let app = spawn_live(&dir.0, &notion, &[]).await;
    let (_, token) = app.connect("local:alice", "secret_notion_alice").await;
    app.subscribe(&token, PR).await;

    app.pulls.retitle("Retried");
    assert_eq!(
        app.webhook("pull_request", &delivery_id(), &body).await.0,
        202
    );
    notion.wait_for_deliveries(1).await;
    app.wait_until_outbox_is_empty().await;
    let patches = notion.patches();
    let answers: Vec<u16> = patches.iter().map(|p| p.answered).collect();
    assert_eq!(answers, [503, 409, 503, 200]);
    assert!(patches.iter().all(|p| p.title().starts_with("Retried")));
    // Operators see the same story in /metrics.
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"notion_unfurl_outbox_deliveries_total{outcome="retried"} 3"#,
        r#"notion_unfurl_outbox_deliveries_total{outcome="delivered"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
}

#[tokio::test]
async fn retry_after_from_notion_is_honoured() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    let alice = alice_showing_pr().await;
    let (notion, app) = (&alice.notion, &alice.app);
    notion.script(&[Reply::RetryAfter(1)]);

    assert_eq!(
        app.webhook("pull_request", &delivery_id(), &body).await.0,
        202
    );
    let patches = notion.wait_for("the retry", |p| p.len() >= 2).await;
    let waited = patches[1].at - patches[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?} despite Retry-After: 1 (backoff alone is 20 ms)"
    );
    assert_eq!(patches[1].answered, 200);
}

#[tokio::test]
async fn a_stale_preview_is_not_pushed_and_the_update_waits_for_a_fresh_read() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    let alice = alice_showing_pr().await;
    let (notion, app) = (&alice.notion, &alice.app);

    // The upstream fails twice: the provider can only offer its earlier read.
    app.pulls.stale_reads.store(2, Ordering::SeqCst);
    app.pulls.retitle("Fresh after the outage");
    assert_eq!(
        app.webhook("pull_request", &delivery_id(), &body).await.0,
        202
    );
    let delivered = notion.wait_for_deliveries(1).await;
    app.wait_until_outbox_is_empty().await;
    assert_eq!(notion.patches().len(), 1, "nothing stale was pushed");
    assert!(
        delivered[0].title().starts_with("Fresh after the outage"),
        "{}",
        delivered[0].title()
    );
}

#[tokio::test]
async fn an_update_whose_upstream_is_rate_limited_waits_a_minute() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    let alice = alice_showing_pr().await;
    let (notion, dir, app) = (&alice.notion, &alice.dir, &alice.app);

    app.pulls.rate_limited_reads.store(1, Ordering::SeqCst);
    let reads_before = app.pulls.reads.load(Ordering::SeqCst);
    let queued_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert_eq!(
        app.webhook("pull_request", &delivery_id(), &body).await.0,
        202
    );
    // The one attempt met the rate limit; with a 20 ms backoff it would be retried at
    // once, but GitHub asks for a minute.
    let deadline = Instant::now() + PATIENCE;
    while app.pulls.reads.load(Ordering::SeqCst) == reads_before {
        assert!(Instant::now() < deadline, "the update was never tried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.pulls.reads.load(Ordering::SeqCst), reads_before + 1);
    assert!(
        notion.patches().is_empty(),
        "no rate-limit error was pushed"
    );
    let mut raw = crate::helpers::raw_database(&dir.0).await;
    let (attempts, next_at): (i64, i64) =
        sqlx::query_as("SELECT attempts, next_attempt_at_ms FROM outbox")
            .fetch_one(&mut raw)
            .await
            .unwrap();
    assert_eq!(attempts, 1);
    assert!(
        next_at >= queued_at + 59_000,
        "retried {} ms after queueing",
        next_at - queued_at
    );
}

#[tokio::test]
async fn an_update_failing_for_a_day_is_given_up() {
    let alice = alice_showing_pr().await;
    let (notion, dir, app) = (&alice.notion, &alice.dir, &alice.app);
    notion.answer_always(Some(503));
    // An update queued to run far in the future, then made due with all its attempts but
    // one already spent.
    let store = app.app_state.connections.store();
    let canonical = "https://github.com/codertocat/hello-world/pull/2".to_owned();
    let accepted = store
        .accept_webhook(WebhookDelivery {
            id: "long-failing",
            event: "pull_request",
            canonical_uris: std::slice::from_ref(&canonical),
            heads: &[],
            commits: &[],
            now_ms: i64::MAX / 2,
        })
        .await
        .unwrap();
    assert_eq!(
        accepted,
        notion_unfurl::store::Accepted::Queued { updates: 1 }
    );
    let mut raw = crate::helpers::raw_database(&dir.0).await;
    sqlx::query("UPDATE outbox SET attempts = $1, next_attempt_at_ms = 0")
        .bind(notion_unfurl::live::outbox::MAX_ATTEMPTS - 1)
        .execute(&mut raw)
        .await
        .unwrap();

    app.wait_until_outbox_is_empty().await;
    let answers: Vec<u16> = notion.patches().iter().map(|p| p.answered).collect();
    assert_eq!(
        answers,
        [503],
        "one last attempt, then the update is dropped"
    );
}

#[tokio::test]
async fn a_401_from_notion_revokes_the_connection() {
    let body = fixture_or_skip!("pull_request.opened.json");
    let notion = FakeNotion::spawn();
    notion.script(&[Reply::Status(401)]);
    let dir = TempDir::unique();
    let app = spawn_live(&dir.0, &notion, &[]).await;
    let (connection, token) = app.connect("local:alice", "secret_notion_alice").await;
    app.subscribe(&token, PR).await;

    assert_eq!(
        app.webhook("pull_request", &delivery_id(), &body).await.0,
        202
    );
    notion
        .wait_for("the refused PATCH", |p| !p.is_empty())
        .await;
    let store = app.app_state.connections.store();
    let deadline = Instant::now() + PATIENCE;
    while !store.is_connection_revoked(&connection).await.unwrap() {
        assert!(
            Instant::now() < deadline,
            "the connection was never revoked"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.unfurl_as(&token, PR).await.status(), 401);
    assert_eq!(app.outbox_len().await, 0);
    assert_eq!(notion.patches().len(), 1, "no retry for a refused token");
}

#[tokio::test]
async fn a_400_from_notion_drops_the_update_without_retrying() {
    let body = fixture_or_skip!("pull_request.opened.json");
    let notion = FakeNotion::spawn();
    notion.script(&[Reply::Status(400)]);
    let dir = TempDir::unique();
    let app = spawn_live(&dir.0, &notion, &[]).await;
    let (connection, token) = app.connect("local:alice", "secret_notion_alice").await;
    app.subscribe(&token, PR).await;

    assert_eq!(
        app.webhook("pull_request", &delivery_id(), &body).await.0,
        202
    );
    notion
        .wait_for("the refused PATCH", |p| !p.is_empty())
        .await;
    app.wait_until_outbox_is_empty().await;
    assert_eq!(notion.patches().len(), 1);
    let store = app.app_state.connections.store();
    assert!(!store.is_connection_revoked(&connection).await.unwrap());
    assert_eq!(app.unfurl_as(&token, PR).await.status(), 200);
}

#[tokio::test]
async fn an_update_queued_before_the_preview_was_deleted_is_dropped() {
    let body = fixture_or_skip!("pull_request.opened.json");
    let alice = alice_showing_pr().await;
    let (notion, app, token) = (&alice.notion, &alice.app, alice.token.as_str());
    notion.answer_always(Some(503));
    assert_eq!(
        app.webhook("pull_request", &delivery_id(), &body).await.0,
        202
    );
    notion.wait_for("a first attempt", |p| !p.is_empty()).await;

    let deleted = app.delete_preview(token, PR).await;
    assert_eq!(deleted.status(), 204);
    notion.answer_always(None);
    app.wait_until_outbox_is_empty().await;
    assert!(notion.delivered().is_empty());
}

// ---------------------------------------------------------------------------------------
// Durability and sharing

#[tokio::test]
async fn an_update_pending_at_shutdown_is_delivered_after_a_restart() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    let notion = FakeNotion::spawn();
    notion.answer_always(Some(503));
    let dir = TempDir::unique();
    let first = spawn_live(&dir.0, &notion, &[]).await;
    let (_, token) = first.connect("local:alice", "secret_notion_alice").await;
    first.subscribe(&token, PR).await;
    assert_eq!(
        first.webhook("pull_request", &delivery_id(), &body).await.0,
        202
    );
    notion.wait_for("a failed attempt", |p| !p.is_empty()).await;
    first.app.shutdown().await;
    assert!(notion.delivered().is_empty());

    notion.answer_always(None);
    let second = spawn_live(&dir.0, &notion, &[]).await;
    second.pulls.retitle("Seen after the restart");
    let delivered = notion.wait_for_deliveries(1).await;
    assert!(delivered[0].title().starts_with("Seen after the restart"));
    assert_eq!(delivered[0].authorization, "Bearer secret_notion_alice");
    second.wait_until_outbox_is_empty().await;
}

#[tokio::test]
async fn a_delivery_cut_short_by_a_kill_is_resumed_once_its_lease_runs_out() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    let notion = FakeNotion::spawn();
    notion.script(&[Reply::Stall]);
    let dir = TempDir::unique();
    let lease = [("UNFURL_OUTBOX_LEASE_MS", "1000")];
    let first = spawn_live(&dir.0, &notion, &lease).await;
    let (_, token) = first.connect("local:alice", "secret_notion_alice").await;
    first.subscribe(&token, PR).await;
    assert_eq!(
        first.webhook("pull_request", &delivery_id(), &body).await.0,
        202
    );
    notion
        .wait_for("the PATCH in flight", |p| !p.is_empty())
        .await;
    first.app.kill().await;
    let killed_at = Instant::now();

    let second = spawn_live(&dir.0, &notion, &lease).await;
    second.pulls.retitle("Resumed");
    let delivered = notion.wait_for_deliveries(1).await;
    assert!(delivered[0].title().starts_with("Resumed"));
    assert!(
        delivered[0].at > killed_at,
        "delivered by the second server"
    );
    second.wait_until_outbox_is_empty().await;
}

#[tokio::test]
async fn an_instance_that_did_not_take_the_webhook_stops_showing_the_old_preview_within_seconds() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    let notion = FakeNotion::spawn();
    let dir = TempDir::unique();
    // Two instances on one database, behind one public URL (one token is good on both).
    let public = ("UNFURL_PUBLIC_URL", "https://unfurl.example.test");
    let first = spawn_live(&dir.0, &notion, &[public]).await;
    // The second instance's worker looks at the outbox only every ten minutes, so the first
    // one delivers the update and nothing but the shared database tells the second.
    let idle_worker = ("UNFURL_OUTBOX_POLL_MS", "600000");
    let second = spawn_live(&dir.0, &notion, &[public, idle_worker]).await;
    let (_, token) = first.connect("local:alice", "secret_notion_alice").await;
    let shown = second.subscribe(&token, PR).await;
    assert_eq!(shown, "Update the README (read 1)");

    first.pulls.retitle("Update the README, rebased");
    second.pulls.retitle("Update the README, rebased");
    let (status, ack) = first.webhook("pull_request", &delivery_id(), &body).await;
    assert_eq!(status, 202, "{ack}");
    let delivered = notion.wait_for_deliveries(1).await;
    assert!(
        delivered[0]
            .title()
            .starts_with("Update the README, rebased")
    );

    // Notion revisiting the page asks the second instance, which cached the preview for an
    // hour: it must read the pull request again instead of undoing the pushed update.
    let started = Instant::now();
    loop {
        let shown = second.subscribe(&token, PR).await;
        if shown.starts_with("Update the README, rebased") {
            break;
        }
        assert_eq!(shown, "Update the README (read 1)");
        assert!(
            started.elapsed() < PATIENCE,
            "the second instance still shows the old preview"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("forgotten after {:?}", started.elapsed());
}

/// Two servers on one database: each update is pushed once, by one of them.
async fn two_servers_share_the_outbox(extra: &[(&str, &str)], body: &[u8]) {
    let notion = FakeNotion::spawn();
    notion.answer_always(Some(503));
    let dir = TempDir::unique();
    let first = spawn_live(&dir.0, &notion, extra).await;
    let second = spawn_live(&dir.0, &notion, extra).await;
    for n in 0..12 {
        let (_, token) = first
            .connect(&format!("local:user{n}"), &format!("secret_notion_{n}"))
            .await;
        let uri = if n % 2 == 0 { PR } else { PR_FILES };
        first.subscribe(&token, uri).await;
    }
    // Queued while Notion is down, so both workers find all of them due at once.
    let delivery = delivery_id();
    assert_eq!(first.webhook("pull_request", &delivery, body).await.0, 202);
    notion.wait_for("first attempts", |p| !p.is_empty()).await;
    notion.answer_always(None);

    let delivered = notion.wait_for_deliveries(12).await;
    first.wait_until_outbox_is_empty().await;
    let mut bearers: Vec<String> = delivered.iter().map(|p| p.authorization.clone()).collect();
    bearers.sort();
    let before = bearers.len();
    bearers.dedup();
    assert_eq!(before, bearers.len(), "an update was delivered twice");
    assert_eq!(notion.delivered().len(), 12);
    // The same delivery sent to the other server is a duplicate there too.
    let (status, ack) = second.webhook("pull_request", &delivery, body).await;
    assert_eq!((status, ack["status"].as_str()), (200, Some("duplicate")));
}

#[tokio::test]
async fn two_servers_on_one_sqlite_file_deliver_each_update_once() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    two_servers_share_the_outbox(&[], &body).await;
}

#[tokio::test]
async fn two_servers_on_one_postgres_deliver_each_update_once() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    let Some(database) = TestPostgres::create().await else {
        return;
    };
    let extra = [("UNFURL_DATABASE_URL", database.url.as_str())];
    // Drop the database even when the story fails, then report the failure.
    let told = AssertUnwindSafe(two_servers_share_the_outbox(&extra, &body))
        .catch_unwind()
        .await;
    database.drop_database().await;
    if let Err(panic) = told {
        std::panic::resume_unwind(panic);
    }
}

/// A fresh PostgreSQL database for one test, as in tests/store.rs: `UNFURL_TEST_POSTGRES_URL`
/// or local trust auth; skipped (with a line saying so) when nothing answers and no URL
/// was configured.
struct TestPostgres {
    admin: String,
    name: String,
    url: String,
}

impl TestPostgres {
    async fn create() -> Option<Self> {
        use sqlx::{AssertSqlSafe, Connection};
        let configured = std::env::var("UNFURL_TEST_POSTGRES_URL")
            .ok()
            .filter(|v| !v.trim().is_empty());
        let admin = configured
            .clone()
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        sqlx::any::install_default_drivers();
        let connecting = sqlx::AnyConnection::connect(&admin);
        let mut connection = match tokio::time::timeout(Duration::from_secs(5), connecting).await {
            Ok(Ok(connection)) => connection,
            failed => {
                let why = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => "no answer within 5 s".to_owned(),
                };
                assert!(
                    configured.is_none(),
                    "UNFURL_TEST_POSTGRES_URL is set but PostgreSQL is not reachable: {why}"
                );
                eprintln!("skipped: PostgreSQL not reachable ({why})");
                return None;
            }
        };
        let name = format!("nu_webhooks_{}", uuid::Uuid::new_v4().simple());
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut connection)
            .await
            .unwrap();
        let _ = connection.close().await;
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&format!("/{name}"));
        Some(Self {
            admin,
            name,
            url: url.to_string(),
        })
    }

    async fn drop_database(self) {
        use sqlx::{AssertSqlSafe, Connection};
        let mut connection = sqlx::AnyConnection::connect(&self.admin).await.unwrap();
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP DATABASE {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut connection)
        .await
        .unwrap();
        let _ = connection.close().await;
    }
}

/// Claimers on separate pools (as on separate instances) racing for one outbox, on several
/// threads so their claims overlap: every row is claimed exactly once.
async fn concurrent_claims_never_overlap(url: &str) {
    use notion_unfurl::platform::crypto::cipher::Cipher;
    use notion_unfurl::store::Store;

    const ROWS: usize = 120;
    let cipher = || Cipher::from_root(b"webhook-test-root-secret-long-enough", 1);
    let store = Store::connect(url, cipher()).await.unwrap();
    store.upsert_account("local:a", "a", None).await.unwrap();
    let connection = store
        .create_connection(NewConnection {
            account_key: "local:a".into(),
            bot_id: "bot".into(),
            workspace_id: "ws".into(),
            workspace_name: None,
            workspace_icon: None,
            notion_token: Some(Secret::new("secret_notion")),
        })
        .await
        .unwrap();
    let canonical = "https://github.com/o/r/pull/1".to_owned();
    for n in 0..ROWS {
        let uri = format!("https://github.com/o/r/pull/1?variant={n}");
        store
            .subscribe(&connection.id, &uri, &canonical)
            .await
            .unwrap();
    }
    let accepted = store
        .accept_webhook(WebhookDelivery {
            id: "race",
            event: "pull_request",
            canonical_uris: std::slice::from_ref(&canonical),
            heads: &[],
            commits: &[],
            now_ms: 0,
        })
        .await
        .unwrap();
    assert_eq!(
        accepted,
        notion_unfurl::store::Accepted::Queued {
            updates: ROWS as u64
        }
    );

    let mut claimers = Vec::new();
    for _ in 0..12 {
        let store = Store::connect(url, cipher()).await.unwrap();
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let now = i64::try_from(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_millis(),
                )
                .unwrap();
                let rows = store.claim_outbox(now, now + 600_000, 2).await.unwrap();
                if rows.is_empty() {
                    break;
                }
                mine.extend(rows.into_iter().map(|row| row.id));
            }
            store.close().await;
            mine
        }));
    }
    let mut claimed = Vec::new();
    for claimer in claimers {
        claimed.extend(claimer.await.unwrap());
    }
    claimed.sort_unstable();
    let total = claimed.len();
    claimed.dedup();
    assert_eq!(total, claimed.len(), "a row was claimed twice");
    assert_eq!(total, ROWS);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_on_sqlite_never_overlap() {
    let dir = TempDir::unique();
    let url = format!("sqlite://{}/race.db", dir.0.display());
    concurrent_claims_never_overlap(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_on_postgres_never_overlap() {
    let Some(database) = TestPostgres::create().await else {
        return;
    };
    let told = AssertUnwindSafe(concurrent_claims_never_overlap(&database.url))
        .catch_unwind()
        .await;
    database.drop_database().await;
    if let Err(panic) = told {
        std::panic::resume_unwind(panic);
    }
}

// ---------------------------------------------------------------------------------------
// Through the real GitHub provider

/// Fake GitHub's pull request endpoint: answers whatever the test set last.
struct CurrentPull(Arc<Mutex<Value>>);

impl wiremock::Respond for CurrentPull {
    fn respond(&self, _: &wiremock::Request) -> wiremock::ResponseTemplate {
        let pull = self.0.lock().unwrap().clone();
        wiremock::ResponseTemplate::new(200).set_body_json(pull)
    }
}

#[tokio::test]
async fn closing_a_pull_request_pushes_its_new_state_through_the_github_provider() {
    let opened = fixture_or_skip!("pull_request.opened.json");
    let closed = fixture_or_skip!("pull_request.closed.json");
    let opened: Value = serde_json::from_slice(&opened).unwrap();
    let current = Arc::new(Mutex::new(opened["pull_request"].clone()));
    let github = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path(
            "/repos/Codertocat/Hello-World/pulls/2",
        ))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer gho_subscriber",
        ))
        .respond_with(CurrentPull(current.clone()))
        .mount(&github)
        .await;

    let server = spawn_with_github_api(&github).await;
    let notion = server.notion();
    let connection = connect(&server, "github:9", "gho_subscriber", "secret_notion_sub").await;
    let shown = unfurl_as(&server, &connection, PR_FILES).await;
    let state_of = |body: &Value| {
        crate::helpers::attribute(body, "state").map(|a| a["inline"]["enum"]["value"].clone())
    };
    assert_eq!(state_of(&shown), Some("Open".into()), "{shown}");

    // GitHub closes it and tells us.
    let closed_payload: Value = serde_json::from_slice(&closed).unwrap();
    *current.lock().unwrap() = closed_payload["pull_request"].clone();
    assert_eq!(pull_request_event(&server, &closed).await, 202);

    let delivered = notion.wait_for_deliveries(1).await;
    assert_eq!(delivered[0].uri(), PR_FILES);
    assert_eq!(delivered[0].authorization, "Bearer secret_notion_sub");
    assert_eq!(
        state_of(&delivered[0].body),
        Some("Closed".into()),
        "{:?}",
        delivered[0].body
    );
    assert!(delivered[0].title().starts_with("Update the README"));
}

/// The server with the real GitHub provider reading from `github`, talking to a fake Notion.
async fn spawn_with_github_api(github: &wiremock::MockServer) -> TestApp {
    TestApp::builder()
        .with_notion()
        .with_env(&LIVE_ENV)
        .with_env(&[("UNFURL_GITHUB_API_URL", &github.uri())])
        .spawn()
        .await
}

/// A GitHub account holding `github_token`, connected to Notion with `notion_token`; the
/// connection id.
async fn connect(app: &TestApp, account: &str, github_token: &str, notion_token: &str) -> String {
    let store = app.app_state.connections.store();
    store
        .upsert_account(account, account, Some(&Secret::new(github_token)))
        .await
        .unwrap();
    store
        .create_connection(NewConnection {
            account_key: account.into(),
            bot_id: format!("bot-{account}"),
            workspace_id: format!("ws-{account}"),
            workspace_name: None,
            workspace_icon: None,
            notion_token: Some(Secret::new(notion_token)),
        })
        .await
        .unwrap()
        .id
}

/// A correctly signed `pull_request` webhook; the answer's status.
async fn pull_request_event(app: &TestApp, body: &[u8]) -> u16 {
    app.client
        .post(format!("{}/webhooks/github", app.address))
        .header("X-GitHub-Event", "pull_request")
        .header("X-GitHub-Delivery", delivery_id())
        .header("X-Hub-Signature-256", sign(WEBHOOK_SECRET, body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// POST /unfurl for `uri` as `connection`; the JSON body.
async fn unfurl_as(app: &TestApp, connection: &str, uri: &str) -> Value {
    let token = app.app_state.tokens.issue(connection).unwrap();
    app.client
        .post(format!("{}/unfurl", app.address))
        .bearer_auth(token)
        .json(&serde_json::json!({ "uri": uri }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Fake GitHub's private pull request: the current state, to the tokens allowed to see it.
struct GuardedPull {
    pull: Arc<Mutex<Value>>,
    allowed: Arc<Mutex<Vec<String>>>,
}

impl wiremock::Respond for GuardedPull {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let bearer = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default()
            .to_owned();
        if self.allowed.lock().unwrap().contains(&bearer) {
            wiremock::ResponseTemplate::new(200).set_body_json(self.pull.lock().unwrap().clone())
        } else {
            wiremock::ResponseTemplate::new(404)
                .set_body_json(serde_json::json!({"message": "Not Found"}))
        }
    }
}

#[tokio::test]
async fn each_subscriber_is_updated_with_its_own_access_to_a_private_pull_request() {
    let opened = fixture_or_skip!("pull_request.opened.json");
    let closed = fixture_or_skip!("pull_request.closed.json");
    let private = |payload: &[u8]| {
        let payload: Value = serde_json::from_slice(payload).unwrap();
        let mut pull = payload["pull_request"].clone();
        pull["base"]["repo"]["private"] = true.into();
        pull
    };
    let pull = Arc::new(Mutex::new(private(&opened)));
    let allowed = Arc::new(Mutex::new(vec![
        "gho_insider".to_owned(),
        "gho_leaver".to_owned(),
    ]));
    let github = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path(
            "/repos/Codertocat/Hello-World/pulls/2",
        ))
        .respond_with(GuardedPull {
            pull: pull.clone(),
            allowed: allowed.clone(),
        })
        .mount(&github)
        .await;
    let server = spawn_with_github_api(&github).await;
    let notion = server.notion();
    let insider = connect(&server, "github:21", "gho_insider", "secret_notion_insider").await;
    let leaver = connect(&server, "github:22", "gho_leaver", "secret_notion_leaver").await;
    // Both could see the private pull request when they pasted it.
    for connection in [&insider, &leaver] {
        let shown = unfurl_as(&server, connection, PR).await;
        assert!(
            crate::helpers::title(&shown).is_some_and(|t| t.starts_with("Update the README")),
            "{shown}"
        );
    }

    // The second account loses access; then the pull request is closed.
    allowed
        .lock()
        .unwrap()
        .retain(|token| token == "gho_insider");
    *pull.lock().unwrap() = private(&closed);
    assert_eq!(pull_request_event(&server, &closed).await, 202);

    let delivered = notion.wait_for_deliveries(2).await;
    let to = |bearer: &str| {
        delivered
            .iter()
            .find(|p| p.authorization == bearer)
            .unwrap_or_else(|| panic!("nothing pushed with {bearer}"))
    };
    let insider_update = to("Bearer secret_notion_insider");
    assert_eq!(
        crate::helpers::attribute(&insider_update.body, "state")
            .map(|a| a["inline"]["enum"]["value"].clone()),
        Some("Closed".into())
    );
    // The leaver's preview is replaced by "not found", read with its own token: nothing of
    // the private pull request, and nothing from the insider's read.
    let leaver_update = to("Bearer secret_notion_leaver");
    let error = crate::helpers::error_op(&leaver_update.body)
        .unwrap_or_else(|| panic!("{:?}", leaver_update.body));
    assert_eq!(error["status"], 404);
    let text = leaver_update.body.to_string();
    assert!(
        !text.contains("README") && !text.contains("Closed"),
        "{text}"
    );
}
