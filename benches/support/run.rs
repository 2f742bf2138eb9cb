//! The work the benchmarks time: claim→commit worker loops and batched
//! creates, through the store and through a raw baseline.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use taskpool::store::{ClaimParams, CommitParams, CreateParams, Status, TaskStore};

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

/// `workers` concurrent workers claim `batch` tasks at a time and commit
/// each as `done` until nothing is claimable; returns how many they committed.
pub async fn drain_store(
    store: &Arc<dyn TaskStore>,
    pool: &str,
    workers: usize,
    batch: usize,
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
                    for task in tasks {
                        let token = task.lease.expect("a claimed task has a lease").token;
                        let commit = CommitParams {
                            id: task.id,
                            token,
                            result: json!({}),
                            status: Status::Done,
                        };
                        store.commit(&pool, commit).await.expect("commit");
                        done += 1;
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

/// [`drain_store`] through a raw baseline.
pub async fn drain_raw(raw: &Arc<dyn RawStore>, pool: &str, workers: usize, batch: usize) -> usize {
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
                    for task in &tasks {
                        raw.commit(&pool, task).await;
                        done += 1;
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
