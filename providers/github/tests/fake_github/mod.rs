//! A fake GitHub REST API (wiremock) serving the real payloads in
//! `../shared/fixtures/github/webhooks/`, read in place: the `pull_request` object of a
//! `pull_request*` payload is the shape `GET /repos/{owner}/{repo}/pulls/{number}` returns.
//! With it, what every test file sets up the same way: the tokens, the provider's
//! configuration, answers at a path ([`Fake::answer`], [`Fake::serve`]), rate limits and
//! refusals, and the hint of an error.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use notion_unfurl_github::{GitHub, GitHubConfig};
use notion_unfurl_sdk::testing;
use notion_unfurl_sdk::{
    Attribute, Context, Preview, Provider, ProviderError, Secret, UnfurlRequest, Url,
};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The linked account's own GitHub token.
pub const TOKEN: &str = "gho_account_token";
/// The operator's `UNFURL_GITHUB_TOKEN`, for accounts without one.
pub const FALLBACK: &str = "ghp_fallback_token";

/// The PR every payload describes, as a link and as an API path.
pub const PR_URL: &str = "https://github.com/Codertocat/Hello-World/pull/2";
pub const PR_PATH: &str = "/repos/Codertocat/Hello-World/pulls/2";
pub const HEAD_SHA: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
pub const CHECKS_PATH: &str =
    "/repos/Codertocat/Hello-World/commits/ec26c3e57ca3a959ca5aad62de7213c562f8c821/check-runs";
pub const STATUS_PATH: &str =
    "/repos/Codertocat/Hello-World/commits/ec26c3e57ca3a959ca5aad62de7213c562f8c821/status";
pub const REVIEWS_PATH: &str = "/repos/Codertocat/Hello-World/pulls/2/reviews";
/// The title of the fixtures' PR: must never appear in an error.
pub const TITLE: &str = "Update the README with new information.";
pub const USER_AGENT: &str = "notion-unfurl-tests";

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/github/webhooks")
}

/// Returns from the test, saying why, when the shared fixtures are not checked out.
macro_rules! require {
    ($value:expr) => {
        match $value {
            Some(value) => value,
            None => {
                eprintln!(
                    "skipping: GitHub fixtures not found in {}",
                    $crate::fake_github::fixtures_dir().display()
                );
                return;
            }
        }
    };
}

/// A whole webhook payload, e.g. `payload("pull_request.opened")`.
pub fn payload(name: &str) -> Option<Value> {
    let text = std::fs::read_to_string(fixtures_dir().join(format!("{name}.json"))).ok()?;
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}")))
}

/// The REST pull-request object of a `pull_request*` payload.
pub fn pull(name: &str) -> Option<Value> {
    payload(name).map(|p| p["pull_request"].clone())
}

/// `value` with the JSON pointer `at` set to `to`.
pub fn with(mut value: Value, at: &str, to: Value) -> Value {
    *value
        .pointer_mut(at)
        .unwrap_or_else(|| panic!("no {at} in the fixture")) = to;
    value
}

/// The closed fixture made merged: GitHub has no merged example, but a merged PR is a
/// closed one with `merged` and `merged_at` set.
pub fn merged_pull() -> Option<Value> {
    let closed = pull("pull_request.closed")?;
    let merged_at = closed["closed_at"].clone();
    Some(with(
        with(closed, "/merged", Value::Bool(true)),
        "/merged_at",
        merged_at,
    ))
}

/// `GET …/check-runs` holding the `check_run` of `check_run.completed` plus `extra`
/// copies of it with other (status, conclusion) pairs.
pub fn check_runs(extra: &[(&str, Option<&str>)]) -> Option<Value> {
    let run = payload("check_run.completed")?["check_run"].clone();
    let mut runs = vec![run.clone()];
    for (i, (status, conclusion)) in extra.iter().enumerate() {
        let copy = with(run.clone(), "/status", Value::from(*status));
        let copy = with(copy, "/conclusion", Value::from(*conclusion));
        runs.push(with(copy, "/name", Value::from(format!("extra-{i}"))));
    }
    Some(serde_json::json!({"total_count": runs.len(), "check_runs": runs}))
}

