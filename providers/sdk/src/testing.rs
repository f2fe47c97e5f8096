//! Helpers for provider tests (cargo feature `testing`): the [`Context`] and
//! [`UnfurlRequest`] the server would build, and the checks every provider must pass
//! before Notion can use it.
//!
//! ```toml
//! [dev-dependencies]
//! notion-unfurl-sdk = { workspace = true, features = ["testing"] }
//! ```
//!
//! The checks return every problem at once as sentences, so a failing test says what to
//! fix; the `assert_*` forms panic with that list.

#[cfg(feature = "playback")]
pub mod playback;

use std::collections::HashSet;

use ipnet::IpNet;
use url::Url;

use crate::attributes::{Attribute, has_title};
use crate::fetch::{FetchPolicy, GuardedClient};
use crate::provider::{Account, Context, Pattern, Preview, Provider, Secret, UnfurlRequest};

/// Builds the [`Context`] a provider receives, as the server would.
#[derive(Debug, Clone)]
pub struct ContextBuilder {
    policy: FetchPolicy,
    account: Option<Account>,
}

/// A context with no account and the default fetch policy (public addresses only).
pub fn context() -> ContextBuilder {
    ContextBuilder {
        policy: FetchPolicy::default(),
        account: None,
    }
}

impl ContextBuilder {
    /// The account the preview is for, with its upstream token if it linked one.
    pub fn account(mut self, key: &str, upstream_token: Option<&str>) -> Self {
        self.account = Some(Account::new(key, upstream_token.map(Secret::new)));
        self
    }

    /// Lets the guarded client reach loopback (`127.0.0.0/8`, `::1`, any port), for pages
    /// served by a local fake. This is what the server's own tests do through
    /// `UNFURL_FETCH_ALLOW`; nothing else opens the guard.
    pub fn allow_loopback(mut self) -> Self {
        self.policy.allow.extend(
            ["127.0.0.0/8", "::1/128"]
                .into_iter()
                .filter_map(|net| net.parse::<IpNet>().ok()),
        );
        self
    }

