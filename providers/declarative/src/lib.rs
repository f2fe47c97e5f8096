//! Declarative providers: a domain previewed from one reviewed TOML file, no Rust.
//!
//! A file says which links it takes (anchored regexes with samples and rejects), what it
//! reads (requests to an API pinned to a base URL, or the link's own page read with CSS
//! selectors), with which credentials (none, an operator secret, the account's link to a
//! service), and how the answer becomes Notion attributes (MiniJinja templates, bounded).
//! `docs/providers.md` is the guide and the format reference.
//!
//! The modules, in the order data flows through them:
//! - [`spec`]: the file as written (TOML, unknown keys refused, lines kept);
//! - [`load`]: the checks, each problem with its file, line and fix; [`model`]: the result;
//! - [`template`]: the fenced template language; [`text`]: its filters' helpers;
//! - [`provider`]: [`Declarative`], the SDK's `Provider` for a loaded file;
//! - [`upstream`]: live clients, or recorded answers in tests;
//! - [`check`]: `providers check` and `providers test`;
//! - [`save`]: a live unfurl written as a `[[test]]` block (the preview lab's "save as test").

pub mod check;
pub mod load;
pub mod model;
pub mod provider;
pub mod save;
pub mod spec;
pub mod template;
pub mod text;
pub mod upstream;
pub mod webhook;

pub use check::{Outcome, load as load_providers, run_tests};
pub use load::{Environment, Mode, Problem, ProcessEnv};
pub use provider::Declarative;
