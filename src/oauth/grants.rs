//! The OAuth grants of our authorisation server (Notion is the client): minting and
//! exchanging authorisation codes, rotating refresh tokens, and revoking a connection
//! (protocol.md §1 steps 5–7 and §4). No HTTP here: `http::oauth_token` parses requests and
//! authenticates the client, then calls these.
//!
//! Codes and refresh tokens are 256 random bits, handed out once and stored only as their
//! SHA-256 ([`crate::platform::crypto::token_hash`]); the store spends them with one conditional
//! update, so of two concurrent presentations exactly one wins.
//!
//! There is one configured OAuth client (Notion). Codes keep the client id they were minted
//! for and are checked against it; refresh tokens have no client column, so for them the
//! client authentication done by the token endpoint is the binding (RFC 6749 §6 only asks
//! that a refresh token be usable by the client it was issued to, and only that client can
//! authenticate).
//!
//! Every theft signal ends the same way: a replayed code, a replayed refresh token, and a
//! revocation all revoke the whole connection ([`Grants::revoke_connection`]), so its access
//! tokens die at once too, not only when they expire (RFC 6749 §4.1.2, RFC 9700 §4.14.2).

use std::time::Duration;

use crate::platform::clock::unix_secs;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use crate::oauth::connections::Connections;
use crate::oauth::services::revoke_at_services;
use crate::oauth::tokens::{Claims, TokenError, Tokens};
use crate::platform::crypto::keys::Keys;
use notion_unfurl_sdk::Secret;

use crate::platform::crypto::{random_id, random_token, token_hash};
use crate::store::{CodeOutcome, RotateOutcome, Store, StoreError};

/// How long an authorisation code can be exchanged (RFC 6749 §4.1.2 recommends at most 10
/// minutes).
pub const CODE_TTL: Duration = Duration::from_secs(10 * 60);

/// How long a refresh token stays usable. Every refresh rotates it, so this only bounds how
/// long a connection Notion stops using keeps a live credential.
pub const REFRESH_TTL: Duration = Duration::from_secs(180 * 24 * 60 * 60);

fn expiry(ttl: Duration) -> i64 {
    unix_secs().saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX))
}

/// A fresh single-use authorisation code for `connection_id`, bound to `client_id` and the
/// exact `redirect_uri`, valid for [`CODE_TTL`]. Only its hash is stored; the code itself
/// goes to the client once, in the redirect. Refused with [`StoreError::ConnectionRevoked`]
/// when the connection is revoked or unknown.
pub async fn mint_code(
    store: &Store,
    connection_id: &str,
    client_id: &str,
    redirect_uri: &str,
) -> Result<String, StoreError> {
    let code = random_token();
    store
        .insert_auth_code(
            &token_hash(&code),
            connection_id,
            client_id,
            redirect_uri,
            expiry(CODE_TTL),
        )
        .await?;
    Ok(code)
}

/// What a successful grant hands to the client.
pub struct IssuedTokens {
    pub access_token: Secret,
    pub refresh_token: Secret,
    /// Lifetime of the access token.
    pub expires_in: Duration,
}

impl std::fmt::Debug for IssuedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedTokens")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Why a grant was refused. All of these are `invalid_grant` to the client: telling it
/// which one would only help someone probing stolen values. The kind is for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    UnknownCode,
    ExpiredCode,
    /// The code was spent before; its connection has just been revoked.
    ReusedCode,
    /// The code was minted for another client.
    ClientMismatch,
    /// The `redirect_uri` is missing or not exactly the one the code was minted with.
    RedirectMismatch,
    UnknownRefreshToken,
    ExpiredRefreshToken,
    /// The refresh token's family or connection was revoked earlier.
    RevokedRefreshToken,
    /// The refresh token was spent before; its family and connection have just been revoked.
    ReusedRefreshToken,
    /// The connection was revoked between minting the code and exchanging it.
    ConnectionRevoked,
}

impl Refusal {
    /// A stable name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownCode => "unknown_code",
            Self::ExpiredCode => "expired_code",
            Self::ReusedCode => "reused_code",
            Self::ClientMismatch => "client_mismatch",
            Self::RedirectMismatch => "redirect_uri_mismatch",
            Self::UnknownRefreshToken => "unknown_refresh_token",
            Self::ExpiredRefreshToken => "expired_refresh_token",
            Self::RevokedRefreshToken => "revoked_refresh_token",
            Self::ReusedRefreshToken => "reused_refresh_token",
            Self::ConnectionRevoked => "connection_revoked",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("grant refused: {0}")]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// What a revocation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// The token was ours; this connection is now revoked (it may have been already).
    Revoked { connection_id: String },
    /// Not a token we can attribute to a connection: nothing was touched.
    NotOurs,
}

