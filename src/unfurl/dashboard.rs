//! What an operator enters in Notion's integration dashboard, as JSON: the endpoints, one
//! entry per provider pattern in the form the dashboard takes
//! ([`Pattern::dashboard_regex`]: shorter than the routing rule where that is too long to
//! enter), and the redirect URI to register with each OAuth service provider files
//! declare. `notion-unfurl notion-config` prints it.
//!
//! [`Pattern::dashboard_regex`]: notion_unfurl_sdk::Pattern::dashboard_regex

use serde_json::{Value, json};

use crate::platform::config::Settings;
use crate::unfurl::registry::Registry;

/// The dashboard settings for `registry`'s providers, served at `settings.public_url`.
pub fn settings(settings: &Settings, registry: &Registry) -> Value {
    let base = settings.public_url.as_str().trim_end_matches('/');
    let patterns: Vec<_> = registry
        .providers()
        .iter()
        .flat_map(|provider| {
            provider.patterns().iter().map(move |pattern| {
                json!({
                    "provider": provider.id(),
                    "domain": pattern.domain,
                    "pattern": pattern.dashboard_regex().as_str(),
                    "samples": pattern.samples,
                    "placeholder": pattern.placeholder,
                })
            })
        })
        .collect();
    json!({
        "oauth_authorize_url": format!("{base}/oauth/authorize"),
        "oauth_token_url": format!("{base}/oauth/token"),
        "deleted_token_callback_url": format!("{base}/oauth/revoke"),
        "unfurl_callback_url": format!("{base}/unfurl"),
        "patterns": patterns,
        "services": services(settings, registry),
    })
}

/// The OAuth services the provider files declare, each with the redirect URI to register
/// with it.
fn services(settings: &Settings, registry: &Registry) -> Vec<Value> {
    #[cfg(feature = "declarative")]
    return registry
        .services()
        .into_iter()
        .map(|s| {
            let redirect = crate::clients::services::redirect_url(&settings.public_url, &s.id)
                .map(|u| u.to_string())
                .unwrap_or_default();
            json!({ "service": s.id, "name": s.name, "redirect_uri": redirect })
        })
        .collect();
    #[cfg(not(feature = "declarative"))]
    {
        let _ = (settings, registry);
        Vec::new()
    }
}
