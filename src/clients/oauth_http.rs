//! The HTTP the `oauth2` crate's token requests go through: our own reqwest client (no
//! proxy from the environment, no redirects, timeouts, a capped answer) behind its
//! `AsyncHttpClient` seam, since its bundled reqwest is another major version. Used by
//! GitHub sign-in and by the services provider files declare.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use notion_unfurl_sdk::trusted::{TrustedError, error_chain, read_limited};

/// Largest token response read.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Where to send the browser to sign in, and what to keep for the callback. Its `Debug`
/// shows none of it: the URL carries the state and the PKCE challenge.
pub struct Started {
    pub url: url::Url,
    pub state: String,
    pub pkce_verifier: String,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct OAuthHttp {
    client: reqwest::Client,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

impl OAuthHttp {
    pub fn new(user_agent: &str) -> Result<Self, TrustedError> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(user_agent)
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self { client })
    }

    /// [`OAuthHttp::new`] that also trusts the certificate `root` (DER): tests' https fakes.
    #[cfg(test)]
    pub fn trusting(root: &[u8]) -> Self {
        let root = reqwest::Certificate::from_der(root).unwrap_or_else(|e| panic!("{e}"));
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .add_root_certificate(root)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        Self { client }
    }

    /// Sends one request the `oauth2` crate built; URLs are left out of errors (a query
    /// may hold a code).
    pub async fn send(
        &self,
        request: oauth2::HttpRequest,
    ) -> Result<oauth2::HttpResponse, HttpError> {
        let request = reqwest::Request::try_from(request)
            .map_err(|e| HttpError(error_chain(&e.without_url())))?;
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| HttpError(error_chain(&e.without_url())))?;
        let mut builder = http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let body = read_limited(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| HttpError(e.to_string()))?;
        builder.body(body).map_err(|e| HttpError(e.to_string()))
    }
}

/// So that `request_async(&http)` takes it directly: a boxed `Send` future, which keeps
/// the token requests usable from spawned tasks (a closure's future is not general enough).
impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp {
    type Error = HttpError;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

/// The kind of an oauth2 failure, without the response body (it may echo the code).
pub fn describe<RE: std::error::Error + 'static, T: oauth2::ErrorResponse>(
    error: &oauth2::RequestTokenError<RE, T>,
) -> String {
    match error {
        oauth2::RequestTokenError::ServerResponse(response) => format!("error response {response}"),
        oauth2::RequestTokenError::Request(e) => format!("request failed: {e}"),
        oauth2::RequestTokenError::Parse(_, _) => "unreadable token response".to_owned(),
        oauth2::RequestTokenError::Other(e) => e.clone(),
    }
}
