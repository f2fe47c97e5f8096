//! The Notion API as this server calls it: the OAuth token exchange (protocol.md §1 step 4)
//! and preview updates (§3).

use std::time::Duration;

use notion_unfurl_sdk::Secret;
use notion_unfurl_sdk::trusted::{TrustedClient, TrustedError, error_chain, read_limited};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use url::Url;

/// The API version we speak (sent as `Notion-Version`).
pub const NOTION_VERSION: &str = "2022-06-28";

/// The largest answer read from Notion: its token and error responses are well under a
/// kilobyte.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// What Notion returned for our code exchange.
#[derive(Debug, Clone)]
pub struct NotionGrant {
    pub access_token: Secret,
    pub bot_id: String,
    pub workspace_id: String,
    pub workspace_name: Option<String>,
    pub workspace_icon: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum NotionError {
    #[error("Notion is not configured (UNFURL_NOTION_CLIENT_ID / UNFURL_NOTION_CLIENT_SECRET)")]
    NotConfigured,
    /// Notion answered with a 4xx: the request or the credentials were refused.
    #[error("Notion refused the request (status {status}, code {code:?})")]
    Refused { status: u16, code: Option<String> },
    /// A 429 or 5xx, or no answer: worth retrying later.
    #[error("Notion is unavailable (status {status:?}{})", cause.as_deref().map(|c| format!(": {c}")).unwrap_or_default())]
    Unavailable {
        status: Option<u16>,
        retry_after: Option<Duration>,
        /// Why no answer came (refused, a certificate, a timeout), for the log.
        cause: Option<String>,
    },
    #[error("Notion's answer could not be read: {0}")]
    Malformed(String),
    #[error(transparent)]
    Client(#[from] TrustedError),
}

#[derive(Debug, Clone)]
pub struct NotionClient {
    http: TrustedClient,
    credentials: Option<(String, Secret)>,
}

#[derive(Serialize)]
struct ExternalAccount<'a> {
    key: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct TokenRequest<'a> {
    grant_type: &'static str,
    code: &'a str,
    external_account: ExternalAccount<'a>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    bot_id: String,
    workspace_id: String,
    workspace_name: Option<String>,
    workspace_icon: Option<String>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    code: Option<String>,
    error: Option<String>,
}

/// `Retry-After` in seconds or as an HTTP date (RFC 9110 §10.2.3).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    match value.parse::<u64>() {
        Ok(seconds) => Some(Duration::from_secs(seconds)),
        Err(_) => httpdate::parse_http_date(value).ok().map(|at| {
            at.duration_since(std::time::SystemTime::now())
                .unwrap_or_default()
        }),
    }
}

impl NotionClient {
    pub fn new(
        api_url: Url,
        credentials: Option<(String, Secret)>,
        user_agent: &str,
    ) -> Result<Self, NotionError> {
        Ok(Self {
            http: TrustedClient::new(api_url, user_agent, Duration::from_secs(10))?,
            credentials,
        })
    }

    async fn classify(response: reqwest::Response) -> NotionError {
        let status = response.status().as_u16();
        // 409 is Notion's `conflict_error`: "try again".
        if status == 409 || status == 429 || status >= 500 {
            return NotionError::Unavailable {
                status: Some(status),
                retry_after: retry_after(&response),
                cause: None,
            };
        }
        let code = read_limited(response, MAX_RESPONSE_BYTES)
            .await
            .ok()
            .and_then(|body| serde_json::from_slice::<ErrorResponse>(&body).ok())
            .and_then(|e| e.code.or(e.error));
        NotionError::Refused { status, code }
    }

    fn transport(error: reqwest::Error) -> NotionError {
        NotionError::Unavailable {
            status: error.status().map(|s| s.as_u16()),
            retry_after: None,
            cause: Some(error_chain(&error.without_url())),
        }
    }

    /// Trade Notion's authorisation code for a Notion token bound to `account`.
    pub async fn exchange_code(
        &self,
        code: &str,
        account_key: &str,
        account_name: &str,
    ) -> Result<NotionGrant, NotionError> {
        let (client_id, client_secret) = self
            .credentials
            .as_ref()
            .ok_or(NotionError::NotConfigured)?;
        let response = self
            .http
            .request(Method::POST, "v1/oauth/token")?
            .basic_auth(client_id, Some(client_secret.expose()))
            .header("Notion-Version", NOTION_VERSION)
            .json(&TokenRequest {
                grant_type: "authorization_code",
                code,
                external_account: ExternalAccount {
                    key: account_key,
                    name: account_name,
                },
            })
            .send()
            .await
            .map_err(Self::transport)?;
        if !response.status().is_success() {
            return Err(Self::classify(response).await);
        }
        let body = read_limited(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| NotionError::Malformed(e.to_string()))?;
        let body: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| NotionError::Malformed(e.to_string()))?;
        Ok(NotionGrant {
            access_token: Secret::new(body.access_token),
            bot_id: body.bot_id,
            workspace_id: body.workspace_id,
            workspace_name: body.workspace_name,
            workspace_icon: body.workspace_icon,
        })
    }

    /// Push a complete attribute set (`{"uri", "operations"}`) for a preview.
    pub async fn update_preview(
        &self,
        token: &Secret,
        body: bytes::Bytes,
    ) -> Result<(), NotionError> {
        let response = self
            .http
            .request(Method::PATCH, "v1/external/object")?
            .bearer_auth(token.expose())
            .header("Notion-Version", NOTION_VERSION)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(Self::transport)?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(Self::classify(response).await)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_retry_after(value: &str) -> reqwest::Response {
        let response = http::Response::builder()
            .status(503)
            .header("Retry-After", value)
            .body("")
            .unwrap_or_else(|e| panic!("{e}"));
        reqwest::Response::from(response)
    }

    #[test]
    fn retry_after_is_read_in_seconds_or_as_a_date() {
        assert_eq!(
            retry_after(&with_retry_after("120")),
            Some(Duration::from_secs(120))
        );
        let in_a_minute =
            httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(90));
        let wait = retry_after(&with_retry_after(&in_a_minute)).unwrap_or_default();
        assert!(
            (Duration::from_secs(85)..=Duration::from_secs(90)).contains(&wait),
            "{wait:?}"
        );
        let past = retry_after(&with_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(past, Some(Duration::ZERO));
        assert_eq!(retry_after(&with_retry_after("soon")), None);
    }

    #[tokio::test]
    async fn an_unreachable_notion_says_why_without_the_token() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = closed.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
        drop(closed);
        let api =
            Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap_or_else(|e| panic!("{e}"));
        let notion = NotionClient::new(api, None, "test").unwrap_or_else(|e| panic!("{e}"));
        let token = Secret::new("secret_notion_token");
        let failed = notion
            .update_preview(&token, bytes::Bytes::from_static(b"{}"))
            .await;
        let Err(e @ NotionError::Unavailable { cause: Some(_), .. }) = failed else {
            panic!("{failed:?}");
        };
        let said = e.to_string();
        assert!(said.to_lowercase().contains("refused"), "{said}");
        assert!(!said.contains("secret_notion_token"), "{said}");
    }
}
