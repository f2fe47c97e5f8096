//! The `notion-unfurl` binary: commands, configuration errors, defaults, signals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const SECRET: &str = "cli-test-secret-key-that-is-long-enough-0123456789";

/// A fresh directory, removed when dropped (also when the test fails).
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir() -> TempDir {
    let dir = std::env::temp_dir().join(format!("notion-unfurl-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// The binary with a clean environment: no UNFURL_* (or DATABASE_URL, its fallback) from
/// the caller leaks in.
fn binary(cwd: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_notion-unfurl"));
    command.current_dir(cwd);
    for (key, _) in std::env::vars() {
        if key.starts_with("UNFURL_") || key == "RUST_LOG" || key == "DATABASE_URL" {
            command.env_remove(key);
        }
    }
    command
}

fn run(command: &mut Command) -> Output {
    command.stdin(Stdio::null()).output().unwrap()
}

/// Start `serve`, wait for its "listening" line and return the child and the port.
fn start_server(command: Command) -> (Child, u16, mpsc::Receiver<String>) {
    let (mut child, lines) = spawn_server(command);
    let (port, _) = wait_until_listening(&mut child, &lines);
    (child, port, lines)
}

/// Start `serve` without waiting for it; the receiver gets its log lines (JSON).
fn spawn_server(mut command: Command) -> (Child, mpsc::Receiver<String>) {
    command
        .arg("serve")
        .env("UNFURL_LOG_FORMAT", "json")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, lines_rx)
}

/// The port from the server's "listening" line, and the lines logged before it.
fn wait_until_listening(child: &mut Child, lines: &mpsc::Receiver<String>) -> (u16, Vec<String>) {
    let mut seen = Vec::new();
    loop {
        let Ok(line) = lines.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                use std::io::Read;
                let _ = pipe.read_to_string(&mut stderr);
            }
            let _ = child.wait();
            panic!("server never said it was listening: {seen:?}\n{stderr}");
        };
        let json: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if json["message"] == "listening" {
            let port = json["port"].as_u64().unwrap() as u16;
            return (port, seen);
        }
        seen.push(line);
    }
}

/// Start `command` at once and collect its output on a thread, so several run together;
/// the receiver gets the output when it exits.
fn spawn_to_completion(mut command: Command) -> mpsc::Receiver<Output> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        if let Ok(output) = child.wait_with_output() {
            let _ = tx.send(output);
        }
    });
    rx
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    signal(child, "-TERM")
}

