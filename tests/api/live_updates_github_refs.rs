//! Live updates of GitHub links whose ref or commit id is not spelled out in full: a
//! push to a branch with a slash in its name (`feature/x`) refreshes the file links at
//! that branch and no other, a push to a tag refreshes the links at the tag (labelled a
//! tag), and a check on a commit refreshes the links to it by an abbreviated id.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::attribute;
use crate::live_updates_github::{connect, spawn_with_github_api, unfurl_as};
use crate::live_updates_github_kinds::{Current, CurrentText, deliver, mount};
use crate::webhook_setup::fixture_or_skip;

const REPO: &str = "/repos/Codertocat/Hello-World";
const SHA: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

/// The text of attribute `id` (a title or plain text).
fn text_of(body: &Value, id: &str) -> Option<String> {
    let inline = attribute(body, id)?["inline"].as_object()?;
    inline
        .values()
        .find_map(|v| v["value"].as_str())
        .map(str::to_owned)
}

/// The contents API's answer for a ref that names no commit.
async fn no_commit_for(github: &MockServer, reference: &str) {
    Mock::given(method("GET"))
        .and(query_param("ref", reference))
        .respond_with(ResponseTemplate::new(404).set_body_json(serde_json::json!({
            "message": format!("No commit found for the ref {reference}"),
            "status": "404"
        })))
        .mount(github)
        .await;
}

/// `README.md` at `reference`, reading whatever `text` holds.
async fn readme_at(github: &MockServer, reference: &str, text: &Arc<Mutex<String>>) {
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/contents/README.md")))
        .and(query_param("ref", reference))
        .respond_with(CurrentText(text.clone()))
        .mount(github)
        .await;
}

async fn branch(github: &MockServer, name: &str) {
    mount(
        github,
        &format!("{REPO}/git/ref/heads/{name}"),
        Current::new(serde_json::json!({
            "ref": format!("refs/heads/{name}"),
            "object": {"sha": SHA, "type": "commit"}
        })),
    )
    .await;
}

#[tokio::test]
async fn a_push_to_a_branch_with_a_slash_refreshes_its_links_and_no_others() {
    let push = fixture_or_skip!("push.json");
    let push: Value = serde_json::from_slice(&push).unwrap();
    let on_x_text = Arc::new(Mutex::new("# Hello-World\nx one\n".to_owned()));
    let on_y_text = Arc::new(Mutex::new("# Hello-World\ny one\n".to_owned()));
    let on_tag_text = Arc::new(Mutex::new("# Hello-World\ntag one\n".to_owned()));
    let github = MockServer::start().await;
    no_commit_for(&github, "feature").await;
    readme_at(&github, "feature/x", &on_x_text).await;
    readme_at(&github, "feature/y", &on_y_text).await;
    readme_at(&github, "v1.2", &on_tag_text).await;
    branch(&github, "feature/x").await;
    branch(&github, "feature/y").await;
    let server = spawn_with_github_api(&github).await;
    let notion = server.notion();
    let connection = connect(&server, "github:9", "gho_subscriber", "secret_notion_sub").await;
    let on_x = "https://github.com/Codertocat/Hello-World/blob/feature/x/README.md#L2";
    let on_y = "https://github.com/Codertocat/Hello-World/blob/feature/y/README.md#L2";
    let on_tag = "https://github.com/Codertocat/Hello-World/blob/v1.2/README.md#L2";
    let shown = unfurl_as(&server, &connection, on_x).await;
    assert_eq!(text_of(&shown, "code").as_deref(), Some("x one"), "{shown}");
    assert_eq!(
        text_of(&shown, "ref").as_deref(),
        Some("Branch feature/x (may change)")
    );
    assert_eq!(
        text_of(&shown, "title").as_deref(),
        Some("README.md, line 2")
    );
    let shown = unfurl_as(&server, &connection, on_y).await;
    assert_eq!(text_of(&shown, "code").as_deref(), Some("y one"), "{shown}");
    let shown = unfurl_as(&server, &connection, on_tag).await;
    assert_eq!(
        text_of(&shown, "ref").as_deref(),
        Some("Tag v1.2"),
        "{shown}"
    );

    // Both branches change; only `feature/x` is pushed.
    *on_x_text.lock().unwrap() = "# Hello-World\nx two\n".to_owned();
    *on_y_text.lock().unwrap() = "# Hello-World\ny two\n".to_owned();
    let mut to_x = push.clone();
    to_x["ref"] = "refs/heads/feature/x".into();
    to_x["deleted"] = false.into();
    let (status, answer) = deliver(&server, "push", &to_x).await;
    assert_eq!(
        (status, answer["updates"].as_u64()),
        (202, Some(1)),
        "{answer}"
    );
    let delivered = notion.wait_for_deliveries(1).await;
    assert_eq!(delivered[0].uri(), on_x);
    assert_eq!(
        text_of(&delivered[0].body, "code").as_deref(),
        Some("x two")
    );

    // A push to the tag refreshes the link at the tag, still labelled a tag.
    *on_tag_text.lock().unwrap() = "# Hello-World\ntag moved\n".to_owned();
    let mut to_tag = push.clone();
    to_tag["ref"] = "refs/tags/v1.2".into();
    to_tag["deleted"] = false.into();
    let (status, answer) = deliver(&server, "push", &to_tag).await;
    assert_eq!(
        (status, answer["updates"].as_u64()),
        (202, Some(1)),
        "{answer}"
    );
    let delivered = notion.wait_for_deliveries(2).await;
    assert_eq!(delivered[1].uri(), on_tag);
    assert_eq!(
        text_of(&delivered[1].body, "code").as_deref(),
        Some("tag moved")
    );
    assert_eq!(
        text_of(&delivered[1].body, "ref").as_deref(),
        Some("Tag v1.2")
    );
}

