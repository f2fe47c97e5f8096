//! Our OAuth server and account linking, with no HTTP in it: access tokens, codes and
//! refresh tokens, the connections they act for, the `/unfurl` access check, and the
//! browser's pending consent.
//!
//! May import: `unfurl`, `clients`, `store`, `platform`.

pub mod access;
pub mod connections;
pub mod consent;
pub mod grants;
pub mod linking;
pub mod services;
pub mod tokens;
