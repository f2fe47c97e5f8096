//! A pull request saved from the preview lab ("save as test": `GET /lab/save?url=…`), played
//! back: the SDK serves the saved answers, and the provider must make the saved attributes
//! of them. How a preview seen in the lab becomes a regression test for this crate.

use notion_unfurl_github::{GitHub, GitHubConfig};
use notion_unfurl_sdk::Provider;
use notion_unfurl_sdk::testing::{self, playback};

#[tokio::test]
async fn a_pull_request_saved_in_the_lab_previews_as_it_did_then() {
    let saved = playback::read_saved(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/saved-pull-request.json"),
    );
    let upstream = playback::Playback::from_saved(&saved).await;
    // Saved against an API base without a path (api.github.com's form).
    let github = GitHub::new(GitHubConfig::new(upstream.base(), "notion-unfurl-tests"))
        .unwrap_or_else(|e| panic!("{e}"));
    let request = testing::request(&github, &saved.url).unwrap_or_else(|| panic!("no match"));
    let preview = github
        .unfurl(&request, &testing::context().build())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        serde_json::to_value(&preview.attributes).ok(),
        saved.expected
    );
    testing::assert_preview_conforms(&preview);
    upstream.assert_all_recorded().await;
}
