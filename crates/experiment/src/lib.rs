//! # taskpool-experiment
//!
//! The applications built on the `taskpool-pipeline` library: today the main
//! job, `taskpool run CONFIG` (a rolling-retrain experiment from a YAML
//! configuration to a report, in the spirit of Qlib's `qrun`), and online
//! serving next to it ([`online`]: `taskpool online init|routine|simulate|status`).
//!
//! The pipeline stays Qlib's task-management library (generate, train,
//! collect, ensemble) and knows only the store traits; everything an
//! experiment needs beyond that lives here, with the dependencies it brings:
//!
//! - [`data`]: market bars (a CSV loader and an embedded synthetic dataset)
//!   and the features computed from them;
//! - [`model`]: the ridge model (`nalgebra`);
//! - [`metrics`]: IC and rank IC per day and over a window;
//! - [`job`]: the job itself (configuration, rolling ridge tasks, training,
//!   collection, ensembles) and its report (a table, `report.md`, a PNG plot
//!   drawn with `plotters` and an embedded font, `summary.json`);
//! - [`online`]: online serving on the same configuration and store;
//! - [`frame_csv`]: prediction frames as CSV files (`taskpool ensemble`,
//!   the signals files).
//!
//! Like every application, it opens stores through the facade `taskpool`
//! ([`job::open_store`]), never through a backend crate, and asks an opened
//! store what it supports ([`Capabilities`](task_store::Capabilities))
//! instead of reading its URL.

pub mod data;
pub mod frame_csv;
pub mod job;
pub mod metrics;
pub mod model;
pub mod online;
