//! Provider files in `UNFURL_PROVIDERS_DIR`: loaded at start before the OpenGraph
//! catch-all, answering `/unfurl` from a fake upstream, listed by `notion-config`, and
//! refused whole when one file is wrong.

use notion_unfurl::platform::config::Settings;
use notion_unfurl::startup::Application;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TempDir, TestApp, attribute, error_op, test_settings, title};

pub fn tracker(base: &str) -> String {
    format!(
        r##"id = "tracker"
name = "Acme Tracker"
dev = "Acme IT"
domain = "tracker.example.com"
placeholder = [{{ id = "title", section = "title", value = "Issue {{{{ key }}}}" }}]

[[match]]
pattern = '^https://tracker\.example\.com/browse/(?<key>[A-Z]+-[0-9]+)$'
samples = [{{ url = "https://tracker.example.com/browse/OPS-7", captures = {{ key = "OPS-7" }} }}]
reject = ["https://tracker.example.com.evil.org/browse/OPS-7"]

[[request]]
name = "issue"
base = "{base}/rest"
path = "/issue/{{{{ key }}}}"

[[attribute]]
id = "title"
section = "title"
value = "{{{{ issue.summary }}}}"

[[attribute]]
id = "state"
name = "State"
section = "primary"
type = "enum"
value = "{{{{ issue.state }}}}"
colors = {{ Open = "#1a7f37" }}
"##
    )
}

pub fn providers_dir(files: &[(&str, String)]) -> TempDir {
    let dir = TempDir::unique();
    std::fs::create_dir_all(&dir.0).unwrap();
    for (name, text) in files {
        std::fs::write(dir.0.join(name), text).unwrap();
    }
    dir
}

#[tokio::test]
async fn a_provider_file_answers_unfurls_for_its_domain_with_its_own_dev() {
    let upstream = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/issue/OPS-7"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"summary": "VPN drops at 5pm", "state": "Open"})),
        )
        .expect(1)
        .mount(&upstream)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&upstream)
        .await;
    let dir = providers_dir(&[("tracker.toml", tracker(&upstream.uri()))]);
    let app = TestApp::builder()
        .with_env(&[("UNFURL_PROVIDERS_DIR", &dir.0.display().to_string())])
        .spawn()
        .await;

    let body = app.unfurl("https://tracker.example.com/browse/OPS-7").await;
    assert_eq!(title(&body).as_deref(), Some("VPN drops at 5pm"), "{body}");
    let state = attribute(&body, "state").unwrap_or_else(|| panic!("{body}"));
    assert_eq!(state["inline"]["enum"]["color"]["g"], 0x7f);
    let dev = attribute(&body, "dev").unwrap_or_else(|| panic!("{body}"));
    assert_eq!(dev["inline"]["plain_text"]["value"], "Acme IT");
    // Cached: a second unfurl does not reach the upstream (`expect(1)`).
    let again = app.unfurl("https://tracker.example.com/browse/OPS-7").await;
    assert_eq!(title(&again), title(&body));

    // The upstream's 404 is Notion's "not found".
    let missing = app.unfurl("https://tracker.example.com/browse/OPS-8").await;
    let error = error_op(&missing).unwrap_or_else(|| panic!("{missing}"));
    assert_eq!(error["status"], 404, "{missing}");
}

#[tokio::test]
async fn notion_config_lists_the_files_patterns_with_their_placeholders() {
    let dir = providers_dir(&[("tracker.toml", tracker("https://tracker-api.example.com"))]);
    let data = TempDir::unique();
    let settings = test_settings(
        &data.0,
        &[("UNFURL_PROVIDERS_DIR", &dir.0.display().to_string())],
    );
    let config = notion_unfurl::cli::notion_config_json(&settings).unwrap();
    let patterns = config["patterns"].as_array().cloned().unwrap_or_default();
    let ours: Vec<_> = patterns
        .iter()
        .filter(|p| p["provider"] == "tracker")
        .collect();
    assert_eq!(ours.len(), 1, "{config}");
    assert_eq!(ours[0]["domain"], "tracker.example.com");
    assert_eq!(
        ours[0]["placeholder"][0]["inline"]["title"]["value"],
        "Issue $<key>"
    );
    // Before the catch-all: the OpenGraph pattern comes after it.
    let position = |id: &str| patterns.iter().position(|p| p["provider"] == id);
    assert!(position("tracker") < position("opengraph"), "{config}");
}

