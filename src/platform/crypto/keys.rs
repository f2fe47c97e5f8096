//! The server's root secret and the keys derived from it.
//!
//! `UNFURL_SECRET_KEY` is the root; when it is absent a random one is generated into
//! `<data_dir>/secret.key` (mode 0600) and reused on later starts, so `token issue` and
//! the server agree. Each purpose gets its own key through HKDF-SHA256, so rotating one
//! use never weakens another.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hkdf::Hkdf;
use sha2::Sha256;

use crate::platform::config::{MIN_SECRET_BYTES, Settings};
use crate::platform::crypto::cipher::Cipher;
use crate::platform::data_dir::{absolute, write_new};

/// The id stored beside every ciphertext made with the current root secret.
pub const CURRENT_KEY_ID: u8 = 1;

/// The generated secret's file name in the data directory.
const SECRET_FILE: &str = "secret.key";

/// How long a short or (for [`SecretFile::MustExist`]) missing secret file is waited for
/// before it is refused: long enough for a process started at the same moment to write it,
/// short enough that a command run in the wrong directory says so promptly.
pub const SECRET_PATIENCE: Duration = Duration::from_secs(5);

/// How often a short or missing secret file is looked at again.
const SECRET_POLL: Duration = Duration::from_millis(20);

/// Keys derived from the root secret.
#[derive(Clone)]
pub struct Keys {
    /// HS256 key for our access tokens.
    pub jwt: [u8; 32],
    /// Encrypts upstream and Notion tokens at rest.
    pub cipher: Cipher,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not read or create {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} holds fewer than {MIN_SECRET_BYTES} bytes; delete it or set UNFURL_SECRET_KEY")]
    TooShort { path: String },
    #[error("no secret at {path}")]
    Missing { path: String },
}

/// What to do when the secret file is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretFile {
    /// Generate one (the server's first start).
    CreateIfMissing,
    /// Wait up to [`SECRET_PATIENCE`] for another process (a server starting at the same
    /// time) to create it, then fail with [`KeyError::Missing`]: a command that must sign
    /// with the server's secret never makes a second one the server would not know.
    MustExist,
}

/// Where the root secret came from, so start-up can warn about a generated one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSource {
    Environment,
    FileCreated,
    FileReused,
}

impl Keys {
    /// Keys from `root`, encrypting under [`CURRENT_KEY_ID`].
    pub fn derive(root: &[u8]) -> Self {
        Self::derive_with_id(root, CURRENT_KEY_ID)
    }

    fn derive_with_id(root: &[u8], key_id: u8) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(b"notion-unfurl"), root);
        let mut jwt = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 8160-byte output limit, so expand cannot fail.
        let _ = hk.expand(b"access-token-hs256-v1", &mut jwt);
        Self {
            jwt,
            cipher: Cipher::from_root(root, key_id),
        }
    }

    /// The keys for these settings, generating the secret file when needed.
    pub fn load(settings: &Settings) -> Result<(Self, SecretSource), KeyError> {
        Self::load_with(settings, SecretFile::CreateIfMissing)
    }

    /// The keys for these settings; `mode` says whether a missing secret file may be made.
    pub fn load_with(
        settings: &Settings,
        mode: SecretFile,
    ) -> Result<(Self, SecretSource), KeyError> {
        let (root, source) = match &settings.secret_key {
            Some(secret) => (
                secret.expose().as_bytes().to_vec(),
                SecretSource::Environment,
            ),
            None => read_or_create(&secret_path(&settings.data_dir), mode, SECRET_PATIENCE)?,
        };
        let mut keys = Self::derive_with_id(&root, settings.secret_key_id);
        // Earlier secrets only decrypt what was stored under them; nothing new uses them.
        for (id, previous) in &settings.previous_secret_keys {
            keys.cipher = keys.cipher.with_previous(previous.expose().as_bytes(), *id);
        }
        Ok((keys, source))
    }
}

/// The secret file under `data_dir`.
pub fn secret_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SECRET_FILE)
}

