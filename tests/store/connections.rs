//! Connections: one account's Notion authorisations. The Notion token opens again, the
//! column holds no plaintext, and a ciphertext copied into another row does not open there.
//!
//! Starts from the accounts `github:1` and `local:abc`; ends with two live connections of
//! `github:1` (returned) and a revoked decoy of `local:abc`.

use notion_unfurl::store::{Connection, StoreError};
use sqlx::Row;

use crate::{Story, contains, new_connection};

pub async fn chapter(story: &Story<'_>) -> (Connection, Connection) {
    let (store, raw) = (story.store, &story.raw);
    let unknown = store
        .create_connection(new_connection("github:404", "secret_x"))
        .await;
    assert!(
        matches!(unknown, Err(StoreError::UnknownAccount)),
        "{unknown:?}"
    );

    let first = store
        .create_connection(new_connection("github:1", "secret_notion_first"))
        .await
        .unwrap();
    let second = store
        .create_connection(new_connection("github:1", "secret_notion_second"))
        .await
        .unwrap();
    assert_eq!(first.id.len(), 32);
    assert_ne!(first.id, second.id);
    let read = store.connection(&first.id).await.unwrap().unwrap();
    assert_eq!(read.account_key, "github:1");
    assert_eq!(read.bot_id, "bot-of-github:1");
    assert_eq!(read.workspace_id, "ws-1");
    assert_eq!(read.workspace_name.as_deref(), Some("Acme"));
    assert_eq!(read.workspace_icon, None);
    assert_eq!(
        read.notion_token.as_ref().unwrap().expose(),
        "secret_notion_first"
    );
    assert!(!read.is_revoked());
    assert!(!format!("{read:?}").contains("secret_notion_first"));
    assert!(store.connection("no-such-id").await.unwrap().is_none());

    let row =
        sqlx::query("SELECT notion_token, notion_token_key_id FROM connections WHERE id = $1")
            .bind(&first.id)
            .fetch_one(raw)
            .await
            .unwrap();
    let stored: Vec<u8> = row.try_get("notion_token").unwrap();
    let key_id: i64 = row.try_get("notion_token_key_id").unwrap();
    assert_eq!(key_id, 1);
    assert!(!contains(&stored, b"secret_notion_first"));
    assert_eq!(stored.len(), 24 + "secret_notion_first".len() + 16);

    // A ciphertext copied into another row does not open there.
    let decoy = store
        .create_connection(new_connection("local:abc", "secret_decoy"))
        .await
        .unwrap();
    sqlx::query("UPDATE connections SET notion_token = $1 WHERE id = $2")
        .bind(stored.as_slice())
        .bind(&decoy.id)
        .execute(raw)
        .await
        .unwrap();
    let moved = store.connection(&decoy.id).await;
    assert!(matches!(moved, Err(StoreError::Crypto(_))), "{moved:?}");
    store.revoke_connection(&decoy.id).await.unwrap();

    let live: Vec<String> = store
        .connections_for_account("github:1")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(live.len(), 2);
    assert!(live.contains(&first.id) && live.contains(&second.id));
    (first, second)
}
