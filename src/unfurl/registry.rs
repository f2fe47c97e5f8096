//! The providers this server knows, in precedence order.
//!
//! An explicit list, no magic registration: adding a Rust provider is one line in
//! [`Registry::from_settings`]. The first provider with a matching pattern wins: GitHub,
//! then the provider files of `UNFURL_PROVIDERS_DIR` in file-name order, then the
//! catch-all OpenGraph provider last.

use std::sync::Arc;

use notion_unfurl_sdk::{Pattern, Provider};
use url::Url;

use crate::platform::config::Settings;

/// A provider could not be configured from the settings.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("UNFURL_GITHUB_API_URL / UNFURL_GITHUB_WEB_URL: {0}")]
    GitHub(String),
    /// A provider an embedding program adds could not be made.
    #[error("provider {id}: {reason}")]
    Provider { id: &'static str, reason: String },
    /// Problems in the provider files of `UNFURL_PROVIDERS_DIR`, one line each.
    #[error("UNFURL_PROVIDERS_DIR: the provider files have problems:\n  {}", .0.join("\n  "))]
    Providers(Vec<String>),
}

/// The provider files of `UNFURL_PROVIDERS_DIR`, all of them or every problem found.
#[cfg(feature = "declarative")]
pub fn declarative(
    settings: &Settings,
) -> Result<Vec<notion_unfurl_declarative::Declarative>, RegistryError> {
    let Some(dir) = &settings.providers_dir else {
        return Ok(Vec::new());
    };
    let files = notion_unfurl_declarative::load_providers(
        dir,
        &notion_unfurl_declarative::ProcessEnv,
        notion_unfurl_declarative::Mode::Serve,
        &settings.fetch_policy().user_agent,
    )
    .map_err(|problems| {
        RegistryError::Providers(problems.iter().map(ToString::to_string).collect())
    })?;
    if files.is_empty() {
        // The start-up line lists the providers; an empty directory deserves a word.
        tracing::warn!(dir = %dir.display(), "UNFURL_PROVIDERS_DIR holds no provider file (*.toml)");
    }
    Ok(files)
}

#[cfg(feature = "github")]
fn github(settings: &Settings) -> Result<notion_unfurl_github::GitHub, RegistryError> {
    let web = &settings.github_web_url;
    let web_host = match (web.host_str(), web.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => return Err(RegistryError::GitHub("the web URL has no host".into())),
    };
    let mut config = notion_unfurl_github::GitHubConfig::new(
        settings.github_api_url.clone(),
        settings.fetch_policy().user_agent,
    );
    config.web_host = web_host;
    config.fallback_token = settings.github_token.clone();
    notion_unfurl_github::GitHub::new(config).map_err(|e| RegistryError::GitHub(e.to_string()))
}

/// One pattern weighed against one link ([`Registry::explain`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternMatch {
    pub provider: &'static str,
    pub regex: String,
    /// The pattern accepts the link.
    pub matched: bool,
    /// The link is routed here: the first pattern that accepts it.
    pub chosen: bool,
    /// The named captures, sorted by name; only for the chosen pattern.
    pub captures: Vec<(String, String)>,
}

#[derive(Clone, Default)]
pub struct Registry {
    providers: Vec<Arc<dyn Provider>>,
    /// The provider files among them, for their webhooks (`POST /webhooks/{id}`).
    #[cfg(feature = "declarative")]
    files: Vec<notion_unfurl_declarative::Declarative>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.providers.iter().map(|p| p.id()))
            .finish()
    }
}

impl Registry {
    /// The providers enabled by this build's features, configured from `settings`.
    pub fn from_settings(settings: &Settings) -> Result<Self, RegistryError> {
        let _ = settings;
        #[allow(unused_mut)]
        let mut registry = Self::default();
        #[cfg(feature = "github")]
        registry.push(Arc::new(github(settings)?));
        #[cfg(feature = "declarative")]
        for provider in declarative(settings)? {
            registry.push_file(provider);
        }
        #[cfg(feature = "opengraph")]
        registry.push(Arc::new(notion_unfurl_opengraph::OpenGraph::new()));
        Ok(registry)
    }

