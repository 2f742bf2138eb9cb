//! The main job, `taskpool run CONFIG`: a rolling-retrain experiment from a
//! YAML configuration to a report, in the spirit of Qlib's `qrun`.
//!
//! 1. **Configure**: [`JobConfig::from_yaml`] reads the file (every unknown
//!    key is an error naming it); [`JobPlan::new`] checks every value and
//!    resolves the data (a CSV file, hashed, or the embedded synthetic
//!    dataset).
//! 2. **Generate**: one template per model → [`ParamSweep`](taskpool_pipeline::generate::ParamSweep)
//!    (the model's name gains the swept values, `ridge[alpha=10]`) →
//!    [`RollingGen`](taskpool_pipeline::generate::RollingGen) over the data's calendar.
//! 3. **Create**: the definitions go into the pool in one batch. The store
//!    deduplicates them by content, so re-running a configuration reuses
//!    every task already `done` and trains nothing for it (Qlib's result
//!    reuse); failed tasks are put back to `waiting`. `--fresh` drops the
//!    pool and the experiment's records first.
//! 4. **Train** ([`Launch`]): N worker processes claiming from the store
//!    (`taskpool run-worker`), or an in-process worker running N tasks at
//!    once; progress comes from the store's counts ([`JobEvent`]). Each
//!    task runs [`ridge_task::run_task`]: ridge on train, metrics on valid
//!    and test, a record with the predictions as artifact `pred`.
//! 5. **Collect**: `RecorderCollector` keyed by (model, test start) →
//!    `RollingGroup` + `RollingEnsemble` per model → `AverageEnsemble`
//!    across models; every series is measured against the labels.
//! 6. **Report** ([`report`]): a terminal table, `report.md`, `ic.png`
//!    and `summary.json` in the report directory.
//!
//! Data is loaded once per process ([`market::load`] caches it by spec).

pub mod command_model;
pub mod config;
mod error;
mod events;
pub mod features_file;
#[cfg(test)]
mod fuzz;
pub mod market;
mod plan;
pub mod report;
pub(crate) mod results;
pub mod ridge_task;
pub(crate) mod runner;
pub mod task_def;
pub(crate) mod train;

pub use config::JobConfig;
pub use error::JobError;
pub use events::{Events, JobEvent, no_events};
pub use plan::{JobPlan, MIN_LABELLED_DAYS, PlannedTasks, SkippedWindow, TrainerPlan};
pub use report::JobSummary;
pub use results::{ENSEMBLE, SeriesResult, WindowResult};
pub use runner::{RunOptions, open_store, run_job};
pub use train::{Launch, TrainingAhead, WorkerCommand, run_worker};
