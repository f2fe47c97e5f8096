//! Account linking in a browser: consent, GitHub sign-in with PKCE, Notion's code exchange,
//! and every refusal on the way. A cookie-keeping client follows each redirect by hand.

use reqwest::StatusCode;
use reqwest::header::LOCATION;

use crate::fakes::{
    FakeNotion, GITHUB_LOGIN, GITHUB_USER_ID, NOTION_CLIENT_ID, NOTION_CLIENT_SECRET,
};
use crate::helpers::TestApp;

pub const OAUTH_CLIENT_ID: &str = "notion-oauth-client";
pub const OAUTH_CLIENT_SECRET: &str = "notion-oauth-client-secret-value";
pub const NOTION_CALLBACK: &str = "https://www.notion.so/externalIntegrationAuthCallback";

/// What a linking server is configured with, besides its fake Notion: our OAuth client
/// (Notion) and Notion's (us).
pub const LINKING_ENV: [(&str, &str); 4] = [
    ("UNFURL_OAUTH_CLIENT_ID", OAUTH_CLIENT_ID),
    ("UNFURL_OAUTH_CLIENT_SECRET", OAUTH_CLIENT_SECRET),
    ("UNFURL_NOTION_CLIENT_ID", NOTION_CLIENT_ID),
    ("UNFURL_NOTION_CLIENT_SECRET", NOTION_CLIENT_SECRET),
];

/// A linking server and a browser that keeps cookies and follows no redirect by itself.
pub struct Linking {
    pub app: TestApp,
    pub browser: reqwest::Client,
}

/// A linking server with a fake Notion, and a fake GitHub to sign in with if `with_github`.
pub async fn spawn_linking(with_github: bool) -> Linking {
    let builder = TestApp::builder().with_notion().with_env(&LINKING_ENV);
    let builder = if with_github {
        builder.with_github()
    } else {
        builder
    };
    Linking::around(builder.spawn().await)
}

impl Linking {
    pub fn around(app: TestApp) -> Self {
        let browser = reqwest::Client::builder()
            .no_proxy()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { app, browser }
    }

    pub fn notion(&self) -> &FakeNotion {
        self.app.notion()
    }

    /// Notion made `code`; the browser arrives at /oauth/authorize with it.
    pub fn authorize_url(&self, code: &str, state: &str) -> String {
        self.notion().accept_code(code);
        let query = authorize_query(code, state);
        format!("{}/oauth/authorize?{query}", self.app.address)
    }

    /// GET the consent page; returns its CSRF token.
    pub async fn consent_page(&self, code: &str, state: &str) -> String {
        let response = self
            .browser
            .get(self.authorize_url(code, state))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        let html = response.text().await.unwrap();
        assert!(html.contains("Allow") && html.contains("Deny"));
        csrf_of(&html)
    }

    pub async fn decide(&self, csrf: &str, decision: &str) -> reqwest::Response {
        self.browser
            .post(format!("{}/oauth/authorize", self.app.address))
            .form(&[("csrf", csrf), ("decision", decision)])
            .send()
            .await
            .unwrap()
    }

    /// Follow one redirect by hand.
    pub async fn follow(&self, response: &reqwest::Response) -> reqwest::Response {
        let location = location(response);
        self.browser.get(location).send().await.unwrap()
    }

    /// The whole flow to the end; returns the final redirect to Notion.
    pub async fn link(&self, code: &str, state: &str) -> url::Url {
        let csrf = self.consent_page(code, state).await;
        let mut response = self.decide(&csrf, "allow").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        if self.app.github.is_some() {
            let at_github = self.follow(&response).await;
            assert_eq!(at_github.status(), StatusCode::FOUND);
            response = self.follow(&at_github).await;
            assert_eq!(
                response.status(),
                StatusCode::SEE_OTHER,
                "{:?}",
                response.text().await
            );
        }
        url::Url::parse(&location(&response)).unwrap()
    }

    /// Notion's side of step 6: trade our code for tokens.
    pub async fn exchange(&self, code: &str) -> reqwest::Response {
        self.app
            .client
            .post(format!("{}/oauth/token", self.app.address))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("client_id", OAUTH_CLIENT_ID),
                ("client_secret", OAUTH_CLIENT_SECRET),
                ("redirect_uri", NOTION_CALLBACK),
            ])
            .send()
            .await
            .unwrap()
    }
}

