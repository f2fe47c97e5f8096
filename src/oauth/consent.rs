//! The pending authorisation of one browser, between Notion's redirect to
//! `/oauth/authorize` and our redirect back.
//!
//! It travels in a cookie sealed with our AEAD (it holds Notion's code and the PKCE
//! verifier), bound to the browser that saw the consent page, valid for
//! [`PENDING_TTL`]. Each step that acts on it (the consent POST, the GitHub callback) can
//! be taken once: [`spend`] records it in the database, so every instance sharing that
//! database refuses a replay; the record is purged once the pending authorisation expires.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::platform::clock::unix_secs;
use crate::platform::crypto::cipher::{Cipher, Sealed};
use crate::platform::crypto::{random_token, token_hash};
use crate::store::{Store, StoreError};

/// How long a consent page (and a GitHub round trip) may take. Notion's own code lives
/// ten minutes, so waiting longer would only fail later.
pub const PENDING_TTL: Duration = Duration::from_secs(600);

/// Binds the ciphertext to its use: a sealed value from elsewhere will not open here.
const AAD: &[u8] = b"notion-unfurl oauth pending v1";

/// Its `Debug` names the fields and shows only the harmless ones: the codes, state, CSRF
/// token and PKCE verifier are secrets of the flow.
#[derive(Clone, Serialize, Deserialize)]
pub struct Pending {
    /// Random id of this pending authorisation (single use of the consent step).
    pub id: String,
    /// Notion's authorisation code, traded with Notion once the account is known.
    pub notion_code: String,
    /// Notion's `state`, echoed byte for byte.
    pub state: String,
    pub redirect_uri: String,
    pub client_id: String,
    /// The consent form's CSRF token.
    pub csrf: String,
    pub expires_at: i64,
    /// Set once the browser was sent to GitHub.
    pub github_state: Option<String>,
    pub pkce_verifier: Option<String>,
    /// Set once Notion's code was traded and the connection made, while the browser links
    /// the services provider files declare; our code for Notion is minted when it is done.
    #[serde(default)]
    pub linked: Option<Linked>,
    /// Set while the browser is at a service's consent page: which service, its `state`
    /// and the PKCE verifier.
    #[serde(default)]
    pub service: Option<ServiceStep>,
}

/// The account and connection a pending authorisation made.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Linked {
    pub connection_id: String,
    pub account_key: String,
    pub account_name: String,
}

/// A service sign-in under way. Its `Debug` shows the service only.
#[derive(Clone, Serialize, Deserialize)]
pub struct ServiceStep {
    pub id: String,
    pub state: String,
    pub pkce_verifier: String,
}

impl std::fmt::Debug for ServiceStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceStep")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("redirect_uri", &self.redirect_uri)
            .field("client_id", &self.client_id)
            .field("expires_at", &self.expires_at)
            .field("via_github", &self.github_state.is_some())
            .field("linked", &self.linked.is_some())
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConsentError {
    #[error("no pending authorisation in this browser")]
    Missing,
    #[error("the pending authorisation cannot be read")]
    Unreadable,
    #[error("the pending authorisation expired")]
    Expired,
}

#[derive(Clone)]
pub struct Consent {
    cipher: Cipher,
    secure: bool,
}

impl std::fmt::Debug for Consent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consent")
            .field("secure", &self.secure)
            .finish()
    }
}

impl Consent {
    /// `secure`: the public URL is https, so cookies get `Secure` and the `__Host-` prefix.
    pub fn new(cipher: Cipher, secure: bool) -> Self {
        Self { cipher, secure }
    }

    pub fn secure(&self) -> bool {
        self.secure
    }

