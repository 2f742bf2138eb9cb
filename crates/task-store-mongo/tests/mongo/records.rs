//! The shared record and artifact conformance suite against a MongoDB-wire
//! server, each case in its own database (dropped at the start of the case).
//!
//! Every case runs on FerretDB too, the > 16 MiB artifact and the concurrent
//! updates included: artifacts go through GridFS, and record changes are
//! compare-and-swaps on a unique index, which FerretDB enforces atomically.

use std::sync::Arc;

use task_store::{SharedClock, Store};

use super::support;

task_store::record_conformance_tests!(|clock: SharedClock, case: &'static str| async move {
    let url = support::server_url(case)?;
    Some(support::empty_store(&url, case, clock).await as Arc<dyn Store>)
});
