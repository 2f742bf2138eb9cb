//! The record conformance suite against sled, each case on a fresh database
//! in `CARGO_TARGET_TMPDIR/records/<case>` (kept afterwards for inspection).

mod support;

use std::sync::Arc;

use task_store::{RecordStore, SharedClock};
use task_store_sled::SledStore;

task_store::record_conformance_tests!(|clock: SharedClock, case: &'static str| async move {
    let dir = support::fresh_dir(&format!("records/{case}"));
    let store = SledStore::from_url(&format!("sled://{}", dir.display()), clock)
        .await
        .expect("a fresh sled store opens");
    Some(Arc::new(store) as Arc<dyn RecordStore>)
});
