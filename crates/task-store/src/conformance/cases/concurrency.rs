//! Concurrency: atomic claims, race-free creates, and fenced writes racing a
//! reclaim. These run on the test's multi-thread runtime with real
//! parallelism; the clock stays still so no lease expires by accident.
//! The claim/lease ones are listed in [`CONCURRENCY_CASES`](crate::conformance::CONCURRENCY_CASES).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::conformance::{Ctx, LEASE, claim_params, token};
use crate::error::{ErrorKind, Result};
use crate::params::{CommitParams, CreateParams, HeartbeatParams};
use crate::query::Query;
use crate::store::TaskStore;
use crate::task::{Status, Task};

const TASKS: usize = 2_000;
const CLAIMERS: usize = 16;

/// Claim batches of varying size and commit each task, until nothing is left.
async fn claim_and_commit(store: Arc<dyn TaskStore>, pool: String, worker: usize) -> Vec<Task> {
    let owner = format!("claimer-{worker}");
    let mut claimed = Vec::new();
    for round in 0.. {
        let n = 1 + (worker + round) % 7;
        let params = claim_params(&owner, n, Status::Waiting, Query::All);
        let got = store.claim(&pool, params).await.expect("claim");
        if got.is_empty() {
            break;
        }
        for task in got {
            let commit = CommitParams {
                id: task.id,
                token: token(&task),
                result: json!({"by": worker}),
                status: Status::Done,
            };
            store.commit(&pool, commit).await.expect("commit");
            claimed.push(task);
        }
    }
    claimed
}

/// claim is atomic: 2,000 tasks, 16 concurrent claimers; every task is
/// claimed exactly once and committed exactly once (by its claimer).
pub async fn claim_hands_each_task_out_once_under_concurrency(ctx: &Ctx) {
    let defs: Vec<Value> = (0..TASKS).map(|i| json!({"i": i})).collect();
    for chunk in defs.chunks(500) {
        ctx.create(chunk.to_vec()).await;
    }
    let workers: Vec<_> = (0..CLAIMERS)
        .map(|w| tokio::spawn(claim_and_commit(ctx.store.clone(), ctx.pool.clone(), w)))
        .collect();
    let mut claimer_of = HashMap::new();
    for (w, handle) in workers.into_iter().enumerate() {
        for task in handle.await.expect("a claimer panicked") {
            assert_eq!(task.attempts, 1, "task {} claimed twice", task.id);
            let previous = claimer_of.insert(task.id, w);
            assert!(previous.is_none(), "task {} claimed twice", task.id);
        }
    }
    assert_eq!(claimer_of.len(), TASKS);
    let stat = ctx.stat().await;
    assert_eq!(stat.done, TASKS as u64);
    assert_eq!(stat.total(), TASKS as u64);
    for task in ctx.all().await {
        assert_eq!(task.attempts, 1);
        assert_eq!(task.res, Some(json!({"by": claimer_of[&task.id]})));
    }
}

/// create is race-free: 8 concurrent creators of overlapping batches make
/// one task per key; exactly one input per key reports it new, and every
/// report of a key names the same task.
pub async fn create_is_idempotent_under_concurrent_creators(ctx: &Ctx) {
    const CREATORS: usize = 8;
    let creators: Vec<_> = (0..CREATORS)
        .map(|c| {
            let store = ctx.store.clone();
            let pool = ctx.pool.clone();
            tokio::spawn(async move {
                let mut keys: Vec<usize> = (c * 50..c * 50 + 200).collect();
                if c % 2 == 1 {
                    keys.reverse();
                }
                let mut reports = Vec::new();
                for batch in keys.chunks(25) {
                    let defs = batch.iter().map(|k| json!({"k": k}));
                    let created = store
                        .create(&pool, CreateParams::new(defs))
                        .await
                        .expect("create");
                    reports.extend(batch.iter().copied().zip(created));
                }
                reports
            })
        })
        .collect();
    let mut ids = HashMap::new();
    let mut new_count: HashMap<usize, usize> = HashMap::new();
    for handle in creators {
        for (k, created) in handle.await.expect("a creator panicked") {
            let id = *ids.entry(k).or_insert(created.id);
            assert_eq!(created.id, id, "key {k} has two tasks");
            *new_count.entry(k).or_default() += usize::from(created.new);
        }
    }
    let distinct = (CREATORS - 1) * 50 + 200;
    assert_eq!(ids.len(), distinct);
    for (k, n) in &new_count {
        assert_eq!(*n, 1, "key {k} reported new {n} times");
    }
    let stored = ctx.all().await;
    assert_eq!(stored.len(), distinct);
    for task in stored {
        let k = task.def["k"].as_u64().expect("def.k") as usize;
        assert_eq!(ids[&k], task.id);
    }
}