/// `GET …/status`, the combined status, with one status per (state, context) pair. Each
/// is the `status` payload's fields that the REST shape shares, with `state` and `context`
/// replaced; the top-level `state` is worked out as GitHub does.
pub fn combined_status(statuses: &[(&str, &str)]) -> Option<Value> {
    let event = payload("status")?;
    let mut template = serde_json::Map::new();
    for field in [
        "id",
        "avatar_url",
        "state",
        "description",
        "target_url",
        "context",
        "created_at",
        "updated_at",
    ] {
        template.insert(field.to_owned(), event[field].clone());
    }
    let template = Value::Object(template);
    let list: Vec<Value> = statuses
        .iter()
        .map(|(state, context)| {
            with(
                with(template.clone(), "/state", Value::from(*state)),
                "/context",
                Value::from(*context),
            )
        })
        .collect();
    let states: Vec<&str> = statuses.iter().map(|(state, _)| *state).collect();
    let state = if states.iter().any(|s| matches!(*s, "failure" | "error")) {
        "failure"
    } else if states.is_empty() || states.contains(&"pending") {
        "pending"
    } else {
        "success"
    };
    Some(serde_json::json!({
        "state": state,
        "sha": HEAD_SHA,
        "total_count": list.len(),
        "statuses": list,
        "repository": event["repository"].clone(),
    }))
}

/// `GET …/reviews` holding the `review` of `pull_request_review.submitted` with its state
/// set to `state` (REST spells states in capitals).
pub fn reviews(state: &str) -> Option<Value> {
    let review = payload("pull_request_review.submitted")?["review"].clone();
    Some(Value::Array(vec![with(
        review,
        "/state",
        Value::from(state),
    )]))
}

pub struct Fake {
    pub server: MockServer,
    pub github: GitHub,
}

/// A fake GitHub and a provider reading it; `configure` adjusts the defaults.
pub async fn start(configure: impl FnOnce(&mut GitHubConfig)) -> Fake {
    let server = MockServer::start().await;
    let api = Url::parse(&server.uri()).unwrap_or_else(|e| panic!("{e}"));
    let mut config = GitHubConfig::new(api, USER_AGENT);
    config.timeout = Duration::from_secs(5);
    configure(&mut config);
    let github = GitHub::new(config).unwrap_or_else(|e| panic!("{e}"));
    Fake { server, github }
}

/// A configuration step for [`start`]: reads with [`FALLBACK`] for accounts without a
/// token.
pub fn fallback() -> impl FnOnce(&mut GitHubConfig) {
    |config| config.fallback_token = Some(Secret::new(FALLBACK))
}

/// GitHub's primary rate limit, spent until `reset` (unix seconds).
pub fn rate_limited(reset: i64) -> ResponseTemplate {
    ResponseTemplate::new(403)
        .insert_header("X-RateLimit-Limit", "5000")
        .insert_header("X-RateLimit-Remaining", "0")
        .insert_header("X-RateLimit-Reset", reset.to_string().as_str())
        .set_body_json(serde_json::json!({
            "message": "API rate limit exceeded for user ID 21031067.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
        }))
}

/// GitHub's answer for what does not exist or may not be seen.
pub fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(serde_json::json!({"message": "Not Found"}))
}

/// The hint an error carries for the Notion user; empty when it has none.
pub fn hint(error: &ProviderError) -> &str {
    match error {
        ProviderError::NotFound { hint }
        | ProviderError::Forbidden { hint }
        | ProviderError::Unauthorized { hint }
        | ProviderError::RateLimited { hint, .. } => hint.as_deref().unwrap_or_default(),
        _ => "",
    }
}

pub fn context(account_token: Option<&str>) -> Context {
    testing::context()
        .account("github:21031067", account_token)
        .build()
}

/// The request the server would make: the URL and the captures of the matching pattern.
pub fn request(github: &GitHub, url: &str) -> UnfurlRequest {
    testing::request(github, url).unwrap_or_else(|| panic!("{url} matches no pattern"))
}

impl Fake {
    pub async fn unfurl(&self, url: &str, ctx: &Context) -> Result<Preview, ProviderError> {
        self.github.unfurl(&request(&self.github, url), ctx).await
    }

    pub async fn preview(&self, url: &str, ctx: &Context) -> Preview {
        let preview = self
            .unfurl(url, ctx)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e:?}"));
        testing::assert_preview_conforms(&preview);
        preview
    }

    /// Answers every read of `at` with `response`.
    pub async fn answer(&self, at: impl Into<String>, response: ResponseTemplate) {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(response)
            .mount(&self.server)
            .await;
    }

    /// Serves `body` at `at` (with an ETag) for every read.
    pub async fn serve(&self, at: &str, body: &Value) {
        self.answer(
            at,
            ResponseTemplate::new(200)
                .set_body_json(body)
                .insert_header("ETag", "\"1\""),
        )
        .await;
    }

    /// How many requests GitHub received for `path`.
    pub async fn hits(&self, path: &str) -> usize {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == path)
            .count()
    }
}

pub fn json(attributes: &[Attribute]) -> Value {
    serde_json::to_value(attributes).unwrap_or_else(|e| panic!("{e}"))
}

pub fn ids(attributes: &[Attribute]) -> Vec<&str> {
    attributes.iter().map(Attribute::id).collect()
}

pub fn text<'a>(attributes: &'a [Attribute], id: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|a| a.id() == id)
        .and_then(Attribute::text)
}
