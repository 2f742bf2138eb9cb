//! Task counts: `stat` of a whole pool (or of a query on status alone) reads
//! the counts every write keeps, and they must equal a count of the records
//! after any sequence of operations, after a reopen, and after the upgrade
//! of a database written before counts were kept.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::json;
use task_store::query::Query;
use task_store::{
    ClaimParams, CommitParams, CreateParams, ErrorKind, HeartbeatParams, ManualClock,
    ReplaceParams, ResetParams, ReturnParams, SharedClock, Stat, Status, SystemClock, TaskStore,
    TaskStoreExt, Timestamp,
};
use task_store_sled::{SledStore, layout};

use crate::support;

const POOLS: [&str; 2] = ["counts", "counts2"];

/// The counts of the pool's records matching `query`, by decoding them all.
async fn scanned(store: &SledStore, pool: &str, query: &Query) -> Stat {
    let mut stat = Stat::default();
    for task in store.query_all(pool, Query::All).await.unwrap() {
        if query.matches(&task) {
            stat.add(task.status, 1);
        }
    }
    stat
}

/// `stat` of the whole pool and of queries on status alone equal a scan, and
/// the integrity check (which compares the counts with the claim index) passes.
async fn assert_counts_agree(store: &SledStore) {
    let status_queries = [
        Query::All,
        Query::status(Status::Running),
        Query::statuses(&[Status::Waiting, Status::Failed]),
        Query::parse(&json!({"status": {"$nin": ["done"]}})).unwrap(),
    ];
    for pool in POOLS {
        for query in &status_queries {
            assert_eq!(
                store.stat(pool, query).await.unwrap(),
                scanned(store, pool, query).await,
                "pool {pool}, query {query:?}"
            );
        }
    }
    let report = store.check_integrity().await.unwrap();
    assert!(report.is_consistent(), "{:#?}", report.problems);
}

/// One random operation on a random pool.
async fn random_step(store: &SledStore, clock: &ManualClock, rng: &mut impl Rng, step: u64) {
    let pool = POOLS[rng.random_range(0..POOLS.len())];
    let lease = Duration::from_secs(10);
    match rng.random_range(0..10) {
        0..=2 => {
            // New definitions and some duplicates.
            let defs = (0..rng.random_range(1..6)).map(|_| json!({"n": rng.random_range(0..60)}));
            let mut params = CreateParams::new(defs.collect::<Vec<_>>());
            params.max_attempts = rng.random_range(1..3);
            store.create(pool, params).await.unwrap();
        }
        3..=5 => {
            let from = [Status::Waiting, Status::PartDone][rng.random_range(0..2)];
            let claim = ClaimParams {
                from,
                n: rng.random_range(1..4),
                ..ClaimParams::new("w", lease)
            };
            for task in store.claim(pool, claim).await.unwrap() {
                let (id, token) = (task.id, task.lease.unwrap().token);
                let result = match rng.random_range(0..4) {
                    0 => store
                        .commit(
                            pool,
                            CommitParams {
                                id,
                                token,
                                result: json!(step),
                                status: [Status::Done, Status::PartDone][rng.random_range(0..2)],
                            },
                        )
                        .await
                        .map(drop),
                    1 => store
                        .return_task(
                            pool,
                            ReturnParams {
                                id,
                                token,
                                error: Some("boom".into()),
                                status: None,
                            },
                        )
                        .await
                        .map(drop),
                    2 => store
                        .heartbeat(pool, HeartbeatParams { id, token, lease })
                        .await
                        .map(drop),
                    // Left running: its lease runs out and a claim reaps
                    // or re-claims it.
                    _ => Ok(()),
                };
                result.unwrap();
            }
        }
        6 => clock.advance(Duration::from_secs(rng.random_range(5..15))),
        7 => {
            let query =
                Query::parse(&json!({"filter.n": {"$lt": rng.random_range(0..60)}})).unwrap();
            if rng.random_bool(0.5) {
                let status =
                    [Status::Waiting, Status::Done, Status::Failed][rng.random_range(0..3)];
                store
                    .reset_status(pool, ResetParams { query, status })
                    .await
                    .unwrap();
            } else {
                store
                    .prioritize(pool, &query, rng.random_range(-2..3))
                    .await
                    .unwrap();
            }
        }
        8 => {
            let query = Query::parse(&json!({"filter.n": rng.random_range(0..60)})).unwrap();
            if let Some(task) = store.query_all(pool, query).await.unwrap().pop() {
                let replace = ReplaceParams {
                    id: task.id,
                    def: json!({"n": 1000 + step}),
                    filter: Some(json!({"n": rng.random_range(0..60)})),
                };
                match store.replace(pool, replace).await {
                    Ok(_) => {}
                    Err(e) => assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}"),
                }
            }
        }
        _ => {
            if rng.random_ratio(1, 6) {
                store.drop_pool(pool).await.unwrap();
            } else {
                let query =
                    Query::parse(&json!({"filter.n": {"$gt": rng.random_range(30..70)}})).unwrap();
                store.remove(pool, &query).await.unwrap();
            }
        }
    }
}

