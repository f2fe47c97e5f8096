//! The deployment files against the server: `fly.toml`, the `Dockerfile` and
//! `deploy/entrypoint.sh` must agree with each other and with what the server reads and
//! serves, or a deploy fails in ways no other test sees (a proxy knocking on the wrong
//! port, a health check on a route that does not exist, a volume beside the data directory
//! rather than under it, an image whose entrypoint execs a path the binary is not at).
//! Here so that `cargo test --workspace`, the README's command and CI's, runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notion_unfurl::platform::config::{FALLBACK_DATABASE_VARIABLE, Settings, VARIABLES};
use notion_unfurl::startup::Application;
use toml::{Table, Value};

fn repo_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fly() -> Table {
    repo_file("fly.toml")
        .parse::<Table>()
        .unwrap_or_else(|e| panic!("fly.toml: {e}"))
}

fn table<'a>(parent: &'a Table, key: &str) -> &'a Table {
    parent
        .get(key)
        .and_then(Value::as_table)
        .unwrap_or_else(|| panic!("fly.toml has no [{key}] table"))
}

/// fly.toml's `[env]`, as the machine's environment.
fn fly_env() -> BTreeMap<String, String> {
    table(&fly(), "env")
        .iter()
        .map(|(k, v)| {
            let value = v
                .as_str()
                .unwrap_or_else(|| panic!("fly.toml [env] {k} is not a string"));
            (k.clone(), value.to_owned())
        })
        .collect()
}

fn fly_env_var(name: &str) -> String {
    fly_env()
        .get(name)
        .cloned()
        .unwrap_or_else(|| panic!("fly.toml [env] does not set {name}"))
}

fn http_service() -> Table {
    table(&fly(), "http_service").clone()
}

fn integer(table: &Table, key: &str) -> i64 {
    table
        .get(key)
        .and_then(Value::as_integer)
        .unwrap_or_else(|| panic!("fly.toml: {key} is missing or not an integer"))
}

/// `[[mounts]]` (an array of tables) or `[mounts]` (one table): both are valid fly.toml.
fn mounts() -> Vec<Table> {
    match fly().get("mounts") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|m| m.as_table().expect("a mount is a table").clone())
            .collect(),
        Some(Value::Table(one)) => vec![one.clone()],
        _ => panic!("fly.toml mounts no volume"),
    }
}

/// The instructions of the Dockerfile's last stage (the runtime image), continuation lines
/// joined and comments dropped: (INSTRUCTION, arguments).
fn runtime_stage() -> Vec<(String, String)> {
    let mut instructions = Vec::new();
    let mut pending = String::new();
    for line in repo_file("Dockerfile").lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(trimmed);
        let (instruction, arguments) = pending.split_once(' ').unwrap_or((&pending, ""));
        instructions.push((
            instruction.to_ascii_uppercase(),
            arguments.trim().to_owned(),
        ));
        pending.clear();
    }
    let last_from = instructions
        .iter()
        .rposition(|(i, _)| i == "FROM")
        .expect("the Dockerfile has a FROM");
    instructions.split_off(last_from)
}

fn arguments_of(instruction: &str) -> Vec<String> {
    runtime_stage()
        .into_iter()
        .filter(|(i, _)| i == instruction)
        .map(|(_, a)| a)
        .collect()
}

/// The image's `ENV`, in either form (`K=V K2=V2` or the old `K V`).
fn image_env() -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for arguments in arguments_of("ENV") {
        let words: Vec<&str> = arguments.split_whitespace().collect();
        if words.first().is_some_and(|w| !w.contains('=')) {
            env.insert(words[0].to_owned(), words[1..].join(" "));
            continue;
        }
        for word in words {
            let (key, value) = word.split_once('=').expect("ENV K=V");
            env.insert(key.to_owned(), value.trim_matches('"').to_owned());
        }
    }
    env
}

/// The destination of the `COPY` whose (last) source is `source`.
fn copy_destination(source: &str) -> String {
    arguments_of("COPY")
        .iter()
        .find_map(|arguments| {
            let paths: Vec<&str> = arguments
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            match paths.as_slice() {
                [.., from, to] if *from == source => Some((*to).to_owned()),
                _ => None,
            }
        })
        .unwrap_or_else(|| panic!("the runtime image copies no {source}"))
}

/// An exec-form instruction's words: `["a", "b"]`.
fn exec_form(instruction: &str) -> Vec<String> {
    let arguments = arguments_of(instruction);
    let [only] = arguments.as_slice() else {
        panic!("the runtime image needs exactly one {instruction}, has {arguments:?}");
    };
    let value: Value = format!("x = {only}")
        .parse::<Table>()
        .unwrap_or_else(|e| panic!("{instruction} is not exec form ({e})"))
        .remove("x")
        .unwrap();
    value
        .as_array()
        .unwrap_or_else(|| panic!("{instruction} is not exec form"))
        .iter()
        .map(|w| w.as_str().expect("a string").to_owned())
        .collect()
}

