//! The preview lab (`/lab`) through the real server: who may open it, the headers every page
//! carries, pasted JSON drawn as text, a local page unfurled with its route and cache use;
//! then in headless Chromium (skipping where it is not installed, like `browser.rs`), with
//! screenshots kept under `target/lab-screenshots/`.

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::browser::{Session, find, start_driver};
use crate::helpers::TestApp;

const LAB_TOKEN: &str = "lab-token-for-the-tests-0123";

fn lab(app: &TestApp) -> String {
    format!("{}/lab", app.address)
}

/// POST /lab with `json` pasted: the status and the page.
async fn paste(app: &TestApp, json: &str) -> (u16, String) {
    let response = app
        .client
        .post(lab(app))
        .form(&[("json", json)])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn lab_url(app: &TestApp, link: &str, refresh: bool) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("url", link);
    if refresh {
        query.append_pair("refresh", "1");
    }
    format!("{}?{}", lab(app), query.finish())
}

async fn get(app: &TestApp, url: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = app.client.get(url).send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_lab_opens_on_a_loopback_listener_with_strict_headers() {
    let app = TestApp::builder().spawn().await;
    let (status, headers, body) = get(&app, &lab(&app)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<h1>Preview lab</h1>"));
    let csp = header(&headers, "content-security-policy");
    for part in [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src https: data:",
        "script-src 'nonce-",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{part} missing from {csp}");
    }
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    // The one script carries this response's nonce.
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap();
    assert!(body.contains(&format!("<script nonce=\"{nonce}\">")));

    let proxied = app
        .client
        .get(lab(&app))
        .header("X-Forwarded-For", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(
        proxied.status(),
        404,
        "a proxy's clients are not loopback callers"
    );
}

#[tokio::test]
async fn the_lab_is_off_on_a_public_listener_without_a_token() {
    let app = TestApp::builder()
        .with_env(&[("UNFURL_LISTEN", "0.0.0.0:0")])
        .spawn()
        .await;
    let (status, _, body) = get(&app, &lab(&app)).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("UNFURL_LAB_TOKEN"), "{body}");
    let (status, _, _) = get(&app, &lab_url(&app, &app.origin_url("/x"), false)).await;
    assert_eq!(status, 404);
    let (status, _, _) = get(&app, &format!("{}/save?url=https://x.test/", lab(&app))).await;
    assert_eq!(status, 404, "saving a test is behind the same gate");
}

#[tokio::test]
async fn with_a_token_the_lab_asks_for_it_and_a_cookie_keeps_the_browser_in() {
    let app = TestApp::builder()
        .with_env(&[
            ("UNFURL_LISTEN", "0.0.0.0:0"),
            ("UNFURL_LAB_TOKEN", LAB_TOKEN),
        ])
        .spawn()
        .await;
    let (status, headers, body) = get(&app, &lab(&app)).await;
    assert_eq!(status, 401);
    assert!(body.contains("action=\"/lab/login\""), "{body}");
    assert!(header(&headers, "content-security-policy").contains("frame-ancestors 'none'"));

    let browser = reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap();
    let login = format!("{}/lab/login", app.address);
    let wrong = browser
        .post(&login)
        .form(&[("token", "not-the-lab-token-at-all")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());

    let right = browser
        .post(&login)
        .form(&[("token", LAB_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 303);
    assert_eq!(header(right.headers(), "location"), "/lab");
    let cookie = header(right.headers(), "set-cookie").to_owned();
    assert!(cookie.starts_with("unfurl_lab="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains(LAB_TOKEN),
        "the cookie never holds the token"
    );

    let inside = browser.get(lab(&app)).send().await.unwrap();
    assert_eq!(inside.status(), 200);
    assert!(inside.text().await.unwrap().contains("id=\"by-url\""));

    let bearer = app
        .client
        .get(lab(&app))
        .bearer_auth(LAB_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 200);
    let in_the_url = app
        .client
        .get(format!("{}?token={LAB_TOKEN}", lab(&app)))
        .send()
        .await
        .unwrap();
    assert_eq!(in_the_url.status(), 401, "a token in the URL is not read");
}

#[tokio::test]
async fn pasted_json_is_drawn_as_text_and_bad_input_is_a_sentence() {
    let app = TestApp::builder().spawn().await;
    let pasted = serde_json::json!([
        {"id": "title", "name": "Title", "type": "inline",
         "inline": {"title": {"value": "<script>alert(1)</script>", "section": "title"}}},
        {"id": "state", "name": "State", "type": "inline",
         "inline": {"enum": {"value": "Open", "section": "secondary"}}}
    ])
    .to_string();
    let (status, body) = paste(&app, &pasted).await;
    assert_eq!(status, 200);
    assert!(!body.contains("<script>alert(1)"), "{body}");
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        body.contains("section `secondary` does not accept `enum`"),
        "{body}"
    );
    assert!(body.contains("There is no `dev` attribute"));
    assert!(
        body.contains("href=\"/lab#json="),
        "the permalink keeps the JSON in the fragment"
    );

    let (status, bad) = paste(&app, "{\"operations\": [").await;
    assert_eq!(status, 400);
    assert!(bad.contains("The pasted JSON cannot be rendered: this is not JSON"));

    let (status, _, body) = get(&app, &lab_url(&app, "ftp://example.com/file", false)).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("This link cannot be previewed: only http and https links can be previewed."),
        "{body}"
    );
}

#[tokio::test]
async fn a_local_page_shows_its_title_route_and_cache_use() {
    let app = TestApp::builder().spawn().await;
    app.origin.log.set_title("lab", "A page for the lab");
    let link = app.origin_url("/titled/lab");

    let (status, _, body) = get(&app, &lab_url(&app, &link, false)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<p class=\"title\">A page for the lab</p>"),
        "{body}"
    );
    assert!(
        body.contains("<tr class=\"chosen\"><td>opengraph</td>"),
        "{body}"
    );
    assert!(body.contains("read from the provider just now"), "{body}");
    assert!(body.contains("data-theme=\"light\"") && body.contains("data-theme=\"dark\""));
    assert!(body.contains("id=\"checks\""));
    assert!(body.contains("The `title` attribute is there."), "{body}");
    assert_eq!(app.origin.log.hits("/titled/lab"), 1);

    let (_, _, again) = get(&app, &lab_url(&app, &link, false)).await;
    assert!(
        again.contains("<span id=\"cache-use\">from the cache</span>"),
        "{again}"
    );
    assert_eq!(app.origin.log.hits("/titled/lab"), 1);

    app.origin.log.set_title("lab", "Retitled");
    let (_, _, fresh) = get(&app, &lab_url(&app, &link, true)).await;
    assert!(fresh.contains("past the cache"), "{fresh}");
    assert!(fresh.contains("<p class=\"title\">Retitled</p>"), "{fresh}");
    assert_eq!(app.origin.log.hits("/titled/lab"), 2);

    // A failure is drawn as Notion shows an error operation: its message, in the card.
    let (status, _, failed) =
        get(&app, &lab_url(&app, &app.origin_url("/status/404"), false)).await;
    assert_eq!(status, 200, "{failed}");
    assert!(failed.contains("class=\"preview error\""), "{failed}");
    assert!(
        failed.contains("The answer holds an error operation (404)"),
        "{failed}"
    );
}

/// The fixture pull request (public), or `None` where the shared fixtures are missing.
fn public_pull_request() -> Option<serde_json::Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/github/webhooks/pull_request.opened.json");
    let payload: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    Some(payload["pull_request"].clone())
}

fn screenshots() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap_or(std::path::Path::new("target"))
        .join("lab-screenshots")
}

#[tokio::test]
async fn the_lab_renders_in_chromium_with_both_themes_and_enum_colours() {
    let (Some(chromium), Some(chromedriver)) = (find("chromium"), find("chromedriver")) else {
        eprintln!(
            "skipped: chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        );
        return;
    };
    let github = MockServer::start().await;
    let pull = public_pull_request();
    if let Some(pull) = &pull {
        Mock::given(method("GET"))
            .and(path("/repos/Codertocat/Hello-World/pulls/2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(pull))
            .mount(&github)
            .await;
    }
    let app = TestApp::builder()
        .with_env(&[("UNFURL_GITHUB_API_URL", &github.uri())])
        .spawn()
        .await;
    app.origin.log.set_title("lab", "A page for the lab");

    let driver = start_driver(&chromedriver).await;
    let session = Session::start(&driver, &chromium, (1200, 1000)).await;
    session
        .open(
            &driver,
            &lab_url(&app, &app.origin_url("/titled/lab"), false),
        )
        .await;
    let seen = session
        .run(
            &driver,
            "return {
                heading: document.querySelector('h1').textContent,
                light: document.querySelectorAll('.themes .theme.light .preview').length,
                dark: document.querySelectorAll('.themes .theme.dark .preview').length,
                darkTitle: document.querySelector('.theme.dark .preview .title').textContent,
                darkBackground: getComputedStyle(document.querySelector('.theme.dark')).backgroundColor,
                checks: document.querySelectorAll('#checks li').length,
                mention: document.querySelector('.theme.light .mention').textContent,
                placeholder: document.querySelector('#placeholder .title').textContent
            };",
        )
        .await;
    assert_eq!(seen["heading"], "Preview lab", "{seen}");
    assert_eq!(
        (seen["light"].as_u64(), seen["dark"].as_u64()),
        (Some(1), Some(1)),
        "{seen}"
    );
    assert_eq!(seen["darkTitle"], "A page for the lab", "{seen}");
    assert_eq!(seen["darkBackground"], "rgb(25, 25, 25)", "{seen}");
    assert!(seen["checks"].as_u64().unwrap_or(0) >= 3, "{seen}");
    assert!(
        seen["mention"]
            .as_str()
            .unwrap_or_default()
            .contains("A page for the lab")
    );
    session
        .screenshot(&driver, &screenshots().join("opengraph.png"))
        .await;

    // Pasted JSON through the fragment permalink: the page's script fills the textarea.
    let pasted = r#"[{"id":"title","name":"Title","type":"inline","inline":{"title":{"value":"From the fragment","section":"title"}}}]"#;
    let fragment: String = url::form_urlencoded::byte_serialize(pasted.as_bytes()).collect();
    session
        .open(&driver, &format!("{}#json={fragment}", lab(&app)))
        .await;
    let filled = session
        .run(&driver, "return document.getElementById('json').value;")
        .await;
    assert_eq!(filled, pasted);

    if pull.is_none() {
        eprintln!(
            "skipped the pull request: ../shared/fixtures/github is not beside this repository"
        );
    } else {
        let pr = "https://github.com/Codertocat/Hello-World/pull/2";
        session.open(&driver, &lab_url(&app, pr, false)).await;
        let pill = session
            .run(
                &driver,
                "const p = document.querySelector('.theme.light .pill');
                 return p && {text: p.textContent, color: getComputedStyle(p).backgroundColor,
                   route: document.querySelector('#trace tr.chosen td').textContent};",
            )
            .await;
        assert_eq!(pill["text"], "Open", "{pill}");
        assert_eq!(pill["color"], "rgb(31, 136, 61)", "{pill}");
        assert_eq!(pill["route"], "github", "{pill}");
        session
            .screenshot(&driver, &screenshots().join("github-pull-request.png"))
            .await;
        // `LAB_README_SCREENSHOT=docs/lab.png` refreshes the README's picture: the page
        // down to both themes.
        if let Ok(to) = std::env::var("LAB_README_SCREENSHOT") {
            driver
                .call(
                    reqwest::Method::POST,
                    &session.path("/window/rect"),
                    Some(serde_json::json!({"width": 1100, "height": 1240})),
                )
                .await;
            let to = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(to);
            session.screenshot(&driver, &to).await;
        }
    }
    session.close(&driver).await;
}

/// Each image of an answer is fetched through the guarded fetcher and said to load or not;
/// a private address is never fetched.
#[tokio::test]
async fn images_that_do_not_load_are_named_in_the_checks() {
    let app = TestApp::builder().spawn().await;
    let image = |id: &str, src: &str| {
        serde_json::json!({"id": id, "name": id, "type": "embed",
            "embed": {"src_url": src, "image": {"section": "embed"}}})
    };
    let pasted = serde_json::json!([
        {"id": "title", "name": "Title", "type": "inline",
         "inline": {"title": {"value": "Pictures", "section": "title"}}},
        // Private and not allowed by UNFURL_FETCH_ALLOW (the tests allow 127.0.0.1 only).
        image("private", "https://10.1.2.3/a.png"),
        // Allowed, but nothing listens there.
        image("closed", "https://127.0.0.1:1/b.png"),
    ])
    .to_string();
    let (status, body) = paste(&app, &pasted).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("`private`: the image was not fetched ("),
        "{body}"
    );
    assert!(body.contains("`closed`: the image does not load"), "{body}");
}

/// A pull request as `GET /repos/{owner}/{repo}/pulls/{number}` answers it: the fields the
/// provider reads, nothing else.
fn small_pull_request(private: bool) -> serde_json::Value {
    let repo = serde_json::json!({"full_name": "octo/lab", "private": private});
    serde_json::json!({
        "number": 1, "state": "open", "title": "Trace the lab", "body": "A test pull request.",
        "user": {"login": "octo"}, "updated_at": "2024-01-02T03:04:05Z",
        "head": {"label": "octo:feature", "ref": "feature", "sha": "abc123", "repo": repo},
        "base": {"label": "octo:main", "ref": "main", "sha": "def456", "repo": repo}
    })
}

const LAB_PR: &str = "https://github.com/octo/lab/pull/1";

/// The `<table id="upstream">` of a lab page, or an empty string.
fn upstream_table(body: &str) -> &str {
    body.split_once("<table id=\"upstream\">")
        .and_then(|(_, rest)| rest.split_once("</table>"))
        .map_or("", |(table, _)| table)
}

/// A server whose fake GitHub answers the lab's public pull request with `answer` (its
/// body set here), reading with the fallback token `fallback`.
async fn lab_with_pull(answer: ResponseTemplate, fallback: &str) -> (MockServer, TestApp) {
    let github = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/lab/pulls/1"))
        .respond_with(answer.set_body_json(small_pull_request(false)))
        .mount(&github)
        .await;
    let app = TestApp::builder()
        .with_env(&[
            ("UNFURL_GITHUB_API_URL", &github.uri()),
            ("UNFURL_GITHUB_TOKEN", fallback),
        ])
        .spawn()
        .await;
    (github, app)
}

#[tokio::test]
async fn the_upstream_requests_of_a_link_are_listed_without_queries_or_credentials() {
    let (github, app) = lab_with_pull(ResponseTemplate::new(200), "ghp_fallback_never_shown").await;

    let (status, _, body) = get(&app, &lab_url(&app, LAB_PR, false)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<p class=\"title\">Trace the lab</p>"),
        "{body}"
    );
    let table = upstream_table(&body);
    let host = github.uri().trim_start_matches("http://").to_owned();
    let row = format!(
        "<td>GET</td><td>{host}</td><td><code>/repos/octo/lab/pulls/1</code></td><td>200</td><td>"
    );
    assert!(table.contains(&row), "{table}");
    let after = table.split_once(&row).map_or("", |(_, rest)| rest);
    let millis = after.split_once(" ms</td>").map_or("", |(ms, _)| ms);
    assert!(millis.parse::<u64>().is_ok(), "no time in {after}");
    assert!(!table.contains('?'), "a query reached the page: {table}");
    for secret in ["ghp_fallback_never_shown", "Bearer", "uthorization"] {
        assert!(!body.contains(secret), "{secret} reached the page");
    }

    // From the cache: nothing was asked upstream, and the page says so.
    let (_, _, again) = get(&app, &lab_url(&app, LAB_PR, false)).await;
    assert!(
        again.contains("No upstream request: the answer came from the cache"),
        "{again}"
    );
    assert!(upstream_table(&again).is_empty());

    // A local page is read by the guarded fetcher, and traced the same way.
    app.origin.log.set_title("lab", "A page for the lab");
    let (_, _, page) = get(
        &app,
        &lab_url(&app, &app.origin_url("/titled/lab?token=hidden"), false),
    )
    .await;
    let table = upstream_table(&page);
    assert!(
        table.contains("<code>/titled/lab</code></td><td>200</td>"),
        "{table}"
    );
    assert!(!table.contains("hidden"), "{table}");
}

fn lab_url_as(app: &TestApp, link: &str, account: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("url", link).append_pair("as", account);
    format!("{}?{}", lab(app), query.finish())
}

#[tokio::test]
async fn a_named_account_sees_its_private_preview_and_the_lab_account_does_not() {
    let github = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/lab/pulls/1"))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer gho_lab_insider",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(small_pull_request(true)))
        .mount(&github)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/lab/pulls/1"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(serde_json::json!({"message": "Not Found"})),
        )
        .mount(&github)
        .await;
    let app = TestApp::builder()
        .with_env(&[("UNFURL_GITHUB_API_URL", &github.uri())])
        .spawn()
        .await;
    app.app_state
        .connections
        .store()
        .upsert_account(
            "github:12345",
            "insider",
            Some(&notion_unfurl_sdk::Secret::new("gho_lab_insider")),
        )
        .await
        .unwrap();

    let (status, _, body) = get(&app, &lab_url_as(&app, LAB_PR, "github:12345")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<p class=\"title\">Trace the lab</p>"),
        "{body}"
    );
    assert!(
        body.contains("Previewed as account <code>github:12345</code>"),
        "{body}"
    );
    assert!(body.contains("this is that account's private view"));
    assert!(
        body.contains("account github:12345"),
        "the cache scope is the account's"
    );
    assert!(
        body.contains("href=\"/lab?url=https%3A%2F%2Fgithub.com%2Focto%2Flab%2Fpull%2F1&amp;as=github%3A12345\""),
        "the permalink carries the account: {body}"
    );
    assert!(body.contains("id=\"as\" placeholder=\"lab:preview\" value=\"github:12345\""));
    assert!(
        !body.contains("gho_lab_insider"),
        "the token never reaches the page"
    );

    // The lab account is not given the insider's cached preview, and is told to connect.
    let (status, _, lab_view) = get(&app, &lab_url(&app, LAB_PR, false)).await;
    assert_eq!(status, 200, "{lab_view}");
    assert!(!lab_view.contains("Trace the lab"), "{lab_view}");
    assert!(
        lab_view.contains("Connect a GitHub account that can see this repository"),
        "{lab_view}"
    );
    assert!(lab_view.contains("Previewed as the lab account <code>lab:preview</code>"));

    // An account the store does not hold is a sentence, not a failure.
    let (status, _, unknown) = get(&app, &lab_url_as(&app, LAB_PR, "github:999")).await;
    assert_eq!(status, 400, "{unknown}");
    assert!(
        unknown.contains("There is no account \"github:999\" on this server"),
        "{unknown}"
    );
}

