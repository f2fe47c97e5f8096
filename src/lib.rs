//! notion-unfurl: a Notion Link Preview integration server.
//!
//! Notion calls `POST /unfurl` with one of our access tokens and a pasted link; we route
//! the link to the first provider whose pattern matches, cache the result, and answer with
//! Notion's unfurl attributes (`../shared/docs/protocol.md` is the contract).
//!
//! # Layout: one folder per capability
//!
//! - [`cli`]: the command line (`serve`, `unfurl`, `notion-config`, `check-config`,
//!   `token issue`, `cache purge`); `main.rs` only parses it, loads settings, starts
//!   logging and runs.
//! - [`startup`]: [`startup::Application`]: bind, run, start and stop the workers.
//! - [`http`]: the HTTP surface only: parse the request, call one service, render one
//!   error type.
//! - [`state`]: [`state::AppState`], what handlers and CLI commands share, built from
//!   settings; workers get their own dependencies structs from it.
//! - [`live`]: live updates: webhook deliveries become queued work, the outbox worker
//!   pushes fresh previews to Notion, the watch spreads invalidations across instances.
//! - [`oauth`]: our OAuth server and account linking: tokens, grants, connections, the
//!   `/unfurl` access check, consent.
//! - [`unfurl`]: the unfurl path, with no HTTP and no accounts: the unfurler, the response
//!   body, the provider registry, the preview cache.
//! - [`clients`]: our clients of Notion's API and of GitHub's OAuth.
//! - [`store`]: SQLite or PostgreSQL, per table group; migrations run at start-up.
//! - [`platform`]: what all of them stand on: settings, keys and ciphers, the data
//!   directory's files, the clock, the per-thread memo, logs and metrics.
//!
//! `platform` gathers seven small modules that own no capability, where `architecture.md`
//! first listed them one by one at the top: that keeps `src/` to a dozen entries, so the
//! capabilities are what a newcomer sees first.
//!
//! # The dependency rule
//!
//! A module imports only its own folder and the layers to its right, and no two files
//! import each other through any chain (a folder's `mod.rs` holds no code its children
//! need):
//!
//! `main/cli -> startup -> http -> state -> live -> oauth -> unfurl -> {clients, store}
//! -> platform`
//!
//! Capabilities of one layer (`clients`, `store`) do not import each other. When a module
//! needs something from above, the design is asking for a seam: pass it in (a
//! dependencies struct, a trait, a value), never reach up. `tests/architecture.rs` reads
//! the source and fails, naming the file and line, when the rule is broken.

pub mod cli;
pub mod clients;
pub mod http;
pub mod live;
pub mod oauth;
pub mod platform;
pub mod startup;
pub mod state;
pub mod store;
pub mod unfurl;
