//! Per-service accounts (issue 8, item 2): after Notion's consent and GitHub sign-in, the
//! user links GitLab (a service the shipped GitLab provider file declares) through its own
//! OAuth with PKCE; previews of GitLab links then read GitLab with that user's GitLab token,
//! and never with the GitHub one; a token about to run out is refreshed (the refresh token
//! rotated); revoking the connection drops every service token of the account.

use std::sync::{Arc, Mutex};

use base64::Engine;
use reqwest::StatusCode;
use sha2::Digest;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::fakes::GITHUB_USER_ID;
use crate::helpers::{TestApp, title};
use crate::linking::{LINKING_ENV, Linking, NOTION_CALLBACK, csrf_of, location};

const MR: &str = "https://gitlab.example.com/platform/api/-/merge_requests/42";

/// A form as sent: its pairs in order.
type Form = Vec<(String, String)>;

/// A fake GitLab: its token endpoint (codes and refresh tokens) and the merge request API,
/// recording every token request's form and every API request's `Authorization`.
#[derive(Clone, Default)]
struct FakeGitLab {
    token_forms: Arc<Mutex<Vec<Form>>>,
    /// The `Authorization` header of every token request ("" without one).
    token_authorizations: Arc<Mutex<Vec<String>>>,
    api_authorizations: Arc<Mutex<Vec<String>>>,
    /// `expires_in` of the tokens it issues.
    expires_in: u64,
}

impl Respond for FakeGitLab {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if request.url.path() == "/oauth/token" {
            let form: Form = url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect();
            let field = |n: &str| {
                form.iter()
                    .find(|(k, _)| k == n)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let answer = match (field("grant_type").as_str(), field("code").as_str()) {
                ("authorization_code", "gl-code") => Some(("gl-access-1", "gl-refresh-1")),
                ("refresh_token", _) if field("refresh_token") == "gl-refresh-1" => {
                    Some(("gl-access-2", "gl-refresh-2"))
                }
                _ => None,
            };
            self.token_forms.lock().unwrap().push(form);
            self.token_authorizations
                .lock()
                .unwrap()
                .push(authorization(request));
            return match answer {
                Some((access, refresh)) => {
                    ResponseTemplate::new(200).set_body_json(serde_json::json!({
                        "access_token": access,
                        "refresh_token": refresh,
                        "token_type": "bearer",
                        "expires_in": self.expires_in,
                    }))
                }
                None => ResponseTemplate::new(400)
                    .set_body_json(serde_json::json!({"error": "invalid_grant"})),
            };
        }
        let authorization = authorization(request);
        self.api_authorizations
            .lock()
            .unwrap()
            .push(authorization.clone());
        if !authorization.starts_with("Bearer gl-access-") {
            return ResponseTemplate::new(401);
        }
        if request.url.path() != "/api/v4/projects/platform%2Fapi/merge_requests/42" {
            return ResponseTemplate::new(404);
        }
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "iid": 42, "title": "Cache the token endpoint", "state": "opened", "draft": false,
            "source_branch": "cache", "target_branch": "main",
            "updated_at": "2026-11-20T10:00:00Z",
            "author": {"name": "Ada", "avatar_url": "https://gitlab.example.com/ada.png"},
            "references": {"full": "platform/api!42"}, "description": "Faster."
        }))
    }
}

