//! Accounts: the key is stable, the name and the upstream token follow the latest sign-in,
//! and the token is sealed in its column.

use notion_unfurl_sdk::Secret;
use sqlx::Row;

use crate::{Story, contains};

pub async fn chapter(story: &Story<'_>) {
    let (store, raw) = (story.store, &story.raw);
    store
        .upsert_account("github:1", "GitHub - old", Some(&Secret::new("gho_first")))
        .await
        .unwrap();
    let before = store.account("github:1").await.unwrap().unwrap();
    assert_eq!(before.upstream_token.unwrap().expose(), "gho_first");
    store
        .upsert_account(
            "github:1",
            "GitHub - octo",
            Some(&Secret::new("gho_second")),
        )
        .await
        .unwrap();
    let account = store.account("github:1").await.unwrap().unwrap();
    assert_eq!(account.key, "github:1");
    assert_eq!(account.name, "GitHub - octo");
    assert_eq!(account.upstream_token.unwrap().expose(), "gho_second");
    assert_eq!(account.created_at, before.created_at);
    assert!(account.updated_at >= account.created_at);
    let row = sqlx::query("SELECT upstream_token FROM accounts WHERE key = $1")
        .bind("github:1")
        .fetch_one(raw)
        .await
        .unwrap();
    let stored: Vec<u8> = row.try_get("upstream_token").unwrap();
    assert!(!contains(&stored, b"gho_second"));

    store
        .upsert_account("local:abc", "Local", None)
        .await
        .unwrap();
    let local = store.account("local:abc").await.unwrap().unwrap();
    assert!(local.upstream_token.is_none());
    assert!(store.account("github:404").await.unwrap().is_none());
}
