//! The experiment crate's integration tests, one binary: `taskpool run`'s
//! library side end to end, and the embedded dataset's signal.

mod command_model;
mod job_run;
mod online;
mod support;
mod synthetic_signal;