fn signal(child: &mut Child, which: &str) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args([which, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap()
}

fn http_get(port: u16, path: &str) -> String {
    http(port, &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n"))
}

/// `DELETE /unfurl` with `token`: `204` when the server knows the token and its connection
/// (the server signs with the same secret and reads the same database), `401` otherwise.
fn delete_unfurl(port: u16, token: &str) -> String {
    let body = r#"{"uri":"https://example.com/"}"#;
    http(
        port,
        &format!(
            "DELETE /unfurl HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// Send `head` (request line and headers, then the body if any) and read the whole answer.
fn http(port: u16, head: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = match head.split_once("\r\n\r\n") {
        Some((headers, body)) => format!("{headers}\r\nConnection: close\r\n\r\n{body}"),
        None => format!("{head}Connection: close\r\n\r\n"),
    };
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn a_bad_setting_exits_non_zero_with_one_line_naming_it() {
    let dir = temp_dir();
    for (name, value) in [
        ("UNFURL_LISTEN", "not-an-address"),
        ("UNFURL_FETCH_ALLOW", "10.0.0.0/33"),
        ("UNFURL_SECRET_KEY", "too-short"),
    ] {
        let output = run(binary(&dir).arg("serve").env(name, value));
        assert!(!output.status.success(), "{name}={value} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(name), "{stderr}");
        assert!(
            !stderr.contains(value) || name != "UNFURL_SECRET_KEY",
            "secret echoed: {stderr}"
        );
    }
}

#[test]
fn serve_stops_gracefully_on_sigterm_and_exits_zero() {
    let dir = temp_dir();
    let mut command = binary(&dir);
    command
        .env("UNFURL_LISTEN", "127.0.0.1:0")
        .env("UNFURL_SECRET_KEY", SECRET);
    let (mut child, port, _lines) = start_server(command);
    assert!(http_get(port, "/healthz").starts_with("HTTP/1.1 200"));
    let status = terminate(&mut child);
    assert!(status.success(), "{status:?}");

    // Ctrl-C (SIGINT) stops it the same way.
    let mut command = binary(&dir);
    command
        .env("UNFURL_LISTEN", "127.0.0.1:0")
        .env("UNFURL_SECRET_KEY", SECRET);
    let (mut child, _, _lines) = start_server(command);
    let status = signal(&mut child, "-INT");
    assert!(status.success(), "{status:?}");
}

#[test]
fn with_no_configuration_serve_uses_port_8080_and_generates_a_secret_once() {
    if std::net::TcpListener::bind("127.0.0.1:8080").is_err() {
        eprintln!("skipped: 127.0.0.1:8080 is busy on this machine");
        return;
    }
    let dir = temp_dir();
    let (mut child, port, lines) = start_server(binary(&dir));
    assert_eq!(port, 8080);
    assert!(http_get(port, "/healthz").starts_with("HTTP/1.1 200"));
    assert!(dir.join("data/secret.key").is_file());
    assert!(terminate(&mut child).success());
    let warnings: Vec<String> = lines
        .try_iter()
        .filter(|l| l.contains("UNFURL_SECRET_KEY is not set"))
        .collect();
    assert!(warnings.len() <= 1);

    // A second start reuses the secret without generating another.
    let before = std::fs::read(dir.join("data/secret.key")).unwrap();
    let (mut child, _, lines) = start_server(binary(&dir));
    assert!(terminate(&mut child).success());
    assert_eq!(std::fs::read(dir.join("data/secret.key")).unwrap(), before);
    assert!(!lines.try_iter().any(|l| l.contains("generated a secret")));
}

#[test]
fn token_issue_prints_a_token_the_server_accepts() {
    let dir = temp_dir();
    let output = run(binary(&dir)
        .args(["token", "issue", "--account", "local:cli"])
        .env("UNFURL_SECRET_KEY", SECRET)
        .env("UNFURL_PUBLIC_URL", "http://127.0.0.1:9"));
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let token = stdout.trim();
    assert_eq!(stdout.lines().count(), 1);
    assert_eq!(token.split('.').count(), 3);

    // The same secret, public URL and database verify it and know its account.
    let settings = notion_unfurl::platform::config::Settings::from_vars([
        ("UNFURL_SECRET_KEY".to_owned(), SECRET.to_owned()),
        (
            "UNFURL_PUBLIC_URL".to_owned(),
            "http://127.0.0.1:9".to_owned(),
        ),
        (
            "UNFURL_DATA_DIR".to_owned(),
            dir.join("data").display().to_string(),
        ),
    ])
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let account = runtime.block_on(async {
        let state = notion_unfurl::state::AppState::from_settings(
            settings,
            notion_unfurl::unfurl::registry::Registry::default(),
        )
        .await
        .unwrap();
        let claims = state.tokens.verify(token).unwrap();
        let connection = state
            .connections
            .active(&claims.sub)
            .await
            .unwrap()
            .unwrap();
        connection.account().key.clone()
    });
    assert_eq!(account, "local:cli");

    // A second token for the same account uses the same connection.
    let again = run(binary(&dir)
        .args(["token", "issue", "--account", "local:cli"])
        .env("UNFURL_SECRET_KEY", SECRET)
        .env("UNFURL_PUBLIC_URL", "http://127.0.0.1:9"));
    assert!(again.status.success(), "{again:?}");
}

/// Every file in `dir`, by name.
fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_server_and_token_commands_started_together_on_a_fresh_directory_all_succeed() {
    // The README's walk-through (`serve &` then `token issue`) with more processes, on an
    // empty directory each round: they race to create the secret, the database file and its
    // schema. Before the fix most rounds had a process fail ("table accounts already
    // exists", "database is locked", a short secret.key). Half the commands may create the
    // secret themselves (`--create-secret`), half wait for the one the others create.
    const ROUNDS: usize = 10;
    const ISSUERS: usize = 4;
    const PUBLIC_URL: &str = "http://127.0.0.1:9";
    for round in 0..ROUNDS {
        let dir = temp_dir();
        let mut server = binary(&dir);
        server
            .env("UNFURL_LISTEN", "127.0.0.1:0")
            .env("UNFURL_PUBLIC_URL", PUBLIC_URL);
        let (mut child, lines) = spawn_server(server);
        let issuers: Vec<_> = (0..ISSUERS)
            .map(|i| {
                let mut issue = binary(&dir);
                issue
                    .args(["token", "issue", "--account", &format!("local:race-{i}")])
                    .env("UNFURL_PUBLIC_URL", PUBLIC_URL);
                if i % 2 == 1 {
                    issue.arg("--create-secret");
                }
                spawn_to_completion(issue)
            })
            .collect();
        let (port, _) = wait_until_listening(&mut child, &lines);
        for (i, issued) in issuers.iter().enumerate() {
            let output = issued
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("round {round}: token issue {i} did not finish"));
            assert!(
                output.status.success(),
                "round {round}: token issue {i} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let token = String::from_utf8(output.stdout).unwrap();
            // Signed with the server's secret, for a connection in the server's database.
            let answer = delete_unfurl(port, token.trim());
            assert!(
                answer.starts_with("HTTP/1.1 204"),
                "round {round}: the server refused token {i}: {answer}"
            );
        }
        assert!(terminate(&mut child).success(), "round {round}");
        let data = dir.join("data");
        let names = file_names(&data);
        assert!(
            names.iter().all(|name| !name.ends_with(".tmp")),
            "round {round}: temporary files left: {names:?}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(data.join("secret.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "round {round}");
        }
    }
}

#[test]
fn token_issue_in_another_directory_refuses_to_make_a_second_secret() {
    let server_dir = temp_dir();
    let mut server = binary(&server_dir);
    server.env("UNFURL_LISTEN", "127.0.0.1:0");
    let (mut child, lines) = spawn_server(server);
    let (_, before) = wait_until_listening(&mut child, &lines);
    // Start-up names its files absolutely, so a second directory shows in the log.
    let data = server_dir.canonicalize().unwrap().join("data");
    let storage: serde_json::Value = before
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_default())
        .find(|json: &serde_json::Value| json["message"] == "data directory, database and secret")
        .unwrap_or_else(|| panic!("no storage line: {before:?}"));
    assert_eq!(storage["data_dir"], data.display().to_string());
    assert_eq!(
        storage["database"],
        data.join("notion-unfurl.db").display().to_string()
    );
    assert_eq!(
        storage["secret"],
        data.join("secret.key").display().to_string()
    );
    assert!(terminate(&mut child).success());

    // From another directory: no secret there, and none is made.
    let elsewhere = temp_dir();
    let refused = run(binary(&elsewhere).args(["token", "issue", "--account", "local:lost"]));
    assert!(!refused.status.success());
    assert!(refused.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let looked_at = elsewhere.canonicalize().unwrap().join("data/secret.key");
    assert!(
        stderr.contains(&looked_at.display().to_string()),
        "{stderr}"
    );
    assert!(stderr.contains("--create-secret"), "{stderr}");
    assert!(!elsewhere.join("data").exists(), "nothing is created");

    // Told to, it makes one (and the database beside it).
    let created = run(binary(&elsewhere).args([
        "token",
        "issue",
        "--account",
        "local:lost",
        "--create-secret",
    ]));
    assert!(created.status.success(), "{created:?}");
    assert!(elsewhere.join("data/secret.key").is_file());
    assert!(String::from_utf8_lossy(&created.stderr).contains("generated a secret"));
}

#[test]
fn notion_config_lists_endpoints_and_provider_patterns() {
    let dir = temp_dir();
    let output = run(binary(&dir)
        .args(["notion-config", "--json"])
        .env("UNFURL_PUBLIC_URL", "https://unfurl.example.com"));
    assert!(output.status.success(), "{output:?}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        json["unfurl_callback_url"],
        "https://unfurl.example.com/unfurl"
    );
    assert_eq!(
        json["oauth_authorize_url"],
        "https://unfurl.example.com/oauth/authorize"
    );
    let patterns = json["patterns"].as_array().unwrap();
    let opengraph = patterns
        .iter()
        .find(|p| p["provider"] == "opengraph")
        .unwrap();
    let regex = regex::Regex::new(opengraph["pattern"].as_str().unwrap()).unwrap();
    assert!(
        regex.capture_names().flatten().count() > 0,
        "no named groups"
    );
    for sample in opengraph["samples"].as_array().unwrap() {
        assert!(regex.is_match(sample.as_str().unwrap()));
    }
    assert!(!opengraph["placeholder"].as_array().unwrap().is_empty());

    // GitHub comes first (opengraph accepts every URL), with its domain and named groups.
    assert_eq!(patterns[0]["provider"], "github");
    assert_eq!(patterns[0]["domain"], "github.com");
    let github = regex::Regex::new(patterns[0]["pattern"].as_str().unwrap()).unwrap();
    let names: Vec<&str> = github.capture_names().flatten().collect();
    for group in ["owner", "repo", "number"] {
        assert!(names.contains(&group), "{names:?}");
    }
    assert!(github.is_match("https://github.com/rust-lang/rust/pull/1/files"));
    // Every kind of GitHub link has its own pattern, each with samples it matches and a
    // placeholder (issue 10).
    let github_patterns: Vec<&serde_json::Value> = patterns
        .iter()
        .filter(|p| p["provider"] == "github")
        .collect();
    assert_eq!(github_patterns.len(), 7, "{github_patterns:?}");
    for pattern in &github_patterns {
        let regex = regex::Regex::new(pattern["pattern"].as_str().unwrap()).unwrap();
        let samples = pattern["samples"].as_array().unwrap();
        assert!(!samples.is_empty(), "{pattern}");
        for sample in samples {
            assert!(regex.is_match(sample.as_str().unwrap()), "{sample}");
        }
        assert!(!pattern["placeholder"].as_array().unwrap().is_empty());
        // Short enough to paste and read in the dashboard (the exact repository rule,
        // which spells out GitHub's reserved names, is over 7 KB).
        let length = pattern["pattern"].as_str().unwrap().len();
        assert!(length < 400, "{length} bytes: {pattern}");
    }
    for link in [
        "https://github.com/o/r/issues/1",
        "https://github.com/o/r/commit/0123abc",
        "https://github.com/o/r/blob/main/src/lib.rs#L1-L2",
        "https://github.com/o/r/actions/runs/1",
        "https://github.com/o/r/releases/tag/v1",
        "https://github.com/o/r",
    ] {
        let matching = github_patterns
            .iter()
            .filter(|p| {
                regex::Regex::new(p["pattern"].as_str().unwrap())
                    .unwrap()
                    .is_match(link)
            })
            .count();
        assert_eq!(matching, 1, "{link}");
    }

    let text = run(binary(&dir).arg("notion-config"));
    assert!(String::from_utf8_lossy(&text.stdout).contains("Unfurl Callback URL"));
}

#[test]
fn unfurl_command_prints_the_response_body_and_refuses_bad_urls() {
    let dir = temp_dir();
    let output = run(binary(&dir).args(["unfurl", "ftp://example.com/x"]));
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("http"));

    // A loopback page is refused without the allow-list, as on the server.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let page = b"<html><head><title>From the CLI</title></head></html>";
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut stream, _)) = listener.accept() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                page.len()
            );
            let _ = stream.write_all(page);
        }
    });
    let uri = format!("http://127.0.0.1:{port}/page");
    let refused = run(binary(&dir)
        .args(["unfurl", &uri])
        .env("UNFURL_SECRET_KEY", SECRET));
    // The body Notion would get is printed, and the status says it is no preview.
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let body: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(body["operations"][0]["path"][0], "error");
    assert_eq!(body["operations"][0]["set"]["status"], 403);
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("error operation (status 403)"),
        "{refused:?}"
    );

    let output = run(binary(&dir)
        .args(["unfurl", &uri])
        .env("UNFURL_SECRET_KEY", SECRET)
        .env("UNFURL_FETCH_ALLOW", "127.0.0.1/32"));
    assert!(output.status.success(), "{output:?}");
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(body["uri"], uri.as_str());
    let set = body["operations"][0]["set"].as_array().unwrap();
    assert!(
        set.iter()
            .any(|a| a["id"] == "title" && a["inline"]["title"]["value"] == "From the CLI")
    );
    assert!(set.iter().any(|a| a["id"] == "dev"));
    server.join().unwrap();
}

