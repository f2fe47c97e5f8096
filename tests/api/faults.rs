//! Faults, with the real binary as a child process: origins that misbehave, a database that
//! turns read-only and back, Notion down during updates, `kill -9` under load. After each
//! the server answers, nothing it acknowledged is lost, and its log says what happened in
//! one line.
//!
//! These run in `cargo test` in a short form. `bench/faults.sh` runs them in their long form
//! (`UNFURL_FAULTS_LONG=1`: Notion down for a minute, load for twenty seconds before the
//! kill) together with the other process-level fault tests.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::fakes::FakeNotion;
use crate::helpers::spawn_origin;
use crate::linking::{OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET};
use crate::process::{
    PR, Server, WEBHOOK_SECRET, clients, github_with_pull_request, link, send_webhook, start,
    unfurl,
};

/// Whether the long form runs (`UNFURL_FAULTS_LONG=1`, set by `bench/faults.sh`).
fn long_form() -> bool {
    std::env::var("UNFURL_FAULTS_LONG").is_ok_and(|v| v == "1")
}

/// The fetch deadline the origin faults run with (`UNFURL_FETCH_TIMEOUT_SECS`).
const FETCH_TIMEOUT: Duration = Duration::from_secs(2);

/// An origin that misbehaves at the HTTP level, one way per path; it speaks raw TCP so it can
/// do what no well-behaved server library would.
async fn spawn_faulty_origin() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(misbehave(stream));
        }
    });
    base
}

/// Every answer says `Connection: close`, and the connection is closed after it: a client
/// that reused it for the next request (the next hop of a redirect) would meet a closed
/// socket, a different fault from the one the path names.
async fn misbehave(mut stream: TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let page_head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n";
    match path.as_str() {
        // Part of the body, then a reset (RST: a zero linger time on close).
        "/reset" => {
            let _ = stream.write_all(page_head.as_bytes()).await;
            let _ = stream.write_all(b"<html><head><title>cut short").await;
            let _ = stream.flush().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = stream.set_zero_linger();
        }
        // Reads the request and never answers.
        "/silent" => tokio::time::sleep(Duration::from_secs(600)).await,
        // Headers, then one byte a second.
        "/trickle" => {
            let _ = stream.write_all(page_head.as_bytes()).await;
            for byte in b"<html><head><title>slowly".iter().cycle() {
                if stream.write_all(&[*byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        // Says gzip, sends bytes that are not.
        "/bad-gzip" => {
            let body = b"\x1f\x8b\x08\x00 this is not a gzip stream at all, only its magic";
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nConnection: close\r\n\
                 Content-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body).await;
        }
        // Two pages that redirect to each other.
        "/loop-a" | "/loop-b" => {
            let to = if path == "/loop-a" {
                "/loop-b"
            } else {
                "/loop-a"
            };
            let head = format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n");
            let _ = stream.write_all(head.as_bytes()).await;
        }
        _ => {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
        }
    }
}

/// An https origin whose certificate (self-signed, made now) nobody trusts; its URL.
async fn spawn_untrusted_tls_origin() -> String {
    use tokio_rustls::rustls;
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![made.cert.der().clone()], key.into())
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that trusted it would get a page; ours must refuse at the handshake.
                if let Ok(mut tls) = acceptor.accept(stream).await {
                    let page = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 38\r\n\r\n<html><title>trusted?</title></html>\r\n";
                    let _ = tls.write_all(page.as_bytes()).await;
                }
            });
        }
    });
    base
}

