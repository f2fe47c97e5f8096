//! The real binary as a child process, for the tests that kill it, restart it or read its
//! log: start it on a data directory, link an account through the browser flow and
//! Notion's code exchange, unfurl, and deliver signed GitHub webhooks.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use reqwest::StatusCode;

use crate::fakes::{FakeNotion, NOTION_CLIENT_ID, NOTION_CLIENT_SECRET};
use crate::linking::{
    NOTION_CALLBACK, OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, authorize_query, csrf_of, location,
};

pub struct Server {
    pub child: Child,
    pub base: String,
    /// Every line the server wrote to standard output (JSON log records), as they came.
    pub logs: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(data_dir: &std::path::Path, notion: &str, extra: &[(&str, &str)]) -> Server {
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
    let logs = Arc::new(Mutex::new(Vec::new()));
    let kept = logs.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let json: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if json["message"] == "listening" {
                let _ = tx.send(json["port"].as_u64().unwrap_or_default());
            }
            kept.lock().unwrap().push(json);
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
        logs,
    }
}

/// The browser flow and Notion's code exchange against `server`: (access, refresh) tokens.
pub async fn link(
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

pub async fn unfurl(
    client: &reqwest::Client,
    server: &Server,
    token: &str,
    uri: &str,
) -> StatusCode {
    client
        .post(format!("{}/unfurl", server.base))
        .bearer_auth(token)
        .json(&serde_json::json!({ "uri": uri }))
        .send()
        .await
        .unwrap()
        .status()
}

pub fn clients() -> (reqwest::Client, reqwest::Client) {
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

pub const WEBHOOK_SECRET: &str = "kill-test-webhook-secret";
pub const PR: &str = "https://github.com/Codertocat/Hello-World/pull/2";

/// Fake GitHub serving the fixture pull request, and the body of a webhook about it; `None`
/// (the test skips) when the shared fixtures are not beside this repository.
pub async fn github_with_pull_request() -> Option<(wiremock::MockServer, Vec<u8>)> {
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
pub async fn send_webhook(client: &reqwest::Client, server: &Server, body: &[u8]) {
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