#[tokio::test]
async fn stat_counts_agree_with_a_scan_after_mixed_workloads() {
    let dir = support::fresh_dir("counts_mixed");
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_767_225_600_000)));
    let shared: SharedClock = clock.clone();
    let mut store = support::try_open(&dir, shared.clone()).await.unwrap();
    let mut rng = rand::rng();
    // Every status must have been counted at some point for the run to mean anything.
    let mut seen = Stat::default();
    for step in 0..600 {
        random_step(&store, &clock, &mut rng, step).await;
        if step % 25 == 0 {
            assert_counts_agree(&store).await;
            for pool in POOLS {
                let stat = store.stat(pool, &Query::All).await.unwrap();
                for status in Status::ALL {
                    seen.add(status, stat.get(status).min(1));
                }
            }
        }
        if step % 150 == 149 {
            drop(store);
            store = support::try_open(&dir, shared.clone()).await.unwrap();
            assert_counts_agree(&store).await;
        }
    }
    assert_counts_agree(&store).await;
    for status in Status::ALL {
        assert!(
            seen.get(status) > 0,
            "no {status} task was ever counted: {seen:?}"
        );
    }
}

/// Turn the database back into layout 1: no counts, no layout version.
fn strip_counts(dir: &Path) {
    let db = support::open_raw(dir);
    assert!(db.drop_tree(layout::COUNTS_TREE).unwrap());
    assert!(db.drop_tree(layout::META_TREE).unwrap());
    db.flush().unwrap();
}

#[tokio::test]
async fn open_upgrades_a_database_without_counts() {
    let dir = support::fresh_dir("counts_upgrade");
    let store = support::open(&dir).await;
    for pool in POOLS {
        let defs: Vec<_> = (0..40).map(|i| json!({"pool": pool, "i": i})).collect();
        store.create(pool, CreateParams::new(defs)).await.unwrap();
        let claim = ClaimParams {
            n: 7,
            ..ClaimParams::new("w", Duration::from_secs(60))
        };
        store.claim(pool, claim).await.unwrap();
    }
    let before: Vec<Stat> = pool_stats(&store).await;
    drop(store);
    strip_counts(&dir);

    let store = support::open(&dir).await;
    assert_eq!(pool_stats(&store).await, before);
    assert_counts_agree(&store).await;
    assert_eq!(store.check_integrity().await.unwrap().counted_pools, 2);
    // The upgrade is written: a second open finds the counts as they were.
    drop(store);
    let store = support::open(&dir).await;
    assert_eq!(pool_stats(&store).await, before);
    assert_counts_agree(&store).await;
}

async fn pool_stats(store: &SledStore) -> Vec<Stat> {
    let mut out = Vec::new();
    for pool in POOLS {
        let stat = store.stat(pool, &Query::All).await.unwrap();
        assert_eq!(stat, scanned(store, pool, &Query::All).await);
        out.push(stat);
    }
    out
}

#[tokio::test]
async fn open_with_newer_layout_is_config() {
    let dir = support::fresh_dir("counts_newer_layout");
    drop(support::open(&dir).await);
    let db = support::open_raw(&dir);
    let meta = db.open_tree(layout::META_TREE).unwrap();
    meta.insert(layout::LAYOUT_VERSION_KEY, &[layout::LAYOUT_VERSION + 1])
        .unwrap();
    db.flush().unwrap();
    drop((meta, db));
    let err = support::try_open(&dir, Arc::new(SystemClock))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn check_integrity_reports_counts_that_disagree() {
    let dir = support::fresh_dir("counts_damaged");
    let store = support::open(&dir).await;
    store.create_one(POOLS[0], json!({"a": 1})).await.unwrap();
    store.create_one(POOLS[1], json!({"a": 1})).await.unwrap();
    drop(store);

    let db = support::open_raw(&dir);
    let counts = db.open_tree(layout::COUNTS_TREE).unwrap();
    let wrong = Stat {
        waiting: 2,
        ..Stat::default()
    };
    counts
        .insert(
            layout::pool_prefix(POOLS[0]),
            &layout::encode_counts(&wrong)[..],
        )
        .unwrap();
    counts.remove(layout::pool_prefix(POOLS[1])).unwrap();
    db.flush().unwrap();
    drop((counts, db));

    let store = support::open(&dir).await;
    let report = store.check_integrity().await.unwrap();
    assert_eq!(report.problems.len(), 2, "{:#?}", report.problems);
    assert_eq!(report.counted_pools, 1);
}
