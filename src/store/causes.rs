//! Why a database did not open, in the operator's words: where (the PostgreSQL server's
//! `host:port`, the SQLite file's path) and the cause ("connection refused", "permission
//! denied"), instead of sqlx's "pool timed out" or SQLite's "unable to open database file".

use std::io::ErrorKind;

/// `host:port` of a PostgreSQL URL (libpq's defaults: localhost, 5432; `host=` and
/// `port=` parameters override), never its user or password.
pub(super) fn postgres_place(url: &str) -> String {
    let Ok(parsed) = url::Url::parse(url) else {
        return "(unparsable URL)".to_owned();
    };
    let param = |name: &str| {
        parsed
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    let host = param("host")
        .or_else(|| {
            parsed
                .host_str()
                .filter(|h| !h.is_empty())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "localhost".to_owned());
    let port = param("port")
        .or_else(|| parsed.port().map(|p| p.to_string()))
        .unwrap_or_else(|| "5432".to_owned());
    format!("{host}:{port}")
}

/// The cause of a failed connection: "connection refused" rather than "error communicating
/// with database: Connection refused (os error 111)".
pub(super) fn reason(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Io(e) => io_reason(e),
        sqlx::Error::Database(e) => e.message().to_owned(),
        other => other.to_string(),
    }
}

/// Why SQLite could not open `path`. SQLite says only "unable to open database file", so
/// the OS is asked the same question: opening the file as SQLite would (read-write and
/// created when missing, as `mode=rwc` does, unless `write` is false).
pub(super) fn sqlite_reason(path: &str, write: bool, error: &sqlx::Error) -> String {
    let probe = std::fs::OpenOptions::new()
        .read(true)
        .write(write)
        .create(write)
        .truncate(false)
        .open(path);
    match probe {
        Err(e) => io_reason(&e),
        Ok(_) => reason(error),
    }
}

fn io_reason(error: &std::io::Error) -> String {
    match error.kind() {
        kind @ (ErrorKind::ConnectionRefused
        | ErrorKind::ConnectionReset
        | ErrorKind::PermissionDenied
        | ErrorKind::NotFound
        | ErrorKind::TimedOut
        | ErrorKind::HostUnreachable
        | ErrorKind::NetworkUnreachable
        | ErrorKind::AddrNotAvailable
        | ErrorKind::IsADirectory
        | ErrorKind::NotADirectory
        | ErrorKind::ReadOnlyFilesystem) => kind.to_string(),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_place_is_host_and_port_without_credentials() {
        assert_eq!(
            postgres_place("postgres://u:hunter2@db.internal:6543/app"),
            "db.internal:6543"
        );
        assert_eq!(postgres_place("postgresql://db/app"), "db:5432");
        assert_eq!(
            postgres_place("postgres:///app?host=/run/postgresql&port=5433"),
            "/run/postgresql:5433"
        );
    }

    #[test]
    fn a_refused_connection_says_so_plainly() {
        let refused = sqlx::Error::Io(std::io::Error::from(ErrorKind::ConnectionRefused));
        assert_eq!(reason(&refused), "connection refused");
    }

    #[test]
    fn a_directory_in_place_of_the_file_is_named() {
        let dir = std::env::temp_dir();
        let path = dir.display().to_string();
        let error = sqlx::Error::Protocol("unable to open database file".into());
        assert_eq!(sqlite_reason(&path, true, &error), "is a directory");
    }
}
