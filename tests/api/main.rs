//! End-to-end tests of the HTTP API: the real server on a random port, a local origin.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod fakes;
mod github;
mod helpers;
mod linking;
mod oauth_token;
mod restart;
mod unfurl_auth;
mod unfurl_pages;
mod unfurl_requests;
mod webhooks;
