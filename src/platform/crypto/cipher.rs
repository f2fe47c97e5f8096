//! Sealing secrets for storage: XChaCha20-Poly1305 under keys derived from the root
//! secret, each ciphertext labelled with its key id and bound to its row.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use notion_unfurl_sdk::Secret;
use sha2::Sha256;

/// Bytes of the random nonce at the front of every sealed value.
pub const NONCE_LEN: usize = 24;

/// A sealed secret as stored: `nonce || ciphertext || tag`, and the id of the key that
/// sealed it.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: u8,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("key_id", &self.key_id)
            .field("len", &self.bytes.len())
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The value was sealed under a key this process was not given (a rotated-out root
    /// secret that is no longer configured).
    #[error("no encryption key with id {0} is configured")]
    UnknownKey(u8),
    /// Wrong key, wrong row, or altered bytes: AEAD cannot tell these apart, by design.
    #[error("a sealed value did not authenticate")]
    Open,
    #[error("sealing a value failed")]
    Seal,
    #[error("an opened secret is not UTF-8")]
    NotUtf8,
}

/// Seals and opens secrets; holds the current key and any older keys still needed to open
/// rows sealed before a rotation.
#[derive(Clone)]
pub struct Cipher {
    current: u8,
    keys: Vec<(u8, XChaCha20Poly1305)>,
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<u8> = self.keys.iter().map(|(id, _)| *id).collect();
        f.debug_struct("Cipher")
            .field("current", &self.current)
            .field("key_ids", &ids)
            .finish()
    }
}

fn derive_key(root: &[u8]) -> XChaCha20Poly1305 {
    let hk = Hkdf::<Sha256>::new(Some(b"notion-unfurl"), root);
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8160-byte output limit, so expand cannot fail.
    let _ = hk.expand(b"token-encryption-v1", &mut key);
    XChaCha20Poly1305::new(&Key::from(key))
}

impl Cipher {
    /// A cipher whose current key comes from `root`, labelled `key_id` in every row it seals.
    pub fn from_root(root: &[u8], key_id: u8) -> Self {
        Self {
            current: key_id,
            keys: vec![(key_id, derive_key(root))],
        }
    }

    /// Also open rows sealed under an earlier root secret. An id already present keeps
    /// its first key, so a previous key can never shadow the current one.
    pub fn with_previous(mut self, root: &[u8], key_id: u8) -> Self {
        if !self.keys.iter().any(|(id, _)| *id == key_id) {
            self.keys.push((key_id, derive_key(root)));
        }
        self
    }

    /// The id new values are sealed under.
    pub fn key_id(&self) -> u8 {
        self.current
    }

    fn key(&self, key_id: u8) -> Result<&XChaCha20Poly1305, CryptoError> {
        self.keys
            .iter()
            .find(|(id, _)| *id == key_id)
            .map(|(_, key)| key)
            .ok_or(CryptoError::UnknownKey(key_id))
    }

