//! Purging a cached preview before its TTL runs out: `POST /admin/cache/purge` (open on a
//! loopback listener without `UNFURL_ADMIN_TOKEN`, behind it with one) and
//! `notion-unfurl cache purge URL`, which reaches every instance sharing the database.

use std::time::{Duration, Instant};

use crate::fakes::PATIENCE;
use crate::helpers::{SECRET, TempDir, TestApp, title};

const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// A page titled "Before" on `app`'s origin, unfurled (so cached for an hour) and then
/// retitled "After": the link, still showing "Before".
async fn cached_page(app: &TestApp, name: &str) -> String {
    app.origin.log.set_title(name, "Before");
    let uri = app.origin_url(&format!("/titled/{name}"));
    assert_eq!(title(&app.unfurl(&uri).await).as_deref(), Some("Before"));
    app.origin.log.set_title(name, "After");
    assert_eq!(
        title(&app.unfurl(&uri).await).as_deref(),
        Some("Before"),
        "served from the cache"
    );
    uri
}

async fn purge(app: &TestApp, uri: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    let mut request = app
        .client
        .post(format!("{}/admin/cache/purge", app.address))
        .json(&serde_json::json!({ "uri": uri }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn on_a_loopback_listener_the_endpoint_purges_without_a_token() {
    let app = TestApp::builder().spawn().await;
    let uri = cached_page(&app, "loopback").await;

    let (status, body) = purge(&app, &uri, None).await;
    assert_eq!(status, 200, "{body}");
    let purged: Vec<&str> = body["purged"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|link| link.as_str())
        .collect();
    assert!(purged.contains(&uri.as_str()), "{body}");
    assert_eq!(title(&app.unfurl(&uri).await).as_deref(), Some("After"));

    let (status, body) = purge(&app, "ftp://example.com/", None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn with_an_admin_token_the_endpoint_refuses_a_purge_without_it() {
    let app = TestApp::builder()
        .with_env(&[("UNFURL_ADMIN_TOKEN", ADMIN_TOKEN)])
        .spawn()
        .await;
    let uri = cached_page(&app, "token").await;

    for token in [
        None,
        Some("not-the-admin-token-at-all"),
        Some(app.token.as_str()),
    ] {
        let (status, body) = purge(&app, &uri, token).await;
        assert_eq!(status, 401, "{token:?}: {body}");
        assert_eq!(body["error"], "invalid_token");
    }
    assert_eq!(
        title(&app.unfurl(&uri).await).as_deref(),
        Some("Before"),
        "a refused purge drops nothing"
    );

    let (status, body) = purge(&app, &uri, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(title(&app.unfurl(&uri).await).as_deref(), Some("After"));
}

/// `notion-unfurl cache purge URL` with the settings of the servers in `data_dir`, and a
/// clean environment otherwise; its output.
async fn purge_command(data_dir: &std::path::Path, uri: &str) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_notion-unfurl"));
    for (key, _) in std::env::vars() {
        if key.starts_with("UNFURL_") || key == "DATABASE_URL" {
            command.env_remove(key);
        }
    }
    command
        .args(["cache", "purge", uri])
        .env("UNFURL_DATA_DIR", data_dir)
        .env("UNFURL_SECRET_KEY", SECRET)
        .stdin(std::process::Stdio::null());
    // Off the runtime's thread: the servers under test run on it.
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn cache_purge_reaches_every_instance_sharing_the_database_without_asking_them() {
    let dir = TempDir::unique();
    let first = TestApp::builder().data_dir(&dir.0).spawn().await;
    let second = TestApp::builder().data_dir(&dir.0).spawn().await;
    // Both instances cache the same page of the first one's origin.
    let origin = &first.origin.log;
    origin.set_title("shared", "Before");
    let uri = first.origin_url("/titled/shared");
    for app in [&first, &second] {
        assert_eq!(title(&app.unfurl(&uri).await).as_deref(), Some("Before"));
    }
    origin.set_title("shared", "After");
    for app in [&first, &second] {
        assert_eq!(title(&app.unfurl(&uri).await).as_deref(), Some("Before"));
    }

    let output = purge_command(&dir.0, &uri).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains(&format!("  {uri}\n")), "{stdout}");

    // Each instance learns it from the database within its watch's second.
    let started = Instant::now();
    for app in [&first, &second] {
        loop {
            let shown = title(&app.unfurl(&uri).await);
            if shown.as_deref() == Some("After") {
                break;
            }
            assert_eq!(shown.as_deref(), Some("Before"));
            assert!(
                started.elapsed() < PATIENCE,
                "{} still shows the old title",
                app.address
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    eprintln!("both purged after {:?}", started.elapsed());

    let refused = purge_command(&dir.0, "ftp://example.com/").await;
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("only http and https"),
        "{refused:?}"
    );
}
