//! GitHub pull-request previews through the whole server: each account reads with its own
//! GitHub token, and a private preview cached for one account never reaches another.

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, attribute, error_op, title};

const PR_URL: &str = "https://github.com/Codertocat/Hello-World/pull/2";

fn fixture_pull_request(private: bool) -> Option<serde_json::Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/github/webhooks/pull_request.opened.json");
    let payload: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let mut pull = payload["pull_request"].clone();
    pull["base"]["repo"]["private"] = private.into();
    Some(pull)
}

async fn account_token(app: &TestApp, key: &str, github_token: &str) -> String {
    let store = app.app_state.connections.store();
    store
        .upsert_account(
            key,
            key,
            Some(&notion_unfurl_sdk::Secret::new(github_token)),
        )
        .await
        .unwrap();
    notion_unfurl::cli::local_token(&app.app_state, key)
        .await
        .unwrap()
}

async fn unfurl_as(app: &TestApp, token: &str, uri: &str) -> serde_json::Value {
    app.client
        .post(app.unfurl_url())
        .bearer_auth(token)
        .json(&serde_json::json!({ "uri": uri }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_private_pr_is_never_served_to_an_account_without_access() {
    let Some(pull) = fixture_pull_request(true) else {
        eprintln!("skipped: ../shared/fixtures/github is not beside this repository");
        return;
    };
    let github = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/Codertocat/Hello-World/pulls/2"))
        .and(header("authorization", "Bearer gho_insider"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&pull))
        .mount(&github)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/Codertocat/Hello-World/pulls/2"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(serde_json::json!({"message": "Not Found"})),
        )
        .mount(&github)
        .await;
    let app = TestApp::builder()
        .with_env(&[("UNFURL_GITHUB_API_URL", &github.uri())])
        .spawn()
        .await;
    let insider = account_token(&app, "github:1", "gho_insider").await;
    let outsider = account_token(&app, "github:2", "gho_outsider").await;

    let seen = unfurl_as(&app, &insider, PR_URL).await;
    assert_eq!(
        title(&seen).as_deref(),
        Some("Update the README with new information."),
        "{seen}"
    );
    assert_eq!(
        attribute(&seen, "state").map(|a| a["inline"]["enum"]["value"].clone()),
        Some("Open".into())
    );

    // The same PR, and a sub-page of it, for the account without access.
    for uri in [PR_URL.to_owned(), format!("{PR_URL}/files")] {
        let refused = unfurl_as(&app, &outsider, &uri).await;
        let error = error_op(&refused).unwrap_or_else(|| panic!("{refused}"));
        assert_eq!(error["status"], 404);
        assert!(
            !refused.to_string().contains("README"),
            "private content leaked: {refused}"
        );
        assert!(title(&refused).is_none());
    }

    // The insider's sub-page subscription matches the PR's canonical form.
    unfurl_as(&app, &insider, &format!("{PR_URL}/files?w=1")).await;
    let store = app.app_state.connections.store();
    let canonical = "https://github.com/codertocat/hello-world/pull/2";
    assert_eq!(store.subscriptions_for(canonical).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_public_pr_preview_is_shared_across_accounts() {
    let Some(pull) = fixture_pull_request(false) else {
        eprintln!("skipped: ../shared/fixtures/github is not beside this repository");
        return;
    };
    let github = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/Codertocat/Hello-World/pulls/2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&pull))
        .expect(1)
        .mount(&github)
        .await;
    let app = TestApp::builder()
        .with_env(&[("UNFURL_GITHUB_API_URL", &github.uri())])
        .spawn()
        .await;
    let first = account_token(&app, "github:10", "gho_one").await;
    let second = account_token(&app, "github:11", "gho_two").await;
    let a = unfurl_as(&app, &first, PR_URL).await;
    let b = unfurl_as(&app, &second, PR_URL).await;
    assert_eq!(a, b);
    assert_eq!(
        title(&b).as_deref(),
        Some("Update the README with new information.")
    );
}
