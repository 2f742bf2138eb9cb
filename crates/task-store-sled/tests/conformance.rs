//! The shared conformance suite against sled, each case on a fresh database.
//!
//! Each case's database lives in `CARGO_TARGET_TMPDIR/conformance/<case>`,
//! emptied when the case starts (the store must outlive the factory, so the
//! directory is not removed at the end; it is inspectable after a failure).

use std::sync::Arc;

use task_store::{SharedClock, TaskStore};
use task_store_sled::SledStore;

task_store::conformance_tests!(|clock: SharedClock, case: &'static str| async move {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("conformance")
        .join(case);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("cannot empty {}: {e}", dir.display()),
    }
    let store = SledStore::from_url(&format!("sled://{}", dir.display()), clock)
        .await
        .expect("a fresh sled store opens");
    Some(Arc::new(store) as Arc<dyn TaskStore>)
});
