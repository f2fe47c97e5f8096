//! The provider files shipped in `providers.d/` load, pass their own checks and their
//! recorded tests: what `notion-unfurl providers test providers.d` runs.

use std::path::{Path, PathBuf};

use notion_unfurl_declarative::{Mode, load_providers, run_tests};

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../providers.d")
}

#[tokio::test]
async fn every_shipped_file_loads_and_passes_its_recorded_tests() {
    let env = std::collections::BTreeMap::new();
    let providers =
        load_providers(&shipped(), &env, Mode::Playback, "test").unwrap_or_else(|problems| {
            panic!(
                "{}",
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
    assert!(!providers.is_empty());
    let outcomes = run_tests(&providers, false).await;
    // tickets, two GitLab kinds and a docs site, with their recorded tests.
    assert_eq!(providers.len(), 4);
    assert!(outcomes.len() >= 8, "{outcomes:?}");
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|o| {
            o.failure
                .as_ref()
                .map(|f| format!("{}:{}: {f}", o.file.display(), o.line))
        })
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn a_server_start_needs_the_secrets_the_files_name() {
    let env = std::collections::BTreeMap::new();
    let problems = load_providers(&shipped(), &env, Mode::Serve, "test")
        .err()
        .unwrap_or_default();
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|p| p.contains("tickets.toml:") && p.contains("TICKETS_TOKEN is not set")),
        "{text:?}"
    );
}
