//! The record conformance suite against the reference MemoryStore.
#![cfg(feature = "conformance")]

use std::sync::Arc;

use task_store::{MemoryStore, SharedClock, Store};

task_store::record_conformance_tests!(|clock: SharedClock, _case: &'static str| async move {
    Some(Arc::new(MemoryStore::with_clock(clock)) as Arc<dyn Store>)
});