/// `GET /lab/save` for `link`: the status, the `Content-Disposition` and the body.
async fn save(app: &TestApp, link: &str) -> (StatusCode, String, String) {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("url", link);
    let (status, headers, body) = get(app, &format!("{}/save?{}", lab(app), query.finish())).await;
    assert!(header(&headers, "content-security-policy").contains("default-src 'none'"));
    assert_eq!(header(&headers, "cache-control"), "no-store");
    (
        status,
        header(&headers, "content-disposition").to_owned(),
        body,
    )
}

#[tokio::test]
async fn a_rust_providers_link_saves_as_json_that_replays_to_the_same_attributes() {
    use notion_unfurl_sdk::Provider;
    use notion_unfurl_sdk::testing::playback::{Playback, Saved};

    let (_github, app) = lab_with_pull(
        ResponseTemplate::new(200).insert_header("etag", "\"v1\""),
        "ghp_fallback_never_saved",
    )
    .await;

    // The page offers it next to the permalink; pasted JSON has nothing to save.
    let (_, _, page) = get(&app, &lab_url(&app, LAB_PR, false)).await;
    assert!(
        page.contains("<a id=\"save\" href=\"/lab/save?url=https%3A%2F%2Fgithub.com%2Focto%2Flab%2Fpull%2F1\" download>Save as test</a>"),
        "{page}"
    );
    let (_, pasted) = paste(&app, "[]").await;
    assert!(!pasted.contains("id=\"save\""));

    // Saved after that read: the ETag kept then must not turn this one into a bodiless 304.
    let (status, disposition, text) = save(&app, LAB_PR).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(disposition, "attachment; filename=\"github-saved.json\"");
    for secret in ["ghp_fallback_never_saved", "uthorization", "etag"] {
        assert!(!text.contains(secret), "{secret} was saved: {text}");
    }
    let saved: Saved = serde_json::from_str(&text).unwrap();
    assert_eq!(saved.url, LAB_PR);
    let pull = saved
        .requests
        .iter()
        .find(|r| r.path == "/repos/octo/lab/pulls/1")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!((pull.method.as_str(), pull.status), ("GET", 200));
    assert!(pull.body.contains("Trace the lab"));
    let expected = saved.expected.clone().unwrap_or_else(|| panic!("{text}"));
    assert!(expected.to_string().contains("Trace the lab"));

    // What a provider test does with the file: serve it, unfurl, compare.
    let upstream = Playback::from_saved(&saved).await;
    let config = notion_unfurl_github::GitHubConfig::new(upstream.base(), "lab-tests");
    let provider = notion_unfurl_github::GitHub::new(config).unwrap();
    let request = notion_unfurl_sdk::testing::request(&provider, &saved.url).unwrap();
    let ctx = notion_unfurl_sdk::testing::context().build();
    let preview = provider.unfurl(&request, &ctx).await.unwrap();
    assert_eq!(serde_json::to_value(&preview.attributes).unwrap(), expected);
    upstream.assert_all_recorded().await;

    // A link no provider takes has nothing to save: a sentence.
    let (status, disposition, text) = save(&app, "ftp://example.com/x").await;
    assert_eq!((status.as_u16(), disposition.as_str()), (400, ""));
    assert!(text.contains("This link cannot be previewed"), "{text}");
}

