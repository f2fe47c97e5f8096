//! Our clients of other services' APIs: Notion's (code exchange, preview updates) and
//! GitHub's OAuth (sign-in). Each goes through the SDK's trusted client pinned to an
//! operator-configured base URL.
//!
//! May import: `platform`.

pub mod github;
pub mod notion;