#[test]
fn a_settings_file_is_read_under_the_environment() {
    let dir = temp_dir();
    let file = dir.join("unfurl.toml");
    std::fs::write(
        &file,
        "public_url = \"https://from-the-file.example.com\"\ndeveloper_name = \"Acme\"\n",
    )
    .unwrap();
    let config = |command: &mut Command| -> serde_json::Value {
        let output = run(command);
        assert!(output.status.success(), "{output:?}");
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let from_flag = config(
        binary(&dir)
            .args(["--config", "unfurl.toml", "notion-config", "--json"])
            .env("UNFURL_LISTN", "typo"),
    );
    assert_eq!(
        from_flag["unfurl_callback_url"],
        "https://from-the-file.example.com/unfurl"
    );
    let from_variable = config(
        binary(&dir)
            .args(["notion-config", "--json"])
            .env("UNFURL_CONFIG", &file)
            .env("UNFURL_PUBLIC_URL", "https://from-the-env.example.com"),
    );
    assert_eq!(
        from_variable["unfurl_callback_url"],
        "https://from-the-env.example.com/unfurl"
    );

    // A typo in the environment is warned about; one in the file stops start-up.
    let warned = run(binary(&dir)
        .args(["--config", "unfurl.toml", "notion-config"])
        .env("UNFURL_LISTN", "typo"));
    assert!(warned.status.success());
    assert!(
        String::from_utf8_lossy(&warned.stderr)
            .contains("UNFURL_LISTN is set but is not a setting"),
        "{warned:?}"
    );
    std::fs::write(&file, "listn = \"127.0.0.1:1\"\n").unwrap();
    let refused = run(binary(&dir).args(["--config", "unfurl.toml", "serve"]));
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("UNFURL_CONFIG") && stderr.contains("`listn`"),
        "{stderr}"
    );
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn output_to_a_reader_that_went_away_ends_quietly() {
    let dir = temp_dir();
    for args in [
        &["notion-config", "--json"][..],
        &["notion-config"],
        &["check-config"],
        &["unfurl", "http://127.0.0.1:9/page"],
    ] {
        // A pipe whose reading end is closed before the child starts: its first write
        // fails with EPIPE every time, as under `| head -1` once head has exited.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = binary(&dir)
            .args(args)
            .env("UNFURL_SECRET_KEY", SECRET)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        if args[0] != "unfurl" {
            assert!(output.status.success(), "{args:?}: {output:?}");
        }
    }
}

#[test]
fn check_config_prints_what_is_set_with_secrets_redacted() {
    let dir = temp_dir();
    let secrets = [
        ("UNFURL_SECRET_KEY", SECRET),
        ("UNFURL_OAUTH_CLIENT_SECRET", "CHECK-OAUTH-SECRET"),
        ("UNFURL_NOTION_CLIENT_SECRET", "CHECK-NOTION-SECRET"),
        ("UNFURL_GITHUB_TOKEN", "CHECK-GITHUB-TOKEN"),
        ("UNFURL_GITHUB_WEBHOOK_SECRET", "CHECK-WEBHOOK-SECRET"),
        ("UNFURL_METRICS_TOKEN", "CHECK-METRICS-TOKEN-0123456789"),
        ("UNFURL_SECRT_KEY", "CHECK-TYPO-SECRET"),
    ];
    let mut command = binary(&dir);
    command
        .arg("check-config")
        .env("UNFURL_PUBLIC_URL", "https://unfurl.example.com")
        .env("UNFURL_OAUTH_CLIENT_ID", "check-client")
        .env("UNFURL_NOTION_CLIENT_ID", "check-notion");
    for (name, value) in secrets {
        command.env(name, value);
    }
    let output = run(&mut command);
    let all = text(&output);
    assert!(output.status.success(), "{all}");
    for (_, value) in secrets {
        assert!(!all.contains(value), "{value} printed:\n{all}");
    }
    assert!(all.contains("UNFURL_SECRET_KEY"), "{all}");
    assert!(all.contains("<redacted>"), "{all}");
    assert!(all.contains("check-client"), "{all}");
    assert!(all.contains("https://unfurl.example.com/"), "{all}");
    assert!(all.contains("migration"), "{all}");
    assert!(
        all.contains("Metrics:           on the public listener, with UNFURL_METRICS_TOKEN"),
        "{all}"
    );
    // The typo is a warning, and warnings fail only under --strict.
    assert!(
        all.contains("UNFURL_SECRT_KEY is set but is not a setting"),
        "{all}"
    );
    let strict = run(command.arg("--strict"));
    assert_eq!(strict.status.code(), Some(1), "{}", text(&strict));

    // Checking applies no migration: the database the check created has none.
    let fresh = temp_dir();
    let output = run(binary(&fresh)
        .arg("check-config")
        .env("UNFURL_SECRET_KEY", SECRET));
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("pending"), "{}", text(&output));
}

