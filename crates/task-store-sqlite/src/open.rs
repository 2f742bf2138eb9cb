//! Opening a store: the `sqlite://` URL, then the connection (refuse
//! unusable files without writing to them, then WAL, busy timeout,
//! durability, migrations and the checkpoint thread) on the store's
//! connection thread.

use std::fmt;
use std::path::{Path, PathBuf};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, MAIN_DB, OpenFlags};
use task_store::SharedClock;

use crate::checkpoint;
use crate::connection::ConnectionThread;
use crate::error::{Result, SqliteError};
use crate::options::{Durability, SqliteOptions};
use crate::schema;
use crate::store::SqliteStore;

impl SqliteStore {
    /// Open (creating if needed) the store at a `sqlite://` URL
    /// (`sqlite://relative/path.db`, `sqlite:///absolute/path.db`, or
    /// [`MEMORY_URL`] for a private in-memory database), reading time from
    /// `clock`. The file is checked and migrated on the store's connection
    /// thread, so the caller's thread never blocks (waiting up to
    /// [`SqliteOptions::busy_timeout`] if another process holds the write
    /// lock).
    ///
    /// # Errors
    /// `Config` for a URL of another form, a path that is a directory,
    /// read-only or in a read-only directory, a file that is not SQLite or
    /// belongs to another application, or a schema newer than this build (in
    /// each case the file is left untouched); `Unavailable` if the database
    /// stays locked past the busy timeout.
    pub async fn open(
        url: &str,
        clock: SharedClock,
        options: SqliteOptions,
    ) -> task_store::Result<SqliteStore> {
        let location = Location::from_url(url)?;
        let thread = ConnectionThread::open(location.clone(), options).await?;
        Ok(SqliteStore::new(thread, clock, location))
    }
}

/// The URL schemes [`SqliteStore`] answers to.
pub const URL_SCHEMES: &[&str] = &["sqlite"];

/// The URL of a private in-memory database (one per store, gone when it is
/// dropped). A file named `:memory:` is written `sqlite://./:memory:`.
pub const MEMORY_URL: &str = "sqlite://:memory:";

const FILE_PREFIX: &str = "sqlite://";

/// A database file or a private in-memory database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// A file, as given (relative paths resolve against the working directory).
    File(PathBuf),
    /// `sqlite://:memory:`.
    Memory,
}

impl Location {
    /// Parse a `sqlite://PATH` or `sqlite://:memory:` URL.
    pub(crate) fn from_url(url: &str) -> Result<Location, SqliteError> {
        if url == MEMORY_URL {
            return Ok(Location::Memory);
        }
        let Some(path) = url.strip_prefix(FILE_PREFIX) else {
            return Err(SqliteError::BadUrl(format!(
                "{url:?} is not a SQLite store URL: use sqlite://PATH (sqlite:///abs/path.db or \
                 sqlite://relative.db) or {MEMORY_URL} for an in-memory store (accepted schemes: {})",
                URL_SCHEMES.join(", ")
            )));
        };
        Location::from_path(path)
    }

    fn from_path(path: &str) -> Result<Location, SqliteError> {
        if path.is_empty() {
            return Err(SqliteError::BadUrl(
                "the SQLite store URL has an empty path: use sqlite://PATH".into(),
            ));
        }
        Ok(Location::File(PathBuf::from(path)))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(path) => write!(f, "{FILE_PREFIX}{}", path.display()),
            Location::Memory => f.write_str(MEMORY_URL),
        }
    }
}

/// The size, in bytes, the WAL file is truncated to when it is reset after a
/// checkpoint (`PRAGMA journal_size_limit`): twice the WAL that a
/// checkpoint every [`checkpoint::CHECKPOINT_PAGES`] pages lets grow in
/// normal use.
const JOURNAL_SIZE_LIMIT: i64 = 8 << 20;

