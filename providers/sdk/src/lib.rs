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
//! - [`trace`]: the upstream requests one unfurl made, noted by both clients while a
//!   recorder listens (the preview lab's trace).
//! - `testing` (feature `testing`): the context and request the server would build, and
//!   the checks every provider's patterns and previews must pass; `testing::playback`
//!   (feature `playback`) serves recorded answers, and unfurls saved from the preview lab.
//!
//! A whole provider, for a made-up ticket tracker: one pattern, and a preview with a title
//! (a real provider would read the ticket through `ctx.guarded` or a [`TrustedClient`]).
//! The server adds the `dev` attribute and caches the preview as [`Preview`] says.
//!
//! ```
//! use notion_unfurl_sdk::regex::Regex;
//! use notion_unfurl_sdk::{
//!     Attribute, Context, Pattern, Preview, Provider, ProviderError, UnfurlRequest, async_trait,
//! };
//!
//! struct Tickets(Vec<Pattern>);
//!
//! impl Tickets {
//!     fn new() -> Result<Self, Box<dyn std::error::Error>> {
//!         Ok(Self(vec![Pattern {
//!             domain: Some("tickets.example.com".into()),
//!             regex: Regex::new(r"^https://tickets\.example\.com/t/(?<id>[0-9]+)$")?,
//!             dashboard: None,
//!             samples: vec!["https://tickets.example.com/t/42".into()],
//!             placeholder: vec![Attribute::title("title", "Title", "Ticket $<id>")?],
//!         }]))
//!     }
//! }
//!
//! #[async_trait]
//! impl Provider for Tickets {
//!     fn id(&self) -> &'static str {
//!         "tickets"
//!     }
//!
//!     fn patterns(&self) -> &[Pattern] {
//!         &self.0
//!     }
//!
//!     async fn unfurl(
//!         &self,
//!         request: &UnfurlRequest,
//!         _ctx: &Context,
//!     ) -> Result<Preview, ProviderError> {
//!         let id = request.captures.get("id").ok_or(ProviderError::NotFound { hint: None })?;
//!         let title = Attribute::title("title", "Title", format!("Ticket {id}"))?;
//!         Ok(Preview::new(vec![title]).public())
//!     }
//! }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let provider = Tickets::new()?;
//! # let url = notion_unfurl_sdk::Url::parse("https://tickets.example.com/t/42")?;
//! # let captures = provider.patterns()[0].captures(url.as_str()).ok_or("no match")?;
//! # let ctx = Context {
//! #     guarded: notion_unfurl_sdk::GuardedClient::new(Default::default())?,
//! #     account: None,
//! # };
//! # let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! # let preview = runtime.block_on(provider.unfurl(&UnfurlRequest { url, captures }, &ctx))?;
//! # assert_eq!(preview.attributes[0].text(), Some("Ticket 42"));
//! # assert_eq!(preview.scope, notion_unfurl_sdk::CacheScope::Public);
//! # Ok(())
//! # }
//! ```
//!
//! No two modules import each other (`tests/modules.rs` keeps it so): `attributes`, `ip`
//! and `trace` stand alone, `trusted` uses `trace`, `fetch` uses `ip` and `trace`, `error` uses `attributes` and `fetch`,
//! `provider` uses `attributes`, `error` and `fetch`, and `testing` sits on top.

pub mod attributes;
pub mod error;
pub mod fetch;
pub mod ip;
pub mod provider;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod trace;
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
