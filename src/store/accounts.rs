//! Accounts: our side's user identities. Their upstream tokens live in `service_tokens`
//! ([`super::services`]); the account's GitHub token is read from there.

use notion_unfurl_sdk::Secret;
use sqlx::Row;

use super::database::{Result, Store};
use super::services::{GITHUB, IssuedTokens};
use crate::platform::clock::unix_secs;

/// A user identity on our side: `github:<numeric id>` or `local:<random>`.
#[derive(Debug, Clone)]
pub struct Account {
    pub key: String,
    pub name: String,
    /// The GitHub access token, when the account linked one (`service_tokens`, `github`).
    pub upstream_token: Option<Secret>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Store {
    /// Create the account or update its name and GitHub token (kept in `service_tokens`
    /// under `github`). The stored token is exactly `upstream_token`: `None` removes a
    /// previous one. Other services' tokens are left alone.
    pub async fn upsert_account(
        &self,
        key: &str,
        name: &str,
        upstream_token: Option<&Secret>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO accounts (key, name, created_at, updated_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (key) DO UPDATE SET \
                 name = excluded.name, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(name)
        .bind(unix_secs())
        .execute(&mut *tx)
        .await?;
        match upstream_token {
            Some(token) => {
                let issued = IssuedTokens {
                    access_token: token,
                    refresh_token: None,
                    expires_at: None,
                };
                self.put_service_token_on(&mut tx, key, GITHUB, &issued)
                    .await?;
            }
            None => {
                sqlx::query("DELETE FROM service_tokens WHERE account_key = $1 AND service = $2")
                    .bind(key)
                    .bind(GITHUB)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether the account `key` exists (no token is opened).
    pub async fn account_exists(&self, key: &str) -> Result<bool> {
        let found: Option<String> = sqlx::query_scalar("SELECT key FROM accounts WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    /// The account, with its GitHub token when it linked one.
    pub async fn account(&self, key: &str) -> Result<Option<Account>> {
        let row =
            sqlx::query("SELECT key, name, created_at, updated_at FROM accounts WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let key: String = row.try_get("key")?;
        let upstream_token = self
            .service_token(&key, GITHUB)
            .await?
            .map(|t| t.access_token);
        Ok(Some(Account {
            key,
            name: row.try_get("name")?,
            upstream_token,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        }))
    }
}
