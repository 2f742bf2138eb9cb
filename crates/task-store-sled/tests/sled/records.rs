//! The record conformance suite against sled, each case on a fresh database
//! in `CARGO_TARGET_TMPDIR/records/<case>` (kept afterwards for inspection).

use std::sync::Arc;

use task_store::{SharedClock, Store};

use crate::support;

task_store::record_conformance_tests!(|clock: SharedClock, case: &'static str| async move {
    let store = support::fresh_store(&format!("records/{case}"), clock).await;
    Some(Arc::new(store) as Arc<dyn Store>)
});
