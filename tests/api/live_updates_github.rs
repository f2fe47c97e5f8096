//! Live updates through the real GitHub provider reading a fake GitHub API (wiremock): the
//! pushed preview is what GitHub says now, read with each subscriber's own token.

use std::sync::{Arc, Mutex};

use notion_unfurl::store::NewConnection;
use notion_unfurl_sdk::Secret;
use serde_json::Value;

use crate::helpers::TestApp;
use crate::webhook_setup::{
    LIVE_ENV, PR, PR_FILES, WEBHOOK_SECRET, delivery_id, fixture_or_skip, sign,
};

/// Fake GitHub's pull request endpoint: answers whatever the test set last.
struct CurrentPull(Arc<Mutex<Value>>);

impl wiremock::Respond for CurrentPull {
    fn respond(&self, _: &wiremock::Request) -> wiremock::ResponseTemplate {
        let pull = self.0.lock().unwrap().clone();
        wiremock::ResponseTemplate::new(200).set_body_json(pull)
    }
}

#[tokio::test]
async fn closing_a_pull_request_pushes_its_new_state_through_the_github_provider() {
    let opened = fixture_or_skip!("pull_request.opened.json");
    let closed = fixture_or_skip!("pull_request.closed.json");
    let opened: Value = serde_json::from_slice(&opened).unwrap();
    let current = Arc::new(Mutex::new(opened["pull_request"].clone()));
    let github = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path(
            "/repos/Codertocat/Hello-World/pulls/2",
        ))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer gho_subscriber",
        ))
        .respond_with(CurrentPull(current.clone()))
        .mount(&github)
        .await;

    let server = spawn_with_github_api(&github).await;
    let notion = server.notion();
    let connection = connect(&server, "github:9", "gho_subscriber", "secret_notion_sub").await;
    let shown = unfurl_as(&server, &connection, PR_FILES).await;
    let state_of = |body: &Value| {
        crate::helpers::attribute(body, "state").map(|a| a["inline"]["enum"]["value"].clone())
    };
    assert_eq!(state_of(&shown), Some("Open".into()), "{shown}");

    // GitHub closes it and tells us.
    let closed_payload: Value = serde_json::from_slice(&closed).unwrap();
    *current.lock().unwrap() = closed_payload["pull_request"].clone();
    assert_eq!(pull_request_event(&server, &closed).await, 202);

    let delivered = notion.wait_for_deliveries(1).await;
    assert_eq!(delivered[0].uri(), PR_FILES);
    assert_eq!(delivered[0].authorization, "Bearer secret_notion_sub");
    assert_eq!(
        state_of(&delivered[0].body),
        Some("Closed".into()),
        "{:?}",
        delivered[0].body
    );
    assert!(delivered[0].title().starts_with("Update the README"));
}

/// The server with the real GitHub provider reading from `github`, talking to a fake Notion.
pub async fn spawn_with_github_api(github: &wiremock::MockServer) -> TestApp {
    TestApp::builder()
        .with_notion()
        .with_env(&LIVE_ENV)
        .with_env(&[("UNFURL_GITHUB_API_URL", &github.uri())])
        .spawn()
        .await
}

/// A GitHub account holding `github_token`, connected to Notion with `notion_token`; the
/// connection id.
pub async fn connect(
    app: &TestApp,
    account: &str,
    github_token: &str,
    notion_token: &str,
) -> String {
    let store = app.app_state.connections.store();
    store
        .upsert_account(account, account, Some(&Secret::new(github_token)))
        .await
        .unwrap();
    store
        .create_connection(NewConnection {
            account_key: account.into(),
            bot_id: format!("bot-{account}"),
            workspace_id: format!("ws-{account}"),
            workspace_name: None,
            workspace_icon: None,
            notion_token: Some(Secret::new(notion_token)),
        })
        .await
        .unwrap()
        .id
}

/// A correctly signed `pull_request` webhook; the answer's status.
async fn pull_request_event(app: &TestApp, body: &[u8]) -> u16 {
    event(app, "pull_request", body).await
}

