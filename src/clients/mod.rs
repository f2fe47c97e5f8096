//! Our clients of other services' APIs: Notion's (code exchange, preview updates),
//! GitHub's OAuth (sign-in) and the OAuth of the services provider files declare. Each goes through the SDK's trusted client pinned to an
//! operator-configured base URL.
//!
//! May import: `platform`.

pub mod github;
pub mod notion;
pub mod oauth_http;
pub mod services;
