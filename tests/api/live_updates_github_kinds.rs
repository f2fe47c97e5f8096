//! Live updates of GitHub links beyond pull requests and issues, through the real GitHub
//! provider reading a fake GitHub API: a run's pages share one subscription and follow
//! `workflow_run`; a push refreshes the file links at the pushed branch only; a release
//! refreshes every release link of its repository (Latest moves); a repository
//! turned private changes every preview into it at once, per subscriber.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::helpers::{attribute, error_op};
use crate::live_updates_github::{connect, spawn_with_github_api, unfurl_as};
use crate::webhook_setup::{WEBHOOK_SECRET, delivery_id, fixture_or_skip, sign};

/// Fake GitHub's answer at one path: the current JSON, to the tokens allowed to see it
/// (everyone when `allowed` is `None`).
#[derive(Clone)]
pub(crate) struct Current {
    pub(crate) body: Arc<Mutex<Value>>,
    pub(crate) allowed: Arc<Mutex<Option<Vec<String>>>>,
}

impl Current {
    pub(crate) fn new(body: Value) -> Self {
        Self {
            body: Arc::new(Mutex::new(body)),
            allowed: Arc::new(Mutex::new(None)),
        }
    }
}

impl wiremock::Respond for Current {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let bearer = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default()
            .to_owned();
        let allowed = self.allowed.lock().unwrap().clone();
        if allowed.is_none_or(|tokens| tokens.contains(&bearer)) {
            wiremock::ResponseTemplate::new(200).set_body_json(self.body.lock().unwrap().clone())
        } else {
            wiremock::ResponseTemplate::new(404)
                .set_body_json(serde_json::json!({"message": "Not Found"}))
        }
    }
}

/// Fake GitHub's raw file contents: whatever the test set last.
pub(crate) struct CurrentText(pub(crate) Arc<Mutex<String>>);

impl wiremock::Respond for CurrentText {
    fn respond(&self, _: &wiremock::Request) -> wiremock::ResponseTemplate {
        wiremock::ResponseTemplate::new(200).set_body_raw(
            self.0.lock().unwrap().as_bytes().to_vec(),
            "application/vnd.github.raw",
        )
    }
}

pub(crate) async fn mount(
    github: &wiremock::MockServer,
    at: &str,
    respond: impl wiremock::Respond + 'static,
) {
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path(at))
        .respond_with(respond)
        .mount(github)
        .await;
}