/// A correctly signed webhook of event `name`; the answer's status.
pub async fn event(app: &TestApp, name: &str, body: &[u8]) -> u16 {
    app.client
        .post(format!("{}/webhooks/github", app.address))
        .header("X-GitHub-Event", name)
        .header("X-GitHub-Delivery", delivery_id())
        .header("X-Hub-Signature-256", sign(WEBHOOK_SECRET, body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// POST /unfurl for `uri` as `connection`; the JSON body.
pub async fn unfurl_as(app: &TestApp, connection: &str, uri: &str) -> Value {
    let token = app.app_state.tokens.issue(connection).unwrap();
    app.client
        .post(format!("{}/unfurl", app.address))
        .bearer_auth(token)
        .json(&serde_json::json!({ "uri": uri }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Fake GitHub's private pull request: the current state, to the tokens allowed to see it.
struct GuardedPull {
    pull: Arc<Mutex<Value>>,
    allowed: Arc<Mutex<Vec<String>>>,
}

impl wiremock::Respond for GuardedPull {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let bearer = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default()
            .to_owned();
        if self.allowed.lock().unwrap().contains(&bearer) {
            wiremock::ResponseTemplate::new(200).set_body_json(self.pull.lock().unwrap().clone())
        } else {
            wiremock::ResponseTemplate::new(404)
                .set_body_json(serde_json::json!({"message": "Not Found"}))
        }
    }
}

#[tokio::test]
async fn each_subscriber_is_updated_with_its_own_access_to_a_private_pull_request() {
    let opened = fixture_or_skip!("pull_request.opened.json");
    let closed = fixture_or_skip!("pull_request.closed.json");
    let private = |payload: &[u8]| {
        let payload: Value = serde_json::from_slice(payload).unwrap();
        let mut pull = payload["pull_request"].clone();
        pull["base"]["repo"]["private"] = true.into();
        pull
    };
    let pull = Arc::new(Mutex::new(private(&opened)));
    let allowed = Arc::new(Mutex::new(vec![
        "gho_insider".to_owned(),
        "gho_leaver".to_owned(),
    ]));
    let github = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path(
            "/repos/Codertocat/Hello-World/pulls/2",
        ))
        .respond_with(GuardedPull {
            pull: pull.clone(),
            allowed: allowed.clone(),
        })
        .mount(&github)
        .await;
    let server = spawn_with_github_api(&github).await;
    let notion = server.notion();
    let insider = connect(&server, "github:21", "gho_insider", "secret_notion_insider").await;
    let leaver = connect(&server, "github:22", "gho_leaver", "secret_notion_leaver").await;
    // Both could see the private pull request when they pasted it.
    for connection in [&insider, &leaver] {
        let shown = unfurl_as(&server, connection, PR).await;
        assert!(
            crate::helpers::title(&shown).is_some_and(|t| t.starts_with("Update the README")),
            "{shown}"
        );
    }

    // The second account loses access; then the pull request is closed.
    allowed
        .lock()
        .unwrap()
        .retain(|token| token == "gho_insider");
    *pull.lock().unwrap() = private(&closed);
    assert_eq!(pull_request_event(&server, &closed).await, 202);

    let delivered = notion.wait_for_deliveries(2).await;
    let to = |bearer: &str| {
        delivered
            .iter()
            .find(|p| p.authorization == bearer)
            .unwrap_or_else(|| panic!("nothing pushed with {bearer}"))
    };
    let insider_update = to("Bearer secret_notion_insider");
    assert_eq!(
        crate::helpers::attribute(&insider_update.body, "state")
            .map(|a| a["inline"]["enum"]["value"].clone()),
        Some("Closed".into())
    );
    // The leaver's preview is replaced by "not found", read with its own token: nothing of
    // the private pull request, and nothing from the insider's read.
    let leaver_update = to("Bearer secret_notion_leaver");
    let error = crate::helpers::error_op(&leaver_update.body)
        .unwrap_or_else(|| panic!("{:?}", leaver_update.body));
    assert_eq!(error["status"], 404);
    let text = leaver_update.body.to_string();
    assert!(
        !text.contains("README") && !text.contains("Closed"),
        "{text}"
    );
}

#[tokio::test]
async fn closing_an_issue_pushes_its_new_state_to_every_form_of_its_link() {
    let opened = fixture_or_skip!("issues.opened.json");
    let opened: Value = serde_json::from_slice(&opened).unwrap();
    let current = Arc::new(Mutex::new(opened["issue"].clone()));
    let github = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path(
            "/repos/Codertocat/Hello-World/issues/1",
        ))
        .respond_with(CurrentPull(current.clone()))
        .mount(&github)
        .await;
    let server = spawn_with_github_api(&github).await;
    let notion = server.notion();
    let connection = connect(&server, "github:9", "gho_subscriber", "secret_notion_sub").await;
    let forms = [
        "https://github.com/Codertocat/Hello-World/issues/1",
        "https://github.com/Codertocat/Hello-World/issues/1#issuecomment-1",
    ];
    let state_of = |body: &Value| {
        crate::helpers::attribute(body, "state").map(|a| a["inline"]["enum"]["value"].clone())
    };
    for form in forms {
        let shown = unfurl_as(&server, &connection, form).await;
        assert_eq!(state_of(&shown), Some("Open".into()), "{shown}");
    }

    // A comment on the issue refreshes both forms (its count may have changed) ...
    let comment = fixture_or_skip!("issue_comment.created.on-issue.json");
    assert_eq!(event(&server, "issue_comment", &comment).await, 202);
    let delivered = notion.wait_for_deliveries(2).await;
    let mut uris: Vec<&str> = delivered.iter().map(|d| d.uri()).collect();
    uris.sort_unstable();
    assert_eq!(uris, [forms[0], forms[1]]);

    // ... and closing it as not planned pushes the new state to both.
    {
        let mut issue = current.lock().unwrap();
        issue["state"] = "closed".into();
        issue["state_reason"] = "not_planned".into();
    }
    let mut closed = opened.clone();
    closed["action"] = "closed".into();
    let closed = serde_json::to_vec(&closed).unwrap();
    assert_eq!(event(&server, "issues", &closed).await, 202);
    let delivered = notion.wait_for_deliveries(4).await;
    for update in &delivered[2..] {
        assert_eq!(
            state_of(&update.body),
            Some("Closed as not planned".into()),
            "{:?}",
            update.body
        );
        assert_eq!(update.authorization, "Bearer secret_notion_sub");
    }
}

#[tokio::test]
async fn an_issue_link_to_a_pull_request_follows_the_pull_request() {
    let opened = fixture_or_skip!("pull_request.opened.json");
    let closed = fixture_or_skip!("pull_request.closed.json");
    let comment = fixture_or_skip!("issue_comment.created.json");
    let opened: Value = serde_json::from_slice(&opened).unwrap();
    let comment: Value = serde_json::from_slice(&comment).unwrap();
    // The issues endpoint answers for pull requests too, marked with `pull_request`.
    let mut as_issue = comment["issue"].clone();
    as_issue["number"] = 2.into();
    as_issue["pull_request"] = serde_json::json!({
        "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2"
    });
    let current = Arc::new(Mutex::new(opened["pull_request"].clone()));
    let github = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path(
            "/repos/Codertocat/Hello-World/issues/2",
        ))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(as_issue))
        .mount(&github)
        .await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path(
            "/repos/Codertocat/Hello-World/pulls/2",
        ))
        .respond_with(CurrentPull(current.clone()))
        .mount(&github)
        .await;
    let server = spawn_with_github_api(&github).await;
    let notion = server.notion();
    let connection = connect(&server, "github:9", "gho_subscriber", "secret_notion_sub").await;
    let issue_link = "https://github.com/Codertocat/Hello-World/issues/2";
    let shown = unfurl_as(&server, &connection, issue_link).await;
    assert!(
        crate::helpers::title(&shown).is_some_and(|t| t.starts_with("Update the README")),
        "{shown}"
    );

    let closed_payload: Value = serde_json::from_slice(&closed).unwrap();
    *current.lock().unwrap() = closed_payload["pull_request"].clone();
    assert_eq!(pull_request_event(&server, &closed).await, 202);
    let delivered = notion.wait_for_deliveries(1).await;
    assert_eq!(delivered[0].uri(), issue_link);
    assert_eq!(
        crate::helpers::attribute(&delivered[0].body, "state")
            .map(|a| a["inline"]["enum"]["value"].clone()),
        Some("Closed".into())
    );
}
