//! [`WorkerFixture`]: a pool kept open by the test and shared with the
//! `taskpool` processes it starts: SQLite in a temporary directory, or a
//! fresh database on a MongoDB-wire server.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;

use serde_json::Value;
use taskpool::store::{CreateParams, Query, Stat, Task, TaskId, TaskStore, TaskStoreExt};
use tempfile::TempDir;

use super::mongodb::{atomic_mongodb_server, drop_mongodb_database, with_database};
use super::{POOL, mongodb_test_database, taskpool_process};

/// A store opened by the test too; files of the processes it starts in a
/// temporary directory.
pub struct WorkerFixture {
    dir: TempDir,
    /// `sqlite://…` or `mongodb://…`
    pub url: String,
    runtime: tokio::runtime::Runtime,
    store: Arc<dyn TaskStore>,
    /// The `TASKPOOL_LOG` filter of the processes (none: their default).
    log: Option<String>,
    /// A MongoDB database to drop when the fixture goes.
    database: Option<String>,
}

impl Drop for WorkerFixture {
    fn drop(&mut self) {
        // Before the runtime stops (see `TaskStore::close`).
        self.runtime.block_on(self.store.close());
        if let Some(db) = &self.database {
            drop_mongodb_database(db);
        }
    }
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
        Some(WorkerFixture::open(dir, url))
    }

    /// A fresh database on the MongoDB test server, if its single-document
    /// writes are atomic (see [`atomic_mongodb_server`]; `test` names the
    /// test in what it prints); the database is dropped with the fixture.
    ///
    /// # Panics
    /// Under CI without a server; if the server cannot be reached.
    pub fn atomic_mongodb(test: &str) -> Option<WorkerFixture> {
        let server = atomic_mongodb_server(test)?;
        let db = mongodb_test_database();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut fx = WorkerFixture::open(dir, with_database(&server, &db));
        fx.database = Some(db);
        Some(fx)
    }

    /// The store at `url` (a server the test started itself: its database
    /// is not dropped).
    pub fn at(url: &str) -> WorkerFixture {
        WorkerFixture::open(tempfile::tempdir().expect("temp dir"), url.to_string())
    }

    fn open(dir: TempDir, url: String) -> WorkerFixture {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let store = runtime
            .block_on(taskpool::open_store(&url))
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
        WorkerFixture {
            dir,
            url,
            runtime,
            store,
            log: None,
            database: None,
        }
    }

    /// The processes started from now on log with this `TASKPOOL_LOG` filter.
    pub fn log(&mut self, filter: &str) {
        self.log = Some(filter.to_string());
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

    /// Counts by status, or the store's error (a server may be down).
    pub fn try_stat(&self) -> taskpool::store::Result<Stat> {
        self.on(async |s| s.stat(POOL, &Query::All).await)
    }

    /// `taskpool --store URL -t POOL <args>` with stdout and stderr to files
    /// named after `name` in the fixture directory.
    pub fn spawn(&self, name: &str, args: &[&str]) -> Child {
        let out = File::create(self.dir().join(format!("{name}.out"))).expect("stdout file");
        let err = File::create(self.dir().join(format!("{name}.err"))).expect("stderr file");
        let mut cmd = taskpool_process();
        if let Some(filter) = &self.log {
            cmd.env("TASKPOOL_LOG", filter);
        }
        cmd.args(["--store", &self.url, "-t", POOL])
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
