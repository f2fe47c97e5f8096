//! End-to-end tests of the HTTP API: the real server on a random port, a local origin.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod cache_purge;
mod fakes;
mod faults;
mod github;
mod helpers;
mod lab;
mod linking;
mod live_updates;
mod live_updates_github;
mod live_updates_github_kinds;
mod live_updates_github_refs;
mod metrics;
mod multi_instance;
mod oauth_token;
mod outbox_retries;
#[path = "../support/postgres.rs"]
mod postgres;
mod process;
#[cfg(feature = "declarative")]
mod provider_files;
mod restart;
#[cfg(feature = "declarative")]
mod service_links;
mod slow_clients;
mod unfurl_auth;
mod unfurl_pages;
mod unfurl_requests;
mod webhook_intake;
mod webhook_setup;