#[test]
fn check_config_names_an_unreachable_postgres_within_seconds() {
    let dir = temp_dir();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let started = std::time::Instant::now();
    let output = run(binary(&dir)
        .arg("check-config")
        .env("UNFURL_SECRET_KEY", SECRET)
        .env(
            "UNFURL_DATABASE_URL",
            format!("postgres://unfurl:CHECK-DB-PASSWORD@127.0.0.1:{port}/unfurl"),
        ));
    let all = text(&output);
    assert_eq!(output.status.code(), Some(1), "{all}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(all.contains(&format!("127.0.0.1:{port}")), "{all}");
    assert!(all.contains("connection refused"), "{all}");
    assert!(!all.contains("CHECK-DB-PASSWORD"), "{all}");
    assert!(!all.contains("timed out"), "{all}");
}

#[test]
fn check_config_refuses_a_bad_setting_naming_it_or_its_file_key() {
    let dir = temp_dir();
    let output = run(binary(&dir)
        .arg("check-config")
        .env("UNFURL_SECRET_KEY_ID", "300"));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim(),
        "notion-unfurl: UNFURL_SECRET_KEY_ID: must be between 1 and 255, got 300"
    );

    let file = dir.join("unfurl.toml");
    std::fs::write(&file, "secret_key_id = 300\n").unwrap();
    let output = run(binary(&dir).args(["--config", "unfurl.toml", "check-config"]));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unfurl.toml: `secret_key_id`: must be between 1 and 255"),
        "{stderr}"
    );
    assert!(!stderr.contains("UNFURL_SECRET_KEY_ID"), "{stderr}");
}

