//! Nothing is lost on a crash: link an account, unfurl, `kill -9` the real binary, start it
//! again on the same data directory, and every token and subscription still works.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::StatusCode;

use crate::fakes::{FakeNotion, NOTION_CLIENT_ID, NOTION_CLIENT_SECRET, Reply};
use crate::helpers::spawn_origin;
use crate::linking::{
    NOTION_CALLBACK, OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, authorize_query, csrf_of, location,
};

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &std::path::Path, notion: &str, extra: &[(&str, &str)]) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_notion-unfurl"));
    for (key, _) in std::env::vars() {
        if key.starts_with("UNFURL_") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command
        .arg("serve")
        .env("UNFURL_LISTEN", "127.0.0.1:0")
        // Fixed, so tokens from the first run name the same issuer and audience.
        .env("UNFURL_PUBLIC_URL", "http://unfurl.test")
        .env("UNFURL_DATA_DIR", data_dir)
        .env("UNFURL_LOG_FORMAT", "json")
        .env("UNFURL_FETCH_ALLOW", "127.0.0.1/32")
        .env("UNFURL_OAUTH_CLIENT_ID", OAUTH_CLIENT_ID)
        .env("UNFURL_OAUTH_CLIENT_SECRET", OAUTH_CLIENT_SECRET)
        .env("UNFURL_NOTION_CLIENT_ID", NOTION_CLIENT_ID)
        .env("UNFURL_NOTION_CLIENT_SECRET", NOTION_CLIENT_SECRET)
        .env("UNFURL_NOTION_API_URL", notion)
        .envs(extra.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let json: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if json["message"] == "listening" {
                let _ = tx.send(json["port"].as_u64().unwrap_or_default());
            }
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("the server did not start");
        });
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