/// A `name=${VARIABLE:-default}` default in deploy/entrypoint.sh.
fn entrypoint_default(variable: &str) -> String {
    let script = repo_file("deploy/entrypoint.sh");
    let marker = format!("${{{variable}:-");
    let start = script
        .find(&marker)
        .unwrap_or_else(|| panic!("deploy/entrypoint.sh has no default for {variable}"))
        + marker.len();
    let end = start + script[start..].find('}').expect("a closing brace");
    script[start..end].to_owned()
}

fn listen() -> SocketAddr {
    fly_env_var("UNFURL_LISTEN")
        .parse()
        .expect("fly.toml's UNFURL_LISTEN is an IP address and port, so it needs no lookup")
}

#[test]
fn fly_proxies_to_the_port_the_server_listens_on() {
    let listen = listen();
    assert_eq!(
        i64::from(listen.port()),
        integer(&http_service(), "internal_port"),
        "http_service.internal_port must be UNFURL_LISTEN's port"
    );
    // Fly's proxy connects from outside the machine: a loopback listener is never reached.
    assert!(
        listen.ip().is_unspecified(),
        "UNFURL_LISTEN must listen on every interface (0.0.0.0 or [::]), not {}",
        listen.ip()
    );
}

#[test]
fn the_volume_is_mounted_on_the_data_directory() {
    let data_dir = fly_env_var("UNFURL_DATA_DIR");
    assert!(data_dir.starts_with('/'), "UNFURL_DATA_DIR: {data_dir}");
    let mounts = mounts();
    let [mount] = mounts.as_slice() else {
        panic!("fly.toml should mount exactly one volume, has {mounts:?}");
    };
    assert_eq!(
        mount.get("destination").and_then(Value::as_str),
        Some(data_dir.as_str()),
        "the volume must be mounted where the server keeps its data, or the database and the \
         secret are lost on every deploy"
    );
    assert!(mount.get("source").and_then(Value::as_str).is_some());
}

#[test]
fn fly_env_holds_settings_the_server_accepts_and_no_secrets() {
    let env = fly_env();
    for name in env.keys() {
        assert!(
            VARIABLES.contains(&name.as_str()),
            "fly.toml [env] sets {name}, which the server does not read"
        );
        // fly.toml is committed and readable by anyone with the repository: secrets go
        // through `fly secrets set`.
        let secret = (name.contains("SECRET") && name != "UNFURL_SECRET_KEY_ID")
            || name.ends_with("_TOKEN")
            || name.contains(FALLBACK_DATABASE_VARIABLE);
        assert!(
            !secret,
            "{name} must be a Fly secret, not in fly.toml [env]"
        );
    }
    let settings = Settings::from_vars(env.clone()).unwrap_or_else(|e| panic!("fly.toml: {e}"));
    assert_eq!(settings.data_dir, PathBuf::from(&env["UNFURL_DATA_DIR"]));
    assert_eq!(settings.listen, listen());
    assert_eq!(
        settings.client_ip_header.as_deref(),
        Some("fly-client-ip"),
        "behind Fly's proxy, rate limits must key on the client, not the proxy"
    );
}

#[test]
fn the_image_agrees_with_fly_toml() {
    let image = image_env();
    let fly = fly_env();
    for name in ["UNFURL_LISTEN", "UNFURL_DATA_DIR"] {
        assert_eq!(
            image.get(name),
            fly.get(name),
            "{name}: the Dockerfile's ENV and fly.toml's [env] differ"
        );
    }
    let port = listen().port().to_string();
    let exposed: Vec<String> = arguments_of("EXPOSE")
        .iter()
        .flat_map(|a| {
            a.split_whitespace()
                .map(|p| p.trim_end_matches("/tcp").to_owned())
        })
        .collect();
    assert!(exposed.contains(&port), "EXPOSE {exposed:?} lacks {port}");
    let volumes = arguments_of("VOLUME").join(" ");
    assert!(
        volumes
            .split_whitespace()
            .any(|v| v.trim_matches(['[', ']', '"', ',']) == fly["UNFURL_DATA_DIR"]),
        "VOLUME {volumes} is not the data directory"
    );
}

#[test]
fn the_entrypoint_runs_the_binary_the_image_installs() {
    let entrypoint = exec_form("ENTRYPOINT");
    assert_eq!(
        entrypoint.first().map(String::as_str),
        Some(copy_destination("deploy/entrypoint.sh").as_str()),
        "ENTRYPOINT must be deploy/entrypoint.sh where the image copies it"
    );
    assert_eq!(
        entrypoint_default("NOTION_UNFURL_BIN"),
        copy_destination("/src/target/release/notion-unfurl"),
        "the entrypoint would exec a path where the image has no binary"
    );
    let user = entrypoint_default("NOTION_UNFURL_USER");
    // `useradd … NAME`, up to the end of that command.
    let useradd = regex::Regex::new(&format!(r"useradd[^&;]*\s{user}\s*(&&|;|$)")).unwrap();
    assert!(
        arguments_of("RUN").iter().any(|run| useradd.is_match(run)),
        "the image creates no user {user} for the entrypoint to run the server as"
    );
    assert_eq!(exec_form("CMD"), ["serve"]);
}

