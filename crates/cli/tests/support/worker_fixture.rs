//! [`WorkerFixture`]: a SQLite pool in a temporary directory, kept open by
//! the test and shared with the `taskpool` processes it starts.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;

use serde_json::Value;
use taskpool::store::{CreateParams, Query, Stat, Task, TaskId, TaskStore, TaskStoreExt};
use tempfile::TempDir;

use super::{POOL, taskpool_process};

/// A SQLite store in a temporary directory, opened by the test too.
pub struct WorkerFixture {
    dir: TempDir,
    /// `sqlite://…`
    pub url: String,
    runtime: tokio::runtime::Runtime,
    store: Arc<dyn TaskStore>,
}

impl WorkerFixture {
    /// A fresh SQLite store; `None` (the test is skipped, with a message) if
    /// this build's `open_store` does not accept `sqlite://`.
    pub fn sqlite() -> Option<WorkerFixture> {
        if !taskpool::URL_SCHEMES.contains(&"sqlite") {
            eprintln!("skipped: sqlite:// is not wired into taskpool::open_store in this build");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("tasks.db").display());
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let store = runtime.block_on(taskpool::open_store(&url)).expect("open");
        Some(WorkerFixture {
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
        taskpool_process()
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
