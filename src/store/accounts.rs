//! Accounts: our side's user identities, each with its upstream token sealed to its row.

use notion_unfurl_sdk::Secret;
use sqlx::Row;

use super::database::{Result, Store};
use crate::platform::clock::unix_secs;

const ACCOUNT_TOKEN: &str = "accounts.upstream_token";

/// A user identity on our side: `github:<numeric id>` or `local:<random>`.
#[derive(Debug, Clone)]
pub struct Account {
    pub key: String,
    pub name: String,
    /// The upstream (GitHub) access token, when the account linked one.
    pub upstream_token: Option<Secret>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Store {
    /// Create the account or update its name and upstream token. The stored token is
    /// exactly `upstream_token`: `None` removes a previous one.
    pub async fn upsert_account(
        &self,
        key: &str,
        name: &str,
        upstream_token: Option<&Secret>,
    ) -> Result<()> {
        let sealed = upstream_token
            .map(|token| self.seal(token, ACCOUNT_TOKEN, key))
            .transpose()?;
        sqlx::query(
            "INSERT INTO accounts \
                 (key, name, upstream_token, upstream_token_key_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) \
             ON CONFLICT (key) DO UPDATE SET \
                 name = excluded.name, \
                 upstream_token = excluded.upstream_token, \
                 upstream_token_key_id = excluded.upstream_token_key_id, \
                 updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(name)
        .bind(sealed.as_ref().map(|s| s.bytes.as_slice()))
        .bind(sealed.as_ref().map(|s| i16::from(s.key_id)))
        .bind(unix_secs())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn account(&self, key: &str) -> Result<Option<Account>> {
        let row = sqlx::query(
            "SELECT key, name, upstream_token, upstream_token_key_id, created_at, updated_at \
             FROM accounts WHERE key = $1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let key: String = row.try_get("key")?;
        let upstream_token = self.open_sealed(
            row.try_get("upstream_token")?,
            row.try_get("upstream_token_key_id")?,
            ACCOUNT_TOKEN,
            &key,
        )?;
        Ok(Some(Account {
            key,
            name: row.try_get("name")?,
            upstream_token,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        }))
    }
}
