//! Files the server keeps in its data directory (`UNFURL_DATA_DIR`) beside the SQLite file,
//! and how they are written so that any number of processes starting at once on one
//! directory agree on them.
//!
//! A file here is created whole or not at all: its content goes to a temporary file in the
//! same directory (mode 0600), is synced, and is then hard-linked to its name. A link, unlike
//! a rename, fails when the name exists, so of two processes creating one file at once
//! exactly one wins and the other reads the winner's file; nobody ever sees a half-written
//! file, and nobody replaces a file another process already uses.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Create `path` holding `contents` unless it exists: `Ok(true)` when this call created it,
/// `Ok(false)` when it was already there (its content is left alone). The parent directory
/// is created when missing.
pub fn write_new(path: &Path, contents: &[u8]) -> io::Result<bool> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let temporary = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        uuid::Uuid::new_v4().simple()
    ));
    let linked = write_and_link(&temporary, path, contents);
    // The name (if we won) is a second link to the same file: the temporary one goes either
    // way. A process killed before this line leaves a dot-file nobody reads.
    let _ = std::fs::remove_file(&temporary);
    if linked? {
        // The new name is in the directory, not in the file: without this, a power cut could
        // forget the file while the database already holds rows sealed with its key.
        sync_directory(dir)?;
        return Ok(true);
    }
    Ok(false)
}

fn write_and_link(temporary: &Path, path: &Path, contents: &[u8]) -> io::Result<bool> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(temporary)?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    match std::fs::hard_link(temporary, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(unix)]
fn sync_directory(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_directory(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// `path` made absolute against the working directory (for log lines and error messages
/// that must say which file was meant); `path` itself when that fails.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> PathBuf {
        std::env::temp_dir().join(format!("nu-data-dir-{}", uuid::Uuid::new_v4()))
    }

    #[test]
    fn the_first_writer_wins_and_later_ones_leave_its_file_alone() {
        let dir = temp_dir();
        let path = dir.join("nested").join("secret.key");
        assert!(write_new(&path, b"first").unwrap_or_else(|e| panic!("{e}")));
        assert!(!write_new(&path, b"second").unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(std::fs::read(&path).ok().as_deref(), Some(&b"first"[..]));
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.join("nested"))
            .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert_eq!(names, ["secret.key"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0);
            assert_eq!(mode, 0o600);
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn of_many_threads_writing_at_once_exactly_one_wins() {
        let dir = temp_dir();
        let path = dir.join("instance.id");
        let winners: Vec<(bool, usize)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let path = &path;
                    scope.spawn(move || {
                        let won = write_new(path, format!("writer {i}").as_bytes())
                            .unwrap_or_else(|e| panic!("{e}"));
                        (won, i)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| panic!("a writer panicked")))
                .collect()
        });
        let won: Vec<usize> = winners
            .iter()
            .filter(|(w, _)| *w)
            .map(|(_, i)| *i)
            .collect();
        assert_eq!(won.len(), 1, "{winners:?}");
        assert_eq!(
            std::fs::read_to_string(&path).ok(),
            Some(format!("writer {}", won[0]))
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
