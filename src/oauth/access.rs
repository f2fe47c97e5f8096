//! The access check of `/unfurl`: bearer token → verified claims → active connection, with
//! a small memo per worker thread ([`EpochMemo`]) in front of the shared caches.
//!
//! A cached unfurl is mostly this check. The shared caches behind it ([`Tokens`] keyed by
//! token, [`Connections`] keyed by connection) are concurrent maps: two lookups, each with
//! a long key hashed and its read recorded for eviction. Each actix worker is one thread,
//! so a plain map per thread answers a repeated token without any of that (measured in
//! BENCHMARKS.md).
//!
//! The memo never outlives what it copies: an entry ends with its token's expiry and after
//! [`CONNECTION_TTL`], and every [`Connections::forget`] (a revocation, a changed token)
//! moves a shared epoch that empties each thread's memo on its next use. Only tokens that
//! passed verification are stored, at most [`MEMO_ENTRIES`] per thread.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Instant;

use crate::oauth::connections::{ActiveConnection, CONNECTION_TTL, Connections};
use crate::oauth::tokens::{TokenError, Tokens};
use crate::platform::memo::EpochMemo;
use crate::store::StoreError;

/// Tokens remembered per worker thread before the memo starts over.
pub const MEMO_ENTRIES: usize = 4096;

/// Why a token gives no access.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("access token refused: {0}")]
    Token(#[from] TokenError),
    #[error("the access token's connection is revoked")]
    Revoked,
    #[error("the access token's connection is unknown")]
    UnknownConnection,
    #[error("connection lookup failed: {0}")]
    Store(#[from] StoreError),
}

impl AccessError {
    /// Why the token was refused, as a stable name for the log (`expired`, `bad_signature`,
    /// `revoked`, `unknown_connection`, …); `None` when nothing was refused (the lookup
    /// failed). A signature from another secret, or a connection from another database,
    /// is what a `token issue` run against the wrong data directory shows up as.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Self::Token(TokenError::Invalid(rejection)) => Some(rejection.as_str()),
            Self::Token(TokenError::Sign(_)) | Self::Store(_) => None,
            Self::Revoked => Some("revoked"),
            Self::UnknownConnection => Some("unknown_connection"),
        }
    }
}

thread_local! {
    static MEMO: RefCell<EpochMemo<Box<str>, Arc<ActiveConnection>>> =
        RefCell::new(EpochMemo::new(MEMO_ENTRIES));
}

/// The active connection `token` acts for.
pub async fn check(
    tokens: &Tokens,
    connections: &Connections,
    token: &str,
) -> Result<Arc<ActiveConnection>, AccessError> {
    // Read before the lookups: a `forget` while they run moves the epoch past what the
    // new entry is stored under, so it is never served.
    let epoch = connections.epoch();
    let now = Instant::now();
    if let Some(connection) = MEMO.with(|memo| memo.borrow_mut().get(token, epoch, now)) {
        return Ok(connection);
    }
    let claims = tokens.verify(token)?;
    let Some(connection) = connections.active(&claims.sub).await? else {
        // Only a token we signed gets here, so this second lookup cannot be driven by
        // strangers; it tells the log which of the two refusals this is.
        return Err(match connections.store().connection(&claims.sub).await? {
            Some(_) => AccessError::Revoked,
            None => AccessError::UnknownConnection,
        });
    };
    let lifetime = tokens.remaining(&claims).min(CONNECTION_TTL);
    if !lifetime.is_zero() {
        MEMO.with(|memo| {
            memo.borrow_mut()
                .put(token.into(), epoch, connection.clone(), now + lifetime);
        });
    }
    Ok(connection)
}
