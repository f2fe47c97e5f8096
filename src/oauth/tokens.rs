//! Our access tokens: short-lived HS256 JWTs (RFC 8725 practice).
//!
//! The algorithm is pinned, `typ` must be `JWT`, and `iss`, `aud`, `sub`, `exp` are
//! required. `sub` is the id of the connection (one Notion authorisation of an account)
//! the token acts for.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::platform::clock::unix_secs_unsigned;
use crate::platform::crypto::keys::Keys;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The connection id.
    pub sub: String,
    pub exp: u64,
    pub iat: u64,
    /// Unique id, so a single token can be revoked.
    pub jti: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token rejected: {0}")]
    Invalid(Rejection),
    #[error("could not sign a token: {0}")]
    Sign(String),
}

/// Why a token failed verification: what an operator needs to tell a token from another
/// server or secret (`bad_signature`), one for another public URL (`wrong_audience`,
/// `wrong_issuer`) and one that merely aged (`expired`), and never anything of the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Expired,
    /// Signed with another secret, or altered.
    BadSignature,
    WrongIssuer,
    WrongAudience,
    /// Not HS256, or `typ` is not `JWT`.
    WrongType,
    /// `exp`, `iss`, `aud` or `sub` missing or empty.
    MissingClaim,
    NotYetValid,
    /// Not a JWT at all (bad base64, bad JSON, wrong shape).
    Malformed,
}

