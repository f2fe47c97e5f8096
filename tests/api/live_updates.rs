//! A change to a pull request reaches every Notion page that shows it: the webhook names
//! the pull request, and the outbox worker pushes a fresh preview to each subscriber.

use notion_unfurl::clients::notion::NOTION_VERSION;
use serde_json::Value;

use crate::fakes::FakeNotion;
use crate::helpers::TempDir;
use crate::webhook_setup::{
    HEAD_SHA, OTHER_PR, PR, PR_FILES, alice_showing_pr, delivery_id, edited, fixture_or_skip,
    spawn_live,
};

/// The `set` of the `attributes` operation: what Notion would show.
fn attributes_op(body: &Value) -> &Value {
    body["operations"]
        .as_array()
        .and_then(|ops| {
            ops.iter()
                .find(|op| op["path"] == serde_json::json!(["attributes"]))
        })
        .map(|op| &op["set"])
        .unwrap_or(&Value::Null)
}

#[tokio::test]
async fn a_signed_pull_request_event_pushes_the_new_preview_to_each_subscriber() {
    let body = fixture_or_skip!("pull_request.synchronize.json");
    let notion = FakeNotion::spawn();
    let dir = TempDir::unique();
    let app = spawn_live(&dir.0, &notion, &[]).await;
    let (_, alice) = app.connect("local:alice", "secret_notion_alice").await;
    let (_, bob) = app.connect("local:bob", "secret_notion_bob").await;
    let (_, carol) = app.connect("local:carol", "secret_notion_carol").await;
    let before = app.subscribe(&alice, PR).await;
    app.subscribe(&bob, PR).await;
    app.subscribe(&carol, OTHER_PR).await;
    assert!(before.starts_with("Update the README"));

    app.pulls.retitle("Update the README, rebased");
    let (status, ack) = app.webhook("pull_request", &delivery_id(), &body).await;
    assert_eq!(status, 202, "{ack}");
    assert_eq!(ack, serde_json::json!({"status": "queued", "updates": 2}));

    let delivered = notion.wait_for_deliveries(2).await;
    app.wait_until_outbox_is_empty().await;
    assert_eq!(
        notion.patches().len(),
        2,
        "one PATCH per subscribed connection"
    );
    let mut bearers: Vec<&str> = delivered.iter().map(|p| p.authorization.as_str()).collect();
    bearers.sort_unstable();
    assert_eq!(
        bearers,
        ["Bearer secret_notion_alice", "Bearer secret_notion_bob"]
    );
    for patch in &delivered {
        assert_eq!(patch.version, NOTION_VERSION);
        assert_eq!(patch.uri(), PR);
        let ops = patch.body["operations"].as_array().unwrap();
        assert_eq!(
            ops.len(),
            1,
            "attributes only, which clears an earlier error"
        );
        assert_eq!(ops[0]["path"], serde_json::json!(["attributes"]));
        assert!(
            attributes_op(&patch.body)
                .as_array()
                .is_some_and(|a| a.len() >= 2)
        );
        assert!(
            patch
                .title()
                .starts_with("Update the README, rebased (read "),
            "{}",
            patch.title()
        );
    }
}

#[tokio::test]
async fn a_sub_page_subscription_is_updated_through_its_pull_request() {
    let body = fixture_or_skip!("pull_request.labeled.json");
    let notion = FakeNotion::spawn();
    let dir = TempDir::unique();
    let app = spawn_live(&dir.0, &notion, &[]).await;
    let (_, token) = app.connect("local:alice", "secret_notion_alice").await;
    app.subscribe(&token, PR_FILES).await;

    app.pulls.retitle("Labelled");
    let (status, _) = app.webhook("pull_request", &delivery_id(), &body).await;
    assert_eq!(status, 202);
    let delivered = notion.wait_for_deliveries(1).await;
    assert_eq!(
        delivered[0].uri(),
        PR_FILES,
        "Notion is told about the link it shows"
    );
    assert!(delivered[0].title().starts_with("Labelled"));
}

