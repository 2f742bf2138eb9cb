//! Opening a connection: refuse unusable files without writing to them, then
//! WAL, busy timeout, durability and migrations.

use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, MAIN_DB, OpenFlags};

use crate::error::{Result, SqliteError};
use crate::location::Location;
use crate::schema;

/// How durable an acknowledged write is (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous = NORMAL` (the default): in WAL mode a write acknowledged
    /// to the caller survives the death of any process; the last writes before
    /// an operating-system crash or power loss may be lost.
    #[default]
    Process,
    /// `synchronous = FULL`: every commit is fsynced, so acknowledged writes
    /// also survive power loss (slower).
    PowerLoss,
}

/// Tuning of a [`SqliteStore`](crate::SqliteStore).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// How long an operation waits for another connection's write lock
    /// before failing with [`ErrorKind::Unavailable`](task_store::ErrorKind::Unavailable).
    pub busy_timeout: Duration,
    /// What a successful write survives.
    pub durability: Durability,
}

impl Default for SqliteOptions {
    /// A 5 s busy timeout, [`Durability::Process`].
    fn default() -> SqliteOptions {
        SqliteOptions {
            busy_timeout: Duration::from_secs(5),
            durability: Durability::Process,
        }
    }
}

/// The size, in bytes, the WAL file is truncated to when it is reset after a
/// checkpoint (`PRAGMA journal_size_limit`): twice the WAL that SQLite's
/// automatic checkpoint (every 1000 pages) lets grow in normal use.
const JOURNAL_SIZE_LIMIT: i64 = 8 << 20;

/// How many distinct statements each connection keeps prepared.
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// Open and prepare the database at `location`.
pub(crate) fn open(location: &Location, options: &SqliteOptions) -> Result<Connection> {
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
    if let Location::File(_) = location {
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(store = %name, mode, "WAL is not available; using the rollback journal");
        }
    }
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