impl Rejection {
    /// A stable name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::BadSignature => "bad_signature",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::WrongType => "wrong_type",
            Self::MissingClaim => "missing_claim",
            Self::NotYetValid => "not_yet_valid",
            Self::Malformed => "malformed",
        }
    }

    fn of(error: &jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        match error.kind() {
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::InvalidSignature => Self::BadSignature,
            ErrorKind::InvalidIssuer => Self::WrongIssuer,
            ErrorKind::InvalidAudience => Self::WrongAudience,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => Self::WrongType,
            ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidSubject => Self::MissingClaim,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            _ => Self::Malformed,
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Signs and verifies access tokens for one issuer and audience.
///
/// Notion presents the same token on every unfurl until it expires, so verified tokens are
/// remembered (keyed by the whole token string, so only a byte-identical token hits) and a
/// repeat costs a hash lookup instead of base64, JSON and HMAC work.
#[derive(Clone)]
pub struct Tokens {
    verified: moka::sync::Cache<String, Arc<Claims>>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// Clock skew tolerated on `exp`.
const LEEWAY_SECS: u64 = 30;

/// How many verified tokens are remembered, and for how long at most.
const VERIFIED_CAPACITY: u64 = 10_000;
const VERIFIED_TTL: Duration = Duration::from_secs(300);

impl Tokens {
    pub fn new(keys: &Keys, issuer: String, audience: String, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&issuer]);
        validation.set_audience(&[&audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        Self {
            verified: moka::sync::Cache::builder()
                .max_capacity(VERIFIED_CAPACITY)
                .time_to_live(VERIFIED_TTL)
                .build(),
            encoding: EncodingKey::from_secret(&keys.jwt),
            decoding: DecodingKey::from_secret(&keys.jwt),
            validation,
            issuer,
            audience,
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A fresh access token for the connection `connection`.
    pub fn issue(&self, connection: &str) -> Result<String, TokenError> {
        let iat = unix_secs_unsigned();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: connection.to_owned(),
            exp: iat + self.ttl.as_secs(),
            iat,
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| TokenError::Sign(e.to_string()))
    }

    /// The claims of a valid token. The error text is for logs only: it never holds the token.
    pub fn verify(&self, token: &str) -> Result<Arc<Claims>, TokenError> {
        if let Some(claims) = self.verified.get(token) {
            if claims.exp + LEEWAY_SECS > unix_secs_unsigned() {
                return Ok(claims);
            }
            self.verified.invalidate(token);
            return Err(TokenError::Invalid(Rejection::Expired));
        }
        let claims = Arc::new(self.verify_uncached(token)?);
        self.verified.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }

    /// How long verified `claims` stay acceptable (their expiry plus the leeway).
    pub fn remaining(&self, claims: &Claims) -> Duration {
        Duration::from_secs((claims.exp + LEEWAY_SECS).saturating_sub(unix_secs_unsigned()))
    }

    fn verify_uncached(&self, token: &str) -> Result<Claims, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| TokenError::Invalid(Rejection::of(&e)))?;
        if data.header.typ.as_deref() != Some("JWT") {
            return Err(TokenError::Invalid(Rejection::WrongType));
        }
        if data.claims.sub.is_empty() {
            return Err(TokenError::Invalid(Rejection::MissingClaim));
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn tokens() -> Tokens {
        Tokens::new(
            &Keys::derive(&[7; 32]),
            "https://unfurl.test".into(),
            "https://unfurl.test/unfurl".into(),
            Duration::from_secs(3600),
        )
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn forge(header: &str, claims: &Claims, signature: &str) -> String {
        let body = serde_json::to_vec(claims).unwrap_or_default();
        format!("{}.{}.{}", b64(header.as_bytes()), b64(&body), signature)
    }

    #[test]
    fn an_issued_token_verifies() {
        let t = tokens();
        let token = t.issue("local:abc").unwrap_or_else(|e| panic!("{e}"));
        let claims = t.verify(&token).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(claims.sub, "local:abc");
        assert_eq!(claims.aud, "https://unfurl.test/unfurl");
    }

    #[test]
    fn alg_none_and_tampered_tokens_are_refused() {
        let t = tokens();
        let token = t.issue("local:abc").unwrap_or_else(|e| panic!("{e}"));
        let claims = t.verify(&token).unwrap_or_else(|e| panic!("{e}"));
        let none = forge(r#"{"alg":"none","typ":"JWT"}"#, &claims, "");
        assert!(t.verify(&none).is_err());
        let mut other = (*claims).clone();
        other.sub = "local:someone-else".into();
        let signature = token.rsplit('.').next().unwrap_or_default();
        let swapped = forge(r#"{"alg":"HS256","typ":"JWT"}"#, &other, signature);
        assert_eq!(rejection(&t, &swapped), Some(Rejection::BadSignature));
    }

    fn rejection(tokens: &Tokens, token: &str) -> Option<Rejection> {
        match tokens.verify(token) {
            Err(TokenError::Invalid(rejection)) => Some(rejection),
            _ => None,
        }
    }

    #[test]
    fn each_refusal_names_its_reason_and_never_the_token() {
        let t = tokens();
        assert_eq!(rejection(&t, "not-a-jwt"), Some(Rejection::Malformed));
        let other_key = Tokens::new(
            &Keys::derive(&[8; 32]),
            "https://unfurl.test".into(),
            "https://unfurl.test/unfurl".into(),
            Duration::from_secs(3600),
        );
        let foreign = other_key.issue("a").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rejection(&t, &foreign), Some(Rejection::BadSignature));
        let elsewhere = Tokens::new(
            &Keys::derive(&[7; 32]),
            "https://unfurl.test".into(),
            "https://elsewhere.test/unfurl".into(),
            Duration::from_secs(3600),
        );
        let misaddressed = elsewhere.issue("a").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rejection(&t, &misaddressed), Some(Rejection::WrongAudience));
        let expired = Claims {
            iss: "https://unfurl.test".into(),
            aud: "https://unfurl.test/unfurl".into(),
            sub: "a".into(),
            exp: unix_secs_unsigned() - 3600,
            iat: unix_secs_unsigned() - 7200,
            jti: "x".into(),
        };
        let old = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &expired,
            &EncodingKey::from_secret(&Keys::derive(&[7; 32]).jwt),
        )
        .unwrap_or_default();
        assert_eq!(rejection(&t, &old), Some(Rejection::Expired));
        let shown = t
            .verify(&foreign)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(shown, "token rejected: bad_signature");
    }

    #[test]
    fn wrong_audience_issuer_key_or_expiry_is_refused() {
        let t = tokens();
        let other_aud = Tokens::new(
            &Keys::derive(&[7; 32]),
            "https://unfurl.test".into(),
            "https://elsewhere.test/unfurl".into(),
            Duration::from_secs(3600),
        );
        let token = other_aud.issue("a").unwrap_or_else(|e| panic!("{e}"));
        assert!(t.verify(&token).is_err());

        let other_key = Tokens::new(
            &Keys::derive(&[8; 32]),
            "https://unfurl.test".into(),
            "https://unfurl.test/unfurl".into(),
            Duration::from_secs(3600),
        );
        let token = other_key.issue("a").unwrap_or_else(|e| panic!("{e}"));
        assert!(t.verify(&token).is_err());

        let expired = Claims {
            iss: "https://unfurl.test".into(),
            aud: "https://unfurl.test/unfurl".into(),
            sub: "a".into(),
            exp: unix_secs_unsigned() - 3600,
            iat: unix_secs_unsigned() - 7200,
            jti: "x".into(),
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &expired,
            &EncodingKey::from_secret(&Keys::derive(&[7; 32]).jwt),
        )
        .unwrap_or_default();
        assert!(t.verify(&token).is_err());
    }

    #[test]
    fn a_token_without_typ_jwt_is_refused() {
        let t = tokens();
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("at+jwt-other".into());
        let claims = Claims {
            iss: "https://unfurl.test".into(),
            aud: "https://unfurl.test/unfurl".into(),
            sub: "a".into(),
            exp: unix_secs_unsigned() + 600,
            iat: unix_secs_unsigned(),
            jti: "x".into(),
        };
        let token = jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(&Keys::derive(&[7; 32]).jwt),
        )
        .unwrap_or_default();
        assert_eq!(rejection(&t, &token), Some(Rejection::WrongType));
    }
}
