//! The provider file as written: TOML, read with unknown keys refused.
//!
//! Values that later checks may find wrong are kept [`Spanned`], so that every error can
//! name the line it comes from. Nothing here is checked beyond TOML's own types; the
//! [`crate::load`] module turns a [`Spec`] into a working provider or a list of problems.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// One provider file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Short stable id: part of cache keys, logs and `/webhooks/{id}`.
    pub id: Spanned<String>,
    /// What users call the service ("Acme Tickets"); names it in error messages.
    pub name: String,
    /// The `dev` attribute's text when it should differ from the deployment's own.
    #[serde(default)]
    pub dev: Option<String>,
    /// The domain verified in Notion's dashboard.
    pub domain: Spanned<String>,
    #[serde(rename = "match")]
    pub matches: Spanned<Vec<MatchSpec>>,
    #[serde(default)]
    pub placeholder: Vec<AttributeSpec>,
    #[serde(default)]
    pub credentials: Option<Spanned<CredentialsSpec>>,
    #[serde(default, rename = "request")]
    pub requests: Vec<RequestSpec>,
    #[serde(default)]
    pub page: Option<Spanned<PageSpec>>,
    #[serde(default)]
    pub cache: Option<CacheSpec>,
    #[serde(rename = "attribute")]
    pub attributes: Spanned<Vec<AttributeSpec>>,
    #[serde(default, rename = "test")]
    pub tests: Vec<TestSpec>,
    #[serde(default)]
    pub webhook: Option<Spanned<WebhookSpec>>,
    /// How an account links the service its `account` credentials name (OAuth 2.0).
    #[serde(default)]
    pub service: Option<Spanned<ServiceSpec>>,
}

/// How accounts link an upstream service through OAuth 2.0 (authorization code with PKCE
/// S256): declared once, in any file whose `credentials` name the service; other files
/// naming it share that declaration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// What users call it ("GitLab"): on the consent page and in "Connect your …".
    pub name: Spanned<String>,
    /// The service's web root, like `https://gitlab.example.com`.
    pub base: Spanned<String>,
    /// An environment variable that, when set, replaces `base`.
    #[serde(default)]
    pub base_env: Option<Spanned<String>>,
    /// Under `base`: where the browser is sent to authorise.
    pub authorize_path: Spanned<String>,
    /// Under `base`: where codes and refresh tokens are traded for tokens.
    pub token_path: Spanned<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The environment variables holding the OAuth application's id and secret.
    pub client_id_env: Spanned<String>,
    pub client_secret_env: Spanned<String>,
    /// How the client id and secret go to the token endpoint: `basic` (HTTP Basic, the
    /// default) or `post` (in the form body).
    #[serde(default)]
    pub client_auth: Option<Spanned<String>>,
    /// Under `base`: the token revocation endpoint (RFC 7009), `/oauth/revoke`; when set,
    /// an account's tokens are revoked there as they are dropped here.
    #[serde(default)]
    pub revoke_path: Option<Spanned<String>>,
}

/// A signed webhook the upstream sends to `POST /webhooks/{id}` when something changed:
/// the links it names are refreshed in Notion through the durable outbox.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    /// The environment variable holding the HMAC-SHA256 secret.
    pub secret_env: Spanned<String>,
    /// The header carrying the signature: `sha256=<hex>` or bare hex.
    pub signature_header: Spanned<String>,
    /// The header carrying the delivery id (deliveries seen before are not queued again).
    pub delivery_header: Spanned<String>,
    /// A template of the payload (`payload`): the links it changes, one per line.
    pub links: Spanned<String>,
}

/// One URL rule: an anchored regex with named groups, in the form Notion's dashboard takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    pub pattern: Spanned<String>,
    /// URLs that must match, each with the captures it must produce.
    pub samples: Spanned<Vec<SampleSpec>>,
    /// URLs that must not match (spoofed hosts, other paths).
    #[serde(default)]
    pub reject: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleSpec {
    pub url: Spanned<String>,
    #[serde(default)]
    pub captures: BTreeMap<String, String>,
}