/// `POST /unfurl` for `uri`: the status and the JSON body.
async fn unfurl_body(
    client: &reqwest::Client,
    server: &Server,
    token: &str,
    uri: &str,
) -> (StatusCode, serde_json::Value) {
    let response = client
        .post(format!("{}/unfurl", server.base))
        .bearer_auth(token)
        .json(&serde_json::json!({ "uri": uri }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or_default())
}

async fn healthy(client: &reqwest::Client, server: &Server) -> bool {
    client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .is_ok_and(|r| r.status() == StatusCode::OK)
}

/// The log records written since `from` whose message is `message`.
fn logged(server: &Server, from: usize, message: &str) -> Vec<serde_json::Value> {
    server.logs.lock().unwrap()[from..]
        .iter()
        .filter(|line| line["message"] == message)
        .cloned()
        .collect()
}

fn log_len(server: &Server) -> usize {
    server.logs.lock().unwrap().len()
}

/// Wait (bounded) for at least one log record with `message` after `from`.
async fn wait_logged(server: &Server, from: usize, message: &str) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = logged(server, from, message);
        if !found.is_empty() || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn temp_data_dir(what: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("nu-faults-{what}-{}", uuid::Uuid::new_v4()))
}

#[tokio::test]
async fn misbehaving_origins_get_an_error_preview_in_bounded_time_and_one_log_line() {
    let notion = FakeNotion::spawn();
    let origin = spawn_faulty_origin().await;
    let untrusted = spawn_untrusted_tls_origin().await;
    let data_dir = temp_data_dir("origin");
    let timeout = FETCH_TIMEOUT.as_secs().to_string();
    let server = start(
        &data_dir,
        &notion.base,
        &[("UNFURL_FETCH_TIMEOUT_SECS", timeout.as_str())],
    );
    let (browser, client) = clients();
    let (access, _) = link(&server, &notion, &browser, &client, "faulty-origin-code").await;

    // (path, Notion's status, the log line, words its error must contain, one of them)
    let faults: [(&str, u64, &str, &[&str]); 6] = [
        (
            "/reset",
            502,
            "unfurl failed",
            &["reset", "connection", "body"],
        ),
        ("/silent", 504, "unfurl failed", &["timed out"]),
        ("/trickle", 504, "unfurl failed", &["timed out"]),
        ("/bad-gzip", 502, "unfurl failed", &["decod", "gzip"]),
        // A loop never ends well: refused, not retried as transient.
        ("/loop-a", 403, "unfurl refused", &["redirect"]),
        // A certificate nobody trusts: the cause in the one line, and no library's ERROR.
        ("/tls", 502, "unfurl failed", &["certificate"]),
    ];
    for (path, expected, message, words) in faults {
        let from = log_len(&server);
        let uri = match path {
            "/tls" => format!("{untrusted}/page"),
            _ => format!("{origin}{path}"),
        };
        let started = Instant::now();
        let (status, body) = unfurl_body(&client, &server, &access, &uri).await;
        let took = started.elapsed();
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let error = &body["operations"][0];
        assert_eq!(
            error["path"],
            serde_json::json!(["error"]),
            "{path}: {body}"
        );
        let code = error["set"]["status"].as_u64().unwrap_or_default();
        assert_eq!(code, expected, "{path}: {body}");
        assert!(
            took < FETCH_TIMEOUT + Duration::from_secs(3),
            "{path} took {took:?}; the fetch deadline is {FETCH_TIMEOUT:?}"
        );
        assert!(healthy(&client, &server).await, "{path}: /healthz failed");
        let lines = wait_logged(&server, from, message).await;
        assert_eq!(lines.len(), 1, "{path}: one line expected, got {lines:?}");
        let said = lines[0]["error"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        assert!(
            words.iter().any(|w| said.contains(w)),
            "{path}: the log line should say what happened: {}",
            lines[0]
        );
        assert_eq!(lines[0]["host"], "127.0.0.1", "{}", lines[0]);
        let errors: Vec<_> = server.logs.lock().unwrap()[from..]
            .iter()
            .filter(|line| line["level"] == "ERROR")
            .cloned()
            .collect();
        assert!(errors.is_empty(), "{path}: ERROR lines: {errors:?}");
        eprintln!("{path}: {took:?}, logged: {}", lines[0]["error"]);
    }
    drop(server);
    let _ = std::fs::remove_dir_all(data_dir);
}

/// The SQLite files of `data_dir` made immutable (`chattr +i`: even root cannot write them,
/// through descriptors already open too) or writable again. `false` when the file system or
/// the user cannot do it.
fn set_immutable(data_dir: &std::path::Path, on: bool) -> bool {
    let files: Vec<_> = std::fs::read_dir(data_dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.ends_with(".db") || name.ends_with(".db-wal") || name.ends_with(".db-journal")
        })
        .collect();
    assert!(!files.is_empty(), "no database files in {data_dir:?}");
    let flag = if on { "+i" } else { "-i" };
    files.iter().all(|file| {
        std::process::Command::new("chattr")
            .arg(flag)
            .arg(file)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

async fn refresh(client: &reqwest::Client, server: &Server, token: &str) -> reqwest::Response {
    client
        .post(format!("{}/oauth/token", server.base))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", OAUTH_CLIENT_ID),
            ("client_secret", OAUTH_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_database_that_turns_read_only_refuses_writes_in_one_line_and_recovers() {
    let notion = FakeNotion::spawn();
    let origin = spawn_origin("127.0.0.1").await;
    let data_dir = temp_data_dir("read-only");
    let server = start(&data_dir, &notion.base, &[]);
    let (browser, client) = clients();
    let (access, refresh_token) = link(&server, &notion, &browser, &client, "ro-code").await;
    let before = format!("{}/relative?before", origin.base);
    assert_eq!(
        unfurl(&client, &server, &access, &before).await,
        StatusCode::OK
    );

    if !set_immutable(&data_dir, true) {
        set_immutable(&data_dir, false);
        eprintln!("skipped: chattr +i is not possible here (needs root on ext4 or similar)");
        return;
    }
    let from = log_len(&server);
    // A refresh needs a write: refused as temporarily unavailable, the token not spent.
    let refused = refresh(&client, &server, &refresh_token).await;
    let refused_status = refused.status();
    let refused_body: serde_json::Value = refused.json().await.unwrap_or_default();
    // A preview is still served; only its subscription could not be recorded.
    let during = format!("{}/relative?during", origin.base);
    let served = unfurl(&client, &server, &access, &during).await;
    let healthy_while_read_only = healthy(&client, &server).await;
    let write_errors = logged(&server, from, "could not record the subscription").len();
    let lines: Vec<_> = server.logs.lock().unwrap()[from..].to_vec();
    assert!(set_immutable(&data_dir, false), "chattr -i failed");

    assert_eq!(
        refused_status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{refused_body}"
    );
    assert_eq!(refused_body["error"], "temporarily_unavailable");
    assert_eq!(served, StatusCode::OK);
    assert!(healthy_while_read_only, "/healthz failed while read-only");
    assert_eq!(
        write_errors, 1,
        "one line for the lost subscription: {lines:?}"
    );
    // Each failure is one line naming its cause (beside the access line of the 503).
    let causes: Vec<_> = lines
        .iter()
        .filter(|l| l["level"] == "ERROR" || l["level"] == "WARN")
        .filter(|l| l["message"] != "request failed")
        .collect();
    let messages: Vec<_> = causes.iter().map(|l| l["message"].clone()).collect();
    assert_eq!(
        messages,
        [
            "the store failed during a grant",
            "could not record the subscription"
        ],
        "one line per failure: {causes:?}"
    );
    for line in causes {
        let error = line["error"].as_str().unwrap_or_default();
        assert!(error.contains("I/O error"), "{line}");
    }

    // Writable again, without a restart: the refresh token that was refused still works,
    // and new subscriptions are recorded.
    let after = format!("{}/relative?after", origin.base);
    assert_eq!(
        unfurl(&client, &server, &access, &after).await,
        StatusCode::OK
    );
    let refreshed = refresh(&client, &server, &refresh_token).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    drop(server);

    let store = open_store(&data_dir).await;
    for uri in [&before, &after] {
        assert_eq!(
            store.subscriptions_for(uri).await.unwrap().len(),
            1,
            "{uri}"
        );
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(data_dir);
}

async fn open_store(data_dir: &std::path::Path) -> notion_unfurl::store::Store {
    let settings = notion_unfurl::platform::config::Settings::from_vars([(
        "UNFURL_DATA_DIR".to_owned(),
        data_dir.display().to_string(),
    )])
    .unwrap();
    let (keys, _) = notion_unfurl::platform::crypto::keys::Keys::load(&settings).unwrap();
    notion_unfurl::store::Store::connect(&settings.database_url, keys.cipher)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_update_made_while_notion_is_down_is_delivered_once_it_is_back() {
    let Some((github, closed)) = github_with_pull_request().await else {
        return;
    };
    let down_for = if long_form() {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(3)
    };
    let notion = FakeNotion::spawn();
    let data_dir = temp_data_dir("notion-down");
    let github_api = github.uri();
    let extra = [
        ("UNFURL_GITHUB_API_URL", github_api.as_str()),
        ("UNFURL_GITHUB_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("UNFURL_OUTBOX_POLL_MS", "50"),
        ("UNFURL_OUTBOX_BACKOFF_MS", "200"),
    ];
    let server = start(&data_dir, &notion.base, &extra);
    let (browser, client) = clients();
    let (access, _) = link(&server, &notion, &browser, &client, "down-code").await;
    assert_eq!(unfurl(&client, &server, &access, PR).await, StatusCode::OK);

    notion.answer_always(Some(503));
    let from = log_len(&server);
    let went_down = Instant::now();
    send_webhook(&client, &server, &closed).await;
    notion
        .wait_for("a refused delivery", |p| !p.is_empty())
        .await;
    let mut serving = 0;
    while went_down.elapsed() < down_for {
        // The server keeps answering everything else while its updates wait.
        assert!(healthy(&client, &server).await);
        assert_eq!(unfurl(&client, &server, &access, PR).await, StatusCode::OK);
        serving += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(serving > 0);
    notion.answer_always(Some(200));
    // Retries back off exponentially: the next attempt may come as late as the time already
    // spent failing (and a jitter) after Notion is back.
    let back = Instant::now();
    let deadline = back + down_for * 2 + Duration::from_secs(15);
    let delivered = loop {
        let delivered: Vec<_> = notion
            .patches()
            .into_iter()
            .filter(|p| p.answered == 200)
            .collect();
        if !delivered.is_empty() || Instant::now() > deadline {
            break delivered;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!(
        "Notion down for {down_for:?}: delivered {:?} after it came back",
        back.elapsed()
    );
    assert_eq!(delivered.len(), 1, "{:?}", notion.patches());
    assert_eq!(delivered[0].body["uri"], PR);
    // Each refused attempt is one line saying when the next one comes.
    let attempts = notion
        .patches()
        .iter()
        .filter(|p| p.answered == 503)
        .count();
    let retry_lines = server.logs.lock().unwrap()[from..]
        .iter()
        .filter(|l| l["message"] == "preview update rescheduled")
        .count();
    assert_eq!(retry_lines, attempts, "one line per refused attempt");
    drop(server);
    let _ = std::fs::remove_dir_all(data_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_acknowledged_subscription() {
    let load_for = if long_form() {
        Duration::from_secs(20)
    } else {
        Duration::from_millis(1500)
    };
    let notion = FakeNotion::spawn();
    let origin = spawn_origin("127.0.0.1").await;
    let data_dir = temp_data_dir("kill-load");
    let mut server = start(&data_dir, &notion.base, &[]);
    let (browser, client) = clients();
    let (access, _) = link(&server, &notion, &browser, &client, "kill-load-code").await;

    // 16 clients unfurl distinct pages (each one a fetch and a subscription written) until
    // the server dies under them; what was answered 200 was acknowledged.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let (client, base, access, origin, stop) = (
            client.clone(),
            server.base.clone(),
            access.clone(),
            origin.base.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let uri = format!("{origin}/relative?w={worker}&n={n}");
                let answered = client
                    .post(format!("{base}/unfurl"))
                    .bearer_auth(&access)
                    .json(&serde_json::json!({ "uri": uri }))
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                match answered {
                    Ok(r) if r.status() == StatusCode::OK => acknowledged.push(uri),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(load_for).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.unwrap());
    }
    assert!(
        acknowledged.len() >= 16,
        "the load made too few requests to mean anything: {}",
        acknowledged.len()
    );

    let restarted = start(&data_dir, &notion.base, &[]);
    assert!(healthy(&client, &restarted).await);
    let again = format!("{}/relative?after-restart", origin.base);
    assert_eq!(
        unfurl(&client, &restarted, &access, &again).await,
        StatusCode::OK
    );
    drop(restarted);

    let store = open_store(&data_dir).await;
    let mut lost = Vec::new();
    for uri in &acknowledged {
        if store.subscriptions_for(uri).await.unwrap().is_empty() {
            lost.push(uri);
        }
    }
    store.close().await;
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged subscriptions lost: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    eprintln!(
        "kill -9 after {load_for:?} of load: {} acknowledged unfurls, none lost",
        acknowledged.len()
    );
    let _ = std::fs::remove_dir_all(data_dir);
}

/// `ALTER DATABASE … SET default_transaction_read_only`, then every session of it closed, so
/// the server's pool reconnects into the new setting. Two statements, so the setting is
/// committed before any session is closed (in one, sessions reconnecting in between would
/// still get the old one).
async fn set_read_only(admin_url: &str, database: &str, on: bool) {
    use sqlx::{AssertSqlSafe, Connection};
    let mut admin = sqlx::AnyConnection::connect(admin_url).await.unwrap();
    let value = if on { "on" } else { "off" };
    sqlx::raw_sql(AssertSqlSafe(format!(
        "ALTER DATABASE {database} SET default_transaction_read_only = {value}"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::raw_sql(AssertSqlSafe(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{database}' AND pid <> pg_backend_pid()"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    let _ = admin.close().await;
}

#[tokio::test]
async fn a_postgres_that_turns_read_only_costs_the_outbox_one_line_not_one_per_poll() {
    crate::postgres::with_fresh_database("nu_faults", |url| async move {
        let database = url.rsplit('/').next().unwrap().to_owned();
        let mut admin_url = url::Url::parse(&url).unwrap();
        admin_url.set_path("/postgres");
        let notion = FakeNotion::spawn();
        let data_dir = temp_data_dir("pg-read-only");
        // The outbox looks for work every 50 ms: a write each time.
        let server = start(
            &data_dir,
            &notion.base,
            &[
                ("UNFURL_DATABASE_URL", url.as_str()),
                ("UNFURL_OUTBOX_POLL_MS", "50"),
            ],
        );
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let from = log_len(&server);
        set_read_only(admin_url.as_str(), &database, true).await;
        // Some forty polls fail.
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(healthy(&client, &server).await);
        let failed = logged(&server, from, "claiming outbox rows failed");
        assert_eq!(failed.len(), 1, "one line for the run: {failed:?}");
        let error = failed[0]["error"].as_str().unwrap_or_default();
        assert!(error.contains("read-only"), "the cause is named: {error}");
        assert!(logged(&server, from, "claiming outbox rows still failing").is_empty());

        set_read_only(admin_url.as_str(), &database, false).await;
        let recovered = wait_logged(&server, from, "claiming outbox rows works again").await;
        assert_eq!(recovered.len(), 1, "the end of the run is logged once");
        let failures = recovered[0]["failures"].as_u64().unwrap_or_default();
        assert!(failures > 5, "{}", recovered[0]);
        drop(server);
        let _ = std::fs::remove_dir_all(data_dir);
    })
    .await;
}
