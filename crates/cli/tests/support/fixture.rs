//! [`Fixture`]: a store of any scheme in a temporary directory, driven
//! through `taskpool` commands.

use std::path::PathBuf;
use std::sync::Arc;

use assert_cmd::Command;
use serde_json::Value;
use taskpool::store::{SharedClock, SystemClock, TaskStore};
use tempfile::TempDir;

use super::mongodb::{database_of, drop_mongodb_database, mongodb_test_database, mongodb_url};
use super::{POOL, SEED, taskpool, wired};

/// A store in a temporary directory, reached by URL.
pub struct Fixture {
    dir: TempDir,
    /// The store URL.
    pub url: String,
}

impl Fixture {
    /// A fresh `sqlite://` or `sled://` store, or a fresh database on the
    /// MongoDB test server; `None` (test skipped, reason printed) if the
    /// scheme is not wired in or there is no test server.
    pub fn new(scheme: &str) -> Option<Fixture> {
        if !wired(scheme) {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let url = match scheme {
            "sqlite" => format!("sqlite://{}", dir.path().join("taskpool.db").display()),
            "sled" => format!("sled://{}", dir.path().join("taskpool.sled").display()),
            "mongodb" => mongodb_url(&mongodb_test_database())?,
            other => panic!("no fixture for {other}://"),
        };
        Some(Fixture { dir, url })
    }

    /// `taskpool` on this store and pool.
    pub fn cmd(&self) -> Command {
        let mut cmd = taskpool();
        cmd.current_dir(self.dir.path())
            .env("TASKPOOL_STORE", &self.url)
            .env("TASKPOOL_POOL", POOL);
        cmd
    }

    /// Run a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("run taskpool");
        assert!(
            out.status.success(),
            "taskpool {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Run a command with `--json` that must succeed; returns its one document.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let text = self.ok(&all);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("not one JSON document ({e}): {text}"))
    }

    /// Run a command with `--json` that prints JSON lines; returns them.
    pub fn lines(&self, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.ok(&all)
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    /// Run `--json query ARGS`: one task per line.
    pub fn tasks(&self, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["--json", "query"];
        all.extend_from_slice(args);
        self.ok(&all)
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    /// Write a file in the fixture's directory; returns its path as a string.
    pub fn write(&self, name: &str, content: &str) -> String {
        let path: PathBuf = self.dir.path().join(name);
        std::fs::write(&path, content).expect("write file");
        path.display().to_string()
    }

    /// Create the three standard tasks; returns their ids in creation order.
    pub fn seed(&self) -> Vec<String> {
        let file = self.write("seed.jsonl", SEED);
        let report = self.json(&["create", &file]);
        report["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .map(|t| t["_id"].as_str().expect("id").to_string())
            .collect()
    }

    /// Everything a command could have changed: the pools and every task.
    pub fn snapshot(&self) -> (Value, Vec<Value>) {
        (self.json(&["list"]), self.tasks(&[]))
    }

    /// Work on the store in-process (to claim or commit, which the manage
    /// commands do not do), reading time from `clock`. The store is closed
    /// before this returns, so single-process backends can be reopened.
    pub fn with_store<T>(
        &self,
        clock: SharedClock,
        f: impl AsyncFnOnce(Arc<dyn TaskStore>) -> T,
    ) -> T {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let store = taskpool::open_store_with_clock(&self.url, clock)
                .await
                .expect("open store in-process");
            let result = f(Arc::clone(&store)).await;
            // Before the runtime stops (see `TaskStore::close`).
            store.close().await;
            result
        })
    }

    /// [`Fixture::with_store`] on the system clock.
    pub fn with_store_now<T>(&self, f: impl AsyncFnOnce(Arc<dyn TaskStore>) -> T) -> T {
        self.with_store(Arc::new(SystemClock), f)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if self.url.starts_with("mongodb://")
            && let Some(db) = database_of(&self.url)
        {
            drop_mongodb_database(&db);
        }
    }
}
