//! The batch claim (`MongoOptions::claim_batch`): a store claims by `_id`
//! from a list of candidates read once per batch. Two stores on one database
//! stand for two processes: a candidate the other took is skipped, the list
//! is dropped at its age bound and at this store's own writes, concurrent
//! workers get each task once, and `claimBatch=1` (the URL option) claims in
//! exact order across stores.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use task_store::{
    ClaimParams, CommitParams, CreateParams, ManualClock, Query, SharedClock, Status, Task, TaskId,
    TaskStore, Timestamp,
};
use task_store_mongo::MongoStore;

use super::support;

const POOL: &str = "batch";
const LEASE: Duration = Duration::from_secs(600);
const MAX_AGE: Duration = Duration::from_secs(1);

/// Two stores on `test`'s database sharing one manual clock, with a
/// candidate batch of 8 and a max age of one second.
async fn two_stores(test: &str) -> Option<(Arc<MongoStore>, MongoStore, Arc<ManualClock>)> {
    let url = support::server_url(test)?;
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_800_000_000_000)));
    let options = support::options_for(test)
        .claim_batch(8)
        .claim_batch_max_age(MAX_AGE);
    let shared: SharedClock = clock.clone();
    let a = support::fresh_store_with(&url, shared.clone(), options.clone()).await;
    let b = MongoStore::open(&url, shared, options).await.unwrap();
    Some((a, b, clock))
}

/// Create one task per label (in this order, so creation order is label
/// order) with `priority`; their ids.
async fn create(store: &MongoStore, labels: &[&str], priority: i64) -> Vec<TaskId> {
    let mut params = CreateParams::new(labels.iter().map(|l| json!({ "label": l })));
    params.priority = priority;
    let created = store.create(POOL, params).await.unwrap();
    created.into_iter().map(|c| c.id).collect()
}

async fn claim(store: &MongoStore, n: usize) -> Vec<Task> {
    let mut params = ClaimParams::new("w", LEASE);
    params.n = n;
    store.claim(POOL, params).await.unwrap()
}

async fn claim_one(store: &MongoStore) -> TaskId {
    let tasks = claim(store, 1).await;
    assert_eq!(tasks.len(), 1, "a task was claimable");
    tasks[0].id
}

#[tokio::test]
async fn batch_claim_skips_a_candidate_another_store_took() {
    let Some((a, b, _clock)) = two_stores("batch_claim_skips_a_candidate_another_store_took").await
    else {
        return;
    };
    let ids = create(&a, &["t1", "t2", "t3"], 0).await;
    // A reads [t1, t2, t3] and claims t1; B reads [t2, t3] and claims t2.
    assert_eq!(claim_one(&a).await, ids[0]);
    assert_eq!(claim_one(&b).await, ids[1]);
    // A's next candidate (t2) is taken: skipped, not handed out twice.
    assert_eq!(claim_one(&a).await, ids[2]);
    assert!(claim(&a, 1).await.is_empty());
    assert!(claim(&b, 1).await.is_empty());
}

#[tokio::test]
async fn batch_claim_sees_other_stores_tasks_within_the_max_age() {
    let Some((a, b, clock)) =
        two_stores("batch_claim_sees_other_stores_tasks_within_the_max_age").await
    else {
        return;
    };
    let low = create(&a, &["low1", "low2", "low3"], 0).await;
    assert_eq!(claim_one(&a).await, low[0]);
    // Another process adds a more urgent task: A's list (read before) does
    // not have it, which the contract allows up to the max age.
    let urgent = create(&b, &["urgent"], 10).await;
    assert_eq!(claim_one(&a).await, low[1]);
    // Once the list is a max age old, A reads the pool again.
    clock.advance(MAX_AGE);
    assert_eq!(claim_one(&a).await, urgent[0]);
    assert_eq!(claim_one(&a).await, low[2]);
}

