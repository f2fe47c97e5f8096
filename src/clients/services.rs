//! Linking an account to an upstream service a provider file declares (`[service]`):
//! OAuth 2.0 authorization code with PKCE S256, and refresh tokens used and rotated.
//!
//! The `oauth2` crate builds every URL and request; [`OAuthHttp`] carries them. The
//! browser comes back to `{UNFURL_PUBLIC_URL}/oauth/services/{id}/callback`, the redirect
//! URI to register with the service.

use std::collections::BTreeMap;
use std::sync::Arc;

use notion_unfurl_sdk::Secret;
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AccessToken, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    RevocationUrl, Scope, StandardRevocableToken, TokenResponse, TokenUrl,
};
use url::Url;

use crate::clients::oauth_http::{OAuthHttp, Started, describe};
use crate::platform::clock::unix_secs;

/// An OAuth application registered with one service, as a provider file declares it.
#[derive(Debug, Clone)]
pub struct ServiceApp {
    /// What provider files name it by (`gitlab`).
    pub id: String,
    /// What users call it (`GitLab`).
    pub name: String,
    pub authorize_url: Url,
    pub token_url: Url,
    pub scopes: Vec<String>,
    pub client_id: String,
    pub client_secret: Secret,
    /// The client id and secret go in the token request's form body (`client_secret_post`)
    /// instead of HTTP Basic.
    pub secret_in_body: bool,
    /// Its RFC 7009 revocation endpoint, when the file names one (https only).
    pub revoke_url: Option<Url>,
}

/// Why a service did not give tokens.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The service said no for good (`invalid_grant`: a spent or revoked code or refresh
    /// token): the link is gone and the user must link again.
    #[error("{service} refused: {reason}")]
    Refused { service: String, reason: String },
    /// Anything else (unreachable, 5xx, an unreadable answer): worth trying again later.
    #[error("{service} could not be reached: {reason}")]
    Unavailable { service: String, reason: String },
    #[error("the redirect URI cannot be built from UNFURL_PUBLIC_URL")]
    BadPublicUrl,
}

/// Tokens a service issued, with when the access token runs out (unix seconds).
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub expires_at: Option<i64>,
}

/// One service's OAuth client.
#[derive(Debug, Clone)]
pub struct ServiceLogin {
    pub app: ServiceApp,
    redirect_url: Url,
    http: OAuthHttp,
}

impl ServiceLogin {
    /// A fresh authorization URL with its own `state` (128+ random bits) and PKCE pair.
    pub fn start(&self) -> Started {
        let client = BasicClient::new(ClientId::new(self.app.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(self.app.authorize_url.clone()))
            .set_redirect_uri(RedirectUrl::from_url(self.redirect_url.clone()));
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.app.scopes.iter().map(|s| Scope::new(s.clone())))
            .set_pkce_challenge(challenge)
            .url();
        Started {
            url,
            state: state.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        }
    }

    fn client(
        &self,
    ) -> oauth2::Client<
        oauth2::basic::BasicErrorResponse,
        oauth2::basic::BasicTokenResponse,
        oauth2::basic::BasicTokenIntrospectionResponse,
        oauth2::StandardRevocableToken,
        oauth2::basic::BasicRevocationErrorResponse,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointMaybeSet,
        oauth2::EndpointSet,
    > {
        BasicClient::new(ClientId::new(self.app.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                self.app.client_secret.expose().to_owned(),
            ))
            .set_token_uri(TokenUrl::from_url(self.app.token_url.clone()))
            .set_revocation_url_option(self.app.revoke_url.clone().map(RevocationUrl::from_url))
            .set_redirect_uri(RedirectUrl::from_url(self.redirect_url.clone()))
            .set_auth_type(if self.app.secret_in_body {
                AuthType::RequestBody
            } else {
                AuthType::BasicAuth
            })
    }

