//! Nothing is lost on a crash: link an account, unfurl, `kill -9` the real binary, start it
//! again on the same data directory, and every token and subscription still works.

use std::time::Duration;

use reqwest::StatusCode;

use crate::fakes::{FakeNotion, Reply};
use crate::helpers::spawn_origin;
use crate::linking::{OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET};
use crate::process::{
    PR, WEBHOOK_SECRET, clients, github_with_pull_request, link, send_webhook, start, unfurl,
};

#[tokio::test]
async fn links_tokens_and_subscriptions_survive_kill_9_and_restart() {
    let notion = FakeNotion::spawn();
    let origin = spawn_origin("127.0.0.1").await;
    let data_dir = std::env::temp_dir().join(format!("nu-restart-{}", uuid::Uuid::new_v4()));
    let browser = reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();

    let mut first = start(&data_dir, &notion.base, &[]);
    let (access, refresh) = link(&first, &notion, &browser, &client, "restart-code").await;
    let page_uri = format!("{}/relative", origin.base);
    assert_eq!(
        unfurl(&client, &first, &access, &page_uri).await,
        StatusCode::OK
    );

    // SIGKILL: no shutdown code runs.
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let second = start(&data_dir, &notion.base, &[]);
    assert_eq!(
        unfurl(&client, &second, &access, &page_uri).await,
        StatusCode::OK
    );
    let refreshed = client
        .post(format!("{}/oauth/token", second.base))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", OAUTH_CLIENT_ID),
            ("client_secret", OAUTH_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::OK);

    // The subscription recorded before the kill is in the database.
    let settings = notion_unfurl::platform::config::Settings::from_vars([(
        "UNFURL_DATA_DIR".to_owned(),
        data_dir.display().to_string(),
    )])
    .unwrap();
    let (keys, _) = notion_unfurl::platform::crypto::keys::Keys::load(&settings).unwrap();
    let store = notion_unfurl::store::Store::connect(&settings.database_url, keys.cipher)
        .await
        .unwrap();
    assert_eq!(store.subscriptions_for(&page_uri).await.unwrap().len(), 1);
    store.close().await;
    drop(second);
    let _ = std::fs::remove_dir_all(data_dir);
}

#[tokio::test]
async fn an_update_pending_at_kill_9_is_delivered_after_restart() {
    let Some((github, closed)) = github_with_pull_request().await else {
        return;
    };
    let notion = FakeNotion::spawn();
    // Notion is down: the update stays in the outbox, retried.
    notion.answer_always(Some(503));
    let data_dir = std::env::temp_dir().join(format!("nu-outbox-kill-{}", uuid::Uuid::new_v4()));
    let github_api = github.uri();
    let extra = [
        ("UNFURL_GITHUB_API_URL", github_api.as_str()),
        ("UNFURL_GITHUB_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("UNFURL_OUTBOX_POLL_MS", "50"),
        ("UNFURL_OUTBOX_BACKOFF_MS", "100"),
        ("UNFURL_OUTBOX_LEASE_MS", "1000"),
    ];
    let (browser, client) = clients();
    let mut first = start(&data_dir, &notion.base, &extra);
    let (access, _) = link(&first, &notion, &browser, &client, "outbox-kill-code").await;
    assert_eq!(unfurl(&client, &first, &access, PR).await, StatusCode::OK);
    send_webhook(&client, &first, &closed).await;
    // Wait (bounded) until Notion has refused at least one attempt, then SIGKILL.
    notion
        .wait_for("a delivery attempt", |p| !p.is_empty())
        .await;
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    // Notion is back; a new process on the same database delivers the update.
    notion.answer_always(Some(200));
    let second = start(&data_dir, &notion.base, &extra);
    let delivered = notion.wait_for_deliveries(1).await;
    assert_eq!(
        delivered[0].authorization,
        "Bearer secret_notion_token_for_outbox-kill-code"
    );
    assert_eq!(delivered[0].body["uri"], PR);
    drop(second);
    let _ = std::fs::remove_dir_all(data_dir);
}

#[tokio::test]
async fn an_update_in_flight_at_kill_9_is_delivered_at_once_by_the_restarted_server() {
    let Some((github, closed)) = github_with_pull_request().await else {
        return;
    };
    let notion = FakeNotion::spawn();
    // The first PATCH never gets an answer: the server is killed in the middle of it,
    // holding the row's lease.
    notion.script(&[Reply::Stall]);
    let data_dir = std::env::temp_dir().join(format!("nu-lease-kill-{}", uuid::Uuid::new_v4()));
    let github_api = github.uri();
    let lease = Duration::from_secs(120);
    let lease_ms = lease.as_millis().to_string();
    let extra = [
        ("UNFURL_GITHUB_API_URL", github_api.as_str()),
        ("UNFURL_GITHUB_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("UNFURL_OUTBOX_POLL_MS", "50"),
        ("UNFURL_OUTBOX_LEASE_MS", lease_ms.as_str()),
    ];
    let (browser, client) = clients();
    let mut first = start(&data_dir, &notion.base, &extra);
    let (access, _) = link(&first, &notion, &browser, &client, "lease-kill-code").await;
    assert_eq!(unfurl(&client, &first, &access, PR).await, StatusCode::OK);
    send_webhook(&client, &first, &closed).await;
    notion
        .wait_for("the PATCH in flight", |p| !p.is_empty())
        .await;
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    // The same server (same data directory, so the same instance id) starts again: it
    // releases the lease its killed run held and delivers now, not in two minutes.
    let restarted = std::time::Instant::now();
    let second = start(&data_dir, &notion.base, &extra);
    let delivered = notion.wait_for_deliveries(1).await;
    let waited = delivered[0].at.duration_since(restarted);
    assert!(
        waited < lease / 8,
        "delivered {waited:?} after the restart; the lease is {lease:?}"
    );
    assert_eq!(delivered[0].body["uri"], PR);
    assert_eq!(
        delivered[0].authorization,
        "Bearer secret_notion_token_for_lease-kill-code"
    );
    drop(second);
    let _ = std::fs::remove_dir_all(data_dir);
}