#[test]
fn a_machine_keeps_running_to_deliver_queued_updates() {
    // A stopped machine delivers nothing from the outbox: either machines are never stopped
    // for idleness, or at least one is kept running.
    let service = http_service();
    let never_stopped = matches!(
        service.get("auto_stop_machines"),
        Some(Value::String(s)) if s == "off"
    ) || matches!(
        service.get("auto_stop_machines"),
        Some(Value::Boolean(false))
    );
    let kept = service
        .get("min_machines_running")
        .and_then(Value::as_integer)
        .is_some_and(|n| n >= 1);
    assert!(
        never_stopped || kept,
        "auto_stop_machines may stop every machine, and with them the delivery of updates"
    );
}

#[test]
fn fly_waits_for_the_graceful_stop() {
    // The server takes up to 10 s for requests in flight, then up to 10 s for the update it is
    // pushing (startup.rs); Fly kills it after kill_timeout (default 5 s).
    let seconds = match fly().get("kill_timeout") {
        Some(Value::Integer(n)) => *n,
        Some(Value::String(s)) => s
            .strip_suffix('s')
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("kill_timeout {s:?}: expected seconds such as \"30s\"")),
        other => panic!("kill_timeout: {other:?}"),
    };
    assert!(
        seconds >= 20,
        "kill_timeout {seconds} s cuts the graceful stop short"
    );
    let signal = fly()
        .get("kill_signal")
        .and_then(Value::as_str)
        .map(str::to_owned);
    assert!(
        matches!(signal.as_deref(), None | Some("SIGINT" | "SIGTERM")),
        "the server stops gracefully on SIGTERM or SIGINT only, not {signal:?}"
    );
}

#[test]
fn the_deploy_guide_names_every_secret_to_set_and_only_real_variables() {
    let readme = repo_file("README.md");
    let start = readme
        .find("## Deploying")
        .expect("README.md has a Deploying section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    for required in [
        "UNFURL_PUBLIC_URL",
        "UNFURL_SECRET_KEY",
        "UNFURL_OAUTH_CLIENT_ID",
        "UNFURL_OAUTH_CLIENT_SECRET",
        "UNFURL_NOTION_CLIENT_ID",
        "UNFURL_NOTION_CLIENT_SECRET",
        "UNFURL_GITHUB_WEBHOOK_SECRET",
    ] {
        assert!(
            section.contains(&format!("{required}=")),
            "the deploy guide's `fly secrets set` does not set {required}"
        );
    }
    let named = regex::Regex::new(r"UNFURL_[A-Z_]*[A-Z]").unwrap();
    for name in named.find_iter(section).map(|m| m.as_str()) {
        assert!(
            VARIABLES.contains(&name),
            "the deploy guide names {name}, which the server does not read"
        );
    }
}

/// The health check's path, asked of the real server started with fly.toml's environment
/// (on loopback and a free port, in a temporary data directory).
#[tokio::test]
async fn the_health_check_asks_a_route_the_server_answers() {
    let service = http_service();
    let checks = service
        .get("checks")
        .and_then(Value::as_array)
        .expect("fly.toml has [[http_service.checks]]");
    assert!(!checks.is_empty());
    let data_dir =
        std::env::temp_dir().join(format!("notion-unfurl-deploy-{}", uuid::Uuid::new_v4()));
    let mut env = fly_env();
    env.insert("UNFURL_LISTEN".into(), "127.0.0.1:0".into());
    env.insert("UNFURL_DATA_DIR".into(), data_dir.display().to_string());
    env.insert("UNFURL_WORKERS".into(), "1".into());
    let settings = Settings::from_vars(env).unwrap_or_else(|e| panic!("{e}"));
    let app = Application::build(settings)
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let server = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    for check in checks {
        let check = check.as_table().expect("a check is a table");
        let path = check
            .get("path")
            .and_then(Value::as_str)
            .expect("an HTTP check has a path");
        // Probes, not just any route that answers 200 (/metrics would, and says nothing).
        assert!(
            matches!(path, "/healthz" | "/readyz"),
            "the health check asks {path}, not /healthz or /readyz"
        );
        let method = check.get("method").and_then(Value::as_str).unwrap_or("GET");
        let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
        let response = client
            .request(method.clone(), format!("{base}{path}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        assert_eq!(response.status(), 200, "{method} {path}");
    }

    handle.stop(true).await;
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&data_dir);
}