    /// Add a provider before the existing ones (it is tried first): how a program that
    /// embeds the server puts its own providers ahead of the default set.
    pub fn push_front(&mut self, provider: Arc<dyn Provider>) {
        self.providers.insert(0, provider);
    }

    /// Add a provider after the existing ones (lower precedence).
    pub fn push(&mut self, provider: Arc<dyn Provider>) {
        self.providers.push(provider);
    }

    /// Add a provider file after the existing providers.
    #[cfg(feature = "declarative")]
    pub fn push_file(&mut self, provider: notion_unfurl_declarative::Declarative) {
        self.files.push(provider.clone());
        self.providers.push(Arc::new(provider));
    }

    /// The provider files, in precedence order.
    #[cfg(feature = "declarative")]
    pub fn files(&self) -> &[notion_unfurl_declarative::Declarative] {
        &self.files
    }

    /// The provider file with this id.
    #[cfg(feature = "declarative")]
    pub fn file(&self, id: &str) -> Option<&notion_unfurl_declarative::Declarative> {
        self.files.iter().find(|p| p.compiled().id == id)
    }

    /// The upstream services the provider files declare (`[service]`), each once: the
    /// ones an account may link besides GitHub.
    #[cfg(feature = "declarative")]
    pub fn services(&self) -> Vec<notion_unfurl_declarative::model::Service> {
        notion_unfurl_declarative::load::service::services(self.files.iter().map(|f| f.compiled()))
    }

    pub fn providers(&self) -> &[Arc<dyn Provider>] {
        &self.providers
    }

    /// The first provider and pattern that accept `url`. Captures are left to the caller:
    /// a cache hit never needs them, and `is_match` is much cheaper than capturing.
    pub fn route(&self, url: &Url) -> Option<(&Arc<dyn Provider>, &Pattern)> {
        self.route_index(url).and_then(|at| self.at(at))
    }

    /// [`Registry::route`] as (provider, pattern) positions, which stay valid as long as
    /// this registry: it is never changed once the server runs.
    pub fn route_index(&self, url: &Url) -> Option<(usize, usize)> {
        let text = url.as_str();
        self.providers.iter().enumerate().find_map(|(p, provider)| {
            provider
                .patterns()
                .iter()
                .position(|pattern| pattern.regex.is_match(text))
                .map(|q| (p, q))
        })
    }

    /// Every pattern of every provider, in precedence order, with whether it accepts `url`
    /// and, for the one that routes it (the first match), its named captures: what the
    /// preview lab shows to explain a route.
    pub fn explain(&self, url: &Url) -> Vec<PatternMatch> {
        let text = url.as_str();
        let chosen = self.route_index(url);
        self.providers
            .iter()
            .enumerate()
            .flat_map(|(p, provider)| {
                provider
                    .patterns()
                    .iter()
                    .enumerate()
                    .map(move |(q, pattern)| PatternMatch {
                        provider: provider.id(),
                        regex: pattern.regex.as_str().to_owned(),
                        matched: pattern.regex.is_match(text),
                        chosen: chosen == Some((p, q)),
                        captures: if chosen == Some((p, q)) {
                            let mut captures: Vec<(String, String)> = pattern
                                .captures(text)
                                .unwrap_or_default()
                                .into_iter()
                                .collect();
                            captures.sort();
                            captures
                        } else {
                            Vec::new()
                        },
                    })
            })
            .collect()
    }

    /// The provider and pattern at positions from [`Registry::route_index`].
    pub fn at(&self, (p, q): (usize, usize)) -> Option<(&Arc<dyn Provider>, &Pattern)> {
        let provider = self.providers.get(p)?;
        Some((provider, provider.patterns().get(q)?))
    }
}