/// Notion's query on `/oauth/authorize` for its code `code` and `state`.
pub fn authorize_query(code: &str, state: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", OAUTH_CLIENT_ID)
        .append_pair("redirect_uri", NOTION_CALLBACK)
        .append_pair("response_type", "code")
        .append_pair("code", code)
        .append_pair("state", state)
        .append_pair("scope", "unfurl")
        .finish()
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("no Location in a {} answer", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

pub fn csrf_of(html: &str) -> String {
    regex::Regex::new(r#"name="csrf" value="([^"]+)""#)
        .unwrap()
        .captures(html)
        .unwrap_or_else(|| panic!("no CSRF field in {html}"))[1]
        .to_owned()
}

fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn allow_with_github_links_the_github_account_and_returns_a_code_to_notion() {
    let linking = spawn_linking(true).await;
    let back = linking.link("notion-code-1", "st=ate&x/y").await;
    assert_eq!(
        format!(
            "{}://{}{}",
            back.scheme(),
            back.host_str().unwrap(),
            back.path()
        ),
        NOTION_CALLBACK
    );
    assert_eq!(query(&back, "state").as_deref(), Some("st=ate&x/y"));
    let code = query(&back, "code").unwrap();
    assert!(code.len() >= 43, "our code carries 256 random bits");

    let exchanges = linking.notion().exchanges();
    assert_eq!(
        exchanges,
        vec![(
            "notion-code-1".to_owned(),
            format!("github:{GITHUB_USER_ID}"),
            format!("GitHub - {GITHUB_LOGIN}")
        )]
    );
    let store = linking.app.app_state.connections.store();
    let account = store
        .account(&format!("github:{GITHUB_USER_ID}"))
        .await
        .unwrap()
        .unwrap();
    let issued = linking.app.github().issued_tokens();
    assert_eq!(
        account.upstream_token.map(|t| t.expose().to_owned()),
        issued.first().cloned()
    );
    let connections = store.connections_for_account(&account.key).await.unwrap();
    assert_eq!(connections.len(), 1);
    assert_eq!(
        connections[0]
            .notion_token
            .as_ref()
            .map(|t| t.expose().to_owned())
            .as_deref(),
        Some("secret_notion_token_for_notion-code-1")
    );
    assert_eq!(connections[0].workspace_name.as_deref(), Some("Acme HQ"));

    // Notion trades our code for tokens, and the access token unfurls for that account.
    let response = linking.exchange(&code).await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: serde_json::Value = response.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let unfurled = linking
        .app
        .client
        .post(linking.app.unfurl_url())
        .bearer_auth(access)
        .json(&serde_json::json!({ "uri": linking.app.origin_url("/relative") }))
        .send()
        .await
        .unwrap();
    assert_eq!(unfurled.status(), StatusCode::OK);
    let claims = linking.app.app_state.tokens.verify(access).unwrap();
    assert_eq!(claims.sub, connections[0].id);

    // Reconnecting the same GitHub account sends Notion the same stable key.
    linking.link("notion-code-2", "again").await;
    let exchanges = linking.notion().exchanges();
    assert_eq!(exchanges[1].1, format!("github:{GITHUB_USER_ID}"));
}

#[tokio::test]
async fn allow_without_github_creates_a_local_account() {
    let linking = spawn_linking(false).await;
    let back = linking.link("notion-code-local", "s1").await;
    assert!(query(&back, "code").is_some());
    assert_eq!(query(&back, "state").as_deref(), Some("s1"));
    let exchanges = linking.notion().exchanges();
    assert!(exchanges[0].1.starts_with("local:"), "{exchanges:?}");
    assert!(exchanges[0].1.len() > "local:".len() + 16);
}

#[tokio::test]
async fn deny_sends_access_denied_with_the_state_and_links_nothing() {
    let linking = spawn_linking(true).await;
    let csrf = linking.consent_page("notion-code-d", "keep me").await;
    let response = linking.decide(&csrf, "deny").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = url::Url::parse(&location(&response)).unwrap();
    assert_eq!(query(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(query(&back, "state").as_deref(), Some("keep me"));
    assert!(query(&back, "code").is_none());
    assert!(linking.notion().exchanges().is_empty());
}

#[tokio::test]
async fn the_state_comes_back_byte_for_byte_or_not_at_all() {
    let linking = spawn_linking(true).await;
    let odd = "a+b&c=d %2B/é😀";
    let csrf = linking.consent_page("notion-code-s", odd).await;
    let response = linking.decide(&csrf, "deny").await;
    let back = url::Url::parse(&location(&response)).unwrap();
    assert_eq!(query(&back, "state").as_deref(), Some(odd));

    // Bytes that are not UTF-8 could only come back altered: an error page, no redirect.
    let raw = linking
        .authorize_url("notion-code-s", "x")
        .replace("state=x", "state=%FF%FE");
    let refused = linking.browser.get(raw).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.headers().get(LOCATION).is_none());
}

#[tokio::test]
async fn a_wrong_client_or_redirect_uri_gets_an_error_page_and_never_a_redirect() {
    let linking = spawn_linking(true).await;
    let good = linking.authorize_url("c", "s");
    let cases = [
        good.replace(OAUTH_CLIENT_ID, "someone-else"),
        good.replace("www.notion.so", "evil.example"),
        good.replace(
            "externalIntegrationAuthCallback",
            "externalIntegrationAuthCallback/x",
        ),
        good.replace("client_id=", "nothing="),
        format!("{good}&state=second"),
    ];
    for url in cases {
        let response = linking.browser.get(&url).send().await.unwrap();
        assert!(
            response.status().is_client_error(),
            "{url}: {}",
            response.status()
        );
        assert!(
            response.headers().get(LOCATION).is_none(),
            "{url} redirected"
        );
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("could not be completed")
        );
    }
}

#[tokio::test]
async fn other_bad_parameters_redirect_with_invalid_request_and_the_state() {
    let linking = spawn_linking(true).await;
    let good = linking.authorize_url("c", "the-state");
    for url in [
        good.replace("response_type=code", "response_type=token"),
        good.replace("code=c&", ""),
    ] {
        let response = linking.browser.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{url}");
        let back = url::Url::parse(&location(&response)).unwrap();
        assert!(back.as_str().starts_with(NOTION_CALLBACK));
        assert_eq!(query(&back, "error").as_deref(), Some("invalid_request"));
        assert_eq!(query(&back, "state").as_deref(), Some("the-state"));
    }
}

#[tokio::test]
async fn consent_needs_its_csrf_token_its_cookie_and_happens_once() {
    let linking = spawn_linking(false).await;
    let csrf = linking.consent_page("notion-code-c", "s").await;

    let forged = linking.decide("not-the-token", "allow").await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // Another browser (no cookie) with the right token gets nowhere either.
    let stranger = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = stranger
        .post(format!("{}/oauth/authorize", linking.app.address))
        .form(&[("csrf", csrf.as_str()), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(linking.notion().exchanges().is_empty());

    let first = linking.decide(&csrf, "allow").await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let again = linking.decide(&csrf, "allow").await;
    assert_ne!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(linking.notion().exchanges().len(), 1);
}

#[tokio::test]
async fn compressed_or_oversized_consent_forms_are_refused_unread() {
    let linking = spawn_linking(false).await;
    let csrf = linking.consent_page("notion-code-z", "s").await;
    let post = |body: Vec<u8>, encoding: Option<&'static str>| {
        let mut request = linking
            .browser
            .post(format!("{}/oauth/authorize", linking.app.address))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(encoding) = encoding {
            request = request.header("Content-Encoding", encoding);
        }
        request.send()
    };
    let form = format!("csrf={csrf}&decision=allow").into_bytes();

    // Inflating a stranger's body would cost memory before any check could run.
    let compressed = post(form.clone(), Some("gzip")).await.unwrap();
    assert_eq!(compressed.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let mut padded = form.clone();
    padded.extend(std::iter::repeat_n(b'x', 20 * 1024));
    let padded = post(padded, None).await.unwrap();
    assert_eq!(padded.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(linking.notion().exchanges().is_empty());

    // Neither used up the consent.
    let plain = post(form, None).await.unwrap();
    assert_eq!(plain.status(), StatusCode::SEE_OTHER);
    assert_eq!(linking.notion().exchanges().len(), 1);
}

#[tokio::test]
async fn sign_in_steps_from_one_address_are_rate_limited() {
    let linking = spawn_linking(true).await;
    let stranger = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let consent = || {
        stranger
            .post(format!("{}/oauth/authorize", linking.app.address))
            .form(&[("csrf", "made-up"), ("decision", "allow")])
            .send()
    };
    // Far beyond what linking accounts takes; every one is judged until the budget is spent.
    let mut limited = None;
    for attempt in 0..100 {
        let response = consent().await.unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((attempt, response));
            break;
        }
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    let (attempt, limited) = limited.unwrap_or_else(|| panic!("100 attempts were never limited"));
    assert!(attempt >= 30, "limited after {attempt} attempts");
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(
        limited
            .text()
            .await
            .unwrap()
            .contains("Too many connection attempts")
    );
    // The GitHub callback draws on the same budget.
    let callback = stranger
        .get(format!(
            "{}/oauth/github/callback?code=made-up&state=made-up",
            linking.app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(callback.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(linking.notion().exchanges().is_empty());
}

#[tokio::test]
async fn a_consent_taken_on_one_instance_cannot_be_replayed_on_another() {
    let first = spawn_linking(false).await;
    let database = format!("sqlite://{}/notion-unfurl.db", first.app.data_dir.display());
    let second = TestApp::builder()
        .with_notion()
        .with_env(&LINKING_ENV)
        .with_env(&[("UNFURL_DATABASE_URL", database.as_str())])
        .spawn()
        .await;
    let second = Linking::around(second);
    // A client that keeps no cookies: the test sends the consent cookie itself, so the
    // replay carries it even though the first answer clears it.
    let bare = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let consent = |linking: &Linking, code: &str| {
        let url = linking.authorize_url(code, "s");
        let bare = bare.clone();
        async move {
            let page = bare.get(url).send().await.unwrap();
            assert_eq!(page.status(), StatusCode::OK);
            let cookie = page.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned();
            (cookie, csrf_of(&page.text().await.unwrap()))
        }
    };
    let decide = |linking: &Linking, cookie: &str, csrf: &str| {
        let request = bare
            .post(format!("{}/oauth/authorize", linking.app.address))
            .header("cookie", cookie)
            .form(&[("csrf", csrf), ("decision", "allow")]);
        async move { request.send().await.unwrap().status() }
    };

    // Consents begin on the first instance; Notion's code is good at either one's Notion.
    let begin = |code: &'static str| {
        second.notion().accept_code(code);
        consent(&first, code)
    };

    // Both instances share the secret, so either one can finish a consent begun on the other...
    let (cookie, csrf) = begin("notion-code-shared-1").await;
    assert_eq!(decide(&second, &cookie, &csrf).await, StatusCode::SEE_OTHER);

    // ...but only once across both: the spent step is in the shared database.
    let (cookie, csrf) = begin("notion-code-shared-2").await;
    assert_eq!(decide(&first, &cookie, &csrf).await, StatusCode::SEE_OTHER);
    assert_eq!(
        decide(&second, &cookie, &csrf).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(first.notion().exchanges().len(), 1);
    assert_eq!(second.notion().exchanges().len(), 1);
}

#[tokio::test]
async fn a_forged_or_replayed_github_state_is_refused_and_nothing_is_exchanged() {
    let linking = spawn_linking(true).await;
    let github = linking.app.github();
    let csrf = linking.consent_page("notion-code-g", "s").await;
    let to_github = linking.decide(&csrf, "allow").await;
    let at_github = linking.follow(&to_github).await;
    let callback = location(&at_github);

    let mut forged = url::Url::parse(&callback).unwrap();
    let code = query(&forged, "code").unwrap();
    forged
        .query_pairs_mut()
        .clear()
        .append_pair("code", &code)
        .append_pair("state", "forged-state");
    let response = linking.browser.get(forged.as_str()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(github.token_requests(), 0);

    // The real callback still works once (the forged attempt spent nothing)...
    let response = linking.browser.get(&callback).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        response.text().await
    );
    // ...and not twice.
    let replay = linking.browser.get(&callback).send().await.unwrap();
    assert_ne!(replay.status(), StatusCode::SEE_OTHER);
    assert_eq!(github.token_requests(), 1);
    assert_eq!(linking.notion().exchanges().len(), 1);
}

#[tokio::test]
async fn when_notion_refuses_the_code_the_user_sees_a_page_and_notion_gets_no_code() {
    let linking = spawn_linking(false).await;
    let accounts_before = count_accounts(&linking).await;
    let csrf = linking.consent_page("notion-code-r", "s").await;
    // Notion forgets its code (expired, or already used).
    linking.notion().forget_codes();
    let response = linking.decide(&csrf, "allow").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(response.headers().get(LOCATION).is_none());
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Notion did not accept")
    );
    assert_eq!(linking.notion().refused(), 1);
    // Nothing was saved for a link that did not happen: a made-up code leaves no account.
    assert_eq!(count_accounts(&linking).await, accounts_before);
}

/// Accounts in the server's database, read directly.
async fn count_accounts(linking: &Linking) -> i64 {
    let mut raw = crate::helpers::raw_database(&linking.app.data_dir).await;
    sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(&mut raw)
        .await
        .unwrap()
}