#[tokio::test]
async fn a_provider_files_link_saves_as_a_test_block_that_providers_test_passes() {
    use crate::provider_files::{providers_dir, tracker};

    let upstream = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/issue/OPS-7"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("set-cookie", "session=never-saved")
                .set_body_json(serde_json::json!({
                    "summary": "VPN drops at \"5pm\"\nagain", "state": "Open"
                })),
        )
        .mount(&upstream)
        .await;
    let file = tracker(&upstream.uri());
    let dir = providers_dir(&[("tracker.toml", file.clone())]);
    let app = TestApp::builder()
        .with_env(&[("UNFURL_PROVIDERS_DIR", &dir.0.display().to_string())])
        .spawn()
        .await;

    let link = "https://tracker.example.com/browse/OPS-7";
    let (status, disposition, snippet) = save(&app, link).await;
    assert_eq!(status, 200, "{snippet}");
    assert_eq!(disposition, "attachment; filename=\"tracker-test.toml\"");
    assert!(snippet.contains("[[test]]"), "{snippet}");
    assert!(!snippet.contains("never-saved"), "{snippet}");

    // Appended to a copy of the file, `providers test` plays it and it passes.
    let copy = providers_dir(&[("tracker.toml", format!("{file}\n{snippet}"))]);
    let env = notion_unfurl_declarative::check::env_of(&[]);
    let providers = notion_unfurl_declarative::load_providers(
        &copy.0,
        &env,
        notion_unfurl_declarative::Mode::Playback,
        "lab-tests",
    )
    .unwrap_or_else(|problems| panic!("{problems:?}\n{snippet}"));
    let outcomes = notion_unfurl_declarative::run_tests(&providers, false).await;
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!(outcomes[0].url, link);
    assert_eq!(outcomes[0].failure, None, "{snippet}");
    assert_eq!(outcomes[0].requests, 1);

    // A changed answer no longer matches what was saved.
    // (The first mention is the recorded body: answers come before the attributes.)
    let changed = snippet.replacen("VPN drops", "VPN holds", 1);
    let copy = providers_dir(&[("tracker.toml", format!("{file}\n{changed}"))]);
    let providers = notion_unfurl_declarative::load_providers(
        &copy.0,
        &env,
        notion_unfurl_declarative::Mode::Playback,
        "lab-tests",
    )
    .unwrap_or_else(|problems| panic!("{problems:?}"));
    let outcomes = notion_unfurl_declarative::run_tests(&providers, false).await;
    assert!(outcomes[0].failure.is_some(), "{outcomes:?}");
}
