//! Opening a database: picking the backend from the URL, pool settings, SQLite's
//! durability pragmas, and the embedded migrations.
//!
//! Any number of processes may open one database at once (`serve &` and `token issue` on a
//! fresh directory, or several instances starting together), and each must find every
//! migration applied exactly once. PostgreSQL: sqlx's migrator takes a session advisory
//! lock (`pg_advisory_lock`, keyed by the database name) before it reads which migrations
//! are applied, also through the `Any` driver, so a second process waits and then skips
//! them by version. SQLite: sqlx takes no lock at all (its `lock()` is a no-op there), so
//! two processes both ran migration 1 and the second failed with "table accounts already
//! exists"; [`SetupLock`] serialises them instead.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, AnyPool, Connection};

use super::causes;
use crate::platform::data_dir::absolute;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How long a query waits for a free pooled connection before failing, so an exhausted or
/// unreachable database shows up as an error instead of a hung request.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the first PostgreSQL connection may take. The pool would retry a refused
/// connection until `ACQUIRE_TIMEOUT` and then say only "pool timed out"; one direct
/// attempt first fails at once with the server's address and the real cause.
const FIRST_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Run on every new SQLite connection: SQLite keeps these per connection, not in the file.
/// The busy timeout (ms) is how long a writer waits for another writer's lock; writes here
/// are short, so waiting 5 s means something is stuck, not busy.
const SQLITE_PRAGMAS: &str =
    "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;";

