//! Accounts: the key is stable, the name and the upstream token follow the latest sign-in,
//! and the token is sealed in its column; the tokens of other services an account linked
//! are kept per (account, service), sealed too.

use notion_unfurl::store::{IssuedTokens, Store, StoreError};
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
    // GitHub's token is a service token like any other, sealed in its row.
    let row = sqlx::query(
        "SELECT access_token FROM service_tokens WHERE account_key = $1 AND service = 'github'",
    )
    .bind("github:1")
    .fetch_one(raw)
    .await
    .unwrap();
    let stored: Vec<u8> = row.try_get("access_token").unwrap();
    assert!(!stored.is_empty() && !contains(&stored, b"gho_second"));

    store
        .upsert_account("local:abc", "Local", None)
        .await
        .unwrap();
    let local = store.account("local:abc").await.unwrap().unwrap();
    assert!(local.upstream_token.is_none());
    assert!(store.account("github:404").await.unwrap().is_none());

    services(store, raw).await;
}

/// Other services' tokens: per (account, service), sealed, replaced whole on a refresh,
/// left alone by a GitHub sign-in, and dropped together.
async fn services(store: &Store, raw: &sqlx::AnyPool) {
    let issued = |access: &'static str, refresh: Option<&'static str>, expires_at| {
        (Secret::new(access), refresh.map(Secret::new), expires_at)
    };
    let put = |account: &'static str,
               service: &'static str,
               t: (Secret, Option<Secret>, Option<i64>)| async move {
        store
            .put_service_token(
                account,
                service,
                IssuedTokens {
                    access_token: &t.0,
                    refresh_token: t.1.as_ref(),
                    expires_at: t.2,
                },
            )
            .await
            .unwrap();
    };
    put(
        "github:1",
        "gitlab",
        issued("glpat-first", Some("glrt-first"), Some(1_000)),
    )
    .await;
    let tokens = store.service_tokens("github:1").await.unwrap();
    let names: Vec<&str> = tokens.iter().map(|t| t.service.as_str()).collect();
    assert_eq!(names, ["github", "gitlab"]);
    let gitlab = &tokens[1];
    assert_eq!(gitlab.access_token.expose(), "glpat-first");
    assert_eq!(
        gitlab.refresh_token.as_ref().unwrap().expose(),
        "glrt-first"
    );
    assert_eq!(gitlab.expires_at, Some(1_000));
    for query in [
        "SELECT access_token FROM service_tokens WHERE account_key = 'github:1' AND service = 'gitlab'",
        "SELECT refresh_token FROM service_tokens WHERE account_key = 'github:1' AND service = 'gitlab'",
    ] {
        let stored: Vec<u8> = sqlx::query_scalar(query).fetch_one(raw).await.unwrap();
        assert!(!contains(&stored, b"glpat-first") && !contains(&stored, b"glrt-first"));
    }
    // A sealed token moved to another row does not open there.
    sqlx::query(
        "UPDATE service_tokens SET access_token = \
             (SELECT access_token FROM service_tokens WHERE account_key = 'github:1' AND service = 'gitlab') \
         WHERE account_key = 'github:1' AND service = 'github'",
    )
    .execute(raw)
    .await
    .unwrap();
    assert!(matches!(
        store.service_tokens("github:1").await,
        Err(StoreError::Crypto(_))
    ));
    store
        .upsert_account(
            "github:1",
            "GitHub - octo",
            Some(&Secret::new("gho_second")),
        )
        .await
        .unwrap();

    // A refresh replaces the row whole (rotated refresh token, new expiry).
    put(
        "github:1",
        "gitlab",
        issued("glpat-second", Some("glrt-second"), Some(2_000)),
    )
    .await;
    let gitlab = store
        .service_token("github:1", "gitlab")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gitlab.access_token.expose(), "glpat-second");
    assert_eq!(gitlab.refresh_token.unwrap().expose(), "glrt-second");
    assert_eq!(gitlab.expires_at, Some(2_000));
    // Signing in with GitHub again changes GitHub's token only.
    store
        .upsert_account("github:1", "GitHub - octo", Some(&Secret::new("gho_third")))
        .await
        .unwrap();
    assert!(
        store
            .service_token("github:1", "gitlab")
            .await
            .unwrap()
            .is_some()
    );
    // Another account's links are its own.
    store
        .upsert_account("github:2", "GitHub - two", None)
        .await
        .unwrap();
    put("github:2", "gitlab", issued("glpat-two", None, None)).await;
    store
        .delete_service_token("github:2", "gitlab")
        .await
        .unwrap();
    assert!(store.service_tokens("github:2").await.unwrap().is_empty());
    assert_eq!(store.service_tokens("github:1").await.unwrap().len(), 2);
    // What the rest of the story expects: github:1 with its GitHub token only.
    store
        .delete_service_token("github:1", "gitlab")
        .await
        .unwrap();
    assert_eq!(
        store
            .account("github:1")
            .await
            .unwrap()
            .unwrap()
            .upstream_token
            .unwrap()
            .expose(),
        "gho_third"
    );
    store
        .upsert_account(
            "github:1",
            "GitHub - octo",
            Some(&Secret::new("gho_second")),
        )
        .await
        .unwrap();
}
