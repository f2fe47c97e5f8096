//! Subscriptions: idempotent, and every form of one resource is found by its canonical uri.
//!
//! Ends with `first` subscribed to [`PR`] and `https://example.com/`, and `second` to
//! [`PR`].

use notion_unfurl::store::Connection;

use crate::{PR, PR_CANONICAL, PR_FILES, Story};

pub async fn chapter(story: &Story<'_>, first: &Connection, second: &Connection) {
    let store = story.store;
    for _ in 0..2 {
        store.subscribe(&first.id, PR, PR_CANONICAL).await.unwrap();
        store
            .subscribe(&first.id, PR_FILES, PR_CANONICAL)
            .await
            .unwrap();
        store.subscribe(&second.id, PR, PR_CANONICAL).await.unwrap();
    }
    store
        .subscribe(&first.id, "https://example.com/", "https://example.com/")
        .await
        .unwrap();
    let mut expected = vec![
        (first.id.clone(), PR.to_owned()),
        (first.id.clone(), PR_FILES.to_owned()),
        (second.id.clone(), PR.to_owned()),
    ];
    expected.sort();
    let mut found = store.subscriptions_for(PR_CANONICAL).await.unwrap();
    found.sort();
    assert_eq!(found, expected);
    store.unsubscribe(&first.id, PR_FILES).await.unwrap();
    store.unsubscribe(&first.id, PR_FILES).await.unwrap();
    expected.retain(|(_, uri)| uri != PR_FILES);
    let mut found = store.subscriptions_for(PR_CANONICAL).await.unwrap();
    found.sort();
    assert_eq!(found, expected);
    assert!(
        store
            .subscriptions_for("github:none")
            .await
            .unwrap()
            .is_empty()
    );
    // Prefix lookups (a push, a repository's visibility change) find each canonical form
    // that starts with the prefix once, and read `_` and `%` as themselves.
    assert_eq!(
        store
            .canonical_uris_under("github:octo/repo/")
            .await
            .unwrap(),
        [PR_CANONICAL]
    );
    for other in [
        "github:octo/rep_/",
        "github:octo/%",
        "github:octo/repo/pull/7/",
    ] {
        assert!(
            store.canonical_uris_under(other).await.unwrap().is_empty(),
            "{other}"
        );
    }
    // Exact lookups among many forms (a commit's abbreviations): those subscribed to,
    // once each, whatever the order and repetitions asked.
    let mut asked: Vec<String> = (0..450).map(|n| format!("github:none/{n}")).collect();
    asked.insert(210, PR_CANONICAL.to_owned());
    asked.push(PR_CANONICAL.to_owned());
    asked.push("https://example.com/".to_owned());
    assert_eq!(
        store.subscribed_among(&asked).await.unwrap(),
        [PR_CANONICAL, "https://example.com/"]
    );
    assert!(store.subscribed_among(&[]).await.unwrap().is_empty());
}
