//! The one test-support module of the CLI's integration tests: run the
//! `taskpool` binary against a store in a temporary directory.
//!
//! - [`Fixture`]: a store of any scheme, driven through commands;
//! - [`WorkerFixture`]: a SQLite pool the test keeps open while `taskpool`
//!   worker processes share it;
//! - the MongoDB test server (`TASKPOOL_TEST_MONGODB_URL`), process helpers
//!   and assertions on failed runs.

// Each test binary uses a different part of this module and its re-exports.
#![allow(dead_code, unused_imports)]

mod fixture;
mod mongodb;
mod worker_fixture;

use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::time::Duration;

pub use fixture::Fixture;
pub use mongodb::{
    atomic_mongodb_server, drop_mongodb_database, mongodb_server, mongodb_server_kind,
    mongodb_test_database, mongodb_url, with_database,
};
pub use worker_fixture::WorkerFixture;

/// The pool every fixture works in.
pub const POOL: &str = "rolling";

/// The binary, with a clean environment: no store, pool or log settings
/// inherited from the caller, backtraces enabled (so a panic would show).
pub fn taskpool_process() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_taskpool"));
    cmd.env_remove("TASKPOOL_STORE")
        .env_remove("TASKPOOL_POOL")
        .env_remove("TASKPOOL_LOG")
        .env("RUST_BACKTRACE", "1");
    cmd
}

/// [`taskpool_process`] as an `assert_cmd` command.
pub fn taskpool() -> assert_cmd::Command {
    assert_cmd::Command::from_std(taskpool_process())
}

/// Whether this build's `open_store` accepts `scheme`; prints why a test is
/// skipped when it does not.
pub fn wired(scheme: &str) -> bool {
    let ok = taskpool::URL_SCHEMES.contains(&scheme);
    if !ok {
        eprintln!("skipped: {scheme}:// is not wired into taskpool::open_store in this build");
    }
    ok
}

/// The example worker shipped in `examples/workers/`.
pub fn example_worker() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/workers/square_worker.py")
}

/// Send `signal` to a process.
pub fn send(child: &Child, signal: i32) {
    taskpool::pipeline::worker::signal_process(child.id(), signal)
        .unwrap_or_else(|e| panic!("kill {}: {e}", child.id()));
}

/// Whether the process `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
    })
}

/// Wait for a process, with a hang guard (not a timing assertion).
pub fn wait_exit(child: &mut Child) -> ExitStatus {
    for _ in 0..12_000 {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    panic!("process {} did not exit", child.id());
}

/// Poll `check` until it holds; a hang guard (panics after two minutes), not
/// a timing assertion.
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..12_000 {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("gave up waiting for: {what}");
}

/// The pid in a worker id `host:pid:n`.
pub fn owner_pid(owner: &str) -> Option<u32> {
    owner.rsplit(':').nth(1)?.parse().ok()
}

/// Three task definitions, as JSON lines.
pub const SEED: &str = r#"{"model": {"class": "LGBModel"}, "segments": {"test": ["2017-01-01", "2017-06-30"]}}
{"model": {"class": "LGBModel"}, "segments": {"test": ["2017-07-01", "2017-12-31"]}}
{"model": {"class": "Linear"}, "segments": {"test": ["2017-01-01", "2017-06-30"]}}
"#;

/// Assert a failed run: exit `code`, nothing on stdout, exactly one line on
/// stderr starting with `taskpool: error:`, no panic or backtrace.
pub fn assert_one_line_error(output: &std::process::Output, code: i32) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "stderr: {stderr}");
    assert!(
        output.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    assert!(stderr.starts_with("taskpool: error: "), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}