/// Why the database could not be opened (at start-up; queries fail with `StoreError`).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("unsupported database URL: expected sqlite://PATH or postgres://…")]
    UnsupportedUrl,
    #[error("could not create the database directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("could not lock {path} to set up the database: {source}")]
    Lock {
        path: String,
        source: std::io::Error,
    },
    #[error("SQLite did not switch to WAL journaling (journal_mode is {0:?})")]
    NotWal(String),
    #[error("cannot reach PostgreSQL at {place}: {reason}")]
    Unreachable { place: String, reason: String },
    #[error("cannot open the SQLite database {path}: {reason}")]
    SqliteFile { path: String, reason: String },
    #[error("could not move GitHub tokens to service_tokens: {0}")]
    MoveTokens(String),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// The database behind a `Store`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names, as accepted by `UNFURL_DATABASE_URL`.
    pub fn of(url: &str) -> Result<Self, OpenError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(OpenError::UnsupportedUrl)
        }
    }

    pub(super) fn migrator(self) -> &'static Migrator {
        match self {
            Self::Sqlite => &SQLITE_MIGRATIONS,
            Self::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

/// Where `url` points, for a log line: an SQLite file's absolute path, or a PostgreSQL
/// URL without its password and query (which may hold one).
pub fn database_location(url: &str) -> String {
    match Backend::of(url) {
        Ok(Backend::Sqlite) => {
            let target = SqliteTarget::parse(url);
            match &target.file {
                Some(file) => absolute(Path::new(file)).display().to_string(),
                None => "in memory".to_owned(),
            }
        }
        _ => match url::Url::parse(url) {
            Ok(mut parsed) => {
                let _ = parsed.set_password(None);
                parsed.set_query(None);
                parsed.to_string()
            }
            Err(_) => "an unreadable database URL".to_owned(),
        },
    }
}

/// A pool for `url`, and for an SQLite file the [`SetupLock`] that keeps other processes
/// from migrating until it is dropped.
async fn connect_locked(url: &str) -> Result<(AnyPool, Backend, Option<SetupLock>), OpenError> {
    sqlx::any::install_default_drivers();
    let backend = Backend::of(url)?;
    let (pool, setup) = match backend {
        Backend::Sqlite => open_sqlite(url).await?,
        Backend::Postgres => (open_postgres(url).await?, None),
    };
    Ok((pool, backend, setup))
}

/// A pool for `url`, its migrations untouched (`check-config` only reads them). On SQLite
/// it waits for a process that is migrating, so what it reads is whole.
pub(super) async fn connect(url: &str) -> Result<(AnyPool, Backend), OpenError> {
    let (pool, backend, _setup) = connect_locked(url).await?;
    Ok((pool, backend))
}

/// A pool for `url` with every migration applied.
pub(super) async fn open(url: &str) -> Result<(AnyPool, Backend), OpenError> {
    let (pool, backend, setup) = connect_locked(url).await?;
    backend.migrator().run(&pool).await?;
    drop(setup);
    Ok((pool, backend))
}

async fn open_postgres(url: &str) -> Result<AnyPool, OpenError> {
    let unreachable = |reason: String| OpenError::Unreachable {
        place: causes::postgres_place(url),
        reason,
    };
    match tokio::time::timeout(FIRST_CONNECT_TIMEOUT, AnyConnection::connect(url)).await {
        Ok(Ok(first)) => {
            let _ = first.close().await;
        }
        Ok(Err(e)) => return Err(unreachable(causes::reason(&e))),
        Err(_) => {
            return Err(unreachable(format!(
                "no answer within {} s",
                FIRST_CONNECT_TIMEOUT.as_secs()
            )));
        }
    }
    Ok(AnyPoolOptions::new()
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect(url)
        .await?)
}

/// The pool, and for a file the [`SetupLock`] to hold until the migrations ran.
async fn open_sqlite(url: &str) -> Result<(AnyPool, Option<SetupLock>), OpenError> {
    let target = SqliteTarget::parse(url);
    if let Some(dir) = target.directory() {
        std::fs::create_dir_all(dir).map_err(|source| OpenError::CreateDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    // Taken before the first connection: switching to WAL also wants the file to itself.
    let setup = match &target.file {
        Some(file) => Some(SetupLock::acquire(Path::new(file)).await?),
        None => None,
    };
    let mut options = AnyPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
    if target.in_memory {
        // The Any driver re-parses the URL for every connection, and each parse names a new
        // in-memory database; one connection kept forever is the only way to see one database.
        options = options
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    }
    let pool = options
        .after_connect(|conn, _| {
            Box::pin(async move {
                // synchronous = FULL: with WAL, NORMAL already survives `kill -9` (a commit
                // sits in the WAL file, which the OS keeps when the process dies), but an
                // OS crash or power cut could roll back the last commits. FULL syncs the WAL
                // on every commit so a code or refresh rotation we answered with is never
                // forgotten. The cost is one fsync per write; our writes are rare (sign-ins,
                // token refreshes, new subscriptions), and an idempotent re-subscribe changes
                // no page and so syncs nothing.
                sqlx::raw_sql(SQLITE_PRAGMAS).execute(&mut *conn).await?;
                Ok(())
            })
        })
        .connect(&target.url)
        .await
        .map_err(|e| target.open_error(e))?;
    if !target.in_memory {
        // WAL lets readers (unfurls checking revocation) run while a writer commits. The
        // mode is stored in the file, so this is a no-op after the first start.
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode = WAL")
            .fetch_one(&pool)
            .await?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(OpenError::NotWal(mode));
        }
    }
    Ok((pool, setup))
}

/// An exclusive OS lock on `<database>-setup.lock`, held by one process at a time from its
/// first connection to its last migration; the others wait for it and then find the
/// migrations applied.
///
/// The lock (`flock`) belongs to the open file, so the OS releases it when the process
/// ends in any way, `kill -9` included: a crashed process never leaves the database locked.
/// The file itself stays: deleting a lock file races with a process about to lock it.
struct SetupLock {
    _file: File,
}

impl SetupLock {
    async fn acquire(database: &Path) -> Result<Self, OpenError> {
        let mut name = database.as_os_str().to_owned();
        name.push("-setup.lock");
        let path = PathBuf::from(name);
        let failed = |source| OpenError::Lock {
            path: path.display().to_string(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(failed)?;
        match file.try_lock() {
            Ok(()) => return Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => {
                tracing::info!(
                    path = %path.display(),
                    "another process is setting up the database; waiting for it"
                );
            }
            Err(TryLockError::Error(e)) => return Err(failed(e)),
        }
        // The holder only connects and migrates, so the wait is short; it blocks a thread,
        // not the runtime.
        let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
            .await
            .map_err(std::io::Error::other)
            .and_then(|locked| locked)
            .map_err(failed)?;
        Ok(Self { _file: file })
    }
}

/// An SQLite URL made ready to open: `mode=rwc` added so a missing file is created.
struct SqliteTarget {
    url: String,
    file: Option<String>,
    in_memory: bool,
}

impl SqliteTarget {
    fn parse(url: &str) -> Self {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let params: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
        let in_memory = path.is_empty() || path == ":memory:" || params.contains(&"mode=memory");
        let url = if in_memory || params.iter().any(|p| p.starts_with("mode=")) {
            url.to_owned()
        } else if query.is_empty() {
            format!("{}?mode=rwc", url.trim_end_matches('?'))
        } else {
            format!("{url}&mode=rwc")
        };
        Self {
            url,
            file: (!in_memory).then(|| path.to_owned()),
            in_memory,
        }
    }

    /// The failure to open the file, with its path and the OS's reason.
    fn open_error(&self, error: sqlx::Error) -> OpenError {
        match &self.file {
            Some(path) => OpenError::SqliteFile {
                path: path.clone(),
                reason: causes::sqlite_reason(path, !self.url.contains("mode=ro"), &error),
            },
            None => error.into(),
        }
    }

    fn directory(&self) -> Option<&Path> {
        let parent = Path::new(self.file.as_deref()?).parent()?;
        (!parent.as_os_str().is_empty()).then_some(parent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_sqlite_url_creates_its_file_and_directory() {
        let target = SqliteTarget::parse("sqlite://data/notion-unfurl.db");
        assert_eq!(target.url, "sqlite://data/notion-unfurl.db?mode=rwc");
        assert_eq!(target.directory(), Some(Path::new("data")));
        assert!(!target.in_memory);
    }

    #[test]
    fn an_explicit_mode_is_kept() {
        let target = SqliteTarget::parse("sqlite:///var/lib/nu/db.sqlite?mode=ro");
        assert_eq!(target.url, "sqlite:///var/lib/nu/db.sqlite?mode=ro");
        assert_eq!(target.directory(), Some(Path::new("/var/lib/nu")));
        let target = SqliteTarget::parse("sqlite:x.db?cache=private");
        assert_eq!(target.url, "sqlite:x.db?cache=private&mode=rwc");
        assert_eq!(target.directory(), None);
    }

    #[test]
    fn memory_databases_have_no_file() {
        for url in ["sqlite::memory:", "sqlite://?mode=memory"] {
            let target = SqliteTarget::parse(url);
            assert!(target.in_memory, "{url}");
            assert_eq!(target.url, url);
            assert_eq!(target.directory(), None);
        }
    }

    #[test]
    fn a_logged_location_is_absolute_and_never_holds_a_password() {
        let shown = database_location("sqlite://data/notion-unfurl.db");
        assert!(Path::new(&shown).is_absolute(), "{shown}");
        assert!(shown.ends_with("data/notion-unfurl.db"), "{shown}");
        assert_eq!(database_location("sqlite::memory:"), "in memory");
        let shown = database_location("postgres://unfurl:hunter2@db:5432/nu?password=hunter3");
        assert_eq!(shown, "postgres://unfurl@db:5432/nu");
    }

    #[test]
    fn only_sqlite_and_postgres_urls_are_accepted() {
        assert_eq!(Backend::of("sqlite://a.db").ok(), Some(Backend::Sqlite));
        assert_eq!(Backend::of("postgres://h/db").ok(), Some(Backend::Postgres));
        assert_eq!(
            Backend::of("postgresql://h/db").ok(),
            Some(Backend::Postgres)
        );
        assert!(Backend::of("mysql://h/db").is_err());
    }
}
