//! Shared fixtures for the `worker*` integration tests: a SQLite pool in a
//! temporary directory, shared by the test and the `taskpool` processes it
//! starts.

#![allow(dead_code)] // each test crate uses a different part of this module

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use taskpool::store::{CreateParams, Query, Stat, Task, TaskId, TaskStore, TaskStoreExt};
use tempfile::TempDir;

/// The pool every fixture works in.
pub const POOL: &str = "work";

/// The `taskpool` binary with a clean environment.
pub fn taskpool() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_taskpool"));
    cmd.env_remove("TASKPOOL_STORE")
        .env_remove("TASKPOOL_POOL")
        .env_remove("TASKPOOL_LOG")
        .env("RUST_BACKTRACE", "1");
    cmd
}

/// The example worker shipped in `examples/workers/`.
pub fn example_worker() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/workers/square_worker.py")
}

/// A SQLite store in a temporary directory, opened by the test too.
pub struct Fixture {
    dir: TempDir,
    /// `sqlite://…`
    pub url: String,
    runtime: tokio::runtime::Runtime,
    store: Arc<dyn TaskStore>,
}

impl Fixture {
    /// A fresh SQLite store; `None` (the test is skipped, with a message) if
    /// this build's `open_store` does not accept `sqlite://`.
    pub fn sqlite() -> Option<Fixture> {
        if !taskpool::URL_SCHEMES.contains(&"sqlite") {
            eprintln!("skipped: sqlite:// is not wired into taskpool::open_store in this build");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("tasks.db").display());
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let store = runtime.block_on(taskpool::open_store(&url)).expect("open");
        Some(Fixture {
            dir,
            url,
            runtime,
            store,
        })
    }

    /// The temporary directory (for files the test's commands write).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Run a store operation.
    pub fn on<T>(&self, f: impl AsyncFnOnce(&dyn TaskStore) -> T) -> T {
        self.runtime.block_on(f(&*self.store))
    }

    /// Create tasks with an attempt limit; their ids in order.
    pub fn create(&self, defs: Vec<Value>, max_attempts: u32) -> Vec<TaskId> {
        let params = CreateParams {
            max_attempts,
            ..CreateParams::new(defs)
        };
        self.on(async |s| s.create(POOL, params).await.expect("create"))
            .into_iter()
            .map(|c| c.id)
            .collect()
    }

    /// Every task of the pool.
    pub fn tasks(&self) -> Vec<Task> {
        self.on(async |s| s.query_all(POOL, Query::All).await.expect("query"))
    }

    /// The running tasks.
    pub fn running(&self) -> Vec<Task> {
        let query = Query::status(taskpool::store::Status::Running);
        self.on(async |s| s.query_all(POOL, query).await.expect("query"))
    }

    /// The tasks with these ids.
    pub fn tasks_by_id(&self, ids: &[TaskId]) -> Vec<Task> {
        if ids.is_empty() {
            return Vec::new();
        }
        let query = Query::ids(ids);
        self.on(async |s| s.query_all(POOL, query).await.expect("query"))
    }

    /// One task.
    pub fn get(&self, id: TaskId) -> Task {
        self.on(async |s| s.get(POOL, id).await.expect("get"))
    }

    /// Counts by status.
    pub fn stat(&self) -> Stat {
        self.on(async |s| s.stat(POOL, &Query::All).await.expect("stat"))
    }

    /// `taskpool --store URL -t POOL <args>` with stdout and stderr to files
    /// named after `name` in the fixture directory.
    pub fn spawn(&self, name: &str, args: &[&str]) -> Child {
        let out = File::create(self.dir().join(format!("{name}.out"))).expect("stdout file");
        let err = File::create(self.dir().join(format!("{name}.err"))).expect("stderr file");
        taskpool()
            .args(["--store", &self.url, "-t", POOL])
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn taskpool")
    }

    /// What the process `name` wrote on stdout.
    pub fn stdout_of(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir().join(format!("{name}.out"))).expect("stdout file")
    }

    /// What the process `name` wrote on stderr.
    pub fn stderr_of(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir().join(format!("{name}.err"))).expect("stderr file")
    }
}

/// Send `signal` to a process.
pub fn send(child: &Child, signal: i32) {
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill {pid}");
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
