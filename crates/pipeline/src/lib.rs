//! # taskpool-pipeline
//!
//! Qlib's task-management library around the task store: generating tasks
//! from a template, training them with workers, and collecting and
//! ensembling the results. It is written only against the `TaskStore` and
//! `RecordStore` traits, so it runs on every backend, and it knows no backend
//! and no application: the `taskpool run` experiment (market data, models,
//! metrics, the report) lives in `taskpool-experiment`, on top of this crate.
//!
//! - [`calendar`], [`time_adjust`], [`generate`]: trading calendars, Qlib's
//!   `TimeAdjuster` arithmetic, and task generators (`RollingGen`,
//!   `MultiHorizonGen`, parameter sweeps, `task_generator`).
//! - [`worker`]: the claim → run → heartbeat → commit loop (closures or
//!   external commands) and `wait`; [`trainer`]: Qlib's `Trainer` family.
//! - [`frame`], [`collect`], [`ensemble`]: prediction frames (with their
//!   binary artifact encoding), collectors over the record store, and Qlib's
//!   groups and ensembles.
//! - [`error_chain`]: an error and its sources on one line, for messages.

pub mod calendar;
pub mod collect;
pub mod ensemble;
mod error_chain;
pub mod frame;
#[cfg(test)]
mod fuzz;
pub mod generate;
pub mod time_adjust;
pub mod trainer;
pub mod worker;

pub use error_chain::error_chain;
