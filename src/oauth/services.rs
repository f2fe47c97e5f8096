//! The upstream services an account linked, as the unfurl path needs them: every token,
//! each refreshed first when it is about to run out (the refresh token rotated when the
//! service issues a new one), and linking a new one after the browser came back.

use std::collections::BTreeMap;

use notion_unfurl_sdk::{Account, Secret};

use crate::clients::services::{ServiceError, ServiceLogins, Tokens};
use crate::platform::clock::unix_secs;
use crate::store::{GITHUB, IssuedTokens, ServiceToken, Store, StoreError};

/// A token running out within this many seconds is refreshed before use. Longer than a
/// connection stays cached ([`super::connections::CONNECTION_TTL`]), so a cached account
/// never holds a token that ran out while cached.
pub const REFRESH_MARGIN_SECS: i64 = 120;

/// The account `key` with the tokens of every service it linked: GitHub's as its upstream
/// token, a declared service's in `services` (refreshed when about to run out). A service
/// no provider file declares any more is left out.
pub async fn account_with_services(
    store: &Store,
    logins: &ServiceLogins,
    key: &str,
) -> Result<Account, StoreError> {
    let mut upstream = None;
    let mut services = BTreeMap::new();
    for token in store.service_tokens(key).await? {
        if token.service == GITHUB {
            upstream = Some(token.access_token);
            continue;
        }
        if logins.get(&token.service).is_none() {
            continue;
        }
        let service = token.service.clone();
        if let Some(access) = fresh(store, logins, key, token).await? {
            services.insert(service, access);
        }
    }
    let mut account = Account::new(key, upstream);
    account.services = services;
    Ok(account)
}

/// `token`'s access token, refreshed first when it is about to run out and a refresh
/// token is at hand; `None` when the service refused the refresh token (the link is gone:
/// the preview asks the user to connect again).
async fn fresh(
    store: &Store,
    logins: &ServiceLogins,
    key: &str,
    token: ServiceToken,
) -> Result<Option<Secret>, StoreError> {
    let (Some(expires_at), Some(refresh), Some(login)) = (
        token.expires_at,
        &token.refresh_token,
        logins.get(&token.service),
    ) else {
        return Ok(Some(token.access_token));
    };
    if expires_at > unix_secs() + REFRESH_MARGIN_SECS {
        return Ok(Some(token.access_token));
    }
    match login.refresh(refresh).await {
        Ok(tokens) => {
            save(store, key, &token.service, &tokens).await?;
            tracing::info!(service = %token.service, "refreshed a service token");
            Ok(Some(tokens.access_token))
        }
        Err(ServiceError::Refused { reason, .. }) => {
            // Another server sharing the database may have rotated it a moment ago: its
            // new row is the one to use, not a reason to forget the link.
            if let Some(now) = store.service_token(key, &token.service).await?
                && now.updated_at != token.updated_at
            {
                return Ok(Some(now.access_token));
            }
            tracing::warn!(service = %token.service, %reason, "a service refused a refresh token: the account must link it again");
            store.delete_service_token(key, &token.service).await?;
            Ok(None)
        }
        Err(e) => {
            // Unreachable now: the old token may still work until it runs out.
            tracing::warn!(service = %token.service, error = %e, "could not refresh a service token");
            Ok(Some(token.access_token))
        }
    }
}

/// Store tokens a service issued for the account `key`.
pub async fn save(
    store: &Store,
    key: &str,
    service: &str,
    tokens: &Tokens,
) -> Result<(), StoreError> {
    store
        .put_service_token(
            key,
            service,
            IssuedTokens {
                access_token: &tokens.access_token,
                refresh_token: tokens.refresh_token.as_ref(),
                expires_at: tokens.expires_at,
            },
        )
        .await
}
