//! The per-pool, per-status counts behind `stat(pool, Query::All)` (the
//! `task_counts` table, kept by triggers on `tasks`) must always equal a
//! `GROUP BY` of the tasks: after every step of random workloads on two
//! stores sharing one file, through every write path (create with
//! duplicates, claims with expired-lease reclaim and expire-to-failed,
//! heartbeat, commit, return, reset, remove, replace, prioritize, drop_pool)
//! and through plain SQL written by another connection.

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::Connection;
use serde_json::json;
use task_store::{
    ClaimParams, CommitParams, CreateParams, ErrorKind, HeartbeatParams, ManualClock, Query,
    ReplaceParams, ResetParams, ReturnParams, SharedClock, Status, Task, TaskStore, TaskStoreExt,
    Timestamp,
};
use task_store_sqlite::SqliteStore;

use crate::support::open_file;

const POOLS: [&str; 3] = ["alpha", "beta", "gamma"];
/// Distinct definitions a workload draws from (so creates hit duplicates).
const UNIVERSE: u64 = 40;
const STEPS: usize = 250;
const SEEDS: u64 = 6;
const T0: Timestamp = Timestamp::from_millis(1_767_225_600_000);

/// `(pool, status, n)` rows of `task_counts` with `n != 0`, sorted.
fn counted(conn: &Connection) -> Vec<(String, String, i64)> {
    rows(
        conn,
        "SELECT pool, status, n FROM task_counts WHERE n != 0 ORDER BY pool, status",
    )
}

/// `(pool, status, count)` of the tasks themselves, sorted.
fn grouped(conn: &Connection) -> Vec<(String, String, i64)> {
    rows(
        conn,
        "SELECT pool, status, count(*) FROM tasks GROUP BY pool, status ORDER BY pool, status",
    )
}

