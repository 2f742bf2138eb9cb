//! Writes applied as one batch: each gets its own outcome, one sync covers
//! them all. The writes are queued without a writer, then the writer runs on
//! the test's thread, so they are one batch by construction.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use task_store::query::Query;
use task_store::{
    ClaimParams, Clock, CommitParams, CreateParams, ErrorKind, HeartbeatParams, ManualClock,
    NewTask, ReturnParams, Status, Task, TaskStore, Timestamp,
};
use tokio::sync::oneshot;

use super::{MAX_BATCH, Write, run_writer};
use crate::claim::ClaimWrite;
use crate::lease::LeaseWrite;
use crate::{SledOptions, SledStore, layout};

const POOL: &str = "batch";
const LEASE: Duration = Duration::from_secs(60);

struct Fixture {
    store: SledStore,
    clock: ManualClock,
    dir: PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A store in a fresh directory, on a stopped clock, holding tasks with
/// these priorities (in creation order).
async fn fixture(name: &str, priorities: &[i64]) -> Fixture {
    let dir =
        std::env::temp_dir().join(format!("taskpool-sled-batch-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let clock = ManualClock::new(Timestamp::from_millis(1_767_225_600_000));
    let store = SledStore::open(
        &format!("sled://{}", dir.display()),
        Arc::new(clock.clone()),
        SledOptions::default(),
    )
    .await
    .unwrap();
    let tasks = priorities.iter().enumerate().map(|(i, &p)| NewTask {
        priority: Some(p),
        ..NewTask::from(json!({"i": i}))
    });
    store.create(POOL, CreateParams::new(tasks)).await.unwrap();
    Fixture { store, clock, dir }
}

/// A claim of `n` tasks by `owner`.
fn claim(owner: &str, n: usize) -> ClaimParams {
    ClaimParams {
        n,
        ..ClaimParams::new(owner, LEASE)
    }
}

fn token(task: &Task) -> String {
    task.lease.as_ref().unwrap().token.clone()
}

/// Queue `writes` while no writer runs, then run the writer here: one batch.
/// Returns how many syncs it took.
fn run_as_one_batch(store: &SledStore, writes: Vec<Box<dyn Write>>) -> u64 {
    assert!(writes.len() <= MAX_BATCH);
    // The writer of the fixture's own claims may still be finishing.
    while store.inner.writes.lock().running {
        std::thread::sleep(Duration::from_millis(1));
    }
    let syncs = store.inner.flusher.syncs();
    for (i, write) in writes.into_iter().enumerate() {
        let starts_writer = store.inner.writes.push(write);
        assert_eq!(starts_writer, i == 0, "no writer runs during the test");
    }
    run_writer(Arc::clone(&store.inner));
    store.inner.flusher.syncs() - syncs
}

/// The answer a write got.
fn answer<T>(mut answered: oneshot::Receiver<task_store::Result<T>>) -> task_store::Result<T> {
    answered.try_recv().expect("the writer answered")
}

#[tokio::test]
async fn a_stale_lease_fails_only_its_own_write_in_a_batch() {
    let f = fixture("stale", &[0; 6]).await;
    let store = &f.store;
    let held = store.claim(POOL, claim("w", 4)).await.unwrap();
    let [done, stale, beat, back] = &held[..] else {
        panic!("claimed {} tasks", held.len())
    };

    let (commit_to, commit) = oneshot::channel();
    let (stale_to, stale_commit) = oneshot::channel();
    let (beat_to, heartbeat) = oneshot::channel();
    let (back_to, hand_back) = oneshot::channel();
    let (claim_to, claimed) = oneshot::channel();
    let writes = vec![
        LeaseWrite::queued(
            POOL,
            CommitParams {
                id: done.id,
                token: token(done),
                result: json!({"r": 1}),
                status: Status::Done,
            },
            commit_to,
        ),
        LeaseWrite::queued(
            POOL,
            CommitParams {
                id: stale.id,
                token: "not-the-lease".into(),
                result: json!({"r": 2}),
                status: Status::Done,
            },
            stale_to,
        ),
        LeaseWrite::queued(
            POOL,
            HeartbeatParams {
                id: beat.id,
                token: token(beat),
                lease: 2 * LEASE,
            },
            beat_to,
        ),
        LeaseWrite::queued(
            POOL,
            ReturnParams {
                id: back.id,
                token: token(back),
                error: None,
                status: None,
            },
            back_to,
        ),
        ClaimWrite::queued(POOL, claim("v", 2), claim_to),
    ];
    f.clock.advance(Duration::from_secs(1));
    let now = f.clock.now();
    assert_eq!(run_as_one_batch(store, writes), 1, "one sync for the batch");

    answer(commit).unwrap();
    assert_eq!(
        answer(stale_commit).unwrap_err().kind(),
        ErrorKind::LeaseLost
    );
    assert_eq!(answer(heartbeat).unwrap(), now + 2 * LEASE);
    assert_eq!(answer(hand_back).unwrap(), Status::Waiting);
    let claimed = answer(claimed).unwrap();
    assert_eq!(claimed.len(), 2);
    for task in &claimed {
        assert!(
            held.iter().all(|h| h.id != task.id),
            "{} claimed twice",
            task.id
        );
        assert_eq!(store.get(POOL, task.id).await.unwrap(), *task);
    }

    let get = |id| store.get(POOL, id);
    let done = get(done.id).await.unwrap();
    assert_eq!(
        (done.status, done.res),
        (Status::Done, Some(json!({"r": 1})))
    );
    assert_eq!(
        get(stale.id).await.unwrap(),
        *stale,
        "the stale write wrote nothing"
    );
    let beat = get(beat.id).await.unwrap();
    assert_eq!(beat.lease.unwrap().expires_at, now + 2 * LEASE);
    assert_eq!(get(back.id).await.unwrap().status, Status::Waiting);
    let stat = store.stat(POOL, &Query::All).await.unwrap();
    assert_eq!(
        (stat.waiting, stat.running, stat.done),
        (1, 4, 1),
        "{stat:?}"
    );
    let report = store.check_integrity().await.unwrap();
    assert!(report.is_consistent(), "{:#?}", report.problems);
}

#[tokio::test]
async fn claims_in_one_batch_take_different_tasks_in_claim_order() {
    let f = fixture("claims", &[0, 3, 1, 2, 0]).await;
    let store = &f.store;
    let (mut writes, mut answers) = (Vec::new(), Vec::new());
    for owner in ["a", "b", "c"] {
        let (to, answered) = oneshot::channel();
        writes.push(ClaimWrite::queued(POOL, claim(owner, 2), to));
        answers.push(answered);
    }
    assert_eq!(run_as_one_batch(store, writes), 1);

    let claimed: Vec<Vec<i64>> = answers
        .into_iter()
        .map(|a| answer(a).unwrap().iter().map(|t| t.priority).collect())
        .collect();
    assert_eq!(claimed, [vec![3, 2], vec![1, 0], vec![0]]);
    let stat = store.stat(POOL, &Query::All).await.unwrap();
    assert_eq!(stat.running, 5);
    let report = store.check_integrity().await.unwrap();
    assert!(report.is_consistent(), "{:#?}", report.problems);
}

#[tokio::test]
async fn a_write_failing_after_it_wrote_fails_alone_and_the_batch_commits() {
    // Priorities: the first task is claimed beforehand; a claim of two in
    // the batch takes the second, then meets the third, which is corrupt.
    let f = fixture("abort", &[9, 2, 1, 0]).await;
    let store = &f.store;
    let held = store.claim(POOL, claim("w", 1)).await.unwrap().remove(0);
    let tasks = store
        .query(POOL, task_store::QueryParams::default())
        .await
        .unwrap();
    let by_priority = |p| tasks.iter().find(|t| t.priority == p).unwrap().id;
    let (good, corrupt) = (by_priority(2), by_priority(1));
    store
        .inner
        .trees
        .tasks
        .insert(
            layout::task_key(&layout::pool_prefix(POOL), corrupt),
            &[crate::codec::FORMAT_VERSION, 0xff][..],
        )
        .unwrap();

    let (claim_to, claimed) = oneshot::channel();
    let (commit_to, committed) = oneshot::channel();
    let writes = vec![
        ClaimWrite::queued(POOL, claim("v", 2), claim_to),
        LeaseWrite::queued(
            POOL,
            CommitParams {
                id: held.id,
                token: token(&held),
                result: json!({}),
                status: Status::Done,
            },
            commit_to,
        ),
    ];
    assert_eq!(run_as_one_batch(store, writes), 1);

    assert_eq!(answer(claimed).unwrap_err().kind(), ErrorKind::Backend);
    answer(committed).unwrap();
    assert_eq!(store.get(POOL, held.id).await.unwrap().status, Status::Done);
    let good = store.get(POOL, good).await.unwrap();
    assert_eq!(
        (good.status, good.attempts),
        (Status::Waiting, 0),
        "the failed claim's write of an earlier task was rolled back"
    );
}

#[tokio::test]
async fn a_batch_of_failed_writes_does_not_sync() {
    let f = fixture("nothing", &[0]).await;
    let store = &f.store;
    let held = store.claim(POOL, claim("w", 1)).await.unwrap().remove(0);
    let (to, committed) = oneshot::channel();
    let stale = CommitParams {
        id: held.id,
        token: "not-the-lease".into(),
        result: json!({}),
        status: Status::Done,
    };
    let writes = vec![LeaseWrite::queued(POOL, stale, to)];
    assert_eq!(run_as_one_batch(store, writes), 0);
    assert_eq!(answer(committed).unwrap_err().kind(), ErrorKind::LeaseLost);
}
