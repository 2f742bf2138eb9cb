//! The shared record and artifact conformance suite against [`SqliteStore`],
//! each case on a fresh database file (WAL mode, as deployed) under Cargo's
//! per-target temporary directory.

use std::path::PathBuf;
use std::sync::Arc;

use task_store::{RecordStore, SharedClock};
use task_store_sqlite::SqliteStore;

/// A path for `case`'s database, with any file left by an earlier run removed.
fn fresh_database(case: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sqlite-records");
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

task_store::record_conformance_tests!(|clock: SharedClock, case: &'static str| async move {
    let path = fresh_database(case);
    let url = format!("sqlite://{}", path.display());
    let store = SqliteStore::open(&url, clock).expect("open a fresh store");
    Some(Arc::new(store) as Arc<dyn RecordStore>)
});
