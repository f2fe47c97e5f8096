//! Live updates: what a webhook changed becomes queued work; the outbox worker pushes fresh
//! previews to Notion; the watch makes every instance forget what another one changed, or
//! what an operator purged.
//!
//! Workers receive an explicit dependencies struct, never the HTTP state.
//! May import: `oauth`, `unfurl`, `clients`, `store`, `platform`.

#[cfg(feature = "declarative")]
pub mod files;
pub mod outbox;
pub mod purge;
pub mod watch;
#[cfg(feature = "github")]
pub mod webhooks;