    /// Revoke a dropped link's tokens at the service (RFC 7009): the refresh token first
    /// (the service then ends the grant's access tokens too), then the access token.
    /// `false` when the file names no revocation endpoint.
    pub async fn revoke(
        &self,
        access_token: &Secret,
        refresh_token: Option<&Secret>,
    ) -> Result<bool, ServiceError> {
        if self.app.revoke_url.is_none() {
            return Ok(false);
        }
        let unavailable = |reason: String| ServiceError::Unavailable {
            service: self.app.id.clone(),
            reason,
        };
        let client = self.client();
        let refresh = refresh_token.map(|r| {
            StandardRevocableToken::RefreshToken(RefreshToken::new(r.expose().to_owned()))
        });
        let access =
            StandardRevocableToken::AccessToken(AccessToken::new(access_token.expose().to_owned()));
        for token in refresh.into_iter().chain([access]) {
            client
                .revoke_token(token)
                .map_err(|e| unavailable(e.to_string()))?
                .request_async(&self.http)
                .await
                .map_err(|e| unavailable(describe(&e)))?;
        }
        Ok(true)
    }

    /// Trade the callback's code (with the PKCE verifier) for tokens.
    pub async fn finish(&self, code: &str, pkce_verifier: &str) -> Result<Tokens, ServiceError> {
        let answer = self
            .client()
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await;
        self.tokens(answer, None)
    }

    /// Trade a refresh token for new tokens. A service that issues no new refresh token
    /// keeps the old one valid: it is kept.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<Tokens, ServiceError> {
        let token = RefreshToken::new(refresh_token.expose().to_owned());
        let answer = self
            .client()
            .exchange_refresh_token(&token)
            .request_async(&self.http)
            .await;
        self.tokens(answer, Some(refresh_token))
    }

    fn tokens<RE: std::error::Error + 'static>(
        &self,
        answer: Result<
            oauth2::basic::BasicTokenResponse,
            RequestTokenError<RE, oauth2::basic::BasicErrorResponse>,
        >,
        previous_refresh: Option<&Secret>,
    ) -> Result<Tokens, ServiceError> {
        let service = self.app.id.clone();
        match answer {
            Ok(token) => Ok(Tokens {
                access_token: Secret::new(token.access_token().secret().clone()),
                refresh_token: token
                    .refresh_token()
                    .map(|r| Secret::new(r.secret().clone()))
                    .or_else(|| previous_refresh.cloned()),
                expires_at: token.expires_in().map(|d| {
                    unix_secs().saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                }),
            }),
            Err(RequestTokenError::ServerResponse(response))
                if matches!(
                    response.error(),
                    BasicErrorResponseType::InvalidGrant
                        | BasicErrorResponseType::UnauthorizedClient
                ) =>
            {
                Err(ServiceError::Refused {
                    service,
                    reason: response.error().to_string(),
                })
            }
            Err(e) => Err(ServiceError::Unavailable {
                service,
                reason: describe(&e),
            }),
        }
    }
}

/// Every declared service's client, by id. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ServiceLogins {
    by_id: Arc<BTreeMap<String, ServiceLogin>>,
}

impl ServiceLogins {
    pub fn new(
        apps: Vec<ServiceApp>,
        public_url: &Url,
        user_agent: &str,
    ) -> Result<Self, ServiceError> {
        let http = OAuthHttp::new(user_agent).map_err(|e| ServiceError::Unavailable {
            service: "(all)".into(),
            reason: e.to_string(),
        })?;
        Self::with_http(apps, public_url, http)
    }

    /// [`ServiceLogins::new`] over a given HTTP client.
    pub fn with_http(
        apps: Vec<ServiceApp>,
        public_url: &Url,
        http: OAuthHttp,
    ) -> Result<Self, ServiceError> {
        let mut by_id = BTreeMap::new();
        for app in apps {
            let redirect_url =
                redirect_url(public_url, &app.id).ok_or(ServiceError::BadPublicUrl)?;
            by_id.insert(
                app.id.clone(),
                ServiceLogin {
                    app,
                    redirect_url,
                    http: http.clone(),
                },
            );
        }
        Ok(Self {
            by_id: Arc::new(by_id),
        })
    }

    pub fn get(&self, id: &str) -> Option<&ServiceLogin> {
        self.by_id.get(id)
    }

    pub fn all(&self) -> impl Iterator<Item = &ServiceLogin> {
        self.by_id.values()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// `{public_url}/oauth/services/{id}/callback`: what to register with the service.
pub fn redirect_url(public_url: &Url, id: &str) -> Option<Url> {
    let mut url = public_url.clone();
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .extend(["oauth", "services", id, "callback"]);
    Some(url)
}
