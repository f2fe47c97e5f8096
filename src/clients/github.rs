//! Signing in with GitHub: our OAuth client side (authorization code + PKCE S256).
//!
//! The `oauth2` crate builds the URLs and requests; it talks HTTP through our own reqwest
//! client (fixed host, no redirects, timeouts, no proxy from the environment) via its
//! `AsyncHttpClient` seam, since its bundled reqwest is another major version.

use std::time::Duration;

use notion_unfurl_sdk::Secret;
use notion_unfurl_sdk::trusted::{TrustedClient, TrustedError, error_chain, read_limited};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use serde::Deserialize;
use url::Url;

use crate::clients::oauth_http::{OAuthHttp, Started, describe};
use crate::platform::config::Settings;

/// Scopes we ask for: `repo` lets previews read the private pull requests the user can see.
const SCOPES: &[&str] = &["repo", "read:user"];

/// Largest token or `/user` response we read.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("GitHub refused the code exchange: {0}")]
    Exchange(String),
    #[error("GitHub's user endpoint answered {0}")]
    User(u16),
    #[error("GitHub could not be reached: {0}")]
    Transport(String),
    #[error(transparent)]
    Client(#[from] TrustedError),
}

/// The GitHub identity behind a finished sign-in.
#[derive(Debug)]
pub struct GitHubUser {
    pub id: u64,
    pub login: String,
    pub token: Secret,
}

#[derive(Debug, Clone)]
pub struct GitHubLogin {
    client_id: String,
    client_secret: Secret,
    web_url: Url,
    redirect_url: Url,
    api: TrustedClient,
    token_http: OAuthHttp,
}

fn join(base: &Url, path: &str) -> Option<Url> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base.join(path).ok()
}

impl GitHubLogin {
    /// `None` when no GitHub OAuth app is configured.
    pub fn from_settings(
        settings: &Settings,
        user_agent: &str,
    ) -> Result<Option<Self>, LoginError> {
        let (Some(client_id), Some(client_secret)) = (
            settings.github_client_id.clone(),
            settings.github_client_secret.clone(),
        ) else {
            return Ok(None);
        };
        let redirect_url = join(&settings.public_url, "oauth/github/callback")
            .ok_or_else(|| LoginError::Exchange("bad public URL".into()))?;
        let token_http = OAuthHttp::new(user_agent)?;
        Ok(Some(Self {
            client_id,
            client_secret,
            web_url: settings.github_web_url.clone(),
            redirect_url,
            api: TrustedClient::new(
                settings.github_api_url.clone(),
                user_agent,
                Duration::from_secs(10),
            )?,
            token_http,
        }))
    }

    fn endpoint(&self, path: &str) -> Result<Url, LoginError> {
        join(&self.web_url, path).ok_or_else(|| LoginError::Exchange("bad GitHub web URL".into()))
    }

    /// A fresh authorization URL with its own `state` (128+ random bits) and PKCE pair.
    pub fn start(&self) -> Result<Started, LoginError> {
        let client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(self.endpoint("login/oauth/authorize")?))
            .set_redirect_uri(RedirectUrl::from_url(self.redirect_url.clone()));
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(SCOPES.iter().map(|s| Scope::new((*s).to_owned())))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Started {
            url,
            state: state.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Trade the callback's code (with the PKCE verifier) for a token, then read who it is.
    pub async fn finish(&self, code: &str, pkce_verifier: &str) -> Result<GitHubUser, LoginError> {
        let client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(self.client_secret.expose().to_owned()))
            .set_token_uri(TokenUrl::from_url(
                self.endpoint("login/oauth/access_token")?,
            ))
            .set_redirect_uri(RedirectUrl::from_url(self.redirect_url.clone()));
        // GitHub reports a bad code as a 200 carrying `{"error": ...}`: that fails to parse
        // as a token response and lands here as an error too.
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.token_http)
            .await
            .map_err(|e| LoginError::Exchange(describe(&e)))?;
        let token = Secret::new(token.access_token().secret().clone());
        let user = self.user(&token).await?;
        Ok(GitHubUser {
            id: user.id,
            login: user.login,
            token,
        })
    }

    async fn user(&self, token: &Secret) -> Result<User, LoginError> {
        let response = self
            .api
            .request(reqwest::Method::GET, "user")?
            .bearer_auth(token.expose())
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .send()
            .await
            .map_err(|e| LoginError::Transport(error_chain(&e.without_url())))?;
        if !response.status().is_success() {
            return Err(LoginError::User(response.status().as_u16()));
        }
        let body = read_limited(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| LoginError::Transport(e.to_string()))?;
        serde_json::from_slice(&body).map_err(|e| LoginError::Transport(e.to_string()))
    }
}

#[derive(Deserialize)]
struct User {
    id: u64,
    login: String,
}