#[tokio::test]
async fn one_bad_file_stops_start_up_naming_the_file_line_and_fix() {
    let bad = tracker("https://tracker-api.example.com")
        .replace("section = \"primary\"", "section = \"body\"");
    let dir = providers_dir(&[
        (
            "a-good.toml",
            tracker("https://tracker-api.example.com").replace("\"tracker\"", "\"tracker-two\""),
        ),
        ("tracker.toml", bad),
    ]);
    let data = TempDir::unique();
    let settings: Settings = test_settings(
        &data.0,
        &[("UNFURL_PROVIDERS_DIR", &dir.0.display().to_string())],
    );
    let error = Application::build(settings)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let expected = format!(
        "{}:25: section \"body\" does not take \"enum\"; \"enum\" goes in: primary",
        dir.0.join("tracker.toml").display()
    );
    assert!(error.contains(&expected), "{error}");
    assert!(error.contains("UNFURL_PROVIDERS_DIR"), "{error}");
}

/// A provider file with a signed webhook, reading tickets from `base`.
fn tickets_with_webhook(base: &str) -> String {
    format!(
        r#"id = "tickets"
name = "Acme Tickets"
domain = "tickets.example.com"

[[match]]
pattern = '^https://tickets\.example\.com/t/(?<id>[0-9]+)$'
samples = [{{ url = "https://tickets.example.com/t/42", captures = {{ id = "42" }} }}]

[[request]]
name = "ticket"
base = "{base}/v1"
path = "/tickets/{{{{ id }}}}"

[webhook]
secret_env = "TICKETS_WEBHOOK_SECRET"
signature_header = "X-Tickets-Signature"
delivery_header = "X-Tickets-Delivery"
links = "https://tickets.example.com/t/{{{{ payload.ticket.id }}}} https://elsewhere.example.com/t/1"

[[attribute]]
id = "title"
section = "title"
value = "{{{{ ticket.title }}}}"
"#
    )
}

const HOOK_SECRET: &str = "tickets-webhook-secret-0123456789";

fn signed(body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(HOOK_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The tickets file reading from `upstream`, with `cache` (a `[cache]` table, or nothing)
/// before its `[webhook]`, loaded with its webhook secret set.
fn tickets_compiled(
    upstream: &MockServer,
    cache: &str,
) -> notion_unfurl_declarative::model::Compiled {
    let env = std::collections::BTreeMap::from([(
        "TICKETS_WEBHOOK_SECRET".to_owned(),
        HOOK_SECRET.to_owned(),
    )]);
    let text =
        tickets_with_webhook(&upstream.uri()).replace("[webhook]", &format!("{cache}[webhook]"));
    notion_unfurl_declarative::load::load_str(
        std::path::Path::new("tickets.toml"),
        &text,
        &env,
        notion_unfurl_declarative::Mode::Serve,
    )
    .unwrap_or_else(|p| panic!("{p:?}"))
}

/// A live server whose only provider is `compiled`, talking to its own fake Notion, with
/// alice connected and shown the ticket link (whose title must be `title`).
struct Showing {
    app: crate::webhook_setup::LiveApp,
    notion: crate::fakes::FakeNotion,
    _dir: TempDir,
}

const TICKET: &str = "https://tickets.example.com/t/42";

/// A live server whose only provider is `compiled`, talking to `notion`, keeping its data
/// in `dir` (which another server may use after it).
async fn live_app(
    compiled: notion_unfurl_declarative::model::Compiled,
    notion: &crate::fakes::FakeNotion,
    dir: &TempDir,
) -> crate::webhook_setup::LiveApp {
    use crate::webhook_setup::{FakePulls, LIVE_ENV, LiveApp};
    let mut registry = notion_unfurl::unfurl::registry::Registry::default();
    registry.push_file(notion_unfurl_declarative::Declarative::live(compiled, "test").unwrap());
    LiveApp {
        app: TestApp::builder()
            .sharing_notion(notion)
            .with_env(&LIVE_ENV)
            .with_registry(registry)
            .data_dir(&dir.0)
            .spawn()
            .await,
        pulls: FakePulls::new(),
    }
}

async fn alice_showing_ticket(
    compiled: notion_unfurl_declarative::model::Compiled,
    title: &str,
) -> Showing {
    let notion = crate::fakes::FakeNotion::spawn();
    let dir = TempDir::unique();
    let app = live_app(compiled, &notion, &dir).await;
    let (_, alice) = app.connect("local:alice", "secret_notion_alice").await;
    assert_eq!(app.subscribe(&alice, TICKET).await, title);
    Showing {
        app,
        notion,
        _dir: dir,
    }
}

#[tokio::test]
async fn a_signed_webhook_of_a_provider_file_pushes_the_new_preview_to_notion() {
    use crate::webhook_setup::delivery_id;

    let upstream = MockServer::start().await;
    Mock::given(path("/v1/tickets/42"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"title": "Printer jams"})),
        )
        .up_to_n_times(1)
        .mount(&upstream)
        .await;
    Mock::given(path("/v1/tickets/42"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"title": "Printer fixed"})),
        )
        .mount(&upstream)
        .await;
    let Showing { app, notion, _dir } =
        alice_showing_ticket(tickets_compiled(&upstream, ""), "Printer jams").await;
    let link = TICKET;

    let post = |body: Vec<u8>, signature: String, delivery: String| {
        let client = app.client.clone();
        let url = format!("{}/webhooks/tickets", app.address);
        async move {
            let response = client
                .post(url)
                .header("x-tickets-signature", signature)
                .header("x-tickets-delivery", delivery)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (
                status,
                response
                    .json::<serde_json::Value>()
                    .await
                    .unwrap_or_default(),
            )
        }
    };
    let body = br#"{"ticket":{"id":42,"status":"done"}}"#.to_vec();

    // Unsigned or mis-signed: refused before the payload is read.
    let (status, _) = post(body.clone(), "sha256=00".into(), delivery_id()).await;
    assert_eq!(status, 401);
    let (status, _) = post(body.clone(), signed(b"{}"), delivery_id()).await;
    assert_eq!(status, 401);

    // Signed: the named link is queued for its one subscriber (the other host is not the
    // file's, so it is dropped), and Notion receives the new title.
    let delivery = delivery_id();
    let (status, ack) = post(body.clone(), signed(&body), delivery.clone()).await;
    assert_eq!(status, 202, "{ack}");
    assert_eq!(ack, serde_json::json!({"status": "queued", "updates": 1}));
    let delivered = notion.wait_for_deliveries(1).await;
    assert_eq!(delivered[0].uri(), link);
    assert_eq!(delivered[0].title(), "Printer fixed");
    assert_eq!(delivered[0].authorization, "Bearer secret_notion_alice");

    // The same delivery again queues nothing.
    let (status, ack) = post(body.clone(), signed(&body), delivery).await;
    assert_eq!(
        (status, ack),
        (200, serde_json::json!({"status": "duplicate"}))
    );

    // A provider without a webhook, or no provider at all: 404.
    let missing = app
        .client
        .post(format!("{}/webhooks/nobody", app.address))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

