//! A program that embeds notion-unfurl with a provider of its own, written in Rust: every
//! command of the server (`serve`, `unfurl URL`, `notion-config`, `check-config`…) sees it
//! ahead of the default providers.
//!
//! `cargo run --example embed -- notion-config` lists its `status.example.com` pattern;
//! `cargo run --example embed -- unfurl https://status.example.com/incidents/7` previews a
//! link with it, no network involved.

use std::process::ExitCode;
use std::sync::Arc;

use notion_unfurl::cli::main_with;
use notion_unfurl::platform::config::Settings;
use notion_unfurl::unfurl::registry::{Registry, RegistryError};
use notion_unfurl_sdk::regex::Regex;
use notion_unfurl_sdk::{
    Attribute, Context, Pattern, Preview, Provider, ProviderError, UnfurlRequest, async_trait,
};

/// A status page whose incident links preview with their number, from the link alone.
struct Incidents(Vec<Pattern>);

#[async_trait]
impl Provider for Incidents {
    fn id(&self) -> &'static str {
        "incidents"
    }

    fn patterns(&self) -> &[Pattern] {
        &self.0
    }

    async fn unfurl(&self, req: &UnfurlRequest, _: &Context) -> Result<Preview, ProviderError> {
        let n = req
            .captures
            .get("n")
            .ok_or(ProviderError::NotFound { hint: None })?;
        Ok(Preview::new(vec![Attribute::title(
            "title",
            "Title",
            format!("Incident #{n}"),
        )?])
        .public())
    }

    fn reads_account(&self) -> bool {
        false
    }
}

fn bad(reason: String) -> RegistryError {
    RegistryError::Provider {
        id: "incidents",
        reason,
    }
}

/// The default providers, with ours first.
fn providers(settings: &Settings) -> Result<Registry, RegistryError> {
    let mut registry = Registry::from_settings(settings)?;
    let regex = Regex::new(r"^https://status\.example\.com/incidents/(?<n>[0-9]+)$")
        .map_err(|e| bad(e.to_string()))?;
    let title =
        Attribute::title("title", "Title", "Incident #$<n>").map_err(|e| bad(e.to_string()))?;
    registry.push_front(Arc::new(Incidents(vec![Pattern {
        domain: Some("status.example.com".into()),
        regex,
        dashboard: None,
        samples: vec!["https://status.example.com/incidents/7".into()],
        placeholder: vec![title],
    }])));
    Ok(registry)
}

#[actix_web::main]
async fn main() -> ExitCode {
    main_with(providers).await
}
