//! Durable state: accounts, Notion connections, our authorisation codes and refresh tokens,
//! subscriptions, and the update outbox.
//!
//! Two backends behind one API, chosen by the database URL: SQLite (the embedded default,
//! one file, WAL) and PostgreSQL (several instances sharing state). Both go through sqlx's
//! `Any` driver with `$n` placeholders, timestamps as `i64` unix seconds and bytes for
//! hashes and ciphertexts, so each query is written once; only the DDL differs, hence one
//! migration directory per backend (`migrations/sqlite`, `migrations/postgres`), embedded in
//! the binary and applied by [`Store::connect`].
//!
//! Every SQL statement of the server lives in this module. Access tokens are sealed with the
//! [`Cipher`] before they reach a query and opened after, with associated data naming their
//! row, so a copy of the database alone reveals none; codes and refresh tokens arrive here
//! already hashed ([`crate::platform::crypto::token_hash`]).
//!
//! Single use is enforced by the database, not by a read followed by a write: consuming a
//! code or rotating a refresh token is one conditional `UPDATE … WHERE used_at IS NULL`, so
//! of two concurrent requests (on one instance or several) exactly one wins.

mod connect;
mod outbox;

use crate::platform::clock::unix_secs;
use std::sync::Arc;

use sqlx::AnyPool;
use sqlx::any::AnyRow;
use sqlx::error::ErrorKind;
use sqlx::{Any, Row, Transaction};

use notion_unfurl_sdk::Secret;

use crate::platform::crypto::cipher::{Cipher, CryptoError, Sealed};
use crate::platform::crypto::random_id;

pub use connect::Backend;
pub use outbox::{Accepted, OutboxRow, WebhookDelivery};

/// How far back a look at other instances' changes (revocations, changed links) reaches,
/// in seconds. Change times come from other instances' clocks and may commit a little after
/// they were taken; a wide window forgives both, and changes already applied are skipped.
pub const CHANGE_WINDOW_SECS: i64 = 120;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL: expected sqlite://PATH or postgres://…")]
    UnsupportedUrl,
    #[error("could not create the database directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("SQLite did not switch to WAL journaling (journal_mode is {0:?})")]
    NotWal(String),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("no such account")]
    UnknownAccount,
    /// A code or refresh token was to be issued for a connection that is revoked or unknown.
    #[error("the connection is revoked or unknown")]
    ConnectionRevoked,
    #[error("a stored secret could not be opened: {0}")]
    Crypto(#[from] CryptoError),
    #[error("a stored row is inconsistent: {0}")]
    Corrupt(&'static str),
}

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

/// The durable store. Cloning is cheap: clones share one pool.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    cipher: Arc<Cipher>,
    backend: Backend,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

const ACCOUNT_TOKEN: &str = "accounts.upstream_token";
const CONNECTION_TOKEN: &str = "connections.notion_token";

/// Associated data binding a ciphertext to one column of one row.
fn row_aad(column: &str, row_key: &str) -> Vec<u8> {
    format!("{column}:{row_key}").into_bytes()
}

impl Store {
    /// Open the database at `url` (`sqlite://PATH`, created when missing, or
    /// `postgres://…`) and apply any migration not yet applied.
    pub async fn connect(url: &str, cipher: Cipher) -> Result<Self> {
        let (pool, backend) = connect::open(url).await?;
        Ok(Self {
            pool,
            cipher: Arc::new(cipher),
            backend,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Close every pooled connection, waiting for queries in flight. SQLite checkpoints its
    /// WAL into the main file when the last connection closes.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A round trip to the database, for `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn seal(&self, secret: &Secret, column: &str, row_key: &str) -> Result<Sealed> {
        Ok(self.cipher.seal_secret(secret, &row_aad(column, row_key))?)
    }

    fn open_sealed(
        &self,
        bytes: Option<Vec<u8>>,
        key_id: Option<i16>,
        column: &'static str,
        row_key: &str,
    ) -> Result<Option<Secret>> {
        let sealed = match (bytes, key_id) {
            (None, None) => return Ok(None),
            (Some(bytes), Some(key_id)) => Sealed {
                key_id: u8::try_from(key_id).map_err(|_| StoreError::Corrupt(column))?,
                bytes,
            },
            _ => return Err(StoreError::Corrupt(column)),
        };
        Ok(Some(
            self.cipher
                .open_secret(&sealed, &row_aad(column, row_key))?,
        ))
    }

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
    pub async fn is_connection_revoked(&self, id: &str) -> Result<bool> {
        let revoked_at: Option<Option<i64>> =
            sqlx::query_scalar("SELECT revoked_at FROM connections WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(!matches!(revoked_at, Some(None)))
    }

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
    pub async fn revoke_family(&self, family_id: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        revoke_family_in(&mut tx, family_id, unix_secs()).await?;
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

    /// Remember that `connection_id` shows a preview of `uri`, a form of the resource
    /// `canonical_uri`. Idempotent; ignored for a revoked or unknown connection.
    pub async fn subscribe(
        &self,
        connection_id: &str,
        uri: &str,
        canonical_uri: &str,
    ) -> Result<()> {
        // The conditional update keeps a repeated subscribe from writing (and syncing) a
        // page when nothing changed; it only rewrites rows whose canonical form changed.
        sqlx::query(
            "INSERT INTO subscriptions (connection_id, uri, canonical_uri, created_at) \
             SELECT $1, $2, $3, $4 \
             WHERE EXISTS (SELECT 1 FROM connections WHERE id = $1 AND revoked_at IS NULL) \
             ON CONFLICT (connection_id, uri) DO UPDATE \
                 SET canonical_uri = excluded.canonical_uri \
                 WHERE subscriptions.canonical_uri <> excluded.canonical_uri",
        )
        .bind(connection_id)
        .bind(uri)
        .bind(canonical_uri)
        .bind(unix_secs())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forget one subscription. Idempotent.
    pub async fn unsubscribe(&self, connection_id: &str, uri: &str) -> Result<()> {
        sqlx::query("DELETE FROM subscriptions WHERE connection_id = $1 AND uri = $2")
            .bind(connection_id)
            .bind(uri)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every `(connection_id, uri)` showing a form of `canonical_uri`, on connections that
    /// are not revoked, in a stable order.
    pub async fn subscriptions_for(&self, canonical_uri: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT s.connection_id, s.uri FROM subscriptions s \
             JOIN connections c ON c.id = s.connection_id \
             WHERE s.canonical_uri = $1 AND c.revoked_at IS NULL \
             ORDER BY s.connection_id, s.uri",
        )
        .bind(canonical_uri)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("connection_id")?, row.try_get("uri")?)))
            .collect()
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
