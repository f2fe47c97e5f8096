//! Reopened: after the store was closed and opened again, everything the chapters left is
//! still there; and far in the future every code, token and spent step can be purged.

use notion_unfurl::store::{CodeOutcome, RotateOutcome, Store};

use crate::{Facts, PR, PR_CANONICAL, hash, now, raw_pool};

/// After the store was closed and opened again: everything is still there.
pub async fn chapter(store: &Store, url: &str, facts: &Facts) {
    let now = now();
    let account = store.account("github:1").await.unwrap().unwrap();
    assert_eq!(account.name, "GitHub - octo");
    assert_eq!(account.upstream_token.unwrap().expose(), "gho_second");
    let first = store.connection(&facts.first).await.unwrap().unwrap();
    assert_eq!(first.notion_token.unwrap().expose(), "secret_notion_first");
    assert!(store.is_connection_revoked(&facts.second).await.unwrap());
    assert_eq!(
        store.subscriptions_for(PR_CANONICAL).await.unwrap(),
        vec![(facts.first.clone(), PR.to_owned())]
    );
    assert_eq!(
        store
            .consume_auth_code(&facts.spent_code, now)
            .await
            .unwrap(),
        CodeOutcome::Reused {
            connection_id: facts.first.clone()
        }
    );
    assert_eq!(
        store
            .rotate_refresh_token(&facts.revoked_refresh, &hash(), now, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Revoked
    );
    assert_eq!(
        store
            .rotate_refresh_token(&facts.live_refresh, &hash(), now, now + 3600)
            .await
            .unwrap(),
        RotateOutcome::Rotated {
            connection_id: facts.first.clone(),
            family_id: "family-c".to_owned(),
        }
    );

    // A spent step stays spent across the restart.
    assert!(
        !store
            .spend_step(&facts.spent_step, now + 600)
            .await
            .unwrap()
    );

    // Far in the future every code, token and spent step has expired and can go.
    assert!(store.purge_expired(now + 365 * 86_400).await.unwrap() > 0);
    let raw = raw_pool(url).await;
    let spent_steps: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM spent_steps")
        .fetch_one(&raw)
        .await
        .unwrap();
    raw.close().await;
    assert_eq!(spent_steps, 0);
    assert_eq!(
        store
            .consume_auth_code(&facts.spent_code, now)
            .await
            .unwrap(),
        CodeOutcome::Unknown
    );
}