/// A correctly signed webhook; the answer's status and JSON.
pub(crate) async fn deliver(
    app: &crate::helpers::TestApp,
    name: &str,
    body: &Value,
) -> (u16, Value) {
    let body = serde_json::to_vec(body).unwrap();
    let response = app
        .client
        .post(format!("{}/webhooks/github", app.address))
        .header("X-GitHub-Event", name)
        .header("X-GitHub-Delivery", delivery_id())
        .header("X-Hub-Signature-256", sign(WEBHOOK_SECRET, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

pub(crate) fn enum_value(body: &Value, id: &str) -> Option<Value> {
    attribute(body, id).map(|a| a["inline"]["enum"]["value"].clone())
}

#[tokio::test]
async fn a_finished_run_is_pushed_to_its_run_and_job_links_alike() {
    let requested = fixture_or_skip!("workflow_run.requested.json");
    let completed = fixture_or_skip!("workflow_run.completed.json");
    let requested: Value = serde_json::from_slice(&requested).unwrap();
    let completed: Value = serde_json::from_slice(&completed).unwrap();
    let run = Current::new(requested["workflow_run"].clone());
    let github = wiremock::MockServer::start().await;
    mount(
        &github,
        "/repos/octo-org/octo-repo/actions/runs/289782451",
        run.clone(),
    )
    .await;
    let server = spawn_with_github_api(&github).await;
    let notion = server.notion();
    let connection = connect(&server, "github:9", "gho_subscriber", "secret_notion_sub").await;
    let forms = [
        "https://github.com/octo-org/octo-repo/actions/runs/289782451",
        "https://github.com/octo-org/octo-repo/actions/runs/289782451/job/1",
    ];
    for form in forms {
        let shown = unfurl_as(&server, &connection, form).await;
        assert_eq!(
            enum_value(&shown, "status"),
            Some("Queued".into()),
            "{shown}"
        );
    }

    *run.body.lock().unwrap() = completed["workflow_run"].clone();
    let (status, answer) = deliver(&server, "workflow_run", &completed).await;
    assert_eq!(
        (status, answer["updates"].as_u64()),
        (202, Some(2)),
        "{answer}"
    );
    let delivered = notion.wait_for_deliveries(2).await;
    let mut uris: Vec<&str> = delivered.iter().map(|d| d.uri()).collect();
    uris.sort_unstable();
    assert_eq!(uris, forms);
    for update in &delivered {
        assert_eq!(enum_value(&update.body, "status"), Some("Success".into()));
    }
}

#[tokio::test]
async fn a_push_refreshes_the_file_links_at_its_branch_only() {
    let push = fixture_or_skip!("push.json");
    let mut push: Value = serde_json::from_slice(&push).unwrap();
    push["ref"] = "refs/heads/main".into();
    push["deleted"] = false.into();
    let text = Arc::new(Mutex::new("# Hello-World\nfirst\n".to_owned()));
    let github = wiremock::MockServer::start().await;
    mount(
        &github,
        "/repos/Codertocat/Hello-World/contents/README.md",
        CurrentText(text.clone()),
    )
    .await;
    let server = spawn_with_github_api(&github).await;
    let notion = server.notion();
    let connection = connect(&server, "github:9", "gho_subscriber", "secret_notion_sub").await;
    let on_main = "https://github.com/Codertocat/Hello-World/blob/main/README.md#L2";
    let on_dev = "https://github.com/Codertocat/Hello-World/blob/dev/README.md#L2";
    let code =
        |body: &Value| attribute(body, "code").map(|a| a["inline"]["plain_text"]["value"].clone());
    for link in [on_main, on_dev] {
        let shown = unfurl_as(&server, &connection, link).await;
        assert_eq!(code(&shown), Some("first".into()), "{shown}");
    }

    *text.lock().unwrap() = "# Hello-World\nsecond\n".to_owned();
    let (status, answer) = deliver(&server, "push", &push).await;
    assert_eq!(
        (status, answer["updates"].as_u64()),
        (202, Some(1)),
        "{answer}"
    );
    let delivered = notion.wait_for_deliveries(1).await;
    assert_eq!(delivered[0].uri(), on_main);
    assert_eq!(code(&delivered[0].body), Some("second".into()));
}

#[tokio::test]
async fn a_repository_made_private_changes_every_preview_into_it_at_once() {
    let edited = fixture_or_skip!("repository.edited.json");
    let issue = fixture_or_skip!("issues.opened.json");
    let edited: Value = serde_json::from_slice(&edited).unwrap();
    let issue: Value = serde_json::from_slice(&issue).unwrap();
    let repository = Current::new(edited["repository"].clone());
    let github = wiremock::MockServer::start().await;
    mount(&github, "/repos/Octocoders/Hello-World", repository.clone()).await;
    mount(
        &github,
        "/repos/Octocoders/Hello-World/issues/1",
        Current::new(issue["issue"].clone()),
    )
    .await;
    let server = spawn_with_github_api(&github).await;
    let notion = server.notion();
    let insider = connect(&server, "github:21", "gho_insider", "secret_notion_insider").await;
    let outsider = connect(
        &server,
        "github:22",
        "gho_outsider",
        "secret_notion_outsider",
    )
    .await;
    let repo_link = "https://github.com/Octocoders/Hello-World";
    let issue_link = "https://github.com/Octocoders/Hello-World/issues/1";
    for connection in [&insider, &outsider] {
        let shown = unfurl_as(&server, connection, repo_link).await;
        assert_eq!(
            enum_value(&shown, "visibility"),
            Some("Public".into()),
            "{shown}"
        );
    }
    let shown = unfurl_as(&server, &insider, issue_link).await;
    assert_eq!(enum_value(&shown, "state"), Some("Open".into()), "{shown}");

    // The repository turns private: only the insider may still see it.
    repository.body.lock().unwrap()["private"] = true.into();
    repository.body.lock().unwrap()["visibility"] = "private".into();
    *repository.allowed.lock().unwrap() = Some(vec!["gho_insider".to_owned()]);
    let mut privatized = edited.clone();
    privatized["action"] = "privatized".into();
    privatized["repository"]["private"] = true.into();
    let (status, answer) = deliver(&server, "repository", &privatized).await;
    // Both repository previews and the issue under it.
    assert_eq!(
        (status, answer["updates"].as_u64()),
        (202, Some(3)),
        "{answer}"
    );

    let delivered = notion.wait_for_deliveries(3).await;
    let to = |bearer: &str, uri: &str| {
        delivered
            .iter()
            .find(|p| p.authorization == bearer && p.uri() == uri)
            .unwrap_or_else(|| panic!("nothing pushed for {uri} with {bearer}"))
    };
    let insider_repo = to("Bearer secret_notion_insider", repo_link);
    assert_eq!(
        enum_value(&insider_repo.body, "visibility"),
        Some("Private".into())
    );
    to("Bearer secret_notion_insider", issue_link);
    let outsider_repo = to("Bearer secret_notion_outsider", repo_link);
    let error = error_op(&outsider_repo.body).unwrap_or_else(|| panic!("{:?}", outsider_repo.body));
    assert_eq!(error["status"], 404);
    // And the shared public preview is gone from the cache: the outsider's own unfurl
    // is answered with its own access.
    let again = unfurl_as(&server, &outsider, repo_link).await;
    assert!(error_op(&again).is_some(), "{again}");
    assert!(!again.to_string().contains("Public"), "{again}");
}

#[tokio::test]
async fn a_new_release_moves_latest_away_from_the_one_shown() {
    let published = fixture_or_skip!("release.published.json");
    let published: Value = serde_json::from_slice(&published).unwrap();
    let first = published["release"].clone();
    let mut second = first.clone();
    second["id"] = 17_372_791.into();
    second["tag_name"] = "0.0.2".into();
    second["html_url"] = "https://github.com/Codertocat/Hello-World/releases/tag/0.0.2".into();
    let latest = Current::new(first.clone());
    let github = wiremock::MockServer::start().await;
    mount(
        &github,
        "/repos/Codertocat/Hello-World/releases/tags/0.0.1",
        Current::new(first),
    )
    .await;
    mount(
        &github,
        "/repos/Codertocat/Hello-World/releases/latest",
        latest.clone(),
    )
    .await;
    let server = spawn_with_github_api(&github).await;
    let notion = server.notion();
    let connection = connect(&server, "github:9", "gho_subscriber", "secret_notion_sub").await;
    let link = "https://github.com/Codertocat/Hello-World/releases/tag/0.0.1";
    let shown = unfurl_as(&server, &connection, link).await;
    assert_eq!(enum_value(&shown, "kind"), Some("Latest".into()), "{shown}");

    // 0.0.2 is published: the event names 0.0.2, and every release link of the repository.
    *latest.body.lock().unwrap() = second.clone();
    let mut event = published.clone();
    event["release"] = second;
    let (status, answer) = deliver(&server, "release", &event).await;
    assert_eq!(
        (status, answer["updates"].as_u64()),
        (202, Some(1)),
        "{answer}"
    );
    let delivered = notion.wait_for_deliveries(1).await;
    assert_eq!(delivered[0].uri(), link);
    assert_eq!(
        enum_value(&delivered[0].body, "kind"),
        Some("Release".into())
    );
}
