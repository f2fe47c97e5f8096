//! The provider SDK of notion-unfurl.
//!
//! A provider turns one URL into Notion unfurl attributes. This crate holds everything a
//! provider needs and nothing of the server:
//! - [`attributes`]: Notion's attribute model; only valid section/sub-type pairs build.
//! - [`provider`]: the [`Provider`] trait, [`Preview`], [`Context`].
//! - [`error`]: [`ProviderError`], and the conversions into it.
//! - [`fetch`]: the guarded HTTP client for URLs that come from users or pages.
//! - [`ip`]: the address classifier the guarded client uses.
//! - [`trusted`]: the client for operator-configured API bases.
//! - `testing` (feature `testing`): the context and request the server would build, and
//!   the checks every provider's patterns and previews must pass.
//!
//! No two modules import each other (`tests/modules.rs` keeps it so): `attributes`, `ip`
//! and `trusted` stand alone, `fetch` uses `ip`, `error` uses `fetch`, `provider` uses
//! `attributes`, `error` and `fetch`, and `testing` sits on top.

pub mod attributes;
pub mod error;
pub mod fetch;
pub mod ip;
pub mod provider;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod trusted;

// What the SDK's own types are made of, so that a provider names them without a direct
// dependency of its own (which could resolve to another version): `Provider` is an
// `async_trait`, a `Pattern` holds a `regex::Regex`, a request carries a `url::Url`, and
// `TrustedClient` hands out `reqwest` request builders and responses.
pub use async_trait::async_trait;
pub use regex;
pub use reqwest;
pub use url::{self, Url};

pub use attributes::{Attribute, AttributeError, Color};
pub use error::ProviderError;
pub use fetch::{FetchError, FetchPolicy, GuardedClient};
pub use provider::{
    Account, CacheScope, Context, Pattern, Preview, Provider, Secret, UnfurlRequest,
};
pub use trusted::TrustedClient;
