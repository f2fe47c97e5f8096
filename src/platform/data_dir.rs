//! Files the server keeps in its data directory (`UNFURL_DATA_DIR`) beside the SQLite file,
//! and how they are written so that any number of processes starting at once on one
//! directory agree on them: the generated secret, and the [`Instance`] ids.
//!
//! A file here is created whole or not at all: its content goes to a temporary file in the
//! same directory (mode 0600), is synced, and is then hard-linked to its name. A link, unlike
//! a rename, fails when the name exists, so of two processes creating one file at once
//! exactly one wins and the other reads the winner's file; nobody ever sees a half-written
//! file, and nobody replaces a file another process already uses.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// How many servers may share one data directory and each keep its own id; past that a
/// server runs with a fresh id every start (its leases then simply run out after a crash).
const INSTANCE_SLOTS: usize = 64;

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

/// A running server's identity as a claimant of outbox rows, and the proof that no other
/// live process has it.
///
/// A server killed during a delivery leaves its claimed outbox row leased for the whole
/// lease (two minutes by default), and every later update of that link waits behind it.
/// The row records who claimed it, so a restarted server can take back at once what it
/// held before it died, but only if it is certain the claimant is dead: two servers may
/// share one data directory (and one SQLite file), and releasing a live server's lease
/// would have one update pushed twice at once.
///
/// So an id belongs to a slot file in the data directory, `instance-<n>.id` (a random UUID,
/// created whole like the secret and kept forever), and a server holds an exclusive OS lock
/// (`flock`) on its slot's file for as long as it runs, taking the first slot no one else
/// holds. The lock is the proof: the OS drops it when the process ends, `kill -9`
/// included, and never while it lives. Hence:
///
/// - a restarted single server takes slot 0 again, so it has the same id and knows that
///   whoever held it before (itself) is gone: it may release every lease under that id;
/// - two servers running on one data directory hold different slots, so different ids,
///   and neither ever releases the other's leases;
/// - servers on other machines sharing one PostgreSQL have their own data directories
///   with their own random ids.
///
/// A pid would not do: pids are reused, and they say nothing across containers or hosts.
/// The one case this cannot tell apart is a data directory copied to a second machine
/// (both then own slot 0's id); the cost is an update delivered twice, which is harmless
/// (every push carries the complete attribute set) but wasteful, so give each machine its
/// own data directory. A server whose data directory is new at each start (no volume)
/// gets a new id each time and releases nothing: its leases run out as before.
#[derive(Debug)]
pub struct Instance {
    id: String,
    /// The slot file, locked while this value lives; `None` when every slot was taken.
    slot: Option<(PathBuf, File)>,
}

impl Instance {
    /// Take the first free slot in `data_dir`, creating its id file when it is new.
    pub fn claim(data_dir: &Path) -> io::Result<Self> {
        for slot in 0..INSTANCE_SLOTS {
            let path = data_dir.join(format!("instance-{slot}.id"));
            // Checked first only to spare a synced temporary file on every start; two
            // processes creating it at once still agree (write_new keeps the first).
            if !path.exists() {
                write_new(&path, uuid::Uuid::new_v4().to_string().as_bytes())?;
            }
            let file = File::open(&path)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => continue,
                Err(TryLockError::Error(e)) => return Err(e),
            }
            let text = std::fs::read_to_string(&path)?;
            let id = uuid::Uuid::parse_str(text.trim()).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} holds no instance id; delete it", path.display()),
                )
            })?;
            return Ok(Self {
                id: id.to_string(),
                slot: Some((path, file)),
            });
        }
        Ok(Self {
            id: uuid::Uuid::new_v4().to_string(),
            slot: None,
        })
    }

    /// The id recorded with every outbox row this server claims.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The slot file whose lock proves the id is this process's alone, if one was free.
    pub fn slot_file(&self) -> Option<&Path> {
        self.slot.as_ref().map(|(path, _)| path.as_path())
    }
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
    fn a_restarted_instance_keeps_its_id_and_a_concurrent_one_gets_another() {
        let dir = temp_dir();
        let first = Instance::claim(&dir).unwrap_or_else(|e| panic!("{e}"));
        let second = Instance::claim(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(first.id(), second.id(), "two live instances share an id");
        assert!(first.slot_file().is_some() && second.slot_file().is_some());
        let (first_id, second_id) = (first.id().to_owned(), second.id().to_owned());

        // The first one stops (its lock goes with it, as with `kill -9`): the next start
        // takes its slot and its id, while the second still holds its own.
        drop(first);
        let restarted = Instance::claim(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(restarted.id(), first_id);
        drop((restarted, second));
        let again = Instance::claim(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.id(), first_id);
        let other = Instance::claim(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(other.id(), second_id);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn instances_claimed_at_once_all_differ() {
        let dir = temp_dir();
        let instances: Vec<Instance> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| Instance::claim(&dir)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| panic!("a claim panicked"))
                        .unwrap_or_else(|e| panic!("{e}"))
                })
                .collect()
        });
        let mut ids: Vec<&str> = instances.iter().map(Instance::id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 8);
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
