//! Helpers shared by the SQLite tests: URLs, clocks, opening stores, and a
//! fresh database file per conformance case.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use task_store::{SharedClock, SystemClock};
use task_store_sqlite::{SqliteOptions, SqliteStore};

/// The `sqlite://` URL of a file.
pub fn url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// The system clock, shared.
pub fn system_clock() -> SharedClock {
    Arc::new(SystemClock)
}

/// Open a store, waiting on the caller's thread: for tests that are not
/// `async` (opening from plain threads, checking refused files).
pub fn open_blocking(
    url: &str,
    clock: SharedClock,
    options: SqliteOptions,
) -> task_store::Result<SqliteStore> {
    futures::executor::block_on(SqliteStore::open(url, clock, options))
}

/// Open (creating if needed) the store in the file at `path` with default
/// options; panics if it cannot be opened.
pub async fn open_file(path: &Path, clock: SharedClock) -> SqliteStore {
    SqliteStore::open(&url(path), clock, SqliteOptions::default())
        .await
        .expect("open the store")
}

/// A path for a case's database (`suite` keeps the task and record suites'
/// files apart), with any file left by an earlier run removed.
pub fn fresh_database(suite: &str, case: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sqlite-{suite}"));
    std::fs::create_dir_all(&dir).expect("create the test directory");
    let path = dir.join(format!("{case}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::remove_file(&file).expect("remove an old test database");
        }
    }
    path
}