/// Read the secret at `path`, creating it when it is missing and `mode` allows.
///
/// Another process may be creating the file at this very moment (`serve &` and `token issue`
/// started together on a fresh directory): the file is created whole ([`write_new`]), so a
/// missing file is either created here or found complete on the next look. A file that is
/// too short (written by hand, or by an older version that wrote in place) is looked at
/// again for `patience` ([`SECRET_PATIENCE`]) before it is refused, and so is a missing
/// one in [`SecretFile::MustExist`] mode, so a command started together with the server
/// waits for the server's secret instead of failing.
fn read_or_create(
    path: &Path,
    mode: SecretFile,
    patience: Duration,
) -> Result<(Vec<u8>, SecretSource), KeyError> {
    let shown = || absolute(path).display().to_string();
    let io = |source| KeyError::Io {
        path: shown(),
        source,
    };
    let deadline = Instant::now() + patience;
    loop {
        match std::fs::read(path) {
            Ok(bytes) => {
                let trimmed = String::from_utf8_lossy(&bytes).trim().as_bytes().to_vec();
                if trimmed.len() >= MIN_SECRET_BYTES {
                    return Ok((trimmed, SecretSource::FileReused));
                }
                if Instant::now() >= deadline {
                    return Err(KeyError::TooShort { path: shown() });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match mode {
                SecretFile::CreateIfMissing => {
                    let secret = hex::encode(rand::random::<[u8; 32]>());
                    if write_new(path, secret.as_bytes()).map_err(io)? {
                        return Ok((secret.into_bytes(), SecretSource::FileCreated));
                    }
                    // Another process created it first: read theirs on the next turn.
                    continue;
                }
                SecretFile::MustExist if Instant::now() >= deadline => {
                    return Err(KeyError::Missing { path: shown() });
                }
                SecretFile::MustExist => {}
            },
            Err(e) => return Err(io(e)),
        }
        // Start-up only, and only while another process is writing: a short pause is cheaper
        // than a file watch.
        std::thread::sleep(SECRET_POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_is_kept_and_reused() {
        let dir = std::env::temp_dir().join(format!("nu-keys-{}", uuid::Uuid::new_v4()));
        let settings =
            Settings::from_vars([("UNFURL_DATA_DIR".to_owned(), dir.display().to_string())])
                .unwrap_or_else(|e| panic!("{e}"));
        let (first, source) = Keys::load(&settings).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(source, SecretSource::FileCreated);
        let (second, source) = Keys::load(&settings).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(source, SecretSource::FileReused);
        assert_eq!(first.jwt, second.jwt);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("secret.key"))
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0);
            assert_eq!(mode, 0o600);
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    fn temp_dir() -> PathBuf {
        std::env::temp_dir().join(format!("nu-keys-{}", uuid::Uuid::new_v4()))
    }

    #[test]
    fn threads_creating_the_secret_at_once_all_get_the_one_that_was_saved() {
        let dir = temp_dir();
        let path = secret_path(&dir);
        let results: Vec<(Vec<u8>, SecretSource)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        read_or_create(&path, SecretFile::CreateIfMissing, SECRET_PATIENCE)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| panic!("a reader panicked"))
                        .unwrap_or_else(|e| panic!("{e}"))
                })
                .collect()
        });
        let saved = std::fs::read(&path).unwrap_or_default();
        assert!(results.iter().all(|(secret, _)| *secret == saved));
        let created = results
            .iter()
            .filter(|(_, source)| *source == SecretSource::FileCreated)
            .count();
        assert_eq!(created, 1);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_short_secret_file_is_waited_for_then_refused_with_its_absolute_path() {
        let dir = temp_dir();
        let path = secret_path(&dir);
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(&path, "0123");
        let refused = read_or_create(&path, SecretFile::CreateIfMissing, Duration::ZERO);
        let Err(KeyError::TooShort { path: shown }) = refused else {
            panic!("{refused:?}");
        };
        assert!(Path::new(&shown).is_absolute(), "{shown}");

        // Completed by its writer while this reader waits: accepted, not refused.
        let full = "f".repeat(64);
        let accepted = std::thread::scope(|scope| {
            let reader =
                scope.spawn(|| read_or_create(&path, SecretFile::CreateIfMissing, SECRET_PATIENCE));
            let _ = std::fs::write(&path, &full);
            reader
                .join()
                .unwrap_or_else(|_| panic!("the reader panicked"))
        });
        let (secret, source) = accepted.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(secret, full.as_bytes());
        assert_eq!(source, SecretSource::FileReused);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_secret_that_must_exist_is_never_created_and_its_absence_names_the_path() {
        let dir = temp_dir();
        let path = secret_path(&dir);
        let refused = read_or_create(&path, SecretFile::MustExist, Duration::ZERO);
        let Err(KeyError::Missing { path: shown }) = refused else {
            panic!("{refused:?}");
        };
        assert_eq!(Path::new(&shown), absolute(&path));
        assert!(!dir.exists(), "nothing is created");

        // One created meanwhile (by a server starting at the same time) is used.
        let created = std::thread::scope(|scope| {
            let reader =
                scope.spawn(|| read_or_create(&path, SecretFile::MustExist, SECRET_PATIENCE));
            let creator = read_or_create(&path, SecretFile::CreateIfMissing, SECRET_PATIENCE);
            let reader = reader
                .join()
                .unwrap_or_else(|_| panic!("the reader panicked"));
            (creator, reader)
        });
        let (Ok((made, SecretSource::FileCreated)), Ok((found, SecretSource::FileReused))) =
            created
        else {
            panic!("{created:?}");
        };
        assert_eq!(made, found);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_rotated_secret_still_opens_what_the_previous_one_sealed() {
        let old = "old-secret-key-material-0123456789abcdef";
        let new = "new-secret-key-material-0123456789abcdef";
        let before = Settings::from_vars([("UNFURL_SECRET_KEY".to_owned(), old.to_owned())])
            .unwrap_or_else(|e| panic!("{e}"));
        let (keys, _) = Keys::load(&before).unwrap_or_else(|e| panic!("{e}"));
        let sealed = keys
            .cipher
            .seal(b"gho_token", b"row")
            .unwrap_or_else(|e| panic!("{e}"));
        let after = Settings::from_vars([
            ("UNFURL_SECRET_KEY".to_owned(), new.to_owned()),
            ("UNFURL_SECRET_KEY_ID".to_owned(), "2".to_owned()),
            ("UNFURL_PREVIOUS_SECRET_KEYS".to_owned(), format!("1:{old}")),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let (rotated, _) = Keys::load(&after).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rotated.cipher.key_id(), 2);
        assert_eq!(
            rotated.cipher.open(&sealed, b"row").ok().as_deref(),
            Some(&b"gho_token"[..])
        );
        let forgotten = Settings::from_vars([
            ("UNFURL_SECRET_KEY".to_owned(), new.to_owned()),
            ("UNFURL_SECRET_KEY_ID".to_owned(), "2".to_owned()),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let (without_old, _) = Keys::load(&forgotten).unwrap_or_else(|e| panic!("{e}"));
        assert!(without_old.cipher.open(&sealed, b"row").is_err());
    }

    #[test]
    fn different_roots_give_different_keys() {
        assert_ne!(Keys::derive(&[1; 32]).jwt, Keys::derive(&[2; 32]).jwt);
    }
}