/// Decides whether an access token is one we signed, whether or not it has expired.
///
/// Notion may call the deleted-token callback with an access token it stopped refreshing
/// hours ago. Its signature still proves that the caller once held it, which is all a
/// revocation needs; an unauthenticated identifier alone never revokes anything.
#[derive(Clone)]
pub struct SignatureCheck {
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for SignatureCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignatureCheck([redacted])")
    }
}

impl SignatureCheck {
    /// The same rules as [`Tokens::verify`] (HS256 pinned, `typ`, `iss`, `aud`, `sub`
    /// required) except for `exp`.
    pub fn new(keys: &Keys, issuer: &str, audience: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_exp = false;
        Self {
            decoding: DecodingKey::from_secret(&keys.jwt),
            validation,
        }
    }

    /// The connection id (`sub`) of an authentic token, expired or not.
    pub fn subject(&self, token: &str) -> Option<String> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        (data.header.typ.as_deref() == Some("JWT") && !data.claims.sub.is_empty())
            .then_some(data.claims.sub)
    }
}

/// Our refresh tokens are [`random_token`]s: 64 lowercase hex characters. Anything else is
/// refused before it costs a database write.
fn looks_like_refresh_token(token: &str) -> bool {
    token.len() == 64
        && token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// How long a user has to finish linking (the page to link other services, then "Continue
/// to Notion") before the connection made on the way is revoked: far longer than the
/// pending cookie lives ([`crate::oauth::consent::PENDING_TTL`]).
pub const UNFINISHED_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// The grants, over the connections (and their store) and the access-token signer.
#[derive(Debug, Clone, Copy)]
pub struct Grants<'a> {
    connections: &'a Connections,
    tokens: &'a Tokens,
}

impl<'a> Grants<'a> {
    pub fn new(connections: &'a Connections, tokens: &'a Tokens) -> Self {
        Self {
            connections,
            tokens,
        }
    }

    fn store(&self) -> &Store {
        self.connections.store()
    }

    /// The `authorization_code` grant for the already authenticated `client_id`.
    ///
    /// Presenting a code spends it, whatever happens next: a code sent with the wrong
    /// `redirect_uri` cannot be retried, so a stolen code is worth one guess at most.
    pub async fn exchange_code(
        &self,
        client_id: &str,
        code: &str,
        redirect_uri: Option<&str>,
    ) -> Result<IssuedTokens, GrantError> {
        let outcome = self
            .store()
            .consume_auth_code(&token_hash(code), unix_secs())
            .await?;
        let connection_id = match outcome {
            CodeOutcome::Fresh {
                connection_id,
                client_id: bound_client,
                redirect_uri: bound_uri,
            } => {
                if bound_client != client_id {
                    return Err(GrantError::Refused(Refusal::ClientMismatch));
                }
                if redirect_uri != Some(bound_uri.as_str()) {
                    return Err(GrantError::Refused(Refusal::RedirectMismatch));
                }
                connection_id
            }
            CodeOutcome::Reused { connection_id } => {
                // One of the two presenters stole the code and we cannot tell which, so
                // everything the code issued goes (RFC 6749 §4.1.2).
                self.revoke_connection(&connection_id).await?;
                return Err(GrantError::Refused(Refusal::ReusedCode));
            }
            CodeOutcome::Expired => return Err(GrantError::Refused(Refusal::ExpiredCode)),
            CodeOutcome::Unknown => return Err(GrantError::Refused(Refusal::UnknownCode)),
        };
        let refresh_token = random_token();
        match self
            .store()
            .insert_refresh_token(
                &token_hash(&refresh_token),
                &connection_id,
                &random_id(),
                expiry(REFRESH_TTL),
            )
            .await
        {
            Ok(()) => {}
            Err(StoreError::ConnectionRevoked) => {
                return Err(GrantError::Refused(Refusal::ConnectionRevoked));
            }
            Err(e) => return Err(e.into()),
        }
        self.issued(&connection_id, refresh_token)
    }