#[test]
fn database_url_is_used_when_unfurl_database_url_is_unset() {
    let dir = temp_dir();
    let attached = format!("sqlite://{}/attached.db", dir.display());
    let output = run(binary(&dir)
        .arg("check-config")
        .env("UNFURL_SECRET_KEY", SECRET)
        .env("DATABASE_URL", &attached));
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains(&attached), "{}", text(&output));
    assert!(dir.join("attached.db").is_file());
    assert!(!dir.join("data/notion-unfurl.db").exists());

    let ours = format!("sqlite://{}/ours.db", dir.display());
    let output = run(binary(&dir)
        .arg("check-config")
        .env("UNFURL_SECRET_KEY", SECRET)
        .env("DATABASE_URL", "postgres://elsewhere.invalid/db")
        .env("UNFURL_DATABASE_URL", &ours));
    assert!(output.status.success(), "{}", text(&output));
    assert!(dir.join("ours.db").is_file());
}

#[test]
fn an_sqlite_file_that_cannot_be_opened_is_named_with_the_cause() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    let file = dir.join("locked.db");
    std::fs::write(&file, b"").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
    // A privileged user (root in a container) opens it anyway: then a directory where the
    // file should be is the failure to look at.
    let (target, cause) = if std::fs::File::open(&file).is_ok() {
        eprintln!("running privileged: checking a directory in place of the file instead");
        let blocked = dir.join("blocked.db");
        std::fs::create_dir(&blocked).unwrap();
        (blocked, "is a directory")
    } else {
        (file, "permission denied")
    };
    let output = run(binary(&dir)
        .arg("check-config")
        .env("UNFURL_SECRET_KEY", SECRET)
        .env(
            "UNFURL_DATABASE_URL",
            format!("sqlite://{}", target.display()),
        ));
    let all = text(&output);
    assert_eq!(output.status.code(), Some(1), "{all}");
    assert!(all.contains(&target.display().to_string()), "{all}");
    assert!(all.contains(cause), "{all}");
}

