//! Group commit through the public API: writes in flight together share one
//! transaction on the store's connection thread, each under its own
//! savepoint (see the crate's `connection` module). These tests send many writes
//! at once and check that each gets its own outcome, that the failed ones
//! change nothing while the others are all stored, and that when the
//! transaction cannot start nothing is written and nothing acknowledged.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, join_all};
use rusqlite::Connection;
use serde_json::{Value, json};
use task_store::{
    ClaimParams, CommitParams, CreateParams, ErrorKind, HeartbeatParams, NewRecord, Query,
    RecordId, RecordStore, Status, Task, TaskId, TaskStore, Timestamp,
};
use task_store_sqlite::{SqliteOptions, SqliteStore};

use crate::support::{system_clock, url};

const POOL: &str = "group";
const EXP: &str = "exp";
const LEASE: Duration = Duration::from_secs(600);

async fn open(path: &Path, options: SqliteOptions) -> SqliteStore {
    SqliteStore::open(&url(path), system_clock(), options)
        .await
        .unwrap()
}

async fn create(store: &SqliteStore, n: usize) {
    let defs = (0..n).map(|i| json!({"i": i}));
    let created = store.create(POOL, CreateParams::new(defs)).await.unwrap();
    assert!(created.iter().all(|c| c.new));
}

async fn claim(store: &SqliteStore, owner: &str, n: usize) -> Vec<Task> {
    let params = ClaimParams {
        n,
        ..ClaimParams::new(owner, LEASE)
    };
    let tasks = store.claim(POOL, params).await.unwrap();
    assert_eq!(tasks.len(), n);
    tasks
}

fn token(task: &Task) -> String {
    task.lease.as_ref().unwrap().token.clone()
}

fn done(id: TaskId, token: String, result: Value) -> CommitParams {
    CommitParams {
        id,
        token,
        result,
        status: Status::Done,
    }
}

/// One write's outcome: `Ok` or its error kind.
type Outcome = Result<(), ErrorKind>;

/// A write to run in flight with others.
fn write<'a, T: Send + 'a>(
    call: impl Future<Output = task_store::Result<T>> + Send + 'a,
) -> BoxFuture<'a, Outcome> {
    call.map(|r| r.map(|_| ()).map_err(|e| e.kind())).boxed()
}

async fn get(store: &SqliteStore, id: TaskId) -> Task {
    store.get(POOL, id).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_in_flight_from_16_tasks_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir.path().join("s.db"), SqliteOptions::default()).await);
    create(&store, 16 * 32).await;
    let workers: Vec<_> = (0..16)
        .map(|w| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let tasks = claim(&store, &format!("w{w}"), 32).await;
                let commits = tasks.iter().map(|t| {
                    store.commit(POOL, done(t.id, token(t), json!({"by": w, "def": t.def})))
                });
                for r in join_all(commits).await {
                    r.unwrap();
                }
                tasks.len()
            })
        })
        .collect();
    for w in workers {
        assert_eq!(w.await.unwrap(), 32);
    }
    let tasks = store.query(POOL, Query::All.into()).await.unwrap();
    assert_eq!(tasks.len(), 16 * 32);
    for task in tasks {
        assert_eq!(task.status, Status::Done);
        assert_eq!(task.lease, None);
        assert_eq!(task.res.unwrap()["def"], task.def);
    }
}

#[tokio::test]
async fn writes_in_flight_fail_alone_and_the_rest_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("s.db"), SqliteOptions::default()).await;
    create(&store, 5).await;
    let t = claim(&store, "w", 5).await;
    let record_id = RecordId::generate(Timestamp::from_millis(1));
    let record = NewRecord {
        id: Some(record_id),
        ..NewRecord::default()
    };
    let not_finite = NewRecord {
        metrics: [("loss".to_string(), f64::NAN)].into(),
        ..NewRecord::default()
    };
    let unknown = TaskId::generate(Timestamp::from_millis(1));
    let heartbeat = HeartbeatParams {
        id: t[3].id,
        token: token(&t[3]),
        lease: LEASE * 2,
    };

    let outcomes = join_all([
        write(store.commit(POOL, done(t[0].id, token(&t[0]), json!(0)))),
        write(store.commit(POOL, done(t[1].id, "f".repeat(32), json!(1)))),
        write(store.commit(POOL, done(unknown, token(&t[1]), json!(2)))),
        write(store.create_record(EXP, not_finite)),
        write(store.commit(POOL, done(t[0].id, token(&t[0]), json!(3)))),
        write(store.commit(POOL, done(t[2].id, token(&t[2]), json!(4)))),
        write(store.heartbeat(POOL, heartbeat)),
        write(store.create_record(EXP, record.clone())),
        write(store.create_record(EXP, record)),
        write(store.commit(POOL, done(t[4].id, token(&t[4]), json!(5)))),
    ])
    .await;

    use ErrorKind::{AlreadyExists, InvalidInput, LeaseLost, NotFound};
    assert_eq!(
        outcomes,
        [
            Ok(()),
            Err(LeaseLost),
            Err(NotFound),
            Err(InvalidInput),
            Err(LeaseLost),
            Ok(()),
            Ok(()),
            Ok(()),
            Err(AlreadyExists),
            Ok(()),
        ]
    );
    for (i, result) in [(0, 0), (2, 4), (4, 5)] {
        let task = get(&store, t[i].id).await;
        assert_eq!(task.status, Status::Done);
        assert_eq!(task.res, Some(json!(result)));
    }
    let forged = get(&store, t[1].id).await;
    assert_eq!(
        (forged.status, forged.lease),
        (Status::Running, t[1].lease.clone())
    );
    let extended = get(&store, t[3].id).await.lease.unwrap();
    assert!(extended.expires_at > t[3].lease.as_ref().unwrap().expires_at);
    assert_eq!(extended.token, token(&t[3]));
    let records = store
        .list_records(EXP, &task_store::RecordFilter::all())
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].id, record_id);
}

#[tokio::test]
async fn writes_in_flight_while_locked_fail_together_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let impatient = SqliteOptions {
        busy_timeout: Duration::from_millis(50),
        ..SqliteOptions::default()
    };
    let store = open(&path, impatient).await;
    create(&store, 8).await;
    let tasks = claim(&store, "w", 8).await;
    let commit_all = || {
        join_all(
            tasks
                .iter()
                .map(|t| write(store.commit(POOL, done(t.id, token(t), json!(t.def))))),
        )
    };

    let holder = Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let locked = commit_all().await;
    assert_eq!(locked, vec![Err(ErrorKind::Unavailable); 8]);
    holder.execute_batch("COMMIT").unwrap();
    let stat = store.stat(POOL, &Query::All).await.unwrap();
    assert_eq!((stat.running, stat.done), (8, 0));

    assert_eq!(commit_all().await, vec![Ok(()); 8]);
    let stat = store.stat(POOL, &Query::All).await.unwrap();
    assert_eq!((stat.running, stat.done), (0, 8));
}
