//! Revoking a connection: its tokens stop working, its subscriptions go (deleted, not
//! hidden), its Notion token is erased, and doing it again changes nothing. The account
//! and its upstream token stay: they belong to other connections too.
//!
//! Starts from the subscriptions chapter; revokes `second`.

use notion_unfurl::store::{CodeOutcome, Connection, RotateOutcome, StoreError};
use sqlx::Row;

use crate::{CLIENT, PR, PR_CANONICAL, REDIRECT, Story, hash};

pub async fn chapter(story: &Story<'_>, first: &Connection, second: &Connection) {
    let (store, raw, now) = (story.store, &story.raw, story.now);
    let pending_code = hash();
    store
        .insert_auth_code(&pending_code, &second.id, CLIENT, REDIRECT, now + 600)
        .await
        .unwrap();
    let second_refresh = hash();
    store
        .insert_refresh_token(&second_refresh, &second.id, "family-d", now + 3600)
        .await
        .unwrap();
    assert!(!store.is_connection_revoked(&second.id).await.unwrap());

    store.revoke_connection(&second.id).await.unwrap();
    let revoked = store.connection(&second.id).await.unwrap().unwrap();
    let revoked_at = revoked.revoked_at.unwrap();
    assert!(revoked.notion_token.is_none());
    assert!(store.is_connection_revoked(&second.id).await.unwrap());
    assert!(!store.is_connection_revoked(&first.id).await.unwrap());
    assert!(store.is_connection_revoked("no-such-id").await.unwrap());
    assert_eq!(
        store
            .rotate_refresh_token(&second_refresh, &hash(), now, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Revoked
    );
    assert_eq!(
        store.consume_auth_code(&pending_code, now).await.unwrap(),
        CodeOutcome::Unknown
    );
    let late_code = store
        .insert_auth_code(&hash(), &second.id, CLIENT, REDIRECT, now + 600)
        .await;
    assert!(matches!(late_code, Err(StoreError::ConnectionRevoked)));
    let late_refresh = store
        .insert_refresh_token(&hash(), &second.id, "family-e", now + 3600)
        .await;
    assert!(matches!(late_refresh, Err(StoreError::ConnectionRevoked)));
    store.subscribe(&second.id, PR, PR_CANONICAL).await.unwrap();
    assert_eq!(
        store.subscriptions_for(PR_CANONICAL).await.unwrap(),
        vec![(first.id.clone(), PR.to_owned())]
    );
    let left: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM subscriptions WHERE connection_id = $1")
            .bind(&second.id)
            .fetch_one(raw)
            .await
            .unwrap();
    assert_eq!(left, 0, "subscriptions are deleted, not merely hidden");
    let row = sqlx::query("SELECT notion_token FROM connections WHERE id = $1")
        .bind(&second.id)
        .fetch_one(raw)
        .await
        .unwrap();
    assert!(
        row.try_get::<Option<Vec<u8>>, _>("notion_token")
            .unwrap()
            .is_none()
    );

    store.revoke_connection(&second.id).await.unwrap();
    store.revoke_connection("no-such-id").await.unwrap();
    let again = store.connection(&second.id).await.unwrap().unwrap();
    assert_eq!(again.revoked_at, Some(revoked_at));
    let live = store.connections_for_account("github:1").await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, first.id);
    // The account and its upstream token belong to other connections too.
    assert!(
        store
            .account("github:1")
            .await
            .unwrap()
            .unwrap()
            .upstream_token
            .is_some()
    );
}