/// How many distinct statements each connection keeps prepared.
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// Open and prepare the database at `location`.
pub(crate) fn connect(location: &Location, options: &SqliteOptions) -> Result<Connection> {
    let name = location.to_string();
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = match location {
        Location::Memory => Connection::open_in_memory_with_flags(flags)?,
        Location::File(path) => {
            check_file(path, &name)?;
            Connection::open_with_flags(path, flags)?
        }
    };
    conn.busy_timeout(options.busy_timeout)?;
    if conn.is_readonly(MAIN_DB)? {
        return Err(SqliteError::Unusable(format!(
            "{name} can only be opened read-only; a task store needs write access"
        )));
    }
    schema::check(&conn, &name)?;
    let wal = match location {
        Location::File(_) => {
            let mode: String =
                conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(store = %name, mode, "WAL is not available; using the rollback journal");
            }
            mode.eq_ignore_ascii_case("wal")
        }
        Location::Memory => false,
    };
    let synchronous = match options.durability {
        Durability::Process => "NORMAL",
        Durability::PowerLoss => "FULL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    // A large artifact passes through the WAL; without a limit the -wal file
    // keeps its size (hundreds of MB) as long as any connection is open.
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)?;
    let found = schema::migrate(&mut conn, &name)?;
    tracing::debug!(store = %name, found, version = schema::LATEST_VERSION, "opened");
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    // Without the query planner stability guarantee SQLite marks a statement
    // for re-preparation whenever a value is bound to a parameter its plan
    // looked at, such as the `LIMIT ?` of every claim and query: each call
    // would parse and plan the statement again (see BENCHMARKS.md).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    if let (true, Location::File(path)) = (wal, location) {
        checkpoint::hand_off(&mut conn, path, &name, JOURNAL_SIZE_LIMIT)?;
    }
    Ok(conn)
}

/// Refuse, before SQLite touches anything, a path that is a directory, a
/// file without write permission, or a file in a directory where the WAL
/// files cannot be created. Checking the permission bits ourselves makes the
/// answer the same for every user (root bypasses them in the kernel).
fn check_file(path: &Path, name: &str) -> Result<()> {
    let unusable = |why: &str| Err(SqliteError::Unusable(format!("{name}: {why}")));
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return unusable("is a directory, not a database file"),
        Ok(meta) if meta.permissions().readonly() => {
            return unusable("the file is read-only; a task store needs write access");
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return unusable(&format!("cannot read the file's metadata: {e}")),
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => unusable("the parent path is not a directory"),
        Ok(meta) if meta.permissions().readonly() => unusable(
            "the directory is read-only; SQLite must create the -wal and -shm files beside the database",
        ),
        Ok(_) => Ok(()),
        Err(e) => unusable(&format!("the directory cannot be used: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_url_accepts_relative_absolute_and_memory() {
        assert_eq!(
            Location::from_url("sqlite://taskpool.db").unwrap(),
            Location::File("taskpool.db".into())
        );
        assert_eq!(
            Location::from_url("sqlite:///tmp/x y.db").unwrap(),
            Location::File("/tmp/x y.db".into())
        );
        assert_eq!(
            Location::from_url("sqlite://:memory:").unwrap(),
            Location::Memory
        );
        assert_eq!(
            Location::from_url("sqlite://./:memory:").unwrap(),
            Location::File("./:memory:".into())
        );
    }

    #[test]
    fn from_url_rejects_other_forms() {
        for bad in [
            "sqlite://",
            "sqlite:x.db",
            "mongodb://host/db",
            "x.db",
            "sqlite::memory:",
            ":memory:",
        ] {
            assert!(
                matches!(Location::from_url(bad), Err(SqliteError::BadUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn display_round_trips() {
        for url in ["sqlite://a/b.db", "sqlite:///abs.db", "sqlite://:memory:"] {
            assert_eq!(Location::from_url(url).unwrap().to_string(), url);
        }
    }
}
