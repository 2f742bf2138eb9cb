//! The shared conformance suite against sled, each case on a fresh database
//! in `CARGO_TARGET_TMPDIR/conformance/<case>`, emptied when the case starts
//! (the store must outlive the factory, so the directory is not removed at
//! the end; it is inspectable after a failure).

use std::sync::Arc;

use task_store::{SharedClock, Store};

use crate::support;

task_store::conformance_tests!(|clock: SharedClock, case: &'static str| async move {
    let store = support::fresh_store(&format!("conformance/{case}"), clock).await;
    Some(Arc::new(store) as Arc<dyn Store>)
});