#[tokio::test]
async fn an_event_for_a_pull_request_nobody_shows_pushes_nothing() {
    let body = fixture_or_skip!("pull_request.reopened.json");
    let notion = FakeNotion::spawn();
    let dir = TempDir::unique();
    let app = spawn_live(&dir.0, &notion, &[]).await;
    let (_, token) = app.connect("local:alice", "secret_notion_alice").await;
    app.subscribe(&token, OTHER_PR).await;

    let (status, ack) = app.webhook("pull_request", &delivery_id(), &body).await;
    assert_eq!(status, 202);
    assert_eq!(ack["updates"], 0);
    assert_eq!(app.outbox_len().await, 0);
    assert!(notion.patches().is_empty());
}

#[tokio::test]
async fn comments_reviews_checks_and_statuses_on_a_pull_request_update_it() {
    let Some(comment) = edited("issue_comment.created.json", |json| {
        json["issue"]["pull_request"] = serde_json::json!({
            "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2",
            "html_url": PR,
        });
    }) else {
        return;
    };
    let review = fixture_or_skip!("pull_request_review.submitted.json");
    let check_run = fixture_or_skip!("check_run.completed.json");
    let check_suite = fixture_or_skip!("check_suite.completed.json");
    let status_elsewhere = fixture_or_skip!("status.json");
    let Some(status_on_head) = edited("status.json", |json| json["sha"] = HEAD_SHA.into()) else {
        return;
    };
    let alice = alice_showing_pr().await;
    let (notion, app) = (&alice.notion, &alice.app);

    let events: [(&str, &[u8]); 4] = [
        ("issue_comment", &comment),
        ("pull_request_review", &review),
        ("check_run", &check_run),
        ("check_suite", &check_suite),
    ];
    for (n, (event, body)) in events.into_iter().enumerate() {
        app.pulls.retitle(&format!("After {event}"));
        let (status, ack) = app.webhook(event, &delivery_id(), body).await;
        assert_eq!(
            (status, &ack["updates"]),
            (202, &serde_json::json!(1)),
            "{event}"
        );
        let delivered = notion.wait_for_deliveries(n + 1).await;
        assert!(delivered[n].title().starts_with(&format!("After {event}")));
        app.wait_until_outbox_is_empty().await;
    }

    // A status names only a commit: the pull request whose head it is, as the review and
    // check events above taught.
    let (status, ack) = app
        .webhook("status", &delivery_id(), &status_elsewhere)
        .await;
    assert_eq!((status, &ack["updates"]), (202, &serde_json::json!(0)));
    app.pulls.retitle("After status");
    let (status, ack) = app.webhook("status", &delivery_id(), &status_on_head).await;
    assert_eq!((status, &ack["updates"]), (202, &serde_json::json!(1)));
    let delivered = notion.wait_for_deliveries(5).await;
    assert!(delivered[4].title().starts_with("After status"));
}

#[tokio::test]
async fn no_update_is_pushed_after_notion_deletes_the_preview() {
    let body = fixture_or_skip!("pull_request.opened.json");
    let alice = alice_showing_pr().await;
    let (notion, app, token) = (&alice.notion, &alice.app, alice.token.as_str());
    let deleted = app.delete_preview(token, PR).await;
    assert_eq!(deleted.status(), 204);

    let (status, ack) = app.webhook("pull_request", &delivery_id(), &body).await;
    assert_eq!((status, &ack["updates"]), (202, &serde_json::json!(0)));
    assert!(notion.patches().is_empty());
}

#[tokio::test]
async fn a_connection_without_a_notion_token_gets_no_push() {
    let body = fixture_or_skip!("pull_request.opened.json");
    let notion = FakeNotion::spawn();
    let dir = TempDir::unique();
    let app = spawn_live(&dir.0, &notion, &[]).await;
    // `token issue` makes such connections for local testing.
    let token = notion_unfurl::cli::local_token(&app.app_state, "local:tester")
        .await
        .unwrap();
    app.subscribe(&token, PR).await;

    let (status, ack) = app.webhook("pull_request", &delivery_id(), &body).await;
    assert_eq!((status, &ack["updates"]), (202, &serde_json::json!(1)));
    app.wait_until_outbox_is_empty().await;
    assert!(notion.patches().is_empty());
}