    /// The `refresh_token` grant: the presented token is spent and a new one returned.
    pub async fn refresh(&self, refresh_token: &str) -> Result<IssuedTokens, GrantError> {
        if !looks_like_refresh_token(refresh_token) {
            return Err(GrantError::Refused(Refusal::UnknownRefreshToken));
        }
        let next = random_token();
        let outcome = self
            .store()
            .rotate_refresh_token(
                &token_hash(refresh_token),
                &token_hash(&next),
                unix_secs(),
                expiry(REFRESH_TTL),
            )
            .await?;
        match outcome {
            RotateOutcome::Rotated { connection_id, .. } => self.issued(&connection_id, next),
            RotateOutcome::Reused { connection_id, .. } => {
                // The store revoked the family; revoking the connection as well kills the
                // access tokens the thief may already hold, which expire only within the
                // hour otherwise. The cost is that Notion must link the account again.
                self.revoke_connection(&connection_id).await?;
                Err(GrantError::Refused(Refusal::ReusedRefreshToken))
            }
            RotateOutcome::Revoked => Err(GrantError::Refused(Refusal::RevokedRefreshToken)),
            RotateOutcome::Expired => Err(GrantError::Refused(Refusal::ExpiredRefreshToken)),
            RotateOutcome::Unknown => Err(GrantError::Refused(Refusal::UnknownRefreshToken)),
        }
    }

    fn issued(
        &self,
        connection_id: &str,
        refresh_token: String,
    ) -> Result<IssuedTokens, GrantError> {
        Ok(IssuedTokens {
            access_token: Secret::new(self.tokens.issue(connection_id)?),
            refresh_token: Secret::new(refresh_token),
            expires_in: self.tokens.ttl(),
        })
    }

    /// Revoke the connection `token` belongs to, if it is one of our access tokens (expired
    /// ones included, see [`SignatureCheck`]) or one of our refresh tokens. Anything else
    /// is ignored. Idempotent.
    pub async fn revoke(
        &self,
        token: &str,
        signature: &SignatureCheck,
    ) -> Result<Revocation, StoreError> {
        let connection_id = if token.bytes().filter(|b| *b == b'.').count() == 2 {
            match self.tokens.verify(token) {
                Ok(claims) => Some(claims.sub.clone()),
                Err(_) => signature.subject(token),
            }
        } else if looks_like_refresh_token(token) {
            self.refresh_token_connection(token).await?
        } else {
            None
        };
        let Some(connection_id) = connection_id else {
            return Ok(Revocation::NotOurs);
        };
        self.revoke_connection(&connection_id).await?;
        Ok(Revocation::Revoked { connection_id })
    }

    /// The connection of a live or spent refresh token; nothing for an expired, revoked or
    /// unknown one (a revoked token's connection is revoked already, or was revoked with
    /// the family a replay killed).
    async fn refresh_token_connection(&self, token: &str) -> Result<Option<String>, StoreError> {
        self.store()
            .refresh_token_connection(&token_hash(token), unix_secs())
            .await
    }

    /// Revoke the connections whose linking was never finished (Notion never got our code)
    /// though they were made over [`UNFINISHED_AFTER`] before `now`: their Notion token, and
    /// the account's service tokens when it has no other connection, go as with any
    /// revocation. How many were revoked.
    pub async fn revoke_unfinished(&self, now: i64) -> Result<usize, StoreError> {
        let before = now - UNFINISHED_AFTER.as_secs() as i64;
        let unfinished = self
            .store()
            .unfinished_connections(now - 24 * 60 * 60, before)
            .await?;
        for id in &unfinished {
            self.revoke_connection(id).await?;
        }
        if !unfinished.is_empty() {
            tracing::info!(
                connections = unfinished.len(),
                "revoked connections whose linking was never finished"
            );
        }
        Ok(unfinished.len())
    }