/// Where the upstream credentials come from: `kind` is `none` (public data, nothing is
/// sent), `secret` (one operator secret, read from the environment variable `env` at
/// start) or `account` (the token of the asking account's link to `service`, such as
/// `github`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsSpec {
    pub kind: Spanned<String>,
    #[serde(default)]
    pub env: Option<Spanned<String>>,
    #[serde(default)]
    pub service: Option<Spanned<String>>,
}

/// One request to the upstream API, through a client pinned to `base`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// The name later templates read the JSON answer under.
    pub name: Spanned<String>,
    /// The API base every request stays under (no redirects, no `..`).
    pub base: Spanned<String>,
    /// An environment variable that, when set, replaces `base` (a self-hosted instance,
    /// a test double).
    #[serde(default)]
    pub base_env: Option<Spanned<String>>,
    /// Path template under `base`. Captures are escaped as one path segment each.
    pub path: Spanned<String>,
    /// Captures inserted into the path as they are, `/` included (still refused when they
    /// hold `..`, `?` or `#`).
    #[serde(default)]
    pub raw: Vec<Spanned<String>>,
    #[serde(default)]
    pub query: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<String>>,
    /// Largest answer read, in bytes.
    #[serde(default)]
    pub max_bytes: Option<usize>,
    /// Whole-request time limit, like `"5s"`.
    #[serde(default)]
    pub timeout: Option<Spanned<String>>,
    /// A 404 for this request leaves its name undefined instead of failing the preview
    /// (for optional data such as a pipeline that may not exist).
    #[serde(default)]
    pub optional: bool,
}

/// For sites without an API: the link's own page, through the guarded fetcher, read with
/// one CSS selector per field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageSpec {
    /// Field name → selector; `selector@attr` reads an attribute instead of the text.
    pub fields: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub max_bytes: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSpec {
    #[serde(default)]
    pub scope: Option<Spanned<String>>,
    #[serde(default)]
    pub ttl: Option<Spanned<String>>,
    /// While a link has subscribers, it is read again this often and a changed preview is
    /// pushed to Notion: once for everyone (public), or as each subscriber's account.
    #[serde(default)]
    pub refresh: Option<Spanned<String>>,
}

/// One unfurl attribute: where it goes in Notion's card and the template of its value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeSpec {
    pub id: Spanned<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub section: Spanned<String>,
    /// The sub-type; by default `title` in the title section and `plain_text` elsewhere.
    #[serde(default, rename = "type")]
    pub kind: Option<Spanned<String>>,
    pub value: Spanned<String>,
    /// `enum` colours by value (`"#rrggbb"`).
    #[serde(default)]
    pub colors: BTreeMap<String, Spanned<String>>,
    /// The colour of an `enum` value `colors` does not list, or of a `color` attribute.
    #[serde(default)]
    pub color: Option<Spanned<String>>,
    /// An expression: the attribute is left out when it is false or undefined.
    #[serde(default)]
    pub when: Option<Spanned<String>>,
    /// Text longer than this many characters is cut, with "…".
    #[serde(default)]
    pub max_length: Option<usize>,
}

/// A recorded test: a link, the recorded upstream answers, the expected outcome.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
    pub url: Spanned<String>,
    /// Request name (or `page`) → the recorded answer.
    #[serde(default)]
    pub responses: BTreeMap<String, Spanned<Recorded>>,
    /// The expected attribute array (`dev` left out): a JSON file beside this one, or the
    /// attributes themselves, inline.
    #[serde(default)]
    pub expect: Option<Spanned<Expect>>,
    /// The error expected instead of a preview: `not_found`, `forbidden`, `unauthorized`,
    /// `rate_limited`, `upstream`, `invalid`.
    #[serde(default)]
    pub error: Option<Spanned<String>>,
}

/// What a test expects a preview to be made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Expect {
    /// A JSON file beside the provider file.
    File(String),
    /// The attribute array itself.
    Inline(Vec<serde_json::Value>),
}

/// One recorded upstream answer: a file beside the provider file, or a status with the
/// body in a file or written out (`body`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Recorded {
    File(String),
    Full {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<String>,
        /// The body as text, instead of a file.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        #[serde(default = "ok")]
        status: u16,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
    },
}

fn ok() -> u16 {
    200
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .get(..offset.min(text.len()))
        .map_or(1, |head| head.iter().filter(|b| **b == b'\n').count() + 1)
}
