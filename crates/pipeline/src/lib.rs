//! # taskpool-pipeline
//!
//! Everything around the task store: generating tasks from a template,
//! training them with workers, and collecting and ensembling the results. It is
//! written only against the `TaskStore` trait, so it runs on every backend.
//!
//! - [`data`], [`model`], [`metrics`]: the main job's market data (CSV loader
//!   and an embedded synthetic dataset), features, ridge model and IC metrics.
//! - [`calendar`], [`time_adjust`], [`generate`]: trading calendars, Qlib's
//!   `TimeAdjuster` arithmetic, and task generators (`RollingGen`,
//!   `MultiHorizonGen`, parameter sweeps, `task_generator`).
//! - [`worker`]: the claim → run → heartbeat → commit loop (closures or
//!   external commands) and `wait`; [`trainer`]: Qlib's `Trainer` family.
//! - [`frame`], [`collect`], [`ensemble`]: prediction frames (binary and CSV),
//!   collectors over the record store, and Qlib's groups and ensembles.
//! - [`job`]: the main job, `taskpool run CONFIG` (config, rolling ridge
//!   tasks, training, collection, ensembles, report).

pub mod calendar;
pub mod collect;
pub mod data;
pub mod ensemble;
pub mod frame;
pub mod generate;
pub mod job;
pub mod metrics;
pub mod model;
pub mod time_adjust;
pub mod trainer;
pub mod worker;