fn rows(conn: &Connection, sql: &str) -> Vec<(String, String, i64)> {
    conn.prepare(sql)
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// Counts match the `GROUP BY` for every pool, and `stat` of the whole pool
/// (from the counts) matches `stat` of an equivalent query that is not
/// `Query::All` (a `GROUP BY`).
async fn assert_exact(conn: &Connection, store: &SqliteStore, context: &str) {
    assert_eq!(counted(conn), grouped(conn), "after {context}");
    let negative: i64 = conn
        .query_row("SELECT count(*) FROM task_counts WHERE n < 0", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(negative, 0, "negative count after {context}");
    for pool in POOLS {
        let all = store.stat(pool, &Query::All).await.unwrap();
        let scanned = store.stat(pool, &Query::And(Vec::new())).await.unwrap();
        assert_eq!(all, scanned, "stat of {pool} after {context}");
    }
}

fn clock() -> (ManualClock, SharedClock) {
    let clock = ManualClock::new(T0);
    let shared: SharedClock = Arc::new(clock.clone());
    (clock, shared)
}

/// Accept the errors a random step may meet (a lease lost to expiry, a task
/// removed, a definition already taken); anything else fails the test.
fn tolerate<T>(result: task_store::Result<T>) {
    if let Err(e) = result {
        assert!(
            matches!(
                e.kind(),
                ErrorKind::LeaseLost | ErrorKind::NotFound | ErrorKind::AlreadyExists
            ),
            "unexpected error: {e}"
        );
    }
}

fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// A query on some tasks of a pool: all of them, one status, or one id.
async fn some_tasks(rng: &mut StdRng, store: &SqliteStore, pool: &str) -> Query {
    match rng.random_range(0..4) {
        0 => Query::All,
        1 => Query::status(pick(rng, &Status::ALL)),
        _ => match random_task(rng, store, pool).await {
            Some(task) => Query::id(task.id),
            None => Query::All,
        },
    }
}

async fn random_task(rng: &mut StdRng, store: &SqliteStore, pool: &str) -> Option<Task> {
    let tasks = store.query_all(pool, Query::All).await.unwrap();
    (!tasks.is_empty()).then(|| tasks[rng.random_range(0..tasks.len())].clone())
}

/// One random step on `store`; returns its name.
async fn step(
    rng: &mut StdRng,
    store: &SqliteStore,
    clock: &ManualClock,
    held: &mut Vec<(&'static str, Task)>,
) -> &'static str {
    let pool = pick(rng, &POOLS);
    match rng.random_range(0..20) {
        0..=3 => {
            let n = rng.random_range(1..8);
            let defs: Vec<_> = (0..n)
                .map(|_| json!({"n": rng.random_range(0..UNIVERSE)}))
                .collect();
            let mut params = CreateParams::new(defs);
            params.max_attempts = rng.random_range(1..=3);
            params.priority = rng.random_range(-1..=1);
            params.dry_run = rng.random_bool(0.1);
            store.create(pool, params).await.unwrap();
            "create"
        }
        4..=6 => {
            let mut params = ClaimParams::new(
                "owner",
                Duration::from_millis(pick(rng, &[1, 1_000, 30_000])),
            );
            params.n = rng.random_range(1..5);
            params.from = pick(rng, &[Status::Waiting, Status::Waiting, Status::PartDone]);
            for task in store.claim(pool, params).await.unwrap() {
                held.push((pool, task));
            }
            "claim"
        }
        7..=8 if !held.is_empty() => {
            let (pool, task) = held.swap_remove(rng.random_range(0..held.len()));
            let params = CommitParams {
                id: task.id,
                token: task.lease.unwrap().token,
                result: json!({"ok": true}),
                status: pick(
                    rng,
                    &[
                        Status::Done,
                        Status::Done,
                        Status::PartDone,
                        Status::Waiting,
                    ],
                ),
            };
            tolerate(store.commit(pool, params).await);
            "commit"
        }
        9 if !held.is_empty() => {
            let (pool, task) = held.swap_remove(rng.random_range(0..held.len()));
            let params = ReturnParams {
                id: task.id,
                token: task.lease.unwrap().token,
                error: rng.random_bool(0.5).then(|| "boom".to_string()),
                status: pick(
                    rng,
                    &[
                        None,
                        Some(Status::Waiting),
                        Some(Status::PartDone),
                        Some(Status::Failed),
                    ],
                ),
            };
            tolerate(store.return_task(pool, params).await);
            "return"
        }
        10 if !held.is_empty() => {
            let (pool, task) = &held[rng.random_range(0..held.len())];
            let params = HeartbeatParams {
                id: task.id,
                token: task.lease.clone().unwrap().token,
                lease: Duration::from_millis(1_000),
            };
            tolerate(store.heartbeat(pool, params).await);
            "heartbeat"
        }
        11..=12 => {
            clock.advance(Duration::from_millis(pick(rng, &[1, 500, 1_000, 40_000])));
            "advance"
        }
        13 => {
            let query = some_tasks(rng, store, pool).await;
            let status = pick(
                rng,
                &[
                    Status::Waiting,
                    Status::PartDone,
                    Status::Done,
                    Status::Failed,
                ],
            );
            store
                .reset_status(pool, ResetParams { query, status })
                .await
                .unwrap();
            "reset_status"
        }
        14 => {
            let query = some_tasks(rng, store, pool).await;
            store.remove(pool, &query).await.unwrap();
            "remove"
        }
        15 => {
            if let Some(task) = random_task(rng, store, pool).await {
                let params = ReplaceParams {
                    id: task.id,
                    def: json!({"n": rng.random_range(0..UNIVERSE)}),
                    filter: None,
                };
                tolerate(store.replace(pool, params).await);
            }
            "replace"
        }
        16 => {
            let query = some_tasks(rng, store, pool).await;
            store.prioritize(pool, &query, 3).await.unwrap();
            "prioritize"
        }
        17 if rng.random_bool(0.3) => {
            store.drop_pool(pool).await.unwrap();
            held.retain(|(p, _)| *p != pool);
            "drop_pool"
        }
        _ => "nothing",
    }
}

#[tokio::test]
async fn task_counts_equal_group_by_after_random_workloads_on_two_stores() {
    for seed in 0..SEEDS {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("counts.db");
        let (clock, shared) = clock();
        let stores = [
            open_file(&path, shared.clone()).await,
            open_file(&path, shared.clone()).await,
        ];
        let conn = Connection::open(&path).unwrap();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut held = Vec::new();
        for i in 0..STEPS {
            let store = &stores[rng.random_range(0..stores.len())];
            let name = step(&mut rng, store, &clock, &mut held).await;
            assert_exact(&conn, store, &format!("step {i} ({name}) of seed {seed}")).await;
        }
    }
}

#[tokio::test]
async fn drop_pool_removes_its_counts_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drop.db");
    let (_, shared) = clock();
    let store = open_file(&path, shared.clone()).await;
    for pool in ["kept", "dropped"] {
        store
            .create(pool, CreateParams::new((0..5).map(|n| json!({"n": n}))))
            .await
            .unwrap();
        store
            .claim(pool, ClaimParams::new("owner", Duration::from_secs(60)))
            .await
            .unwrap();
    }
    assert!(store.drop_pool("dropped").await.unwrap());

    let conn = Connection::open(&path).unwrap();
    let pools: Vec<String> = conn
        .prepare("SELECT DISTINCT pool FROM task_counts ORDER BY pool")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(pools, ["kept"]);
    assert_eq!(counted(&conn), grouped(&conn));
    let stat = store.stat("dropped", &Query::All).await.unwrap();
    assert_eq!(stat.total(), 0);
    let kept = store.stat("kept", &Query::All).await.unwrap();
    assert_eq!((kept.waiting, kept.running), (4, 1));
}

#[tokio::test]
async fn stat_counts_plain_sql_writes_of_another_connection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sql.db");
    let (_, shared) = clock();
    let store = open_file(&path, shared.clone()).await;
    store
        .create("alpha", CreateParams::new((0..6).map(|n| json!({"n": n}))))
        .await
        .unwrap();

    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "UPDATE tasks SET status = 'done' WHERE rowid IN (SELECT rowid FROM tasks LIMIT 2);
         DELETE FROM tasks WHERE rowid IN (SELECT rowid FROM tasks WHERE status = 'waiting' LIMIT 1);",
    )
    .unwrap();

    let stat = store.stat("alpha", &Query::All).await.unwrap();
    assert_eq!((stat.waiting, stat.done), (3, 2));
    assert_exact(&conn, &store, "plain SQL writes").await;
}
