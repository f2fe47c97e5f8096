//! Authorisation codes: single use, expiry, nothing for a missing connection, and of
//! concurrent presenters of one code exactly one wins. A connection with no code minted for
//! it reads as unfinished; one with a code, or a revoked one, never does.
//!
//! Returns the code it spent, which must still read as spent after the store reopens.

use futures_util::future::join_all;
use notion_unfurl::store::{CodeOutcome, Connection, StoreError};

use crate::{CLIENT, REDIRECT, Story, hash};

pub async fn chapter(story: &Story<'_>, first: &Connection, second: &Connection) -> [u8; 32] {
    let (store, now) = (story.store, story.now);
    let spent_code = hash();
    store
        .insert_auth_code(&spent_code, &first.id, CLIENT, REDIRECT, now + 600)
        .await
        .unwrap();
    assert_eq!(
        store.consume_auth_code(&spent_code, now).await.unwrap(),
        CodeOutcome::Fresh {
            connection_id: first.id.clone(),
            client_id: CLIENT.to_owned(),
            redirect_uri: REDIRECT.to_owned(),
        }
    );
    assert_eq!(
        store.consume_auth_code(&spent_code, now + 1).await.unwrap(),
        CodeOutcome::Reused {
            connection_id: first.id.clone()
        }
    );
    let short_code = hash();
    store
        .insert_auth_code(&short_code, &first.id, CLIENT, REDIRECT, now + 10)
        .await
        .unwrap();
    assert_eq!(
        store
            .consume_auth_code(&short_code, now + 10)
            .await
            .unwrap(),
        CodeOutcome::Expired
    );
    assert_eq!(
        store.consume_auth_code(&hash(), now).await.unwrap(),
        CodeOutcome::Unknown
    );
    let orphan = store
        .insert_auth_code(&hash(), "no-such-id", CLIENT, REDIRECT, now + 600)
        .await;
    assert!(
        matches!(orphan, Err(StoreError::ConnectionRevoked)),
        "{orphan:?}"
    );

    // Of concurrent presenters of one code, exactly one wins.
    let raced_code = hash();
    store
        .insert_auth_code(&raced_code, &first.id, CLIENT, REDIRECT, now + 600)
        .await
        .unwrap();
    let outcomes = join_all((0..8).map(|_| store.consume_auth_code(&raced_code, now))).await;
    let fresh = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(CodeOutcome::Fresh { .. })))
        .count();
    let reused = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(CodeOutcome::Reused { .. })))
        .count();
    assert_eq!((fresh, reused), (1, 7), "{outcomes:?}");

    // `first` has codes, `second` none, the decoy of `local:abc` is revoked; the window is
    // by creation time.
    let unfinished = store
        .unfinished_connections(first.created_at - 60, first.created_at + 60)
        .await
        .unwrap();
    assert!(unfinished.contains(&second.id), "{unfinished:?}");
    assert!(!unfinished.contains(&first.id), "{unfinished:?}");
    for id in &unfinished {
        assert!(!store.connection(id).await.unwrap().unwrap().is_revoked());
    }
    let later = store
        .unfinished_connections(first.created_at + 60, first.created_at + 120)
        .await
        .unwrap();
    assert!(later.is_empty(), "{later:?}");
    spent_code
}