/// A ticket API answering ticket 42 with whatever `title` holds at the time.
async fn ticket_upstream(title: std::sync::Arc<std::sync::Mutex<String>>) -> MockServer {
    let upstream = MockServer::start().await;
    Mock::given(path("/v1/tickets/42"))
        .respond_with(move |_: &wiremock::Request| {
            let title = title.lock().map(|t| t.clone()).unwrap_or_default();
            ResponseTemplate::new(200).set_body_json(serde_json::json!({ "title": title }))
        })
        .mount(&upstream)
        .await;
    upstream
}

#[tokio::test]
async fn a_refresh_interval_pushes_a_changed_preview_once_and_nothing_when_unchanged() {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    let title = Arc::new(Mutex::new("Printer jams".to_owned()));
    let upstream = ticket_upstream(title.clone()).await;
    let mut compiled = tickets_compiled(&upstream, "[cache]\nrefresh = \"30s\"\n\n");
    assert_eq!(compiled.refresh, Some(Duration::from_secs(30)));
    // The file says 30 s (the least it may); the test does not wait that long.
    compiled.refresh = Some(Duration::from_millis(200));
    let Showing {
        app: _app,
        notion,
        _dir,
    } = alice_showing_ticket(compiled, "Printer jams").await;
    let link = TICKET;

    // Several rounds with nothing changed: nothing is pushed.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(notion.patches().is_empty(), "{:?}", notion.patches().len());

    *title.lock().unwrap() = "Printer fixed".to_owned();
    let delivered = notion.wait_for_deliveries(1).await;
    assert_eq!(delivered[0].uri(), link);
    assert_eq!(delivered[0].title(), "Printer fixed");
    // Later rounds see the same preview again: still one push.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(notion.patches().len(), 1);
}