    /// Revoke one connection: its refresh tokens, codes, Notion token and subscriptions
    /// (the store does these in one transaction), then the account's upstream token when no
    /// active connection of the account is left to use it (protocol.md §4), then this
    /// instance's cached view of it, so `/unfurl` refuses its access tokens at once.
    ///
    /// The upstream token check is not atomic with a concurrent re-link of the same account:
    /// a re-link that stored a new upstream token but has not yet created its connection
    /// can lose that token, and the user links again. Idempotent.
    pub async fn revoke_connection(&self, connection_id: &str) -> Result<(), StoreError> {
        let store = self.store();
        store.revoke_connection(connection_id).await?;
        self.connections.forget(connection_id).await;
        let Some(connection) = store.connection(connection_id).await? else {
            return Ok(());
        };
        if !store
            .connections_for_account(&connection.account_key)
            .await?
            .is_empty()
        {
            return Ok(());
        }
        // Its last connection gone, the account keeps no upstream token: GitHub's and
        // every other service's go together, and are revoked at the services that take it.
        let logins = self.connections.services().clone();
        let revocable = if logins.all().any(|l| l.app.revoke_url.is_some()) {
            store
                .service_tokens(&connection.account_key)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "could not read the service tokens to revoke them");
                    Vec::new()
                })
        } else {
            Vec::new()
        };
        let dropped = store.delete_service_tokens(&connection.account_key).await?;
        if !revocable.is_empty() {
            // In the background: Notion's Deleted Token Callback does not wait for them.
            tokio::spawn(async move { revoke_at_services(&logins, revocable).await });
        }
        if dropped > 0 {
            tracing::info!(
                services = dropped,
                "dropped the service tokens of an account with no connection left"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::crypto::cipher::Cipher;
    use crate::store::NewConnection;

    const ROOT: &[u8] = b"a root secret of at least thirty-two bytes";
    const ISSUER: &str = "https://unfurl.test";
    const AUDIENCE: &str = "https://unfurl.test/unfurl";
    const CLIENT: &str = "notion-client";
    const REDIRECT: &str = "https://www.notion.so/externalIntegrationAuthCallback";

    struct Fixture {
        connections: Connections,
        tokens: Tokens,
        signature: SignatureCheck,
        dir: std::path::PathBuf,
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    impl Fixture {
        async fn new() -> Self {
            let dir = std::env::temp_dir().join(format!("grants-test-{}", random_id()));
            let url = format!("sqlite://{}/db.sqlite", dir.display());
            let store = Store::connect(&url, Cipher::from_root(ROOT, 1))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let keys = Keys::derive(ROOT);
            Self {
                connections: Connections::new(store, Default::default()),
                tokens: Tokens::new(
                    &keys,
                    ISSUER.into(),
                    AUDIENCE.into(),
                    Duration::from_secs(3600),
                ),
                signature: SignatureCheck::new(&keys, ISSUER, AUDIENCE),
                dir,
            }
        }

        fn grants(&self) -> Grants<'_> {
            Grants::new(&self.connections, &self.tokens)
        }

        fn store(&self) -> &Store {
            self.connections.store()
        }

        async fn connection(&self, account: &str) -> String {
            if self
                .store()
                .account(account)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .is_none()
            {
                self.store()
                    .upsert_account(account, account, Some(&Secret::new("gho_upstream")))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            self.store()
                .create_connection(NewConnection::notion(account))
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .id
        }

        async fn exchange(&self, connection: &str) -> IssuedTokens {
            let code = mint_code(self.store(), connection, CLIENT, REDIRECT)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            self.grants()
                .exchange_code(CLIENT, &code, Some(REDIRECT))
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        }

        async fn is_active(&self, connection: &str) -> bool {
            self.connections
                .active(connection)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .is_some()
        }

        async fn upstream_token(&self, account: &str) -> Option<String> {
            self.store()
                .account(account)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .and_then(|a| a.upstream_token)
                .map(|t| t.expose().to_owned())
        }
    }

    fn refused(result: Result<IssuedTokens, GrantError>) -> Refusal {
        match result {
            Err(GrantError::Refused(refusal)) => refusal,
            Err(e) => panic!("unexpected error: {e}"),
            Ok(_) => panic!("the grant was accepted"),
        }
    }

    #[tokio::test]
    async fn a_code_is_exchanged_once_and_its_replay_revokes_the_connection() {
        let f = Fixture::new().await;
        let connection = f.connection("local:a").await;
        let code = mint_code(f.store(), &connection, CLIENT, REDIRECT)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let issued = f
            .grants()
            .exchange_code(CLIENT, &code, Some(REDIRECT))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let claims = f
            .tokens
            .verify(issued.access_token.expose())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(claims.sub, connection);
        assert!(f.is_active(&connection).await);

        let replay = f
            .grants()
            .exchange_code(CLIENT, &code, Some(REDIRECT))
            .await;
        assert_eq!(refused(replay), Refusal::ReusedCode);
        assert!(!f.is_active(&connection).await);
        let refresh = f.grants().refresh(issued.refresh_token.expose()).await;
        assert_eq!(refused(refresh), Refusal::RevokedRefreshToken);
    }

    #[tokio::test]
    async fn a_code_is_bound_to_its_client_and_exact_redirect_uri() {
        let f = Fixture::new().await;
        let connection = f.connection("local:a").await;
        for (client, redirect, expected) in [
            ("other-client", Some(REDIRECT), Refusal::ClientMismatch),
            (CLIENT, None, Refusal::RedirectMismatch),
            (
                CLIENT,
                Some("https://notion.so/externalIntegrationAuthCallback"),
                Refusal::RedirectMismatch,
            ),
        ] {
            let code = mint_code(f.store(), &connection, CLIENT, REDIRECT)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let result = f.grants().exchange_code(client, &code, redirect).await;
            assert_eq!(refused(result), expected);
        }
        let unknown = f
            .grants()
            .exchange_code(CLIENT, &random_token(), Some(REDIRECT))
            .await;
        assert_eq!(refused(unknown), Refusal::UnknownCode);
    }

    #[tokio::test]
    async fn refresh_rotates_and_a_replayed_refresh_token_kills_the_chain() {
        let f = Fixture::new().await;
        let connection = f.connection("local:a").await;
        let first = f.exchange(&connection).await;
        let second = f
            .grants()
            .refresh(first.refresh_token.expose())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(second.refresh_token.expose(), first.refresh_token.expose());

        let replay = f.grants().refresh(first.refresh_token.expose()).await;
        assert_eq!(refused(replay), Refusal::ReusedRefreshToken);
        let latest = f.grants().refresh(second.refresh_token.expose()).await;
        assert_eq!(refused(latest), Refusal::RevokedRefreshToken);
        assert!(!f.is_active(&connection).await);
    }

    #[tokio::test]
    async fn revoking_the_last_connection_deletes_the_upstream_token_but_not_before() {
        let f = Fixture::new().await;
        let one = f.connection("github:1").await;
        let two = f.connection("github:1").await;
        let issued = f.exchange(&one).await;

        let revoked = f
            .grants()
            .revoke(issued.access_token.expose(), &f.signature)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            revoked,
            Revocation::Revoked {
                connection_id: one.clone()
            }
        );
        let stored = f
            .store()
            .connection(&one)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(stored.is_some_and(|c| c.is_revoked() && c.notion_token.is_none()));
        assert_eq!(
            f.upstream_token("github:1").await.as_deref(),
            Some("gho_upstream")
        );

        let issued = f.exchange(&two).await;
        f.grants()
            .revoke(issued.refresh_token.expose(), &f.signature)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!f.is_active(&two).await);
        assert_eq!(f.upstream_token("github:1").await, None);
    }

    #[tokio::test]
    async fn an_expired_but_authentic_access_token_still_revokes() {
        let f = Fixture::new().await;
        let connection = f.connection("local:a").await;
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: connection.clone(),
            exp: now - 7200,
            iat: now - 10_800,
            jti: "x".into(),
        };
        let expired = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&Keys::derive(ROOT).jwt),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(f.tokens.verify(&expired).is_err());

        let forged = Tokens::new(
            &Keys::derive(b"another root secret, also 32 bytes long!"),
            ISSUER.into(),
            AUDIENCE.into(),
            Duration::from_secs(3600),
        )
        .issue(&connection)
        .unwrap_or_else(|e| panic!("{e}"));
        for not_ours in [forged.as_str(), "garbage", &random_token(), &connection] {
            let outcome = f
                .grants()
                .revoke(not_ours, &f.signature)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(outcome, Revocation::NotOurs);
        }
        assert!(f.is_active(&connection).await);

        f.grants()
            .revoke(&expired, &f.signature)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!f.is_active(&connection).await);
        let again = f
            .grants()
            .revoke(&expired, &f.signature)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            again,
            Revocation::Revoked {
                connection_id: connection
            }
        );
    }

    #[tokio::test]
    async fn a_revoked_connection_gets_no_new_code() {
        let f = Fixture::new().await;
        let connection = f.connection("local:a").await;
        f.grants()
            .revoke_connection(&connection)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let minted = mint_code(f.store(), &connection, CLIENT, REDIRECT).await;
        assert!(matches!(minted, Err(StoreError::ConnectionRevoked)));
    }
}
