//! The shared conformance suite (named cases and the model-based property
//! test) against a MongoDB-wire server, each test in its own database. The
//! cases a server cannot run are gated by [`Server::gate`](super::support::Server::gate).

use std::sync::Arc;

use task_store::{SharedClock, TaskStore};

use super::support;

task_store::conformance_tests!(|clock: SharedClock, case: &'static str| async move {
    let url = support::server_url(case)?;
    Some(support::fresh_store(&url, case, clock).await as Arc<dyn TaskStore>)
});