    /// Replaces the whole fetch policy (timeouts, caps, allow-list).
    pub fn policy(mut self, policy: FetchPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// # Panics
    /// When the guarded client cannot be built (no TLS backend), which fails the test.
    pub fn build(self) -> Context {
        let guarded = GuardedClient::new(self.policy)
            .unwrap_or_else(|e| panic!("the guarded client could not be built: {e}"));
        Context {
            guarded,
            account: self.account,
        }
    }
}

/// The request the server makes for `url`: the captures of the first of `provider`'s
/// patterns that matches it, or `None` when none does (the server would route elsewhere).
pub fn request(provider: &dyn Provider, url: &str) -> Option<UnfurlRequest> {
    let parsed = Url::parse(url).ok()?;
    // The server matches the serialised URL, so a test gets what production gets.
    let captures = provider
        .patterns()
        .iter()
        .find_map(|pattern| pattern.captures(parsed.as_str()))?;
    Some(UnfurlRequest {
        url: parsed,
        captures,
    })
}

/// What is wrong with `provider`'s patterns for Notion's dashboard, one sentence each;
/// empty when nothing is.
///
/// Checked: the provider has a pattern; each pattern is anchored (`^…$`); its named
/// groups use `(?<name>…)`, the syntax Notion's dashboard (JavaScript) and Rust's `regex`
/// both read, not Rust's `(?P<name>…)` or inline flags; it has sample URLs, each an
/// http(s) URL on the pattern's domain that this pattern is the first to match; its
/// placeholder has a `title` and uses only `$<group>` names the regex defines. A
/// [`Pattern::dashboard`] regex is held to the same rules (Notion matches and fills the
/// placeholder with it) and must accept every sample too.
pub fn pattern_problems(provider: &dyn Provider) -> Vec<String> {
    let id = provider.id();
    let patterns = provider.patterns();
    if patterns.is_empty() {
        return vec![format!("{id}: has no URL pattern")];
    }
    let mut problems = Vec::new();
    for (index, pattern) in patterns.iter().enumerate() {
        let label = format!("{id} pattern {}", index + 1);
        regex_problems(&label, &pattern.regex, &mut problems);
        if let Some(dashboard) = &pattern.dashboard {
            regex_problems(&format!("{label} (dashboard)"), dashboard, &mut problems);
        }
        sample_problems(&label, patterns, index, &mut problems);
        placeholder_problems(&label, pattern, &mut problems);
    }
    problems
}

/// # Panics
/// When [`pattern_problems`] finds any, listing them all.
pub fn assert_patterns_conform(provider: &dyn Provider) {
    let problems = pattern_problems(provider);
    assert!(
        problems.is_empty(),
        "patterns Notion cannot use:\n  {}",
        problems.join("\n  ")
    );
}

/// What is wrong with a provider's preview, one sentence each; empty when nothing is.
/// Checked: a `title` attribute of the title sub-type (protocol.md §2), no `dev` attribute
/// (the server appends its own to every preview), no two attributes with one id (Notion
/// keeps only the last), a TTL.
pub fn preview_problems(preview: &Preview) -> Vec<String> {
    let mut problems = Vec::new();
    if !has_title(&preview.attributes) {
        problems.push("the attributes lack a `title` (title sub-type)".to_owned());
    }
    if preview.attributes.iter().any(|a| a.id() == "dev") {
        problems.push(
            "`dev` is the server's attribute: it appends its own, so leave it out".to_owned(),
        );
    }
    let mut seen = HashSet::new();
    for attribute in &preview.attributes {
        if !seen.insert(attribute.id()) {
            problems.push(format!(
                "the id `{}` is used twice; Notion keeps only the last",
                attribute.id()
            ));
        }
    }
    if preview.ttl.is_zero() {
        problems.push("the time-to-live is zero, so the preview is never cached".to_owned());
    }
    problems
}

/// The preview as insta snapshots it (`insta::assert_json_snapshot!(testing::snapshot(&p))`):
/// the attributes exactly as sent to Notion, with the cache scope and the TTL beside them.
pub fn snapshot(preview: &Preview) -> serde_json::Value {
    serde_json::json!({
        "attributes": preview.attributes,
        "scope": match preview.scope {
            crate::provider::CacheScope::Public => "public",
            crate::provider::CacheScope::Account => "account",
        },
        "ttl_secs": preview.ttl.as_secs(),
        "stale": preview.stale,
    })
}

/// What Notion needs of a preview and of the patterns that route to it, at once: the
/// provider's patterns ([`pattern_problems`]) and this preview ([`preview_problems`]).
///
/// # Panics
/// When either finds a problem, listing them all.
pub fn assert_notion_valid(provider: &dyn Provider, preview: &Preview) {
    let mut problems = pattern_problems(provider);
    problems.extend(preview_problems(preview));
    assert!(
        problems.is_empty(),
        "what Notion would refuse or misread:\n  {}",
        problems.join("\n  ")
    );
}

/// # Panics
/// When [`preview_problems`] finds any, listing them all.
pub fn assert_preview_conforms(preview: &Preview) {
    let problems = preview_problems(preview);
    assert!(
        problems.is_empty(),
        "a preview Notion would refuse or misread:\n  {}",
        problems.join("\n  ")
    );
}

fn regex_problems(label: &str, regex: &regex::Regex, problems: &mut Vec<String>) {
    let source = regex.as_str();
    if !source.starts_with('^') || !source.ends_with('$') {
        problems.push(format!(
            "{label}: the regex must be anchored with ^ and $ (Notion matches whole URLs)"
        ));
    }
    if source.contains("(?P<") {
        problems.push(format!(
            "{label}: write named groups as (?<name>…); Notion's dashboard cannot read (?P<name>…)"
        ));
    }
    if has_inline_flags(source) {
        problems.push(format!(
            "{label}: inline flags such as (?i) are not understood by Notion's dashboard"
        ));
    }
}

/// `(?i)`, `(?x:…)` and the like: an unescaped `(?` followed by flag letters.
fn has_inline_flags(source: &str) -> bool {
    let bytes = source.as_bytes();
    (0..bytes.len().saturating_sub(2)).any(|i| {
        let escaped = bytes[..i].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1;
        !escaped
            && bytes[i] == b'('
            && bytes[i + 1] == b'?'
            && bytes[i + 2..]
                .iter()
                .take_while(|b| b.is_ascii_alphabetic() || **b == b'-')
                .count()
                > 0
            && bytes[i + 2..]
                .iter()
                .find(|b| !(b.is_ascii_alphabetic() || **b == b'-'))
                .is_some_and(|b| matches!(b, b')' | b':'))
    })
}

fn sample_problems(label: &str, patterns: &[Pattern], index: usize, problems: &mut Vec<String>) {
    let pattern = &patterns[index];
    if pattern.samples.is_empty() {
        problems.push(format!(
            "{label}: give at least one sample URL (Notion's dashboard asks for them)"
        ));
    }
    for sample in &pattern.samples {
        let Ok(url) = Url::parse(sample) else {
            problems.push(format!("{label}: the sample {sample:?} is not a URL"));
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") {
            problems.push(format!("{label}: the sample {sample:?} is not http(s)"));
        }
        if let Some(domain) = &pattern.domain {
            let host = url.host_str().unwrap_or_default();
            if host != domain && !host.ends_with(&format!(".{domain}")) {
                problems.push(format!(
                    "{label}: the sample {sample:?} is not on the pattern's domain {domain}"
                ));
            }
        }
        match patterns
            .iter()
            .position(|p| p.captures(url.as_str()).is_some())
        {
            Some(first) if first == index => {}
            Some(first) => problems.push(format!(
                "{label}: the sample {sample:?} is taken by pattern {} first",
                first + 1
            )),
            None => problems.push(format!(
                "{label}: the sample {sample:?} does not match its own pattern"
            )),
        }
        if pattern.dashboard.is_some() && !pattern.dashboard_regex().is_match(url.as_str()) {
            problems.push(format!(
                "{label}: the sample {sample:?} does not match the dashboard regex, so \
                 Notion would never send it"
            ));
        }
    }
}

fn placeholder_problems(label: &str, pattern: &Pattern, problems: &mut Vec<String>) {
    if !pattern.placeholder.iter().any(|a| a.id() == "title") {
        problems.push(format!(
            "{label}: the placeholder needs a `title` attribute (shown while loading)"
        ));
    }
    let dashboard = pattern.dashboard.as_ref().map(|d| (d, "dashboard regex"));
    for (regex, which) in std::iter::once((&pattern.regex, "regex")).chain(dashboard) {
        let groups: HashSet<&str> = regex.capture_names().flatten().collect();
        for name in pattern.placeholder.iter().flat_map(substitutions) {
            if !groups.contains(name.as_str()) {
                problems.push(format!(
                    "{label}: the placeholder uses $<{name}>, which the {which} does not define"
                ));
            }
        }
    }
}

/// The `$<name>` substitutions in an attribute's serialised form.
fn substitutions(attribute: &Attribute) -> Vec<String> {
    let json = serde_json::to_string(attribute).unwrap_or_default();
    json.split("$<")
        .skip(1)
        .filter_map(|rest| rest.split_once('>').map(|(name, _)| name.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use async_trait::async_trait;
    use regex::Regex;

    use super::*;
    use crate::attributes::TextSection;
    use crate::error::ProviderError;

    struct Fixed(Vec<Pattern>);

    #[async_trait]
    impl Provider for Fixed {
        fn id(&self) -> &'static str {
            "fixed"
        }
        fn patterns(&self) -> &[Pattern] {
            &self.0
        }
        async fn unfurl(&self, _: &UnfurlRequest, _: &Context) -> Result<Preview, ProviderError> {
            Err(ProviderError::Timeout)
        }
    }

    fn pattern(regex: &str, samples: &[&str], placeholder: &str) -> Pattern {
        Pattern {
            domain: Some("acme.test".to_owned()),
            regex: Regex::new(regex).unwrap_or_else(|e| panic!("{e}")),
            dashboard: None,
            samples: samples.iter().map(|s| (*s).to_owned()).collect(),
            placeholder: Attribute::title("title", "Title", placeholder)
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn a_well_formed_pattern_has_no_problems() {
        let good = Fixed(vec![pattern(
            r"^https://acme\.test/items/(?<item>\d+)$",
            &["https://acme.test/items/1"],
            "Item $<item>",
        )]);
        assert_eq!(pattern_problems(&good), Vec::<String>::new());
        let request = request(&good, "https://acme.test/items/42");
        assert_eq!(
            request.map(|r| r.captures["item"].clone()).as_deref(),
            Some("42")
        );
    }

    #[test]
    fn each_mistake_is_named() {
        let bad = Fixed(vec![
            pattern(
                r"https://acme\.test/(?P<item>\d+)",
                &["https://other.test/1", "ftp://acme.test/1"],
                "Item $<id>",
            ),
            pattern(
                r"^(?i)https://acme\.test/.*$",
                &["https://acme.test/7"],
                "x",
            ),
        ]);
        let problems = pattern_problems(&bad).join("\n");
        for expected in [
            "anchored",
            "(?<name>…)",
            "not on the pattern's domain acme.test",
            "is not http(s)",
            "uses $<id>",
            "inline flags",
            "is taken by pattern 1 first",
        ] {
            assert!(problems.contains(expected), "{expected} in:\n{problems}");
        }
        assert_eq!(
            pattern_problems(&Fixed(Vec::new())),
            ["fixed: has no URL pattern"]
        );
    }

    #[test]
    fn a_dashboard_regex_must_accept_the_samples_and_define_the_groups() {
        let mut short = pattern(
            r"^https://acme\.test/items/(?<item>[1-9][0-9]*)$",
            &["https://acme.test/items/1"],
            "Item $<item>",
        );
        short.dashboard = Some(
            Regex::new(r"^https://acme\.test/items/(?<item>[^/]+)$")
                .unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(
            pattern_problems(&Fixed(vec![short.clone()])),
            Vec::<String>::new()
        );
        assert_eq!(
            short.dashboard_regex().as_str(),
            r"^https://acme\.test/items/(?<item>[^/]+)$"
        );
        short.dashboard = Some(
            Regex::new(r"^https://acme\.test/things/(?<thing>.+)")
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let problems = pattern_problems(&Fixed(vec![short])).join("\n");
        for expected in [
            "(dashboard): the regex must be anchored",
            "does not match the dashboard regex",
            "uses $<item>, which the dashboard regex does not define",
        ] {
            assert!(problems.contains(expected), "{expected} in:\n{problems}");
        }
    }

    #[test]
    fn an_escaped_parenthesis_is_not_a_flag_group() {
        assert!(!has_inline_flags(r"^a\(?i\)$"));
        assert!(has_inline_flags(r"^(?i)a$"));
        assert!(has_inline_flags(r"^(?x:a)$"));
        assert!(!has_inline_flags(r"^(?<name>a)(?:b)$"));
    }

    #[test]
    fn previews_need_a_title_and_leave_dev_to_the_server() {
        let title = Attribute::title("title", "Title", "Hello").unwrap_or_else(|e| panic!("{e}"));
        let dev = Attribute::developer("me").unwrap_or_else(|e| panic!("{e}"));
        let note = Attribute::plain_text("note", "Note", "x", TextSection::Body)
            .unwrap_or_else(|e| panic!("{e}"));
        let preview = |attributes: Vec<Attribute>| {
            Preview::new(attributes)
                .public()
                .ttl(Duration::from_secs(60))
        };
        assert!(preview_problems(&preview(vec![title.clone()])).is_empty());
        let untitled = preview_problems(&preview(vec![note.clone()]));
        assert_eq!(untitled.len(), 1, "{untitled:?}");
        assert!(untitled[0].contains("lack a `title`"));
        let with_dev = preview_problems(&preview(vec![title.clone(), dev]));
        assert_eq!(with_dev.len(), 1, "{with_dev:?}");
        assert!(with_dev[0].contains("`dev` is the server's"));
        let twice = preview_problems(&preview(vec![title, note.clone(), note]));
        assert_eq!(twice.len(), 1, "{twice:?}");
        assert!(twice[0].contains("`note` is used twice"));
    }

    #[test]
    fn the_built_context_carries_the_account() {
        let ctx = context()
            .account("github:1", Some("gho_x"))
            .allow_loopback()
            .build();
        let account = ctx.account.as_ref().map(|a| a.key.as_str());
        assert_eq!(account, Some("github:1"));
    }
}
