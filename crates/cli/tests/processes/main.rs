//! Tests that signal and kill several `taskpool` processes sharing one
//! pool (SQLite; MongoDB on an atomic server; FerretDB killed and restarted
//! under its workers). A binary of their own: each starts many processes and
//! waits for leases to expire, so they do not share the machine with the
//! rest of the CLI tests (`tests/cli/`).

#[path = "../support/mod.rs"]
mod support;

mod ferretdb_restart;
mod mongodb_workers;
mod online_processes;
mod run_signals;
mod worker_children;
mod worker_processes;
