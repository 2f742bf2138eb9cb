//! # taskpool
//!
//! Task management for research workflows: turn one experiment template into
//! many tasks, store them in a pool with leases and attempt limits, run them on
//! one laptop or a cluster, and collect and ensemble the results.
//!
//! This facade re-exports the workspace crates: [`store`] (the core), the
//! backends behind cargo features, and [`pipeline`].

pub use task_store as store;
pub use taskpool_pipeline as pipeline;