fn authorization(request: &Request) -> String {
    request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// The providers: the shipped GitLab merge request file alone, pointed at `gitlab`, its
/// text changed by `edit`.
fn gitlab_registry(
    gitlab: &MockServer,
    edit: fn(String) -> String,
) -> notion_unfurl::unfurl::registry::Registry {
    let env = std::collections::BTreeMap::from([
        ("GITLAB_URL".to_owned(), gitlab.uri()),
        (
            "GITLAB_API_URL".to_owned(),
            format!("{}/api/v4", gitlab.uri()),
        ),
        ("GITLAB_CLIENT_ID".to_owned(), "gl-app".to_owned()),
        (
            "GITLAB_CLIENT_SECRET".to_owned(),
            "gl-app-secret".to_owned(),
        ),
    ]);
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("providers.d/gitlab-merge-requests.toml");
    let text = edit(std::fs::read_to_string(&file).unwrap());
    let compiled = notion_unfurl_declarative::load::load_str(
        &file,
        &text,
        &env,
        notion_unfurl_declarative::Mode::Serve,
    )
    .unwrap_or_else(|p| panic!("{p:?}"));
    let mut registry = notion_unfurl::unfurl::registry::Registry::default();
    registry.push_file(notion_unfurl_declarative::Declarative::live(compiled, "test").unwrap());
    registry
}

/// A linking server with fake Notion and GitHub, and the shipped GitLab merge request file
/// pointed at `gitlab`.
async fn spawn(gitlab: &MockServer) -> Linking {
    spawn_with(gitlab, |text| text).await
}

/// [`spawn`] with the GitLab file's text changed by `edit`.
async fn spawn_with(gitlab: &MockServer, edit: fn(String) -> String) -> Linking {
    let app = TestApp::builder()
        .with_notion()
        .with_github()
        .with_env(&LINKING_ENV)
        .with_registry(gitlab_registry(gitlab, edit))
        .spawn()
        .await;
    Linking::around(app)
}

fn query(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// Consent, then GitHub sign-in: the answer is the services page.
async fn to_services_page(linking: &Linking) -> String {
    let csrf = linking.consent_page("notion-code-gl", "st-gl").await;
    let to_github = linking.decide(&csrf, "allow").await;
    assert_eq!(to_github.status(), StatusCode::SEE_OTHER);
    let at_github = linking.follow(&to_github).await;
    let page = linking.follow(&at_github).await;
    assert_eq!(page.status(), StatusCode::OK);
    page.text().await.unwrap()
}

/// Notion unfurls the merge request with the access token it was issued.
async fn unfurl_as(linking: &Linking, access: &str) -> serde_json::Value {
    linking
        .app
        .client
        .post(format!("{}/unfurl", linking.app.address))
        .bearer_auth(access)
        .json(&serde_json::json!({ "uri": MR }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// GitLab sends the browser back to `redirect` with the code `gl-code` and `state`.
async fn back_from_gitlab(linking: &Linking, redirect: &str, state: &str) -> reqwest::Response {
    linking
        .browser
        .get(format!("{redirect}?code=gl-code&state={state}"))
        .send()
        .await
        .unwrap()
}

async fn post_services(linking: &Linking, csrf: &str, decision: &str) -> reqwest::Response {
    linking
        .browser
        .post(format!("{}/oauth/services", linking.app.address))
        .form(&[("csrf", csrf), ("decision", decision)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_user_links_gitlab_on_the_way_and_its_previews_use_that_token_only() {
    let fake = FakeGitLab {
        // Shorter than the refresh margin: the first use refreshes it.
        expires_in: 60,
        ..FakeGitLab::default()
    };
    let gitlab = gitlab_with_token_endpoint(fake.clone(), &fake).await;
    let linking = spawn(&gitlab).await;

    // After GitHub sign-in: the services page, GitLab not linked yet. Notion has traded
    // its code, but has not been sent ours.
    let html = to_services_page(&linking).await;
    assert!(
        html.contains("data-service=\"gitlab\" data-state=\"not linked\""),
        "{html}"
    );
    assert!(html.contains("Link GitLab"), "{html}");
    let csrf = csrf_of(&html);
    assert_eq!(linking.notion().exchanges().len(), 1);

    // Link GitLab: off to its authorize URL with state and PKCE S256.
    let to_gitlab = post_services(&linking, &csrf, "link:gitlab").await;
    assert_eq!(to_gitlab.status(), StatusCode::SEE_OTHER);
    let authorize = location(&to_gitlab);
    assert!(
        authorize.starts_with(&format!("{}/oauth/authorize?", gitlab.uri())),
        "{authorize}"
    );
    assert_eq!(query(&authorize, "client_id").as_deref(), Some("gl-app"));
    assert_eq!(query(&authorize, "scope").as_deref(), Some("read_api"));
    assert_eq!(
        query(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let redirect = format!("{}/oauth/services/gitlab/callback", linking.app.address);
    assert_eq!(
        query(&authorize, "redirect_uri").as_deref(),
        Some(redirect.as_str())
    );
    let challenge = query(&authorize, "code_challenge").unwrap();
    let state = query(&authorize, "state").unwrap();

    // A callback with another state is refused and leaves the sign-in alone.
    let forged = back_from_gitlab(&linking, &redirect, "forged").await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // GitLab sends the browser back with a code: traded with the verifier, GitLab linked.
    let back = back_from_gitlab(&linking, &redirect, &state).await;
    assert_eq!(back.status(), StatusCode::OK);
    let html = back.text().await.unwrap();
    assert!(html.contains("GitLab is linked."), "{html}");
    assert!(
        html.contains("data-service=\"gitlab\" data-state=\"linked\""),
        "{html}"
    );
    let forms = fake.token_forms.lock().unwrap().clone();
    assert_eq!(forms.len(), 1);
    let field = |n: &str| {
        forms[0]
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
    };
    let verifier = field("code_verifier").unwrap();
    let derived = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    assert_eq!(
        derived, challenge,
        "the verifier matches the S256 challenge"
    );
    assert_eq!(field("redirect_uri").as_deref(), Some(redirect.as_str()));
    // The client authenticates with HTTP Basic (the default), its secret never in the form.
    let basic = base64::engine::general_purpose::STANDARD.encode("gl-app:gl-app-secret");
    assert_eq!(
        *fake.token_authorizations.lock().unwrap(),
        [format!("Basic {basic}")]
    );
    assert_eq!(field("client_secret"), None);
    // The same callback again (a reload) trades nothing and keeps the way to Notion open.
    let replay = back_from_gitlab(&linking, &redirect, &state).await;
    assert_eq!(replay.status(), StatusCode::OK);
    assert!(replay.text().await.unwrap().contains("used already"));
    assert_eq!(fake.token_forms.lock().unwrap().len(), 1);

    // Continue to Notion: our code, once.
    let csrf = csrf_of(&html);
    let to_notion = post_services(&linking, &csrf, "finish").await;
    assert_eq!(to_notion.status(), StatusCode::SEE_OTHER);
    let back = location(&to_notion);
    assert!(back.starts_with(NOTION_CALLBACK), "{back}");
    assert_eq!(query(&back, "state").as_deref(), Some("st-gl"));
    let code = query(&back, "code").unwrap();
    let again = post_services(&linking, &csrf, "finish").await;
    assert_ne!(again.status(), StatusCode::SEE_OTHER);

    // Notion trades our code and unfurls a merge request: read with GitLab's token (the
    // one refreshed on first use), never the GitHub one.
    let issued: serde_json::Value = linking.exchange(&code).await.json().await.unwrap();
    let access = issued["access_token"].as_str().unwrap().to_owned();
    let body = unfurl_as(&linking, &access).await;
    assert_eq!(
        title(&body).as_deref(),
        Some("Cache the token endpoint"),
        "{body}"
    );
    let seen = fake.api_authorizations.lock().unwrap().clone();
    assert_eq!(seen, ["Bearer gl-access-2"]);
    let forms = fake.token_forms.lock().unwrap().clone();
    assert_eq!(forms.len(), 2, "one refresh");
    assert!(forms[1].contains(&("grant_type".into(), "refresh_token".into())));
    assert!(forms[1].contains(&("refresh_token".into(), "gl-refresh-1".into())));
    let account = format!("github:{GITHUB_USER_ID}");
    let store = linking.app.app_state.connections.store();
    let kept = store
        .service_token(&account, "gitlab")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.access_token.expose(), "gl-access-2");
    assert_eq!(
        kept.refresh_token.unwrap().expose(),
        "gl-refresh-2",
        "rotated"
    );
    assert!(
        store
            .service_token(&account, "github")
            .await
            .unwrap()
            .is_some()
    );

    // Revoking the connection (its account's last) drops GitHub's and GitLab's tokens.
    let revoked = linking
        .app
        .client
        .delete(format!("{}/oauth/revoke", linking.app.address))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert!(store.service_tokens(&account).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_user_who_skips_gitlab_is_asked_to_connect_it_and_github_never_reaches_gitlab() {
    let gitlab = MockServer::start().await;
    let fake = FakeGitLab::default();
    Mock::given(method("GET"))
        .respond_with(fake.clone())
        .mount(&gitlab)
        .await;
    let linking = spawn(&gitlab).await;
    let html = to_services_page(&linking).await;
    // A decision that names no declared service is refused.
    let unknown = post_services(&linking, &csrf_of(&html), "link:jira").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    let linking = spawn(&gitlab).await;
    let html = to_services_page(&linking).await;
    let to_notion = post_services(&linking, &csrf_of(&html), "finish").await;
    let code = query(&location(&to_notion), "code").unwrap();
    let issued: serde_json::Value = linking.exchange(&code).await.json().await.unwrap();
    let body = unfurl_as(&linking, issued["access_token"].as_str().unwrap()).await;
    let error = crate::helpers::error_op(&body).unwrap_or_else(|| panic!("{body}"));
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("Connect your GitLab account to preview this link"),
        "{message}"
    );
    // Nothing was sent to GitLab at all: the GitHub token stayed home.
    assert!(fake.api_authorizations.lock().unwrap().is_empty());
}

/// Puts a GitLab link for the test app's own account (`local:test-account`) whose access
/// token runs out in ten seconds, with `refresh` as its refresh token.
async fn linked_about_to_expire(linking: &Linking, refresh: &str) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let store = linking.app.app_state.connections.store();
    store
        .put_service_token(
            "local:test-account",
            "gitlab",
            notion_unfurl::store::IssuedTokens {
                access_token: &notion_unfurl_sdk::Secret::new("gl-access-old"),
                refresh_token: Some(&notion_unfurl_sdk::Secret::new(refresh)),
                expires_at: Some(i64::try_from(now).unwrap() + 10),
            },
        )
        .await
        .unwrap();
}

/// The merge request unfurls with its title (as the test account).
async fn shows_the_merge_request(linking: &Linking) {
    let body = linking.app.unfurl(MR).await;
    assert_eq!(
        title(&body).as_deref(),
        Some("Cache the token endpoint"),
        "{body}"
    );
}

/// A fake GitLab whose token endpoint answers with `tokens` and whose API is `api`.
async fn gitlab_with_token_endpoint(
    tokens: impl Respond + 'static,
    api: &FakeGitLab,
) -> MockServer {
    let gitlab = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(tokens)
        .mount(&gitlab)
        .await;
    Mock::given(method("GET"))
        .respond_with(api.clone())
        .mount(&gitlab)
        .await;
    gitlab
}

#[tokio::test]
async fn a_refused_refresh_token_forgets_the_link_and_an_unreachable_service_keeps_it() {
    // GitLab refuses the refresh token (invalid_grant): the link is gone, the preview asks
    // the user to connect GitLab, and GitLab's API is not called with the old token.
    let fake = FakeGitLab::default();
    let gitlab = gitlab_with_token_endpoint(fake.clone(), &fake).await;
    let linking = spawn(&gitlab).await;
    linked_about_to_expire(&linking, "gl-refresh-unknown").await;
    let body = linking.app.unfurl(MR).await;
    let error = crate::helpers::error_op(&body).unwrap_or_else(|| panic!("{body}"));
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("Connect your GitLab account"),
        "{body}"
    );
    let store = linking.app.app_state.connections.store();
    assert!(
        store
            .service_token("local:test-account", "gitlab")
            .await
            .unwrap()
            .is_none()
    );
    assert!(fake.api_authorizations.lock().unwrap().is_empty());

    // GitLab's token endpoint is down: the old token is still tried, and the link kept.
    let fake = FakeGitLab::default();
    let down = gitlab_with_token_endpoint(ResponseTemplate::new(503), &fake).await;
    let linking = spawn(&down).await;
    linked_about_to_expire(&linking, "gl-refresh-1").await;
    shows_the_merge_request(&linking).await;
    assert_eq!(
        *fake.api_authorizations.lock().unwrap(),
        ["Bearer gl-access-old"]
    );
    let store = linking.app.app_state.connections.store();
    assert!(
        store
            .service_token("local:test-account", "gitlab")
            .await
            .unwrap()
            .is_some()
    );
}

/// The whole flow in headless Chromium, cookies and redirects as a browser keeps them
/// (the pending cookie is `SameSite=Lax`, and GitLab sends the browser back from another
/// origin): consent, the services page, GitLab's consent (a fake that approves at once),
/// back to the services page, on to Notion's redirect URI.
#[tokio::test]
async fn in_chromium_a_user_links_gitlab_and_lands_back_at_notion() {
    use crate::browser::{Session, authorize_url, find, linking_in_browser, start_driver};

    let (Some(chromium), Some(chromedriver)) = (find("chromium"), find("chromedriver")) else {
        eprintln!(
            "skipped: chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        );
        return;
    };
    let gitlab = MockServer::start().await;
    // GitLab's consent, approved at once: back to the redirect URI with a code and the state.
    Mock::given(method("GET"))
        .and(path("/oauth/authorize"))
        .respond_with(|request: &Request| {
            let param = |n: &str| {
                request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == n)
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            let mut back = url::Url::parse(&param("redirect_uri")).unwrap();
            back.query_pairs_mut()
                .append_pair("code", "gl-code")
                .append_pair("state", &param("state"));
            ResponseTemplate::new(302).insert_header("location", back.as_str())
        })
        .mount(&gitlab)
        .await;
    let fake = FakeGitLab {
        expires_in: 7200,
        ..FakeGitLab::default()
    };
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(fake.clone())
        .mount(&gitlab)
        .await;
    let landing = crate::helpers::spawn_origin("127.0.0.1").await;
    let callback = format!("{}/callback", landing.base);
    let builder = TestApp::builder().with_registry(gitlab_registry(&gitlab, |text| text));
    let app = linking_in_browser(builder, &callback).await;
    let authorize = authorize_url(&app, &callback, "browser-gl", "browser-gl-state");

    let driver = start_driver(&chromedriver).await;
    let session = Session::start(&driver, &chromium, (800, 720)).await;
    // Waits (bounded) until `script` returns true in the page.
    let until = |script: &'static str| {
        let (driver, session) = (&driver, &session);
        async move {
            for _ in 0..100 {
                if session.run(driver, script).await == serde_json::json!(true) {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            let body = session.run(driver, "return document.body.innerText").await;
            panic!("waited 10s for `{script}`; the page says {body}");
        }
    };
    session.open(&driver, &authorize).await;
    until("return document.title === 'Connect to Notion'").await;
    session
        .run(
            &driver,
            "document.querySelector('#allow').click(); return true",
        )
        .await;
    until("return document.title === 'Link your accounts'").await;
    until("return !!document.querySelector('[data-service=gitlab][data-state=\"not linked\"]')")
        .await;
    session
        .run(
            &driver,
            "document.querySelector('#link-gitlab').click(); return true",
        )
        .await;
    until("return document.body.innerText.includes('GitLab is linked.')").await;
    until("return !!document.querySelector('[data-service=gitlab][data-state=linked]')").await;
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("services-page.png");
    session.screenshot(&driver, &shot).await;
    session
        .run(
            &driver,
            "document.querySelector('#finish').click(); return true",
        )
        .await;
    // Notion's redirect URI (the landing origin answers 404): where the browser went.
    let landed = session.wait_for_url(&driver, &callback).await;
    assert!(landed.starts_with(&callback), "{landed}");
    assert_eq!(query(&landed, "state").as_deref(), Some("browser-gl-state"));
    assert!(query(&landed, "code").is_some(), "{landed}");
    session.close(&driver).await;

    // The local account made on the way holds GitLab's tokens.
    let exchanges = app.notion().exchanges();
    assert_eq!(exchanges.len(), 1);
    let account = &exchanges[0].1;
    let kept = app
        .app_state
        .connections
        .store()
        .service_token(account, "gitlab")
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no GitLab link for {account}"));
    assert_eq!(kept.access_token.expose(), "gl-access-1");
}

#[tokio::test]
async fn a_service_that_takes_the_client_secret_in_the_form_gets_it_there_and_not_in_basic() {
    let fake = FakeGitLab::default();
    let gitlab = gitlab_with_token_endpoint(fake.clone(), &fake).await;
    let linking = spawn_with(&gitlab, |text| {
        text.replace(
            "client_secret_env = \"GITLAB_CLIENT_SECRET\"",
            "client_secret_env = \"GITLAB_CLIENT_SECRET\"\nclient_auth = \"post\"",
        )
    })
    .await;
    linked_about_to_expire(&linking, "gl-refresh-1").await;
    shows_the_merge_request(&linking).await;
    let forms = fake.token_forms.lock().unwrap().clone();
    assert_eq!(forms.len(), 1, "one refresh");
    assert!(forms[0].contains(&("client_id".into(), "gl-app".into())));
    assert!(forms[0].contains(&("client_secret".into(), "gl-app-secret".into())));
    assert_eq!(*fake.token_authorizations.lock().unwrap(), [""]);
    assert_eq!(
        *fake.api_authorizations.lock().unwrap(),
        ["Bearer gl-access-2"]
    );
}

#[tokio::test]
async fn a_connection_whose_linking_was_never_finished_is_revoked_after_an_hour() {
    let gitlab = MockServer::start().await;
    let linking = spawn(&gitlab).await;
    let state = &linking.app.app_state;
    let grants = notion_unfurl::oauth::grants::Grants::new(&state.connections, &state.tokens);
    let store = state.connections.store();
    let account = format!("github:{GITHUB_USER_ID}");
    let now = notion_unfurl::platform::clock::unix_secs();
    let hours = |n: i64| now + n * 3600;

    // The user reaches the page to link other services, links GitLab, and closes the tab:
    // Notion traded its code, but never got ours.
    to_services_page(&linking).await;
    store
        .put_service_token(
            &account,
            "gitlab",
            notion_unfurl::store::IssuedTokens {
                access_token: &notion_unfurl_sdk::Secret::new("gl-access"),
                refresh_token: None,
                expires_at: None,
            },
        )
        .await
        .unwrap();
    let made = store.connections_for_account(&account).await.unwrap();
    assert_eq!(made.len(), 1);
    // Within the hour the user may still finish: nothing is revoked.
    assert_eq!(grants.revoke_unfinished(now).await.unwrap(), 0);
    // Past it, the connection goes, and with the account's last connection its tokens.
    assert_eq!(grants.revoke_unfinished(hours(2)).await.unwrap(), 1);
    assert!(
        store
            .connection(&made[0].id)
            .await
            .unwrap()
            .unwrap()
            .is_revoked()
    );
    assert!(store.service_tokens(&account).await.unwrap().is_empty());
    // A day on, the codes that would tell are gone: older connections are left alone.
    assert_eq!(grants.revoke_unfinished(hours(30)).await.unwrap(), 0);

    // A linking that was finished is never taken for an unfinished one.
    let linking = spawn(&gitlab).await;
    let state = &linking.app.app_state;
    let grants = notion_unfurl::oauth::grants::Grants::new(&state.connections, &state.tokens);
    let html = to_services_page(&linking).await;
    let to_notion = post_services(&linking, &csrf_of(&html), "finish").await;
    assert_eq!(to_notion.status(), StatusCode::SEE_OTHER);
    assert_eq!(grants.revoke_unfinished(hours(2)).await.unwrap(), 0);
    let store = state.connections.store();
    assert_eq!(
        store.connections_for_account(&account).await.unwrap().len(),
        1
    );
}
