//! Stores, tasks and commands for the worker and trainer tests.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use task_store::{
    CreateParams, ManualClock, MemoryStore, Task, TaskId, TaskStore, TaskStoreExt, Timestamp,
};
use task_store_sqlite::SqliteStore;
use taskpool_pipeline::worker::{Backoff, CommandTask, WorkerConfig};

/// The pool every test uses.
pub const POOL: &str = "tests";

fn manual_clock() -> ManualClock {
    ManualClock::new(Timestamp::from_millis(1_800_000_000_000))
}

/// A MemoryStore on a manual clock.
pub fn memory_store() -> (Arc<dyn TaskStore>, ManualClock) {
    let clock = manual_clock();
    (
        Arc::new(MemoryStore::with_clock(Arc::new(clock.clone()))),
        clock,
    )
}

/// A store of some backend on a manual clock, with what must outlive it.
pub struct TestStore {
    /// The store.
    pub store: Arc<dyn TaskStore>,
    /// Its clock.
    pub clock: ManualClock,
    _dir: Option<tempfile::TempDir>,
}

impl TestStore {
    /// A MemoryStore.
    pub fn memory() -> TestStore {
        let (store, clock) = memory_store();
        TestStore {
            store,
            clock,
            _dir: None,
        }
    }

    /// A SQLite store in a fresh temporary file.
    pub async fn sqlite() -> TestStore {
        let dir = tempfile::tempdir().unwrap();
        let clock = manual_clock();
        let url = format!("sqlite://{}", dir.path().join("tasks.db").display());
        let store = SqliteStore::open(&url, Arc::new(clock.clone()), Default::default())
            .await
            .unwrap();
        TestStore {
            store: Arc::new(store),
            clock,
            _dir: Some(dir),
        }
    }
}

/// Expand `async fn name(store: TestStore)` tests into one test per backend.
#[macro_export]
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::support::TestStore::memory()).await })*
        }
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::support::TestStore::sqlite().await).await })*
        }
    };
}

/// Create `defs` in [`POOL`] with an attempt limit; their ids in order.
pub async fn create(
    store: &Arc<dyn TaskStore>,
    defs: Vec<Value>,
    max_attempts: u32,
) -> Vec<TaskId> {
    let params = CreateParams {
        max_attempts,
        ..CreateParams::new(defs)
    };
    store
        .create(POOL, params)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect()
}

/// Every task of [`POOL`].
pub async fn all_tasks(store: &Arc<dyn TaskStore>) -> Vec<Task> {
    store.query_all(POOL, Default::default()).await.unwrap()
}

/// A worker config for [`POOL`] with fast polling.
pub fn config() -> WorkerConfig {
    WorkerConfig {
        backoff: Backoff {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(20),
        },
        ..WorkerConfig::new(POOL)
    }
}

/// A command running a Python program given inline.
pub fn python(script: &str) -> CommandTask {
    CommandTask::new("python3", ["-c", script]).unwrap()
}

/// Poll `check` until it returns true. This is a hang guard (it panics after
/// a minute of polling), not a timing assertion.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..6000 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("gave up waiting for: {what}");
}
