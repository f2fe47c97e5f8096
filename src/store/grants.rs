//! Our authorisation codes and refresh tokens (stored as hashes only), and the spent
//! sign-in steps. Single use is one conditional `UPDATE`, so of two concurrent requests
//! exactly one wins.

use sqlx::{Any, Row, Transaction};

use super::database::{Result, Store, StoreError};

/// What presenting an authorisation code did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeOutcome {
    /// First use: the code is now spent.
    Fresh {
        connection_id: String,
        client_id: String,
        redirect_uri: String,
    },
    /// Already spent: someone replays it, so what it issued should be revoked.
    Reused {
        connection_id: String,
    },
    Unknown,
    Expired,
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The old token is spent and the new one is stored in the same family.
    Rotated {
        connection_id: String,
        family_id: String,
    },
    /// The token was already spent: its whole family has just been revoked.
    Reused {
        family_id: String,
        connection_id: String,
    },
    Unknown,
    Expired,
    /// Its family or its connection was revoked earlier.
    Revoked,
}

impl Store {
    /// Store a code (by its hash) bound to its connection, client and redirect URI. Refused
    /// with [`StoreError::ConnectionRevoked`] when the connection is revoked or unknown.
    pub async fn insert_auth_code(
        &self,
        code_hash: &[u8; 32],
        connection_id: &str,
        client_id: &str,
        redirect_uri: &str,
        expires_at: i64,
    ) -> Result<()> {
        let inserted = sqlx::query(
            "INSERT INTO auth_codes (code_hash, connection_id, client_id, redirect_uri, expires_at) \
             SELECT $1, $2, $3, $4, $5 \
             WHERE EXISTS (SELECT 1 FROM connections WHERE id = $2 AND revoked_at IS NULL)",
        )
        .bind(code_hash.as_slice())
        .bind(connection_id)
        .bind(client_id)
        .bind(redirect_uri)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::ConnectionRevoked);
        }
        Ok(())
    }

    /// Spend a code. Exactly one caller ever gets [`CodeOutcome::Fresh`] for a code; a
    /// spent code is [`CodeOutcome::Reused`] even after it expired, since a replay is worth
    /// knowing about either way.
    pub async fn consume_auth_code(&self, code_hash: &[u8; 32], now: i64) -> Result<CodeOutcome> {
        let mut tx = self.pool.begin().await?;
        // The write comes first in the transaction: SQLite then takes its write lock before
        // reading, so a concurrent writer makes us wait instead of failing with a stale
        // snapshot.
        let spent = sqlx::query(
            "UPDATE auth_codes SET used_at = $2 \
             WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2 \
             RETURNING connection_id, client_id, redirect_uri",
        )
        .bind(code_hash.as_slice())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = if let Some(row) = spent {
            CodeOutcome::Fresh {
                connection_id: row.try_get("connection_id")?,
                client_id: row.try_get("client_id")?,
                redirect_uri: row.try_get("redirect_uri")?,
            }
        } else {
            let row =
                sqlx::query("SELECT connection_id, used_at FROM auth_codes WHERE code_hash = $1")
                    .bind(code_hash.as_slice())
                    .fetch_optional(&mut *tx)
                    .await?;
            match row {
                None => CodeOutcome::Unknown,
                Some(row) => match row.try_get::<Option<i64>, _>("used_at")? {
                    Some(_) => CodeOutcome::Reused {
                        connection_id: row.try_get("connection_id")?,
                    },
                    None => CodeOutcome::Expired,
                },
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Store a refresh token (by its hash) as a member of `family_id`, the chain of
    /// rotations that started with one authorisation code. Refused with
    /// [`StoreError::ConnectionRevoked`] when the connection is revoked or unknown.
    pub async fn insert_refresh_token(
        &self,
        token_hash: &[u8; 32],
        connection_id: &str,
        family_id: &str,
        expires_at: i64,
    ) -> Result<()> {
        let inserted = sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, connection_id, family_id, expires_at) \
             SELECT $1, $2, $3, $4 \
             WHERE EXISTS (SELECT 1 FROM connections WHERE id = $2 AND revoked_at IS NULL)",
        )
        .bind(token_hash.as_slice())
        .bind(connection_id)
        .bind(family_id)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::ConnectionRevoked);
        }
        Ok(())
    }

    /// Spend `old_hash` and store `new_hash` in its family, atomically. Presenting a spent
    /// token revokes its whole family in the same transaction (RFC 9700 §4.14.2: one of
    /// the two presenters is a thief, and we cannot tell which).
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        now: i64,
        new_expires_at: i64,
    ) -> Result<RotateOutcome> {
        let mut tx = self.pool.begin().await?;
        let spent = sqlx::query(
            "UPDATE refresh_tokens SET spent_at = $2 \
             WHERE token_hash = $1 AND spent_at IS NULL AND revoked_at IS NULL \
               AND expires_at > $2 \
               AND connection_id IN (SELECT id FROM connections WHERE revoked_at IS NULL) \
             RETURNING connection_id, family_id",
        )
        .bind(old_hash.as_slice())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = spent {
            let connection_id: String = row.try_get("connection_id")?;
            let family_id: String = row.try_get("family_id")?;
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, connection_id, family_id, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(new_hash.as_slice())
            .bind(&connection_id)
            .bind(&family_id)
            .bind(new_expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(RotateOutcome::Rotated {
                connection_id,
                family_id,
            });
        }

        let row = sqlx::query(
            "SELECT t.connection_id, t.family_id, t.spent_at, t.revoked_at, \
                    c.revoked_at AS connection_revoked_at \
             FROM refresh_tokens t JOIN connections c ON c.id = t.connection_id \
             WHERE t.token_hash = $1",
        )
        .bind(old_hash.as_slice())
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = match row {
            None => RotateOutcome::Unknown,
            Some(row) => {
                let revoked = row.try_get::<Option<i64>, _>("revoked_at")?.is_some()
                    || row
                        .try_get::<Option<i64>, _>("connection_revoked_at")?
                        .is_some();
                let spent = row.try_get::<Option<i64>, _>("spent_at")?.is_some();
                if revoked {
                    RotateOutcome::Revoked
                } else if spent {
                    let family_id: String = row.try_get("family_id")?;
                    revoke_family_in(&mut tx, &family_id, now).await?;
                    RotateOutcome::Reused {
                        family_id,
                        connection_id: row.try_get("connection_id")?,
                    }
                } else {
                    RotateOutcome::Expired
                }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// The connection of a refresh token that is neither expired nor revoked (spent or
    /// not: a spent one presented again still names the connection it belonged to).
    pub async fn refresh_token_connection(
        &self,
        token_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT connection_id FROM refresh_tokens \
             WHERE token_hash = $1 AND expires_at > $2 AND revoked_at IS NULL",
        )
        .bind(token_hash.as_slice())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Revoke every refresh token of a family. Idempotent.
    #[cfg(any(test, feature = "testing"))]
    pub async fn revoke_family(&self, family_id: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        revoke_family_in(&mut tx, family_id, crate::platform::clock::unix_secs()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Delete codes and refresh tokens that expired before `before`: once expired they can
    /// only ever be refused, and a replayed expired token then reads as unknown, which is
    /// refused just the same. Returns how many rows went.
    pub async fn purge_expired(&self, before: i64) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let mut purged = 0;
        for delete in [
            "DELETE FROM auth_codes WHERE expires_at < $1",
            "DELETE FROM refresh_tokens WHERE expires_at < $1",
            "DELETE FROM spent_steps WHERE expires_at < $1",
        ] {
            purged += sqlx::query(delete)
                .bind(before)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(purged)
    }

    /// Record a single-use step; `true` for the one caller that records it first, on any
    /// instance sharing this database. `expires_at` (unix seconds) is when the row may go.
    pub async fn spend_step(&self, step_hash: &[u8; 32], expires_at: i64) -> Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO spent_steps (step_hash, expires_at) VALUES ($1, $2) \
             ON CONFLICT (step_hash) DO NOTHING",
        )
        .bind(step_hash.as_slice())
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }
}

async fn revoke_family_in(tx: &mut Transaction<'_, Any>, family_id: &str, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
    )
    .bind(family_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
