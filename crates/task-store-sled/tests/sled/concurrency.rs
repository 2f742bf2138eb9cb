//! Many workers at once, with leases expiring under them: every task is
//! finalized by exactly one successful commit, and the indexes still agree
//! with the records afterwards.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use task_store::query::Query;
use task_store::{
    ClaimParams, CommitParams, CreateParams, ErrorKind, ManualClock, ReturnParams, Status, TaskId,
    TaskStore, TaskStoreExt, Timestamp,
};
use task_store_sled::SledStore;

use crate::support;

const POOL: &str = "concurrency";
const WORKERS: u64 = 16;
const TASKS: usize = 400;
const LEASE: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn workers_with_expiring_leases_finalize_each_task_once() {
    let dir = support::fresh_dir("concurrency_expiring");
    let clock = ManualClock::new(Timestamp::from_millis(1_767_225_600_000));
    let store = Arc::new(
        support::try_open(&dir, Arc::new(clock.clone()))
            .await
            .unwrap(),
    );
    let mut params = CreateParams::new((0..TASKS).map(|i| json!({"i": i})));
    params.max_attempts = 1_000;
    store.create(POOL, params).await.unwrap();

    let workers: Vec<_> = (0..WORKERS)
        .map(|w| tokio::spawn(work(store.clone(), clock.clone(), w)))
        .collect();
    let mut committed_by: HashMap<TaskId, u64> = HashMap::new();
    let mut fenced = 0;
    for (w, worker) in workers.into_iter().enumerate() {
        let (committed, lost) = worker.await.unwrap();
        fenced += lost;
        for id in committed {
            let previous = committed_by.insert(id, w as u64);
            assert!(previous.is_none(), "task {id} was committed twice");
        }
    }

    assert_eq!(committed_by.len(), TASKS);
    for task in store.query_all(POOL, Query::All).await.unwrap() {
        assert_eq!(task.status, Status::Done);
        assert_eq!(task.res, Some(json!({"by": committed_by[&task.id]})));
    }
    let report = store.check_integrity().await.unwrap();
    assert!(report.is_consistent(), "{:#?}", report.problems);
    assert_eq!(report.tasks, TASKS as u64);
    println!("{TASKS} tasks done; {fenced} stale commits or returns were fenced off");
}

/// Claim two tasks at a time; stall past some leases (moving the shared
/// clock) so other workers may reclaim those tasks while this one still
/// tries to commit them; return some with an error, commit the rest.
/// Returns the tasks this worker committed, and how many of its calls failed
/// with `LeaseLost`.
async fn work(store: Arc<SledStore>, clock: ManualClock, w: u64) -> (Vec<TaskId>, u64) {
    let mut committed = Vec::new();
    let mut lost = 0;
    let mut round = 0u64;
    loop {
        round += 1;
        let claim = ClaimParams {
            n: 2,
            ..ClaimParams::new(format!("w{w}"), LEASE)
        };
        let tasks = store.claim(POOL, claim).await.unwrap();
        if tasks.is_empty() {
            if store.stat(POOL, &Query::All).await.unwrap().undone() == 0 {
                return (committed, lost);
            }
            // Running tasks remain: move time so their leases can expire.
            clock.advance(LEASE);
            tokio::task::yield_now().await;
            continue;
        }
        for task in tasks {
            let token = task.lease.unwrap().token;
            if (w + round).is_multiple_of(5) {
                // Stall past the lease: another worker may reclaim the task
                // before this one commits, and then this commit must fail.
                clock.advance(LEASE);
                tokio::task::yield_now().await;
            }
            let result = match (w + round) % 7 {
                1 => {
                    let back = ReturnParams {
                        id: task.id,
                        token,
                        error: Some("try again".into()),
                        status: None,
                    };
                    store.return_task(POOL, back).await.map(drop)
                }
                _ => {
                    let commit = CommitParams {
                        id: task.id,
                        token,
                        result: json!({"by": w}),
                        status: Status::Done,
                    };
                    let done = store.commit(POOL, commit).await;
                    if done.is_ok() {
                        committed.push(task.id);
                    }
                    done
                }
            };
            if let Err(e) = result {
                assert_eq!(e.kind(), ErrorKind::LeaseLost, "{e}");
                lost += 1;
            }
        }
    }
}