/// An embedding program's providers (`cli::ProviderSource`) are what `notion-config` lists,
/// ahead of the default ones when pushed to the front.
#[tokio::test]
async fn notion_config_lists_an_embedding_programs_own_providers_first() {
    use notion_unfurl::unfurl::registry::{Registry, RegistryError};

    fn with_ours(settings: &Settings) -> Result<Registry, RegistryError> {
        let mut registry = Registry::from_settings(settings)?;
        let text = tracker("https://tracker-api.example.com");
        let compiled = notion_unfurl_declarative::load::load_str(
            std::path::Path::new("tracker.toml"),
            &text,
            &std::collections::BTreeMap::new(),
            notion_unfurl_declarative::Mode::Serve,
        )
        .map_err(|p| RegistryError::Provider {
            id: "tracker",
            reason: format!("{p:?}"),
        })?;
        let ours = notion_unfurl_declarative::Declarative::live(compiled, "test").map_err(|e| {
            RegistryError::Provider {
                id: "tracker",
                reason: e,
            }
        })?;
        registry.push_front(std::sync::Arc::new(ours));
        Ok(registry)
    }

    let data = TempDir::unique();
    let settings = test_settings(&data.0, &[]);
    let config = notion_unfurl::cli::notion_config_json_with(&settings, with_ours).unwrap();
    let patterns = config["patterns"].as_array().cloned().unwrap_or_default();
    assert_eq!(patterns[0]["provider"], "tracker", "{config}");
    assert!(patterns.iter().any(|p| p["provider"] == "opengraph"));
    // The default source knows nothing of it.
    let plain = notion_unfurl::cli::notion_config_json(&settings).unwrap();
    assert!(!plain.to_string().contains("tracker.example.com"));
}

/// The preview lab plays a provider file's recorded test: the preview as sent, with the
/// file's own `dev`, and the upstream request it made; nothing is fetched.
#[tokio::test]
async fn the_lab_plays_a_recorded_test_of_a_provider_file() {
    let dir = providers_dir(&[(
        "tracker.toml",
        tracker("https://tracker-api.example.com")
            + "\n[[test]]\nurl = \"https://tracker.example.com/browse/OPS-7\"\n\
               responses = { issue = \"ops-7.json\" }\n",
    )]);
    std::fs::write(
        dir.0.join("ops-7.json"),
        r#"{"summary": "VPN <b>drops</b> at 5pm", "state": "Open"}"#,
    )
    .unwrap();
    let app = TestApp::builder()
        .with_env(&[("UNFURL_PROVIDERS_DIR", &dir.0.display().to_string())])
        .spawn()
        .await;
    let get = |query: &'static str| {
        let client = app.client.clone();
        let url = format!("{}/lab{query}", app.address);
        async move {
            let response = client.get(url).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, page) = get("").await;
    assert_eq!(status, 200);
    assert!(page.contains("<option value=\"tracker:1\""), "{page}");

    let (status, page) = get("?test=tracker:1").await;
    assert_eq!(status, 200, "{page}");
    // The title as text (escaped), the file's dev, and the request it made.
    assert!(
        page.contains("VPN &lt;b&gt;drops&lt;/b&gt; at 5pm"),
        "{page}"
    );
    assert!(page.contains("Acme IT"), "{page}");
    assert!(
        page.contains("<code>tracker-api.example.com/rest/issue/OPS-7</code>"),
        "{page}"
    );
    assert!(page.contains("href=\"/lab?test=tracker%3A1\""), "{page}");

    let (status, page) = get("?test=tracker:9").await;
    assert_eq!(status, 400);
    assert!(page.contains("There is no recorded test"), "{page}");
}

/// A ticket tracker whose previews read each user's own account (`tickets` service, with
/// its `[service]`), refreshed every `30s` (set shorter below).
fn tickets_per_account(base: &str) -> notion_unfurl_declarative::model::Compiled {
    let text = format!(
        r#"id = "tickets"
name = "Acme Tickets"
domain = "tickets.example.com"
credentials = {{ kind = "account", service = "tickets" }}

[[match]]
pattern = '^https://tickets\.example\.com/t/(?<id>[0-9]+)$'
samples = [{{ url = "https://tickets.example.com/t/42", captures = {{ id = "42" }} }}]

[[request]]
name = "ticket"
base = "{base}/v1"
path = "/tickets/{{{{ id }}}}"
headers = {{ Authorization = "Bearer {{{{ secret }}}}" }}

[service]
name = "Acme Tickets"
base = "{base}"
authorize_path = "/oauth/authorize"
token_path = "/oauth/token"
client_id_env = "T_ID"
client_secret_env = "T_SECRET"

[cache]
refresh = "30s"

[[attribute]]
id = "title"
section = "title"
value = "{{{{ ticket.title }}}}"
"#
    );
    let env = std::collections::BTreeMap::from([
        ("T_ID".to_owned(), "id".to_owned()),
        ("T_SECRET".to_owned(), "secret".to_owned()),
    ]);
    notion_unfurl_declarative::load::load_str(
        std::path::Path::new("tickets.toml"),
        &text,
        &env,
        notion_unfurl_declarative::Mode::Serve,
    )
    .unwrap_or_else(|p| panic!("{p:?}"))
}