#[test]
fn providers_test_runs_the_shipped_files_and_check_names_each_problem() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("providers.d");
    let dir = temp_dir();
    let tested = run(binary(&dir).args(["providers", "test"]).arg(&shipped));
    let out = String::from_utf8_lossy(&tested.stdout);
    assert!(
        tested.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&tested.stderr)
    );
    assert!(out.contains("4 provider file(s)"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
    assert!(
        out.contains("\"value\":\"Printer on floor 3 jams on duplex\""),
        "{out}"
    );

    // `check` needs the secrets the files name, as the server does.
    let checked = run(binary(&dir).args(["providers", "check"]).arg(&shipped));
    let err = String::from_utf8_lossy(&checked.stderr);
    assert_eq!(checked.status.code(), Some(1), "{err}");
    assert!(
        err.contains("tickets.toml:5: environment variable TICKETS_TOKEN is not set"),
        "{err}"
    );
    let checked = run(binary(&dir)
        .args(["providers", "check"])
        .arg(&shipped)
        .env("TICKETS_TOKEN", "t")
        .env("GITLAB_CLIENT_ID", "g")
        .env("GITLAB_CLIENT_SECRET", "gs"));
    let out = String::from_utf8_lossy(&checked.stdout);
    assert!(
        checked.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(out.contains("ok gitlab-merge-requests"), "{out}");

    // The dashboard settings say which redirect URI to register with each declared service.
    let config = run(binary(&dir)
        .arg("notion-config")
        .env("UNFURL_PROVIDERS_DIR", &shipped)
        .env("UNFURL_PUBLIC_URL", "https://unfurl.example.com")
        .env("TICKETS_TOKEN", "t")
        .env("GITLAB_CLIENT_ID", "g")
        .env("GITLAB_CLIENT_SECRET", "gs"));
    let out = String::from_utf8_lossy(&config.stdout);
    assert!(config.status.success(), "{out}");
    assert!(
        out.contains("Service: GitLab (gitlab), linked by users after consent\n  Redirect URI to register with it: https://unfurl.example.com/oauth/services/gitlab/callback"),
        "{out}"
    );

    // No directory and no UNFURL_PROVIDERS_DIR: say what to give.
    let none = run(binary(&dir).args(["providers", "check"]));
    assert_eq!(none.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&none.stderr).contains("set UNFURL_PROVIDERS_DIR"));
}