/// The browser flow and Notion's code exchange against `server`: (access, refresh) tokens.
async fn link(
    server: &Server,
    notion: &FakeNotion,
    browser: &reqwest::Client,
    client: &reqwest::Client,
    notion_code: &str,
) -> (String, String) {
    notion.accept_code(notion_code);
    let query = authorize_query(notion_code, "s");
    let page = browser
        .get(format!("{}/oauth/authorize?{query}", server.base))
        .send()
        .await
        .unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let allowed = browser
        .post(format!("{}/oauth/authorize", server.base))
        .form(&[("csrf", csrf.as_str()), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    let back = url::Url::parse(&location(&allowed)).unwrap();
    let code = back
        .query_pairs()
        .find(|(n, _)| n == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let tokens: serde_json::Value = client
        .post(format!("{}/oauth/token", server.base))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", OAUTH_CLIENT_ID),
            ("client_secret", OAUTH_CLIENT_SECRET),
            ("redirect_uri", NOTION_CALLBACK),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        tokens["access_token"].as_str().unwrap().to_owned(),
        tokens["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn unfurl(client: &reqwest::Client, server: &Server, token: &str, uri: &str) -> StatusCode {
    client
        .post(format!("{}/unfurl", server.base))
        .bearer_auth(token)
        .json(&serde_json::json!({ "uri": uri }))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn links_tokens_and_subscriptions_survive_kill_9_and_restart() {
    let notion = FakeNotion::spawn();
    let origin = spawn_origin("127.0.0.1").await;
    let data_dir = std::env::temp_dir().join(format!("nu-restart-{}", uuid::Uuid::new_v4()));
    let browser = reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();

    let mut first = start(&data_dir, &notion.base, &[]);
    let (access, refresh) = link(&first, &notion, &browser, &client, "restart-code").await;
    let page_uri = format!("{}/relative", origin.base);
    assert_eq!(
        unfurl(&client, &first, &access, &page_uri).await,
        StatusCode::OK
    );

    // SIGKILL: no shutdown code runs.
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let second = start(&data_dir, &notion.base, &[]);
    assert_eq!(
        unfurl(&client, &second, &access, &page_uri).await,
        StatusCode::OK
    );
    let refreshed = client
        .post(format!("{}/oauth/token", second.base))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", OAUTH_CLIENT_ID),
            ("client_secret", OAUTH_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::OK);

    // The subscription recorded before the kill is in the database.
    let settings = notion_unfurl::platform::config::Settings::from_vars([(
        "UNFURL_DATA_DIR".to_owned(),
        data_dir.display().to_string(),
    )])
    .unwrap();
    let (keys, _) = notion_unfurl::platform::crypto::keys::Keys::load(&settings).unwrap();
    let store = notion_unfurl::store::Store::connect(&settings.database_url, keys.cipher)
        .await
        .unwrap();
    assert_eq!(store.subscriptions_for(&page_uri).await.unwrap().len(), 1);
    store.close().await;
    drop(second);
    let _ = std::fs::remove_dir_all(data_dir);
}

fn clients() -> (reqwest::Client, reqwest::Client) {
    let browser = reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (
        browser,
        reqwest::Client::builder().no_proxy().build().unwrap(),
    )
}

const WEBHOOK_SECRET: &str = "kill-test-webhook-secret";
const PR: &str = "https://github.com/Codertocat/Hello-World/pull/2";

/// Fake GitHub serving the fixture pull request, and the body of a webhook about it; `None`
/// (the test skips) when the shared fixtures are not beside this repository.
async fn github_with_pull_request() -> Option<(wiremock::MockServer, Vec<u8>)> {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/github/webhooks");
    let (Ok(opened), Ok(closed)) = (
        std::fs::read(fixtures.join("pull_request.opened.json")),
        std::fs::read(fixtures.join("pull_request.closed.json")),
    ) else {
        eprintln!("skipped: ../shared/fixtures/github is not beside this repository");
        return None;
    };
    let opened: serde_json::Value = serde_json::from_slice(&opened).unwrap();
    let github = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/Codertocat/Hello-World/pulls/2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&opened["pull_request"]))
        .mount(&github)
        .await;
    Some((github, closed))
}

/// Deliver `body` to `server` as a signed GitHub webhook; it must be accepted.
async fn send_webhook(client: &reqwest::Client, server: &Server, body: &[u8]) {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(body);
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let accepted = client
        .post(format!("{}/webhooks/github", server.base))
        .header("X-GitHub-Event", "pull_request")
        .header("X-GitHub-Delivery", uuid::Uuid::new_v4().to_string())
        .header("X-Hub-Signature-256", signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn an_update_pending_at_kill_9_is_delivered_after_restart() {
    let Some((github, closed)) = github_with_pull_request().await else {
        return;
    };
    let notion = FakeNotion::spawn();
    // Notion is down: the update stays in the outbox, retried.
    notion.answer_always(Some(503));
    let data_dir = std::env::temp_dir().join(format!("nu-outbox-kill-{}", uuid::Uuid::new_v4()));
    let github_api = github.uri();
    let extra = [
        ("UNFURL_GITHUB_API_URL", github_api.as_str()),
        ("UNFURL_GITHUB_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("UNFURL_OUTBOX_POLL_MS", "50"),
        ("UNFURL_OUTBOX_BACKOFF_MS", "100"),
        ("UNFURL_OUTBOX_LEASE_MS", "1000"),
    ];
    let (browser, client) = clients();
    let mut first = start(&data_dir, &notion.base, &extra);
    let (access, _) = link(&first, &notion, &browser, &client, "outbox-kill-code").await;
    assert_eq!(unfurl(&client, &first, &access, PR).await, StatusCode::OK);
    send_webhook(&client, &first, &closed).await;
    // Wait (bounded) until Notion has refused at least one attempt, then SIGKILL.
    notion
        .wait_for("a delivery attempt", |p| !p.is_empty())
        .await;
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    // Notion is back; a new process on the same database delivers the update.
    notion.answer_always(Some(200));
    let second = start(&data_dir, &notion.base, &extra);
    let delivered = notion.wait_for_deliveries(1).await;
    assert_eq!(
        delivered[0].authorization,
        "Bearer secret_notion_token_for_outbox-kill-code"
    );
    assert_eq!(delivered[0].body["uri"], PR);
    drop(second);
    let _ = std::fs::remove_dir_all(data_dir);
}

#[tokio::test]
async fn an_update_in_flight_at_kill_9_is_delivered_at_once_by_the_restarted_server() {
    let Some((github, closed)) = github_with_pull_request().await else {
        return;
    };
    let notion = FakeNotion::spawn();
    // The first PATCH never gets an answer: the server is killed in the middle of it,
    // holding the row's lease.
    notion.script(&[Reply::Stall]);
    let data_dir = std::env::temp_dir().join(format!("nu-lease-kill-{}", uuid::Uuid::new_v4()));
    let github_api = github.uri();
    let lease = Duration::from_secs(120);
    let lease_ms = lease.as_millis().to_string();
    let extra = [
        ("UNFURL_GITHUB_API_URL", github_api.as_str()),
        ("UNFURL_GITHUB_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("UNFURL_OUTBOX_POLL_MS", "50"),
        ("UNFURL_OUTBOX_LEASE_MS", lease_ms.as_str()),
    ];
    let (browser, client) = clients();
    let mut first = start(&data_dir, &notion.base, &extra);
    let (access, _) = link(&first, &notion, &browser, &client, "lease-kill-code").await;
    assert_eq!(unfurl(&client, &first, &access, PR).await, StatusCode::OK);
    send_webhook(&client, &first, &closed).await;
    notion
        .wait_for("the PATCH in flight", |p| !p.is_empty())
        .await;
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    // The same server (same data directory, so the same instance id) starts again: it
    // releases the lease its killed run held and delivers now, not in two minutes.
    let restarted = std::time::Instant::now();
    let second = start(&data_dir, &notion.base, &extra);
    let delivered = notion.wait_for_deliveries(1).await;
    let waited = delivered[0].at.duration_since(restarted);
    assert!(
        waited < lease / 8,
        "delivered {waited:?} after the restart; the lease is {lease:?}"
    );
    assert_eq!(delivered[0].body["uri"], PR);
    assert_eq!(
        delivered[0].authorization,
        "Bearer secret_notion_token_for_lease-kill-code"
    );
    drop(second);
    let _ = std::fs::remove_dir_all(data_dir);
}
