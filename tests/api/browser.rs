//! The consent page in a real browser: headless Chromium driven through ChromeDriver's
//! WebDriver HTTP API. It loads the page, a screenshot is kept under `target/`, and
//! clicking Allow brings the browser back to the redirect URI with our code and the state.
//! Skips (saying so) where Chromium or ChromeDriver is not installed; `.ci/run` installs
//! both from Debian's packages.
//!
//! The driver and session helpers here are shared with the preview lab's browser test
//! (`lab.rs`).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::fakes::{NOTION_CLIENT_ID, NOTION_CLIENT_SECRET};
use crate::helpers::{TestApp, TestAppBuilder, spawn_origin};
use crate::linking::{OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET};

pub(crate) const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub(crate) fn find(binary: &str) -> Option<String> {
    let output = Command::new("sh")
        .args(["-c", &format!("command -v {binary}")])
        .output()
        .ok()?;
    let path = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (!path.is_empty()).then_some(path)
}

pub(crate) struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let json: Value = response.json().await.unwrap();
        assert!(json["value"]["error"].is_null(), "WebDriver {path}: {json}");
        json["value"].clone()
    }
}

pub(crate) async fn start_driver(chromedriver: &str) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver {
        child,
        base: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
    };
    for _ in 0..200 {
        if let Ok(response) = driver
            .http
            .get(format!("{}/status", driver.base))
            .send()
            .await
            && response.status().is_success()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver did not start");
}

#[tokio::test]
async fn the_consent_page_renders_in_chromium_and_allow_submits() {
    let (Some(chromium), Some(chromedriver)) = (find("chromium"), find("chromedriver")) else {
        eprintln!(
            "skipped: chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        );
        return;
    };
    let landing = spawn_origin("127.0.0.1").await;
    let callback = format!("{}/callback", landing.base);
    let app = linking_in_browser(TestApp::builder(), &callback).await;
    let notion = app.notion();
    let authorize = authorize_url(&app, &callback, "browser-code", "browser-state");

    let driver = start_driver(&chromedriver).await;
    let session = Session::start(&driver, &chromium, (800, 640)).await;
    let path = |rest: &str| session.path(rest);

    driver
        .call(
            reqwest::Method::POST,
            &path("/url"),
            Some(json!({ "url": authorize })),
        )
        .await;
    let title = driver
        .call(reqwest::Method::GET, &path("/title"), None)
        .await;
    assert_eq!(title, "Connect to Notion");

    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("consent-page.png");
    session.screenshot(&driver, &shot).await;

    let allow = driver
        .call(
            reqwest::Method::POST,
            &path("/element"),
            Some(json!({"using": "css selector", "value": "#allow"})),
        )
        .await;
    let element = allow[ELEMENT]
        .as_str()
        .unwrap_or_else(|| panic!("no element in {allow}"))
        .to_owned();
    driver
        .call(
            reqwest::Method::POST,
            &path(&format!("/element/{element}/click")),
            Some(json!({})),
        )
        .await;

    // The click navigates: wait (bounded) until the browser is back at the redirect URI.
    let landed = session.wait_for_url(&driver, &callback).await;
    let landed = url::Url::parse(&landed).unwrap();
    let param = |name: &str| {
        landed
            .query_pairs()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("state").as_deref(), Some("browser-state"), "{landed}");
    assert!(param("code").is_some(), "{landed}");
    assert_eq!(landing.log.hits("/callback"), 1);
    assert_eq!(notion.exchanges().len(), 1);

    session.close(&driver).await;
}

/// A linking server with a fake Notion whose only allowed redirect URI is `callback` (a
/// local origin, so the browser lands somewhere real), built on `builder`.
pub(crate) async fn linking_in_browser(builder: TestAppBuilder, callback: &str) -> TestApp {
    builder
        .with_notion()
        .with_env(&[
            ("UNFURL_OAUTH_CLIENT_ID", OAUTH_CLIENT_ID),
            ("UNFURL_OAUTH_CLIENT_SECRET", OAUTH_CLIENT_SECRET),
            ("UNFURL_OAUTH_REDIRECT_URIS", callback),
            ("UNFURL_NOTION_CLIENT_ID", NOTION_CLIENT_ID),
            ("UNFURL_NOTION_CLIENT_SECRET", NOTION_CLIENT_SECRET),
        ])
        .spawn()
        .await
}

/// Where Notion sends the browser with its code `code` (which fake Notion will accept)
/// and `state`, back to `callback`.
pub(crate) fn authorize_url(app: &TestApp, callback: &str, code: &str, state: &str) -> String {
    app.notion().accept_code(code);
    format!(
        "{}/oauth/authorize?{}",
        app.address,
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", OAUTH_CLIENT_ID)
            .append_pair("redirect_uri", callback)
            .append_pair("response_type", "code")
            .append_pair("code", code)
            .append_pair("state", state)
            .finish()
    )
}

/// One headless Chromium session of a [`Driver`], with a profile directory of its own.
pub(crate) struct Session {
    pub(crate) id: String,
    profile: std::path::PathBuf,
}

impl Session {
    pub(crate) async fn start(
        driver: &Driver,
        chromium: &str,
        (width, height): (u32, u32),
    ) -> Self {
        let profile = std::env::temp_dir().join(format!("nu-chromium-{}", uuid::Uuid::new_v4()));
        let session = driver
            .call(
                reqwest::Method::POST,
                "/session",
                Some(json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": chromium,
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync",
                            format!("--window-size={width},{height}"),
                            format!("--user-data-dir={}", profile.display()),
                        ]
                    }
                }}})),
            )
            .await;
        let id = session["sessionId"].as_str().unwrap().to_owned();
        Self { id, profile }
    }

    /// Waits (bounded) until the browser's URL starts with `prefix`; the URL it has then
    /// (read from the driver, so an error page still tells where it is).
    pub(crate) async fn wait_for_url(&self, driver: &Driver, prefix: &str) -> String {
        let mut at = String::new();
        for _ in 0..100 {
            at = driver
                .call(reqwest::Method::GET, &self.path("/url"), None)
                .await
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if at.starts_with(prefix) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        at
    }

    pub(crate) fn path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.id)
    }

    pub(crate) async fn open(&self, driver: &Driver, url: &str) {
        driver
            .call(
                reqwest::Method::POST,
                &self.path("/url"),
                Some(json!({ "url": url })),
            )
            .await;
    }

    /// The value `script` (a function body) returns in the page.
    pub(crate) async fn run(&self, driver: &Driver, script: &str) -> Value {
        driver
            .call(
                reqwest::Method::POST,
                &self.path("/execute/sync"),
                Some(json!({ "script": script, "args": [] })),
            )
            .await
    }

    /// A PNG of the window, written to `to` (its folder made if need be).
    pub(crate) async fn screenshot(&self, driver: &Driver, to: &std::path::Path) -> Vec<u8> {
        let png = driver
            .call(reqwest::Method::GET, &self.path("/screenshot"), None)
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(to, &png).unwrap();
        eprintln!("screenshot: {}", to.display());
        png
    }

    pub(crate) async fn close(self, driver: &Driver) {
        driver
            .call(reqwest::Method::DELETE, &self.path(""), None)
            .await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