    /// Seal `plaintext` under the current key; `aad` must name the row it will be stored in.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Sealed, CryptoError> {
        let key = self.key(self.current)?;
        // 192-bit random nonces make a collision negligible for any number of rows we will
        // ever seal, so no counter has to be kept in step across instances.
        let nonce = XNonce::from(rand::random::<[u8; NONCE_LEN]>());
        let ciphertext = key
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| CryptoError::Seal)?;
        let mut bytes = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        bytes.extend_from_slice(nonce.as_slice());
        bytes.extend_from_slice(&ciphertext);
        Ok(Sealed {
            key_id: self.current,
            bytes,
        })
    }

    /// Open a value sealed by [`Cipher::seal`] with the same `aad`.
    pub fn open(&self, sealed: &Sealed, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = self.key(sealed.key_id)?;
        let (nonce, ciphertext) = sealed
            .bytes
            .split_at_checked(NONCE_LEN)
            .ok_or(CryptoError::Open)?;
        let nonce = XNonce::try_from(nonce).map_err(|_| CryptoError::Open)?;
        key.decrypt(
            &nonce,
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| CryptoError::Open)
    }

    pub fn seal_secret(&self, secret: &Secret, aad: &[u8]) -> Result<Sealed, CryptoError> {
        self.seal(secret.expose().as_bytes(), aad)
    }

    pub fn open_secret(&self, sealed: &Sealed, aad: &[u8]) -> Result<Secret, CryptoError> {
        let bytes = self.open(sealed, aad)?;
        String::from_utf8(bytes)
            .map(Secret::new)
            .map_err(|_| CryptoError::NotUtf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &[u8] = b"a root secret of at least thirty-two bytes";
    const NEXT_ROOT: &[u8] = b"the next root secret, also thirty-two bytes+";

    #[test]
    fn a_sealed_secret_opens_with_the_same_row() {
        let cipher = Cipher::from_root(ROOT, 1);
        let sealed = cipher
            .seal_secret(&Secret::new("secret_abc"), b"connections.notion_token:c1")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sealed.key_id, 1);
        assert!(
            !sealed
                .bytes
                .windows(b"secret_abc".len())
                .any(|w| w == b"secret_abc")
        );
        let opened = cipher
            .open_secret(&sealed, b"connections.notion_token:c1")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(opened.expose(), "secret_abc");
    }

    #[test]
    fn sealing_twice_gives_different_bytes() {
        let cipher = Cipher::from_root(ROOT, 1);
        let a = cipher
            .seal(b"same", b"row")
            .unwrap_or_else(|e| panic!("{e}"));
        let b = cipher
            .seal(b"same", b"row")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(a.bytes, b.bytes);
    }

    #[test]
    fn a_ciphertext_moved_to_another_row_does_not_open() {
        let cipher = Cipher::from_root(ROOT, 1);
        let sealed = cipher
            .seal(b"token", b"connections.notion_token:c1")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            cipher.open(&sealed, b"connections.notion_token:c2"),
            Err(CryptoError::Open)
        );
    }

    #[test]
    fn a_tampered_ciphertext_does_not_open() {
        let cipher = Cipher::from_root(ROOT, 1);
        let sealed = cipher
            .seal(b"token", b"row")
            .unwrap_or_else(|e| panic!("{e}"));
        for i in [0, NONCE_LEN, sealed.bytes.len() - 1] {
            let mut tampered = sealed.clone();
            tampered.bytes[i] ^= 0x01;
            assert_eq!(cipher.open(&tampered, b"row"), Err(CryptoError::Open));
        }
        let truncated = Sealed {
            key_id: 1,
            bytes: sealed.bytes[..NONCE_LEN - 1].to_vec(),
        };
        assert_eq!(cipher.open(&truncated, b"row"), Err(CryptoError::Open));
    }

    #[test]
    fn an_old_key_still_opens_after_rotation() {
        let old = Cipher::from_root(ROOT, 1);
        let sealed = old.seal(b"token", b"row").unwrap_or_else(|e| panic!("{e}"));

        let rotated = Cipher::from_root(NEXT_ROOT, 2).with_previous(ROOT, 1);
        assert_eq!(rotated.key_id(), 2);
        assert_eq!(
            rotated
                .open(&sealed, b"row")
                .unwrap_or_else(|e| panic!("{e}")),
            b"token"
        );
        let resealed = rotated
            .seal(b"token", b"row")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resealed.key_id, 2);
        assert_eq!(old.open(&resealed, b"row"), Err(CryptoError::UnknownKey(2)));
    }

    #[test]
    fn a_previous_key_cannot_replace_the_current_one() {
        let cipher = Cipher::from_root(ROOT, 1).with_previous(NEXT_ROOT, 1);
        let sealed = Cipher::from_root(ROOT, 1)
            .seal(b"token", b"row")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(cipher.open(&sealed, b"row").is_ok());
    }

    #[test]
    fn an_unknown_key_id_is_an_error() {
        let cipher = Cipher::from_root(ROOT, 1);
        let mut sealed = cipher
            .seal(b"token", b"row")
            .unwrap_or_else(|e| panic!("{e}"));
        sealed.key_id = 7;
        assert_eq!(
            cipher.open(&sealed, b"row"),
            Err(CryptoError::UnknownKey(7))
        );
    }

    #[test]
    fn a_different_root_does_not_open() {
        let sealed = Cipher::from_root(ROOT, 1)
            .seal(b"token", b"row")
            .unwrap_or_else(|e| panic!("{e}"));
        let other = Cipher::from_root(NEXT_ROOT, 1);
        assert_eq!(other.open(&sealed, b"row"), Err(CryptoError::Open));
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let secret = Secret::new("secret_abc");
        assert!(!format!("{secret:?}").contains("secret_abc"));
        let cipher = Cipher::from_root(ROOT, 3);
        assert_eq!(format!("{cipher:?}"), "Cipher { current: 3, key_ids: [3] }");
    }
}
