//! # taskpool
//!
//! Task management for research workflows: turn one experiment template into
//! many tasks, store them in a pool with leases and attempt limits, run them on
//! one laptop or a cluster, and collect and ensemble the results.
//!
//! This facade re-exports the workspace crates: [`store`] (the core), the
//! backends behind cargo features, and [`pipeline`]; [`open`] (tasks, records
//! and artifacts) and [`open_store`] (tasks) pick a backend by URL scheme.
//! Applications (the CLI, `taskpool-experiment`) open stores only through
//! this crate and never name a backend crate; with the `mongo` feature,
//! `qlib` reads a Qlib task pool for `taskpool import-qlib`.
//! [`open_existing`] opens only a store that is already there.

mod existing;
mod open;
#[cfg(feature = "mongo")]
pub mod qlib;

pub use existing::{missing_local_store, open_existing};
pub use open::{
    DEFAULT_STORE_URL, URL_SCHEMES, open, open_store, open_store_with_clock, open_with_clock,
};
pub use task_store as store;
pub use task_store::redact_url;
/// How long opening a MongoDB store waits for a server unless the URL's
/// `serverSelectionTimeoutMS` says otherwise.
#[cfg(feature = "mongo")]
pub use task_store_mongo::DEFAULT_TIMEOUT as MONGODB_DEFAULT_TIMEOUT;
pub use taskpool_pipeline as pipeline;
