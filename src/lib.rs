//! # taskpool
//!
//! Task management for research workflows: turn one experiment template into
//! many tasks, store them in a pool with leases and attempt limits, run them on
//! one laptop or a cluster, and collect and ensemble the results.
//!
//! This facade re-exports the workspace crates: [`store`] (the core), the
//! backends behind cargo features, and [`pipeline`]; [`open`] (tasks, records
//! and artifacts) and [`open_store`] (tasks) pick a backend by URL scheme;
//! [`open_existing`] opens only a store that is already there.

mod existing;
mod open;

pub use existing::{missing_local_store, open_existing};
pub use open::{
    DEFAULT_STORE_URL, URL_SCHEMES, open, open_store, open_store_with_clock, open_with_clock,
};
pub use task_store as store;
pub use task_store::redact_url;
pub use taskpool_pipeline as pipeline;
