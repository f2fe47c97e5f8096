//! Secrets at rest, and the opaque random values we hand out.
//!
//! Upstream (GitHub) and Notion access tokens are sealed with XChaCha20-Poly1305 under a key
//! derived from the root secret by HKDF-SHA256 with its own `info`, so this key and the JWT
//! key of [`crate::platform::crypto::keys`] are independent. Each ciphertext is stored beside the id of the
//! key that sealed it, so a new root secret can be rolled in while rows sealed under the old
//! one still open; and each is sealed with associated data naming its row, so a ciphertext
//! copied into another row does not open.
//!
//! Refresh tokens and authorisation codes are never stored, only their SHA-256
//! ([`token_hash`]): they are 256 uniformly random bits, so a fast unsalted hash is as
//! strong as a slow one would be.

pub mod cipher;
pub mod keys;

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// The SHA-256 of an opaque token or code: what the database keeps instead of the value.
pub fn token_hash(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// Whether a presented secret (a client secret, the admin token) equals the expected one,
/// in time independent of where they differ or how long each is: the comparison is over
/// their SHA-256.
pub fn same_secret(presented: &str, expected: &str) -> Choice {
    token_hash(presented).ct_eq(&token_hash(expected))
}

/// A fresh opaque token (refresh token, authorisation code): 256 random bits as 64
/// lowercase hex characters, safe in URLs and form bodies without escaping.
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// A fresh identifier (connection ids): 128 random bits as 32 lowercase hex characters,
/// enough that ids can be neither guessed nor made to collide.
pub fn random_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_is_sha256_and_tokens_are_fresh() {
        assert_eq!(
            hex::encode(token_hash("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(random_id().len(), 32);
    }
}
