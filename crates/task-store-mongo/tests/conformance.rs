//! The shared conformance suite (named cases and the model-based property
//! test) against a MongoDB-wire server, each test in its own database.
//!
//! The cases in [`CONCURRENCY_CASES`] need single-document atomicity under
//! concurrent writers, which FerretDB (the CI server) does not provide: they
//! run only when `TASKPOOL_TEST_MONGODB_REAL=1` marks the server as a real
//! MongoDB.

mod support;

use std::sync::Arc;

use task_store::conformance::CONCURRENCY_CASES;
use task_store::{SharedClock, TaskStore};

task_store::conformance_tests!(|clock: SharedClock, case: &'static str| async move {
    let url = support::server_url(case)?;
    if CONCURRENCY_CASES.contains(&case) && !support::server_is_real() {
        println!(
            "skipping {case}: it needs atomic single-document updates under concurrent \
             writers, which FerretDB lacks; set {}=1 when {} points at a real MongoDB",
            support::REAL_VAR,
            support::URL_VAR
        );
        return None;
    }
    Some(support::fresh_store(&url, case, clock).await as Arc<dyn TaskStore>)
});
