//! Connections: one Notion authorisation of an account each, with Notion's token sealed to
//! its row; revocation, and what other instances learn of it.

use notion_unfurl_sdk::Secret;
use sqlx::Row;
use sqlx::any::AnyRow;
use sqlx::error::ErrorKind;

use super::database::{Result, Store, StoreError};
use crate::platform::clock::unix_secs;
use crate::platform::crypto::random_id;

const CONNECTION_TOKEN: &str = "connections.notion_token";

/// What Notion's token exchange returned, to be stored as a [`Connection`].
#[derive(Debug, Clone)]
pub struct NewConnection {
    pub account_key: String,
    pub bot_id: String,
    pub workspace_id: String,
    pub workspace_name: Option<String>,
    pub workspace_icon: Option<String>,
    /// `None` for a connection made without Notion (`token issue` for local testing).
    pub notion_token: Option<Secret>,
}

#[cfg(any(test, feature = "testing"))]
impl NewConnection {
    /// A connection of `account` to the bot `bot` of workspace `ws`, holding the Notion
    /// token `secret_notion` (tests).
    pub fn notion(account: &str) -> Self {
        Self {
            account_key: account.to_owned(),
            bot_id: "bot".into(),
            workspace_id: "ws".into(),
            workspace_name: None,
            workspace_icon: None,
            notion_token: Some(Secret::new("secret_notion")),
        }
    }
}

/// One Notion authorisation of an account; our access tokens are issued per connection.
#[derive(Debug, Clone)]
pub struct Connection {
    pub id: String,
    pub account_key: String,
    pub bot_id: String,
    pub workspace_id: String,
    pub workspace_name: Option<String>,
    pub workspace_icon: Option<String>,
    /// `None` once the connection is revoked: revocation deletes the ciphertext.
    pub notion_token: Option<Secret>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl Connection {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

impl Store {
    /// Store a new connection under a fresh random id (128 bits, hex).
    pub async fn create_connection(&self, new: NewConnection) -> Result<Connection> {
        let id = random_id();
        let sealed = match &new.notion_token {
            Some(token) => Some(self.seal(token, CONNECTION_TOKEN, &id)?),
            None => None,
        };
        let created_at = unix_secs();
        let inserted = sqlx::query(
            "INSERT INTO connections \
                 (id, account_key, bot_id, workspace_id, workspace_name, workspace_icon, \
                  notion_token, notion_token_key_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(&new.account_key)
        .bind(&new.bot_id)
        .bind(&new.workspace_id)
        .bind(new.workspace_name.as_deref())
        .bind(new.workspace_icon.as_deref())
        .bind(sealed.as_ref().map(|s| s.bytes.as_slice()))
        .bind(sealed.as_ref().map(|s| i16::from(s.key_id)))
        .bind(created_at)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.kind() == ErrorKind::ForeignKeyViolation => {
                return Err(StoreError::UnknownAccount);
            }
            Err(e) => return Err(e.into()),
        }
        Ok(Connection {
            id,
            account_key: new.account_key,
            bot_id: new.bot_id,
            workspace_id: new.workspace_id,
            workspace_name: new.workspace_name,
            workspace_icon: new.workspace_icon,
            notion_token: new.notion_token,
            created_at,
            revoked_at: None,
        })
    }

    fn connection_from_row(&self, row: &AnyRow) -> Result<Connection> {
        let id: String = row.try_get("id")?;
        let notion_token = self.open_sealed(
            row.try_get("notion_token")?,
            row.try_get("notion_token_key_id")?,
            CONNECTION_TOKEN,
            &id,
        )?;
        Ok(Connection {
            id,
            account_key: row.try_get("account_key")?,
            bot_id: row.try_get("bot_id")?,
            workspace_id: row.try_get("workspace_id")?,
            workspace_name: row.try_get("workspace_name")?,
            workspace_icon: row.try_get("workspace_icon")?,
            notion_token,
            created_at: row.try_get("created_at")?,
            revoked_at: row.try_get("revoked_at")?,
        })
    }

    /// The connection with this id, revoked or not, with its Notion token opened.
    pub async fn connection(&self, id: &str) -> Result<Option<Connection>> {
        let row = sqlx::query(
            "SELECT id, account_key, bot_id, workspace_id, workspace_name, workspace_icon, \
                    notion_token, notion_token_key_id, created_at, revoked_at \
             FROM connections WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| self.connection_from_row(&row)).transpose()
    }

    /// The account's connections that are not revoked, newest first.
    pub async fn connections_for_account(&self, account_key: &str) -> Result<Vec<Connection>> {
        let rows = sqlx::query(
            "SELECT id, account_key, bot_id, workspace_id, workspace_name, workspace_icon, \
                    notion_token, notion_token_key_id, created_at, revoked_at \
             FROM connections WHERE account_key = $1 AND revoked_at IS NULL \
             ORDER BY created_at DESC, id",
        )
        .bind(account_key)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| self.connection_from_row(row))
            .collect()
    }

    /// Connections made between `created_after` and `created_before` (unix seconds), not
    /// revoked, made through Notion (with a Notion token: `token issue` makes local ones
    /// without), for which no authorisation code was ever minted: the user stopped on the
    /// way (on the page to link other services, say) and Notion never got our code.
    /// Codes stay in the database for a day past their expiry, so within a day of its
    /// creation a connection without one is surely unfinished.
    pub async fn unfinished_connections(
        &self,
        created_after: i64,
        created_before: i64,
    ) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT c.id FROM connections c \
             WHERE c.revoked_at IS NULL AND c.notion_token IS NOT NULL \
               AND c.created_at > $1 AND c.created_at < $2 \
               AND NOT EXISTS (SELECT a.connection_id FROM auth_codes a \
                               WHERE a.connection_id = c.id) \
             ORDER BY c.created_at LIMIT 1000",
        )
        .bind(created_after)
        .bind(created_before)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok(row.try_get("id")?)).collect()
    }

    /// Revoke a connection: mark it revoked, delete its Notion token, revoke its refresh
    /// tokens, and delete its authorisation codes, subscriptions and pending updates. The
    /// account and its upstream token stay: other connections may use them. Idempotent; an
    /// unknown id is not an error.
    pub async fn revoke_connection(&self, id: &str) -> Result<()> {
        let now = unix_secs();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE connections SET revoked_at = COALESCE(revoked_at, $2), \
                 notion_token = NULL, notion_token_key_id = NULL \
             WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $2 \
             WHERE connection_id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for delete in [
            "DELETE FROM auth_codes WHERE connection_id = $1",
            "DELETE FROM subscriptions WHERE connection_id = $1",
            "DELETE FROM outbox WHERE connection_id = $1",
        ] {
            sqlx::query(delete).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ids of the connections revoked at or after `since` (unix seconds), by any instance.
    pub async fn revoked_since(&self, since: i64) -> Result<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM connections WHERE revoked_at >= $1")
                .bind(since)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Whether access tokens for this connection must be refused: it is revoked, or it
    /// does not exist.
    #[cfg(any(test, feature = "testing"))]
    pub async fn is_connection_revoked(&self, id: &str) -> Result<bool> {
        let revoked_at: Option<Option<i64>> =
            sqlx::query_scalar("SELECT revoked_at FROM connections WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(!matches!(revoked_at, Some(None)))
    }
}
