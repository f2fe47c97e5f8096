//! No token, code or secret ever reaches a log line, at any level, in either format; the
//! start-up line says what the server uses, and half-configured pieces are warned about.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "api/fakes.rs"]
mod fakes;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use notion_unfurl::platform::config::{LogFormat, Settings};
use notion_unfurl::startup::Application;
use tracing_subscriber::EnvFilter;

const SECRET: &str = "logging-test-secret-key-that-is-long-enough-0123";
const OAUTH_SECRET: &str = "LOG-OAUTH-CLIENT-SECRET-VALUE";
const CALLBACK: &str = "https://www.notion.so/externalIntegrationAuthCallback";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut inner) = self.0.lock() {
            inner.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The log lines of every test in this file: the subscriber is global, installed once.
fn captured() -> Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            notion_unfurl::platform::telemetry::init_with(
                LogFormat::Json,
                // `cookie_store` is the test browser's own cookie jar, not the server.
                EnvFilter::new("trace,h2=info,hyper=info,rustls=info,cookie_store=info"),
                captured.clone(),
            );
            captured
        })
        .clone()
}

#[tokio::test]
async fn tokens_codes_and_secrets_never_reach_the_logs() {
    let captured = captured();
    let notion = fakes::FakeNotion::spawn();
    let data_dir = std::env::temp_dir().join(format!("notion-unfurl-log-{}", uuid::Uuid::new_v4()));
    let settings = Settings::from_vars(
        [
            ("UNFURL_LISTEN", "127.0.0.1:0"),
            ("UNFURL_SECRET_KEY", SECRET),
            ("UNFURL_FETCH_ALLOW", "127.0.0.1/32"),
            ("UNFURL_DATA_DIR", data_dir.to_str().unwrap()),
            ("UNFURL_OAUTH_CLIENT_ID", "log-client"),
            ("UNFURL_OAUTH_CLIENT_SECRET", OAUTH_SECRET),
            ("UNFURL_NOTION_CLIENT_ID", fakes::NOTION_CLIENT_ID),
            ("UNFURL_NOTION_CLIENT_SECRET", fakes::NOTION_CLIENT_SECRET),
            ("UNFURL_NOTION_API_URL", &notion.base),
            ("UNFURL_METRICS_TOKEN", "METRICS-TOKEN-SECRET-0123456789"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
    .unwrap();
    let app = Application::build(settings).await.unwrap();
    let port = app.port();
    let token = notion_unfurl::cli::local_token(app.state(), "local:logging")
        .await
        .unwrap();
    // Signed with our secret, for a connection this database never had.
    let unknown = app.state().tokens.issue("no-such-connection").unwrap();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = format!("http://127.0.0.1:{port}");

    // A valid token, a token in the query string, a refused token, an OAuth-looking query.
    let uri = "http://127.0.0.1:9/page?signature=URI-QUERY-SECRET";
    client
        .post(format!("{base}/unfurl"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "uri": uri }))
        .send()
        .await
        .unwrap();
    client
        .post(format!(
            "{base}/unfurl?access_token={token}&code=QUERY-CODE-SECRET"
        ))
        .json(&serde_json::json!({ "uri": uri }))
        .send()
        .await
        .unwrap();
    let forged = format!("{token}x");
    client
        .post(format!("{base}/unfurl"))
        .bearer_auth(&forged)
        .json(&serde_json::json!({ "uri": uri }))
        .send()
        .await
        .unwrap();
    client
        .get(format!(
            "{base}/oauth/authorize?code=OAUTH-CODE-SECRET&state=STATE-SECRET"
        ))
        .send()
        .await
        .unwrap();

    // The whole linking flow: Notion's code, our code, tokens, the cookie, the CSRF token.
    notion.accept_code("NOTION-CODE-SECRET");
    let browser = reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", "log-client")
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("response_type", "code")
        .append_pair("code", "NOTION-CODE-SECRET")
        .append_pair("state", "NOTION-STATE-SECRET")
        .finish();
    let page = browser
        .get(format!("{base}/oauth/authorize?{query}"))
        .send()
        .await
        .unwrap();
    let cookie = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap();
    let html = page.text().await.unwrap();
    let csrf = regex::Regex::new(r#"name="csrf" value="([^"]+)""#)
        .unwrap()
        .captures(&html)
        .unwrap()[1]
        .to_owned();
    let allowed = browser
        .post(format!("{base}/oauth/authorize"))
        .form(&[("csrf", csrf.as_str()), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    let back = url::Url::parse(allowed.headers()["location"].to_str().unwrap()).unwrap();
    let our_code = back
        .query_pairs()
        .find(|(n, _)| n == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let issued: serde_json::Value = client
        .post(format!("{base}/oauth/token"))
        .basic_auth("log-client", Some(OAUTH_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", our_code.as_str()),
            ("redirect_uri", CALLBACK),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = issued["access_token"].as_str().unwrap().to_owned();
    let refresh = issued["refresh_token"].as_str().unwrap().to_owned();
    // A replayed code, a refresh, then a revocation.
    client
        .post(format!("{base}/oauth/token"))
        .basic_auth("log-client", Some(OAUTH_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", our_code.as_str()),
            ("redirect_uri", CALLBACK),
        ])
        .send()
        .await
        .unwrap();
    client
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", "log-client"),
            ("client_secret", "WRONG-SECRET-ATTEMPT"),
        ])
        .send()
        .await
        .unwrap();
    client
        .delete(format!("{base}/oauth/revoke"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    // Refused tokens, each for another reason: revoked, unknown connection, none at all.
    for bearer in [Some(access.as_str()), Some(unknown.as_str()), None] {
        let mut request = client
            .post(format!("{base}/unfurl"))
            .json(&serde_json::json!({ "uri": uri }));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        assert_eq!(request.send().await.unwrap().status(), 401);
    }
    // The metrics token, right and wrong.
    for (bearer, status) in [
        ("METRICS-TOKEN-SECRET-0123456789", 200),
        ("WRONG-METRICS-TOKEN-ATTEMPT", 401),
    ] {
        let response = client
            .get(format!("{base}/metrics"))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status);
    }
    drop(handle.stop(true));

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.lines().count() > 5,
        "too few log lines captured:\n{logs}"
    );
    for line in logs.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
    }
    let signature = token.rsplit('.').next().unwrap();
    let notion_token = "secret_notion_token_for_NOTION-CODE-SECRET";
    for secret in [
        access.as_str(),
        refresh.as_str(),
        our_code.as_str(),
        cookie.as_str(),
        csrf.as_str(),
        notion_token,
        "NOTION-CODE-SECRET",
        "NOTION-STATE-SECRET",
        OAUTH_SECRET,
        "WRONG-SECRET-ATTEMPT",
        fakes::NOTION_CLIENT_SECRET,
        token.as_str(),
        signature,
        SECRET,
        "QUERY-CODE-SECRET",
        "OAUTH-CODE-SECRET",
        "STATE-SECRET",
        "URI-QUERY-SECRET",
        "METRICS-TOKEN-SECRET",
        "WRONG-METRICS-TOKEN-ATTEMPT",
    ] {
        assert!(!logs.contains(secret), "{secret:?} was logged:\n{logs}");
    }
    assert!(
        logs.contains("request_id"),
        "request spans carry an id:\n{logs}"
    );
    assert!(
        logs.contains("UNFURL_FETCH_ALLOW is set"),
        "the allow-list warning is logged at start"
    );
    let events: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    // Each 401 says why at debug level (never the token: checked above).
    let refusals: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["message"] == "access token refused")
        .map(|e| {
            (
                e["level"].as_str().unwrap_or_default(),
                e["reason"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    for reason in ["bad_signature", "revoked", "unknown_connection", "missing"] {
        assert!(
            refusals.contains(&("DEBUG", reason)),
            "no debug line says {reason}: {refusals:?}"
        );
    }
    // Start-up names the data directory, the database and the secret, absolutely. The log
    // capture is shared with the other tests of this binary, so the line is this server's
    // when it names this test's directory.
    let storage = events
        .iter()
        .find(|e| {
            e["message"] == "data directory, database and secret"
                && e["data_dir"] == data_dir.display().to_string()
        })
        .unwrap_or_else(|| panic!("the storage line is missing:\n{logs}"));
    assert_eq!(
        storage["database"],
        data_dir.join("notion-unfurl.db").display().to_string()
    );
    assert_eq!(storage["secret"], "UNFURL_SECRET_KEY");
    // The page at port 9 refuses the connection: the operator learns why the user was told
    // only that the site failed, without the URL's query.
    let failure = logs
        .lines()
        .find(|line| line.contains("guarded fetch failed"))
        .unwrap_or_else(|| panic!("no fetch failure logged:\n{logs}"));
    assert!(failure.contains("127.0.0.1"), "{failure}");
    assert!(failure.to_lowercase().contains("connect"), "{failure}");
    let _ = std::fs::remove_dir_all(data_dir);
}

#[tokio::test]
async fn start_up_says_what_it_uses_in_one_line_and_warns_about_half_set_pieces() {
    let captured = captured();
    let data_dir =
        std::env::temp_dir().join(format!("notion-unfurl-start-{}", uuid::Uuid::new_v4()));
    let github_secret = "HALF-SET-GITHUB-SECRET";
    let settings = Settings::from_vars(
        [
            // Every address, not loopback, and no public URL: Notion could not reach it.
            ("UNFURL_LISTEN", "0.0.0.0:0"),
            ("UNFURL_SECRET_KEY", SECRET),
            ("UNFURL_DATA_DIR", data_dir.to_str().unwrap()),
            ("UNFURL_NOTION_CLIENT_ID", "half-set-notion-client"),
            ("UNFURL_GITHUB_CLIENT_SECRET", github_secret),
            ("UNFURL_OAUTH_CLIENT_ID", "log-client"),
            ("UNFURL_OAUTH_CLIENT_SECRET", OAUTH_SECRET),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
    .unwrap();
    let app = Application::build(settings).await.unwrap();
    let port = app.port();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    handle.stop(false).await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let database = format!("sqlite://{}/notion-unfurl.db", data_dir.display());
    let starting: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["message"] == "starting" && line["database"] == database.as_str())
        .collect();
    assert_eq!(starting.len(), 1, "{logs}");
    let line = &starting[0];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["public_url"], format!("http://0.0.0.0:{port}/"));
    assert_eq!(line["providers"], "github,opengraph");
    assert_eq!(line["oauth_client"], true);
    assert_eq!(line["notion_client"], false);
    assert_eq!(line["github_sign_in"], false);
    assert_eq!(line["webhooks"], false);

    let warnings: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains(r#""level":"WARN""#))
        .collect();
    for expected in [
        "UNFURL_NOTION_CLIENT_ID is set but UNFURL_NOTION_CLIENT_SECRET is not",
        "UNFURL_GITHUB_CLIENT_SECRET is set but UNFURL_GITHUB_CLIENT_ID is not",
        &format!("UNFURL_PUBLIC_URL is not set while listening on 0.0.0.0:{port}"),
    ] {
        assert!(
            warnings.iter().any(|w| w.contains(expected)),
            "no warning {expected:?} in:\n{logs}"
        );
    }
    assert!(!logs.contains(github_secret), "{logs}");
    let _ = std::fs::remove_dir_all(data_dir);
}