#[tokio::test]
async fn a_per_account_refresh_reads_as_each_subscriber_and_pushes_only_the_changed_view() {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    // Each account sees its own title: the upstream answers by bearer token.
    let titles = Arc::new(Mutex::new(std::collections::BTreeMap::from([
        ("Bearer alice-token".to_owned(), "Alice's view".to_owned()),
        ("Bearer bob-token".to_owned(), "Bob's view".to_owned()),
    ])));
    let upstream = MockServer::start().await;
    let shown = titles.clone();
    Mock::given(path("/v1/tickets/42"))
        .respond_with(move |request: &wiremock::Request| {
            let auth = request
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            match shown.lock().unwrap().get(&auth) {
                Some(title) => {
                    ResponseTemplate::new(200).set_body_json(serde_json::json!({ "title": title }))
                }
                None => ResponseTemplate::new(401),
            }
        })
        .mount(&upstream)
        .await;
    let mut compiled = tickets_per_account(&upstream.uri());
    assert_eq!(compiled.refresh, Some(Duration::from_secs(30)));
    compiled.refresh = Some(Duration::from_millis(200));
    let notion = crate::fakes::FakeNotion::spawn();
    let dir = TempDir::unique();
    let app = live_app(compiled, &notion, &dir).await;
    let store = app.app_state.connections.store().clone();
    let mut tokens = Vec::new();
    for (account, notion_token, token) in [
        ("local:alice", "secret_notion_alice", "alice-token"),
        ("local:bob", "secret_notion_bob", "bob-token"),
    ] {
        let (_, access) = app.connect(account, notion_token).await;
        store
            .put_service_token(
                account,
                "tickets",
                notion_unfurl::store::IssuedTokens {
                    access_token: &notion_unfurl_sdk::Secret::new(token),
                    refresh_token: None,
                    expires_at: None,
                },
            )
            .await
            .unwrap();
        tokens.push(access);
    }
    assert_eq!(app.subscribe(&tokens[0], TICKET).await, "Alice's view");
    assert_eq!(app.subscribe(&tokens[1], TICKET).await, "Bob's view");

    // Rounds with nothing changed push nothing.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(notion.patches().is_empty(), "{:?}", notion.patches().len());

    // Only Bob's view changes: only Bob's connection gets an update, read as Bob.
    titles
        .lock()
        .unwrap()
        .insert("Bearer bob-token".into(), "Bob's new view".into());
    let delivered = notion.wait_for_deliveries(1).await;
    assert_eq!(delivered[0].uri(), TICKET);
    assert_eq!(delivered[0].title(), "Bob's new view");
    assert_eq!(delivered[0].authorization, "Bearer secret_notion_bob");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(notion.patches().len(), 1, "{:?}", notion.patches());
}

#[tokio::test]
async fn a_change_made_while_the_server_was_down_is_pushed_after_it_restarts() {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    let title = Arc::new(Mutex::new("Printer jams".to_owned()));
    let upstream = ticket_upstream(title.clone()).await;
    let notion = crate::fakes::FakeNotion::spawn();
    let dir = TempDir::unique();
    // One server on the shared data directory: a fresh process's memory and cache.
    let start = || async {
        let mut compiled = tickets_compiled(&upstream, "[cache]\nrefresh = \"30s\"\n\n");
        compiled.refresh = Some(Duration::from_millis(200));
        live_app(compiled, &notion, &dir).await
    };
    let first = start().await;
    let (_, alice) = first.connect("local:alice", "secret_notion_alice").await;
    assert_eq!(first.subscribe(&alice, TICKET).await, "Printer jams");
    // A few rounds: the reading is kept in the database.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    drop(first);

    // Changed while no server ran: the next server's first round pushes it.
    *title.lock().unwrap() = "Printer fixed".to_owned();
    let second = start().await;
    let delivered = notion.wait_for_deliveries(1).await;
    assert_eq!(delivered[0].uri(), TICKET);
    assert_eq!(delivered[0].title(), "Printer fixed");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    drop(second);

    // Unchanged across a restart: nothing more.
    let _third = start().await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(notion.patches().len(), 1, "{:?}", notion.patches());
}