/// `GET …/check-runs` holding the fixture's check run with `status` and `conclusion`.
fn check_runs(run: &Value, status: &str, conclusion: Option<&str>) -> Value {
    let mut run = run.clone();
    run["status"] = status.into();
    run["conclusion"] = conclusion.into();
    serde_json::json!({"total_count": 1, "check_runs": [run]})
}

#[tokio::test]
async fn a_check_refreshes_the_links_to_its_commit_by_an_abbreviated_id() {
    let completed = fixture_or_skip!("check_run.completed.json");
    let completed: Value = serde_json::from_slice(&completed).unwrap();
    assert_eq!(completed["check_run"]["head_sha"], SHA);
    let commit: Value = serde_json::from_str(include_str!(
        "../../providers/github/tests/fixtures/commit.json"
    ))
    .unwrap();
    // Another commit whose id starts with the same 7 digits.
    let other_sha = "ec26c3e0aaaabbbbccccddddeeeeffff00001111";
    let mut other = commit.clone();
    other["sha"] = other_sha.into();
    let runs = Current::new(check_runs(&completed["check_run"], "in_progress", None));
    let github = MockServer::start().await;
    for at in ["ec26c3e", "ec26c3e57ca", SHA] {
        mount(
            &github,
            &format!("{REPO}/commits/{at}"),
            Current::new(commit.clone()),
        )
        .await;
    }
    for at in ["ec26c3e0", other_sha] {
        mount(
            &github,
            &format!("{REPO}/commits/{at}"),
            Current::new(other.clone()),
        )
        .await;
    }
    mount(
        &github,
        &format!("{REPO}/commits/{SHA}/check-runs"),
        runs.clone(),
    )
    .await;
    let server = spawn_with_github_api(&github).await;
    let notion = server.notion();
    let connection = connect(&server, "github:9", "gho_subscriber", "secret_notion_sub").await;
    let short = "https://github.com/Codertocat/Hello-World/commit/ec26c3e";
    let longer = "https://github.com/Codertocat/Hello-World/commit/EC26C3E57CA";
    let full = format!("https://github.com/Codertocat/Hello-World/commit/{SHA}");
    let elsewhere = "https://github.com/Codertocat/Hello-World/commit/ec26c3e0";
    for link in [short, longer, &full] {
        let shown = unfurl_as(&server, &connection, link).await;
        let checks = text_of(&shown, "checks").unwrap_or_else(|| panic!("{shown}"));
        assert!(checks.contains("pending"), "{checks}");
    }
    let shown = unfurl_as(&server, &connection, elsewhere).await;
    assert!(text_of(&shown, "title").is_some(), "{shown}");

    *runs.body.lock().unwrap() = check_runs(&completed["check_run"], "completed", Some("success"));
    let (status, answer) = deliver(&server, "check_run", &completed).await;
    // The three links to the checked commit; not the other commit's.
    assert_eq!(
        (status, answer["updates"].as_u64()),
        (202, Some(3)),
        "{answer}"
    );
    let delivered = notion.wait_for_deliveries(3).await;
    let mut uris: Vec<&str> = delivered.iter().map(|d| d.uri()).collect();
    uris.sort_unstable();
    let mut expected = vec![short, longer, full.as_str()];
    expected.sort_unstable();
    assert_eq!(uris, expected);
    for update in &delivered {
        let checks = text_of(&update.body, "checks").unwrap_or_default();
        assert!(checks.contains("passed"), "{checks}");
    }
}
