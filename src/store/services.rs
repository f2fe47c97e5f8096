//! Service tokens: the tokens of the upstream services each account linked, one row per
//! (account, service), sealed like every other token. GitHub's (from sign-in) lives here
//! under the service `github`; [`Store::move_account_tokens`] moves the ones an older
//! version kept on the account row.

use notion_unfurl_sdk::Secret;
use sqlx::Row;

use super::database::{Result, Store, StoreError};
use crate::platform::clock::unix_secs;

const ACCESS: &str = "service_tokens.access_token";
const REFRESH: &str = "service_tokens.refresh_token";
/// Where an older version sealed the GitHub token (see `accounts`).
const LEGACY: &str = "accounts.upstream_token";

/// The service GitHub sign-in links.
pub const GITHUB: &str = "github";

/// One linked service's tokens.
#[derive(Debug, Clone)]
pub struct ServiceToken {
    pub service: String,
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    /// When the access token runs out (unix seconds), if the service said.
    pub expires_at: Option<i64>,
    pub updated_at: i64,
}

/// Tokens a service just issued.
#[derive(Debug, Clone)]
pub struct IssuedTokens<'a> {
    pub access_token: &'a Secret,
    pub refresh_token: Option<&'a Secret>,
    pub expires_at: Option<i64>,
}

/// The associated data's row part: service ids hold no `@`.
fn row(account: &str, service: &str) -> String {
    format!("{service}@{account}")
}

impl Store {
    /// Store (or replace) `account`'s tokens for `service`. The account must exist.
    pub async fn put_service_token(
        &self,
        account: &str,
        service: &str,
        tokens: IssuedTokens<'_>,
    ) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        self.put_service_token_on(&mut conn, account, service, &tokens)
            .await
    }

    pub(super) async fn put_service_token_on(
        &self,
        conn: &mut sqlx::AnyConnection,
        account: &str,
        service: &str,
        tokens: &IssuedTokens<'_>,
    ) -> Result<()> {
        let row_key = row(account, service);
        let access = self.seal(tokens.access_token, ACCESS, &row_key)?;
        let refresh = tokens
            .refresh_token
            .map(|t| self.seal(t, REFRESH, &row_key))
            .transpose()?;
        sqlx::query(
            "INSERT INTO service_tokens \
                 (account_key, service, access_token, access_token_key_id, refresh_token, \
                  refresh_token_key_id, expires_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
             ON CONFLICT (account_key, service) DO UPDATE SET \
                 access_token = excluded.access_token, \
                 access_token_key_id = excluded.access_token_key_id, \
                 refresh_token = excluded.refresh_token, \
                 refresh_token_key_id = excluded.refresh_token_key_id, \
                 expires_at = excluded.expires_at, \
                 updated_at = excluded.updated_at",
        )
        .bind(account)
        .bind(service)
        .bind(access.bytes.as_slice())
        .bind(i16::from(access.key_id))
        .bind(refresh.as_ref().map(|s| s.bytes.as_slice()))
        .bind(refresh.as_ref().map(|s| i16::from(s.key_id)))
        .bind(tokens.expires_at)
        .bind(unix_secs())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Every service `account` linked, by service id.
    pub async fn service_tokens(&self, account: &str) -> Result<Vec<ServiceToken>> {
        self.tokens_of(account, None).await
    }

    /// `account`'s tokens, of `service` only when given; only those rows are opened.
    async fn tokens_of(&self, account: &str, service: Option<&str>) -> Result<Vec<ServiceToken>> {
        let rows = sqlx::query(
            "SELECT service, access_token, access_token_key_id, refresh_token, \
                    refresh_token_key_id, expires_at, updated_at \
             FROM service_tokens \
             WHERE account_key = $1 AND (CAST($2 AS TEXT) IS NULL OR service = $2) \
             ORDER BY service",
        )
        .bind(account)
        .bind(service)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let service: String = r.try_get("service")?;
                let row_key = row(account, &service);
                let access_token = self
                    .open_sealed(
                        r.try_get("access_token")?,
                        r.try_get("access_token_key_id")?,
                        ACCESS,
                        &row_key,
                    )?
                    .ok_or(StoreError::Corrupt(ACCESS))?;
                let refresh_token = self.open_sealed(
                    r.try_get("refresh_token")?,
                    r.try_get("refresh_token_key_id")?,
                    REFRESH,
                    &row_key,
                )?;
                Ok(ServiceToken {
                    service,
                    access_token,
                    refresh_token,
                    expires_at: r.try_get("expires_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// `account`'s tokens for `service`, if it linked it.
    pub async fn service_token(
        &self,
        account: &str,
        service: &str,
    ) -> Result<Option<ServiceToken>> {
        Ok(self.tokens_of(account, Some(service)).await?.pop())
    }

    /// Forget `account`'s link to `service` (a refresh token the service refused).
    pub async fn delete_service_token(&self, account: &str, service: &str) -> Result<()> {
        sqlx::query("DELETE FROM service_tokens WHERE account_key = $1 AND service = $2")
            .bind(account)
            .bind(service)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forget every service `account` linked; how many there were.
    pub async fn delete_service_tokens(&self, account: &str) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM service_tokens WHERE account_key = $1")
                .bind(account)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// Move the GitHub tokens an older version kept in `accounts.upstream_token` to
    /// `service_tokens`, each opened and sealed again for its new row, in one transaction
    /// per account; how many moved. Run at every start (a no-op once done). A token that
    /// cannot be opened (its key is gone) is left where it is and logged: nothing could use
    /// it anyway.
    pub async fn move_account_tokens(&self) -> Result<usize> {
        let rows = sqlx::query(
            "SELECT key, upstream_token, upstream_token_key_id FROM accounts \
             WHERE upstream_token IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut moved = 0;
        for r in rows {
            let key: String = r.try_get("key")?;
            let token = match self.open_sealed(
                r.try_get("upstream_token")?,
                r.try_get("upstream_token_key_id")?,
                LEGACY,
                &key,
            ) {
                Ok(Some(token)) => token,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(account = %key, error = %e, "an account's GitHub token cannot be opened; left in place");
                    continue;
                }
            };
            let mut tx = self.pool.begin().await?;
            // A token linked since (by a newer server) wins over the old one.
            let newer: Option<String> = sqlx::query_scalar(
                "SELECT service FROM service_tokens WHERE account_key = $1 AND service = $2",
            )
            .bind(&key)
            .bind(GITHUB)
            .fetch_optional(&mut *tx)
            .await?;
            if newer.is_none() {
                let issued = IssuedTokens {
                    access_token: &token,
                    refresh_token: None,
                    expires_at: None,
                };
                self.put_service_token_on(&mut tx, &key, GITHUB, &issued)
                    .await?;
            }
            sqlx::query(
                "UPDATE accounts SET upstream_token = NULL, upstream_token_key_id = NULL \
                 WHERE key = $1",
            )
            .bind(&key)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            moved += 1;
        }
        if moved > 0 {
            tracing::info!(
                accounts = moved,
                "moved GitHub tokens from accounts to service_tokens"
            );
        }
        Ok(moved)
    }
}