    pub fn cookie_name(&self) -> &'static str {
        if self.secure {
            "__Host-unfurl_pending"
        } else {
            "unfurl_pending"
        }
    }

    /// A new pending authorisation for Notion's request.
    pub fn begin(
        &self,
        notion_code: &str,
        state: &str,
        redirect_uri: &str,
        client_id: &str,
    ) -> Pending {
        Pending {
            id: random_token(),
            notion_code: notion_code.to_owned(),
            state: state.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            client_id: client_id.to_owned(),
            csrf: random_token(),
            expires_at: unix_secs() + PENDING_TTL.as_secs() as i64,
            github_state: None,
            pkce_verifier: None,
            linked: None,
            service: None,
        }
    }

    /// The cookie value for `pending`.
    pub fn seal(&self, pending: &Pending) -> Option<String> {
        let json = serde_json::to_vec(pending).ok()?;
        let sealed = self.cipher.seal(&json, AAD).ok()?;
        let mut bytes = Vec::with_capacity(sealed.bytes.len() + 1);
        bytes.push(sealed.key_id);
        bytes.extend_from_slice(&sealed.bytes);
        Some(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The pending authorisation in a cookie value, if authentic and not expired.
    pub fn open(&self, cookie: Option<&str>) -> Result<Pending, ConsentError> {
        let cookie = cookie.ok_or(ConsentError::Missing)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(cookie)
            .map_err(|_| ConsentError::Unreadable)?;
        let (&key_id, rest) = bytes.split_first().ok_or(ConsentError::Unreadable)?;
        let plain = self
            .cipher
            .open(
                &Sealed {
                    key_id,
                    bytes: rest.to_vec(),
                },
                AAD,
            )
            .map_err(|_| ConsentError::Unreadable)?;
        let pending: Pending =
            serde_json::from_slice(&plain).map_err(|_| ConsentError::Unreadable)?;
        if pending.expires_at <= unix_secs() {
            return Err(ConsentError::Expired);
        }
        Ok(pending)
    }
}

/// Mark the single-use `step` of `pending` (e.g. `consent:<id>`) as taken; `false` if any
/// instance sharing the database took it before.
pub async fn spend(store: &Store, step: &str, pending: &Pending) -> Result<bool, StoreError> {
    store
        .spend_step(&token_hash(step), pending.expires_at)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent() -> Consent {
        Consent::new(Cipher::from_root(&[9; 32], 1), false)
    }

    #[test]
    fn a_sealed_pending_authorisation_opens_again() {
        let c = consent();
        let pending = c.begin("code", "st&ate=x", "https://www.notion.so/cb", "client");
        let cookie = c.seal(&pending).unwrap_or_default();
        assert!(!cookie.contains("code"));
        let opened = c.open(Some(&cookie)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(opened.state, "st&ate=x");
        assert_eq!(opened.csrf, pending.csrf);
    }

    #[test]
    fn debug_output_holds_none_of_the_flow_secrets() {
        let mut pending = consent().begin(
            "notion-code-secret",
            "state-secret",
            "https://www.notion.so/cb",
            "client",
        );
        pending.github_state = Some("github-state-secret".into());
        pending.pkce_verifier = Some("pkce-secret".into());
        pending.service = Some(ServiceStep {
            id: "gitlab".into(),
            state: "service-state-secret".into(),
            pkce_verifier: "service-pkce-secret".into(),
        });
        let shown = format!("{pending:?}");
        assert!(shown.contains("gitlab"), "{shown}");
        for secret in [
            "notion-code-secret",
            "state-secret",
            "github-state-secret",
            "pkce-secret",
            "service-state-secret",
            "service-pkce-secret",
            pending.csrf.as_str(),
            pending.id.as_str(),
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("client"), "{shown}");
    }

    #[test]
    fn tampered_foreign_and_expired_cookies_are_refused() {
        let c = consent();
        let mut pending = c.begin("code", "s", "https://www.notion.so/cb", "client");
        let cookie = c.seal(&pending).unwrap_or_default();
        let mut bytes = URL_SAFE_NO_PAD.decode(&cookie).unwrap_or_default();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(
            c.open(Some(&URL_SAFE_NO_PAD.encode(&bytes))).err(),
            Some(ConsentError::Unreadable)
        );
        let other = Consent::new(Cipher::from_root(&[8; 32], 1), false);
        assert!(other.open(Some(&cookie)).is_err());
        assert_eq!(c.open(None).err(), Some(ConsentError::Missing));
        pending.expires_at = unix_secs() - 1;
        let expired = c.seal(&pending).unwrap_or_default();
        assert_eq!(c.open(Some(&expired)).err(), Some(ConsentError::Expired));
    }
}
