//! `GET /lab/save?url=…[&as=KEY]`: "save as test" (issue 9, item 7). The link's provider
//! runs once more against its live upstream, past the cache, for the same viewer as the
//! page ([`Viewer`]), with every answer kept, and the download is a test that replays it:
//!
//! - a provider file's link: a `[[test]]` block with the answers and the expected
//!   attributes inline, to append to the file ([`notion_unfurl_declarative::save`]);
//!   `providers test` plays it;
//! - a Rust provider's link: JSON `{url, requests: [{method, path, status, body}],
//!   expected}` ([`notion_unfurl_sdk::trace::Saved`]), which the SDK's
//!   `testing::playback::Playback::from_saved` serves back to the provider in its tests.
//!
//! Neither holds a header (the TOML keeps an answer's `content-type` only) nor a query;
//! bodies are the upstream's own, at most [`MAX_SAVED_BYTES`] together. Saving as a named
//! account writes that account's private answers into the file: the operator chose it, and
//! the page says so.

use notion_unfurl_sdk::trace::{Saved, record_bodies};
use notion_unfurl_sdk::{Context, UnfurlRequest};

use crate::http::lab::viewer::Viewer;
use crate::state::AppState;

/// Most upstream body bytes one saved test holds.
pub const MAX_SAVED_BYTES: usize = 1024 * 1024;

/// A saved test: its file name and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub file_name: String,
    pub content_type: &'static str,
    pub text: String,
}

/// The test for `raw` as `viewer` sees it, or the sentence why there is none.
pub async fn save(state: &AppState, raw: &str, viewer: &Viewer) -> Result<Download, String> {
    let unfurler = &state.unfurler;
    let link = unfurler
        .link(raw)
        .map_err(|e| format!("This link cannot be previewed: {e}."))?;
    let (provider, pattern) = unfurler
        .registry()
        .route(&link.url)
        .ok_or_else(|| "No provider accepts this link, so there is no test to save.".to_owned())?;
    let ctx = Context {
        guarded: unfurler.guarded().clone(),
        account: provider
            .reads_account()
            .then(|| viewer.requester.account.clone()),
    };
    #[cfg(feature = "declarative")]
    if let Some(file) = unfurler.registry().file(provider.id()) {
        let text = notion_unfurl_declarative::save::save(file, raw, &ctx, MAX_SAVED_BYTES)
            .await
            .map_err(|e| format!("This link cannot be saved as a test: {e}."))?;
        return Ok(Download {
            file_name: format!("{}-test.toml", provider.id()),
            content_type: "application/toml; charset=utf-8",
            text,
        });
    }
    let request = UnfurlRequest {
        url: link.url.clone(),
        captures: pattern.captures(link.url.as_str()).unwrap_or_default(),
    };
    let (result, recorded) = record_bodies(MAX_SAVED_BYTES, provider.unfurl(&request, &ctx)).await;
    let requests = Saved::requests_of(&recorded)
        .map_err(|e| format!("This link cannot be saved as a test: {e}."))?;
    let (expected, error) = match result {
        Ok(preview) => (serde_json::to_value(&preview.attributes).ok(), None),
        Err(e) => (None, Some(e.kind().to_owned())),
    };
    let saved = Saved {
        url: raw.to_owned(),
        requests,
        expected,
        error,
    };
    let text = serde_json::to_string_pretty(&saved)
        .map_err(|e| format!("This link cannot be saved as a test: {e}."))?;
    Ok(Download {
        file_name: format!("{}-saved.json", provider.id()),
        content_type: "application/json",
        text: text + "\n",
    })
}
