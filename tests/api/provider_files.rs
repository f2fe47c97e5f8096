//! Provider files in `UNFURL_PROVIDERS_DIR`: loaded at start before the OpenGraph
//! catch-all, answering `/unfurl` from a fake upstream, listed by `notion-config`, and
//! refused whole when one file is wrong.

use notion_unfurl::platform::config::Settings;
use notion_unfurl::startup::Application;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TempDir, TestApp, attribute, error_op, test_settings, title};

fn tracker(base: &str) -> String {
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

fn providers_dir(files: &[(&str, String)]) -> TempDir {
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
