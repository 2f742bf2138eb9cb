//! The shared conformance suite (named cases and the model-based property
//! test) against a MongoDB-wire server, each test in its own database. The
//! cases a server cannot run are gated by [`Server::gate`](super::support::Server::gate).
//!
//! The store sweeps expired exhausted tasks at most every
//! [`DEFAULT_SWEEP_INTERVAL`](task_store_mongo::DEFAULT_SWEEP_INTERVAL)
//! (the named cases advance the clock past it, so they check the default);
//! the model-based test compares every state with the MemoryStore, which
//! sweeps at every claim, so its store sweeps at every claim too.

use std::sync::Arc;
use std::time::Duration;

use task_store::conformance::MODEL_CASE;
use task_store::{SharedClock, Store};

use super::support;

task_store::conformance_tests!(|clock: SharedClock, case: &'static str| async move {
    let url = support::server_url(case)?;
    let mut options = support::options_for(case);
    if case == MODEL_CASE {
        options = options.sweep_interval(Duration::ZERO);
    }
    Some(support::fresh_store_with(&url, clock, options).await as Arc<dyn Store>)
});
