//! The `taskpool` binary's integration tests, one binary (link time
//! dominates CI): each module runs the real executable against stores in
//! temporary directories. Multi-process signal and kill tests are in
//! `tests/processes/`.

#[path = "../support/mod.rs"]
mod support;

mod dashboard;
mod docs;
mod ensemble;
mod generate;
mod limits;
mod manage_bad_input;
mod manage_commands;
mod manage_help;
mod manage_import_qlib;
mod manage_memory;
mod manage_secrets;
mod online;
mod run;
mod usability;
mod worker_artifacts;
mod worker_cli;
