//! The handle on the database every table group works through: the pool, the cipher
//! that seals tokens before they reach a query, and the errors of running queries.

use std::sync::Arc;

use notion_unfurl_sdk::Secret;
use sqlx::AnyPool;

use super::connect::{self, Backend, OpenError};
use crate::platform::crypto::cipher::{Cipher, CryptoError, Sealed};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Why a query against an open database failed. Opening it fails with [`OpenError`].
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
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

/// The durable store. Cloning is cheap: clones share one pool.
#[derive(Clone)]
pub struct Store {
    pub(super) pool: AnyPool,
    cipher: Arc<Cipher>,
    pub(super) backend: Backend,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// Associated data binding a ciphertext to one column of one row.
fn row_aad(column: &str, row_key: &str) -> Vec<u8> {
    format!("{column}:{row_key}").into_bytes()
}

impl Store {
    /// Open the database at `url` (`sqlite://PATH`, created when missing, or
    /// `postgres://…`), apply any migration not yet applied, and move GitHub tokens an older
    /// version kept on account rows to `service_tokens`.
    pub async fn connect(url: &str, cipher: Cipher) -> Result<Self, OpenError> {
        let (pool, backend) = connect::open(url).await?;
        let store = Self {
            pool,
            cipher: Arc::new(cipher),
            backend,
        };
        store
            .move_account_tokens()
            .await
            .map_err(|e| OpenError::MoveTokens(e.to_string()))?;
        Ok(store)
    }

    #[cfg(any(test, feature = "testing"))]
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

    pub(super) fn seal(&self, secret: &Secret, column: &str, row_key: &str) -> Result<Sealed> {
        Ok(self.cipher.seal_secret(secret, &row_aad(column, row_key))?)
    }

    pub(super) fn open_sealed(
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
}
