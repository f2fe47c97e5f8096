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

mod accounts;
mod causes;
mod connect;
mod connections;
mod database;
mod grants;
mod inspection;
mod link_changes;
mod outbox;
mod services;
mod subscriptions;

pub use accounts::Account;
pub use connect::{Backend, OpenError, database_location};
pub use connections::{Connection, NewConnection};
pub use database::{Result, Store, StoreError};
pub use grants::{CodeOutcome, RotateOutcome};
pub use inspection::{Inspection, inspect};
pub use outbox::{Accepted, OutboxRow, OutboxStats, WebhookDelivery};
pub use services::{GITHUB, IssuedTokens, ServiceToken};

/// How far back a look at other instances' changes (revocations, changed links) reaches,
/// in seconds. Change times come from other instances' clocks and may commit a little after
/// they were taken; a wide window forgives both, and changes already applied are skipped.
pub const CHANGE_WINDOW_SECS: i64 = 120;