/// The tasks of a race: created, claimed by `old`, and left to expire.
async fn expired_claims(ctx: &Ctx, n: usize) -> Vec<Task> {
    let mut params = CreateParams::new((0..n).map(|i| json!({"race": i})));
    params.max_attempts = 10;
    ctx.create_with(params).await;
    let claimed = ctx
        .claim_with(claim_params("old", n, Status::Waiting, Query::All))
        .await;
    assert_eq!(claimed.len(), n);
    ctx.clock.advance(LEASE);
    claimed
}

/// Start a reclaim of `task` by `new` (its own claim, restricted to its id).
fn spawn_reclaim(ctx: &Ctx, task: &Task) -> tokio::task::JoinHandle<Vec<Task>> {
    let store = ctx.store.clone();
    let pool = ctx.pool.clone();
    let params = claim_params("new", 1, Status::Waiting, Query::id(task.id));
    tokio::spawn(async move { store.claim(&pool, params).await.expect("claim") })
}

/// Check one race's outcome: exactly one of the stale write and the reclaim won.
fn one_winner(old: &Task, write: &Result<()>, reclaimed: &[Task]) {
    match (write, reclaimed) {
        (Ok(()), []) => {}
        (Err(e), [task]) => {
            assert_eq!(e.kind(), ErrorKind::LeaseLost);
            assert_eq!(task.id, old.id);
            assert_eq!(task.attempts, 2);
        }
        _ => panic!(
            "task {}: write {:?} and reclaim of {} tasks both won or both lost",
            old.id,
            write.as_ref().map_err(|e| e.kind()),
            reclaimed.len()
        ),
    }
}

/// A heartbeat racing a reclaim of its expired lease: exactly one wins; the
/// stored lease is the winner's.
pub async fn heartbeat_races_reclaim_one_wins(ctx: &Ctx) {
    let tasks = expired_claims(ctx, 64).await;
    let mut races = Vec::new();
    for task in &tasks {
        let store = ctx.store.clone();
        let pool = ctx.pool.clone();
        let params = HeartbeatParams {
            id: task.id,
            token: token(task),
            lease: LEASE,
        };
        let heartbeat =
            tokio::spawn(async move { store.heartbeat(&pool, params).await.map(|_| ()) });
        races.push((heartbeat, spawn_reclaim(ctx, task)));
    }
    for (task, (heartbeat, reclaim)) in tasks.iter().zip(races) {
        let write = heartbeat.await.expect("heartbeat panicked");
        let reclaimed = reclaim.await.expect("claim panicked");
        one_winner(task, &write, &reclaimed);
        let stored = ctx.get(task.id).await;
        let lease = stored.lease.as_ref().expect("still running");
        if write.is_ok() {
            assert_eq!(lease.token, token(task));
            assert_eq!(lease.expires_at, ctx.now() + LEASE);
            assert_eq!(stored.attempts, 1);
        } else {
            assert_eq!(lease.token, token(&reclaimed[0]));
            assert_eq!(lease.owner, "new");
        }
    }
}

/// A commit racing a reclaim of its expired lease: exactly one wins; a lost
/// commit leaves no trace.
pub async fn commit_races_reclaim_one_wins(ctx: &Ctx) {
    let tasks = expired_claims(ctx, 64).await;
    let mut races = Vec::new();
    for task in &tasks {
        let store = ctx.store.clone();
        let pool = ctx.pool.clone();
        let params = CommitParams {
            id: task.id,
            token: token(task),
            result: json!("old"),
            status: Status::Done,
        };
        let commit = tokio::spawn(async move { store.commit(&pool, params).await });
        races.push((commit, spawn_reclaim(ctx, task)));
    }
    for (task, (commit, reclaim)) in tasks.iter().zip(races) {
        let write = commit.await.expect("commit panicked");
        let reclaimed = reclaim.await.expect("claim panicked");
        one_winner(task, &write, &reclaimed);
        let stored = ctx.get(task.id).await;
        if write.is_ok() {
            assert_eq!(stored.status, Status::Done);
            assert_eq!(stored.res, Some(json!("old")));
        } else {
            assert_eq!(stored.status, Status::Running);
            assert_eq!(stored.res, None);
            assert_eq!(token(&stored), token(&reclaimed[0]));
        }
    }
    let stat = ctx.stat().await;
    assert_eq!(stat.done + stat.running, 64);
    let owners: HashSet<_> = ctx
        .find(&Query::status(Status::Running))
        .await
        .iter()
        .map(|t| t.lease.as_ref().map(|l| l.owner.clone()))
        .collect();
    assert!(owners.iter().all(|o| o.as_deref() == Some("new")));
}
