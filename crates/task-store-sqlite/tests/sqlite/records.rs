//! The shared record and artifact conformance suite against
//! [`SqliteStore`](task_store_sqlite::SqliteStore),
//! each case on a fresh database file (WAL mode, as deployed) under Cargo's
//! per-target temporary directory.

use std::sync::Arc;

use crate::support::{fresh_database, open_file};
use task_store::{SharedClock, Store};

task_store::record_conformance_tests!(|clock: SharedClock, case: &'static str| async move {
    let store = open_file(&fresh_database("records", case), clock).await;
    Some(Arc::new(store) as Arc<dyn Store>)
});
