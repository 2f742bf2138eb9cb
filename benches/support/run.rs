//! The work the benchmarks time: claim→commit worker loops and batched
//! creates, through the store and through a raw baseline.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};
use taskpool::store::{ClaimParams, CommitParams, CreateParams, Status, Task, TaskStore};

use super::raw::{LEASE_MS, RawStore};

/// The lease every benchmark claim asks for.
pub const LEASE: Duration = Duration::from_millis(LEASE_MS as u64);

/// Create `batches` in order; returns how many tasks were new.
pub async fn create_all(store: &dyn TaskStore, pool: &str, batches: Vec<CreateParams>) -> usize {
    let mut new = 0;
    for batch in batches {
        let created = store.create(pool, batch).await.expect("create a batch");
        new += created.iter().filter(|c| c.new).count();
    }
    new
}

/// Create `defs` through a raw baseline in batches of `batch`; returns how many were new.
pub async fn raw_create_all(raw: &dyn RawStore, pool: &str, defs: &[Value], batch: usize) -> usize {
    let mut new = 0;
    for chunk in defs.chunks(batch) {
        new += raw.create(pool, chunk).await;
    }
    new
}

/// How a worker commits the batch it claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commits {
    /// One commit after the other, each awaited before the next is sent.
    Sequential,
    /// All commits of the batch in flight at once (awaited together), as a
    /// `taskpool worker` whose slots finish their tasks at about the same time.
    InFlight,
}

impl Commits {
    /// The suffix of a benchmark id: empty for [`Commits::Sequential`].
    pub fn suffix(self) -> &'static str {
        match self {
            Commits::Sequential => "",
            Commits::InFlight => "_inflight",
        }
    }
}

/// Commit a claimed task as `done` with an empty result.
async fn commit_done(store: &dyn TaskStore, pool: &str, task: Task) {
    let token = task.lease.expect("a claimed task has a lease").token;
    let commit = CommitParams {
        id: task.id,
        token,
        result: json!({}),
        status: Status::Done,
    };
    store.commit(pool, commit).await.expect("commit");
}

/// `workers` concurrent workers claim `batch` tasks at a time and commit
/// each as `done` (as `commits` says) until nothing is claimable; returns how
/// many they committed.
pub async fn drain_store(
    store: &Arc<dyn TaskStore>,
    pool: &str,
    workers: usize,
    batch: usize,
    commits: Commits,
) -> usize {
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let store = Arc::clone(store);
            let pool = pool.to_string();
            tokio::spawn(async move {
                let mut done = 0;
                loop {
                    let params = ClaimParams {
                        n: batch,
                        ..ClaimParams::new(format!("bench-{w}"), LEASE)
                    };
                    let tasks = store.claim(&pool, params).await.expect("claim");
                    if tasks.is_empty() {
                        return done;
                    }
                    done += tasks.len();
                    match commits {
                        Commits::Sequential => {
                            for task in tasks {
                                commit_done(store.as_ref(), &pool, task).await;
                            }
                        }
                        Commits::InFlight => {
                            join_all(
                                tasks
                                    .into_iter()
                                    .map(|task| commit_done(store.as_ref(), &pool, task)),
                            )
                            .await;
                        }
                    }
                }
            })
        })
        .collect();
    let mut done = 0;
    for h in handles {
        done += h.await.expect("a worker task");
    }
    done
}

/// [`drain_store`] through a raw baseline. In flight, the commits are
/// awaited together as well, but each is still the baseline's own single
/// write (one transaction per commit for SQLite, under its connection mutex).
pub async fn drain_raw(
    raw: &Arc<dyn RawStore>,
    pool: &str,
    workers: usize,
    batch: usize,
    commits: Commits,
) -> usize {
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let raw = Arc::clone(raw);
            let pool = pool.to_string();
            tokio::spawn(async move {
                let owner = format!("bench-{w}");
                let mut done = 0;
                loop {
                    let tasks = raw.claim(&pool, batch, &owner).await;
                    if tasks.is_empty() {
                        return done;
                    }
                    done += tasks.len();
                    match commits {
                        Commits::Sequential => {
                            for task in &tasks {
                                raw.commit(&pool, task).await;
                            }
                        }
                        Commits::InFlight => {
                            join_all(tasks.iter().map(|task| raw.commit(&pool, task))).await;
                        }
                    }
                }
            })
        })
        .collect();
    let mut done = 0;
    for h in handles {
        done += h.await.expect("a worker task");
    }
    done
}
