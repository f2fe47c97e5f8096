//! Refresh tokens: rotation; reuse of a spent one revokes the whole family; expiry; and of
//! concurrent presenters of one token exactly one wins.
//!
//! Returns a token of a revoked family and a live one, to be found again after the store
//! reopens.

use futures_util::future::join_all;
use notion_unfurl::store::{Connection, RotateOutcome};

use crate::{Story, hash};

pub async fn chapter(story: &Story<'_>, first: &Connection) -> ([u8; 32], [u8; 32]) {
    let (store, now) = (story.store, story.now);
    let (r0, r1, r2) = (hash(), hash(), hash());
    store
        .insert_refresh_token(&r0, &first.id, "family-a", now + 3600)
        .await
        .unwrap();
    let rotated = RotateOutcome::Rotated {
        connection_id: first.id.clone(),
        family_id: "family-a".to_owned(),
    };
    assert_eq!(
        store
            .rotate_refresh_token(&r0, &r1, now, now + 3600)
            .await
            .unwrap(),
        rotated
    );
    assert_eq!(
        store
            .rotate_refresh_token(&r1, &r2, now, now + 3600)
            .await
            .unwrap(),
        rotated
    );
    // A live and a spent token both name their connection; unknown or expired ones do not.
    assert_eq!(
        store
            .refresh_token_connection(&r2, now)
            .await
            .unwrap()
            .as_deref(),
        Some(first.id.as_str())
    );
    assert_eq!(
        store
            .refresh_token_connection(&r0, now)
            .await
            .unwrap()
            .as_deref(),
        Some(first.id.as_str())
    );
    assert_eq!(
        store
            .refresh_token_connection(&r2, now + 7200)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.refresh_token_connection(&hash(), now).await.unwrap(),
        None
    );
    let stolen = hash();
    assert_eq!(
        store
            .rotate_refresh_token(&r0, &stolen, now, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Reused {
            family_id: "family-a".to_owned(),
            connection_id: first.id.clone(),
        }
    );
    assert_eq!(
        store
            .rotate_refresh_token(&r2, &hash(), now, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Revoked
    );
    assert_eq!(
        store.refresh_token_connection(&r2, now).await.unwrap(),
        None,
        "a revoked family names nothing"
    );
    assert_eq!(
        store
            .rotate_refresh_token(&r0, &hash(), now, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Revoked
    );
    assert_eq!(
        store
            .rotate_refresh_token(&stolen, &hash(), now, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Unknown,
        "a refused rotation stores no new token"
    );

    let short = hash();
    store
        .insert_refresh_token(&short, &first.id, "family-b", now + 5)
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate_refresh_token(&short, &hash(), now + 5, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Expired
    );
    store.revoke_family("family-b").await.unwrap();
    store.revoke_family("family-b").await.unwrap();
    assert_eq!(
        store
            .rotate_refresh_token(&short, &hash(), now, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Revoked
    );
    assert_eq!(
        store
            .rotate_refresh_token(&hash(), &hash(), now, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Unknown
    );

    // Of concurrent presenters of one refresh token, exactly one wins.
    let raced_refresh = hash();
    store
        .insert_refresh_token(&raced_refresh, &first.id, "family-race", now + 3600)
        .await
        .unwrap();
    let successors: Vec<[u8; 32]> = (0..8).map(|_| hash()).collect();
    let outcomes = join_all(
        successors
            .iter()
            .map(|next| store.rotate_refresh_token(&raced_refresh, next, now, now + 3600)),
    )
    .await;
    let rotated = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(RotateOutcome::Rotated { .. })))
        .count();
    let refused = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(RotateOutcome::Reused { .. } | RotateOutcome::Revoked)))
        .count();
    assert_eq!((rotated, refused), (1, 7), "{outcomes:?}");

    let live_refresh = hash();
    store
        .insert_refresh_token(&live_refresh, &first.id, "family-c", now + 3600)
        .await
        .unwrap();
    (r2, live_refresh)
}