#[tokio::test]
async fn batch_claim_sees_this_stores_own_writes_at_once() {
    let Some((a, _b, _clock)) = two_stores("batch_claim_sees_this_stores_own_writes_at_once").await
    else {
        return;
    };
    let ids = create(&a, &["t1", "t2", "t3", "t4"], 0).await;
    assert_eq!(claim_one(&a).await, ids[0]);
    // A local prioritize is seen by the next claim.
    a.prioritize(POOL, &Query::id(ids[3]), 5).await.unwrap();
    assert_eq!(claim_one(&a).await, ids[3]);
    // So is a local create of a more urgent task.
    let urgent = create(&a, &["urgent"], 9).await;
    assert_eq!(claim_one(&a).await, urgent[0]);
    assert_eq!(claim_one(&a).await, ids[1]);
}

#[tokio::test]
async fn batch_claim_takes_expired_leases_without_waiting_for_the_max_age() {
    let Some((a, b, clock)) =
        two_stores("batch_claim_takes_expired_leases_without_waiting_for_the_max_age").await
    else {
        return;
    };
    let ids = create(&a, &["t1", "t2", "t3"], 0).await;
    // B holds t1 under a short lease; A's list is read while that lease lives.
    let mut params = ClaimParams::new("b", Duration::from_millis(100));
    params.n = 1;
    assert_eq!(b.claim(POOL, params).await.unwrap()[0].id, ids[0]);
    assert_eq!(claim_one(&a).await, ids[1]);
    // The lease expires well within A's max age: A's next claim takes t1
    // back (it comes first), as a claim without a batch would.
    // (700 ms: the two stores' server-clock offsets, measured at their
    // opens, may differ by the time between the opens.)
    clock.advance(Duration::from_millis(700));
    assert_eq!(claim_one(&a).await, ids[0]);
    assert_eq!(claim_one(&a).await, ids[2]);
}

/// At a lease expiry its list does not cover, a store asks whether a lease
/// expired; if none did (the task was committed), it keeps its list rather
/// than sorting the pool again (what made 8 stores on mongo-java-server
/// re-read 80,000 tasks every 2 s lease).
#[tokio::test]
async fn batch_claim_keeps_its_list_at_a_lease_expiry_when_no_lease_expired() {
    let Some((a, b, clock)) =
        two_stores("batch_claim_keeps_its_list_at_a_lease_expiry_when_no_lease_expired").await
    else {
        return;
    };
    let ids = create(&a, &["t1", "t2", "t3", "t4"], 0).await;
    let mut params = ClaimParams::new("b", Duration::from_millis(100));
    params.n = 1;
    let held = b.claim(POOL, params).await.unwrap().remove(0);
    assert_eq!(held.id, ids[0]);
    assert_eq!(claim_one(&a).await, ids[1]);
    // B commits before its lease expires, then adds a more urgent task.
    let token = held.lease.unwrap().token;
    b.commit(
        POOL,
        CommitParams {
            id: held.id,
            token,
            result: json!(1),
            status: Status::Done,
        },
    )
    .await
    .unwrap();
    let urgent = create(&b, &["urgent"], 10).await;
    // Past the lease's expiry, within the max age: nothing expired, so A
    // keeps its list (the urgent task is seen after the max age, as the
    // contract allows for another process's new task).
    clock.advance(Duration::from_millis(700));
    assert_eq!(claim_one(&a).await, ids[2]);
    clock.advance(MAX_AGE);
    assert_eq!(claim_one(&a).await, urgent[0]);
    assert_eq!(claim_one(&a).await, ids[3]);
}

#[tokio::test]
async fn batch_claim_takes_back_its_own_expired_lease_first() {
    let Some((a, _b, clock)) =
        two_stores("batch_claim_takes_back_its_own_expired_lease_first").await
    else {
        return;
    };
    let ids = create(&a, &["t1", "t2", "t3"], 0).await;
    // A's list is read in the same call that leases t1 (so the read cannot
    // see that lease): the lease A hands out caps the list.
    let mut params = ClaimParams::new("a", Duration::from_millis(100));
    params.n = 1;
    assert_eq!(a.claim(POOL, params).await.unwrap()[0].id, ids[0]);
    clock.advance(Duration::from_millis(100));
    assert_eq!(claim_one(&a).await, ids[0]);
    assert_eq!(claim_one(&a).await, ids[1]);
}

