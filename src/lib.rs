//! notion-unfurl: a Notion Link Preview integration server.
//!
//! Notion calls `POST /unfurl` with one of our access tokens and a pasted link; we route
//! the link to the first provider whose pattern matches, cache the result, and answer with
//! Notion's unfurl attributes (`../shared/docs/protocol.md` is the contract).
//!
//! Layout:
//! - [`config`]: typed `UNFURL_*` settings; [`keys`]: the root secret and derived keys;
//!   [`crypto`]: AEAD for tokens at rest, hashes and random values.
//! - [`store`]: SQLite or PostgreSQL (accounts, connections, codes, refresh tokens,
//!   subscriptions, the update outbox); migrations run at start-up.
//! - [`tokens`]: our access tokens (JWT); [`grants`]: codes, refresh rotation, revocation;
//!   [`connections`]: the connection behind a token, cached briefly, and subscriptions;
//!   [`access`]: the `/unfurl` access check, memoised per worker thread ([`memo`]).
//! - [`consent`]: the browser's pending authorisation (sealed cookie); [`github_login`]:
//!   GitHub sign-in; [`notion`]: the Notion API (code exchange, preview updates).
//! - [`registry`]: providers in precedence order; [`cache`]: moka preview cache;
//!   [`unfurl`]: one unfurl, from URI to response body; [`outbox`]: pushes updates.
//! - [`http`]: routes; [`startup`]: `Application` (bind, run, stop); [`telemetry`]: logs;
//!   [`metrics`]: counters and gauges for `GET /metrics`.
//! - [`cli`]: the command line (`serve`, `unfurl`, `notion-config`, `token issue`).

pub mod access;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connections;
pub mod consent;
pub mod crypto;
pub mod github_login;
pub mod grants;
pub mod http;
pub mod keys;
pub mod memo;
pub mod metrics;
pub mod notion;
pub mod outbox;
pub mod registry;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tokens;
pub mod unfurl;
pub mod watch;
