//! Shared fixtures for the `manage*` integration tests: run the `taskpool`
//! binary against a store in a temporary directory.

#![allow(dead_code)] // each test crate uses a different part of this module

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use assert_cmd::Command;
use serde_json::Value;
use taskpool::store::{SharedClock, SystemClock, TaskStore};
use tempfile::TempDir;

/// The pool every fixture works in.
pub const POOL: &str = "rolling";

/// The binary, with a clean environment: no store, pool or log settings
/// inherited from the caller, backtraces enabled (so a panic would show).
pub fn taskpool() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_taskpool"));
    cmd.env_remove("TASKPOOL_STORE")
        .env_remove("TASKPOOL_POOL")
        .env_remove("TASKPOOL_LOG")
        .env("RUST_BACKTRACE", "1");
    cmd
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
            f(store).await
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

/// The MongoDB test server's URL, or `None` (with the reason printed).
pub fn mongodb_server() -> Option<String> {
    let url = std::env::var("TASKPOOL_TEST_MONGODB_URL").ok();
    if url.is_none() {
        eprintln!("skipped: TASKPOOL_TEST_MONGODB_URL is not set (start ci/ferretdb/start.sh)");
    }
    url
}

/// A database name no other test uses.
pub fn mongodb_test_database() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "taskpool_cli_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The test server's URL with `db` as its database.
pub fn mongodb_url(db: &str) -> Option<String> {
    let server = mongodb_server()?;
    let (base, options) = server.split_once('?').unwrap_or((&server, ""));
    Some(format!("{}/{db}?{options}", base.trim_end_matches('/')))
}

fn database_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let path = rest.split_once('/')?.1;
    let db = path.split('?').next()?;
    (!db.is_empty()).then(|| db.to_string())
}

/// Drop a test database on the test server (best effort).
pub fn drop_mongodb_database(db: &str) {
    let Some(server) = mongodb_server() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        if let Ok(client) = mongodb::Client::with_uri_str(&server).await {
            let _ = client.database(db).drop().await;
        }
    });
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