#[tokio::test]
async fn batch_claim_hands_each_task_out_once_to_concurrent_stores() {
    let test = "batch_claim_hands_each_task_out_once_to_concurrent_stores";
    let Some(url) = support::server_url(test) else {
        return;
    };
    const STORES: usize = 4;
    const WORKERS_PER_STORE: usize = 2;
    const TASKS: usize = 400;
    let options = support::options_for(test).claim_batch(16);
    let clock: SharedClock = Arc::new(task_store::SystemClock);
    let first = support::fresh_store_with(&url, clock.clone(), options.clone()).await;
    let defs: Vec<_> = (0..TASKS).map(|i| json!({ "i": i })).collect();
    first.create(POOL, CreateParams::new(defs)).await.unwrap();
    let mut stores = vec![first];
    for _ in 1..STORES {
        let store = MongoStore::open(&url, clock.clone(), options.clone()).await;
        stores.push(Arc::new(store.unwrap()));
    }
    let mut workers = Vec::new();
    for (s, store) in stores.iter().enumerate() {
        for w in 0..WORKERS_PER_STORE {
            let store = store.clone();
            // Some workers claim one task at a time, others three.
            let n = 1 + 2 * ((s + w) % 2);
            workers.push(tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let tasks = claim(&store, n).await;
                    if tasks.is_empty() {
                        return got;
                    }
                    got.extend(tasks.into_iter().map(|t| t.id));
                }
            }));
        }
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    for worker in workers {
        for id in worker.await.unwrap() {
            total += 1;
            assert!(seen.insert(id), "task {id} was handed out twice");
        }
    }
    assert_eq!((total, seen.len()), (TASKS, TASKS));
}

#[tokio::test]
async fn batch_claim_with_a_zero_max_age_reads_at_every_claim() {
    let test = "batch_claim_with_a_zero_max_age_reads_at_every_claim";
    let Some(url) = support::server_url(test) else {
        return;
    };
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_800_000_000_000)));
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{sep}claimBatchMaxAgeMS=0");
    let a = support::fresh_store_with(&url, clock.clone(), support::options_for(test)).await;
    let b = MongoStore::open(&url, clock.clone(), support::options_for(test))
        .await
        .unwrap();
    let low = create(&a, &["low1", "low2", "low3", "low4"], 0).await;
    // A list is usable within the call that read it.
    let two: Vec<TaskId> = claim(&a, 2).await.into_iter().map(|t| t.id).collect();
    assert_eq!(two, low[..2]);
    // One millisecond on, another store's more urgent task is seen.
    let urgent = create(&b, &["urgent"], 10).await;
    clock.advance(Duration::from_millis(1));
    assert_eq!(claim_one(&a).await, urgent[0]);
    assert_eq!(claim_one(&a).await, low[2]);
}

#[tokio::test]
async fn claim_batch_one_in_the_url_claims_in_exact_order_across_stores() {
    let test = "claim_batch_one_in_the_url_claims_in_exact_order_across_stores";
    let Some(url) = support::server_url(test) else {
        return;
    };
    let clock: SharedClock = Arc::new(ManualClock::new(Timestamp::from_millis(1_800_000_000_000)));
    let sep = if url.contains('?') { '&' } else { '?' };
    let exact_url = format!("{url}{sep}claimBatch=1");
    let options = support::options_for(test);
    let a = support::fresh_store_with(&exact_url, clock.clone(), options.clone()).await;
    let b = MongoStore::open(&url, clock, options).await.unwrap();
    let low = create(&a, &["low1", "low2"], 0).await;
    assert_eq!(claim_one(&a).await, low[0]);
    let urgent = create(&b, &["urgent"], 10).await;
    assert_eq!(claim_one(&a).await, urgent[0]);
    assert_eq!(claim_one(&a).await, low[1]);
    assert!(claim(&a, 1).await.is_empty());
}
