//! The on-disk format: records carry a version byte; a record of an unknown
//! version is a `Config` error, never a guess. Data survives a reopen.

use std::time::Duration;

use serde_json::json;
use task_store::query::Query;
use task_store::{ClaimParams, ErrorKind, QueryParams, TaskStore, TaskStoreExt};
use task_store_sled::{codec, layout};

use crate::support;

const POOL: &str = "fmt";

#[tokio::test]
async fn read_with_unknown_record_version_is_config() {
    let dir = support::fresh_dir("format_unknown_version");
    let store = support::open(&dir).await;
    let id = store.create_one(POOL, json!({"a": 1})).await.unwrap().id;
    drop(store);

    let db = support::open_raw(&dir);
    let tasks = db.open_tree(layout::TASKS_TREE).unwrap();
    let key = layout::task_key(&layout::pool_prefix(POOL), id);
    let mut bytes = tasks.get(&key).unwrap().unwrap().to_vec();
    assert_eq!(bytes[0], codec::FORMAT_VERSION);
    bytes[0] = codec::FORMAT_VERSION + 1;
    tasks.insert(&key, bytes).unwrap();
    db.flush().unwrap();
    drop((tasks, db));

    let store = support::open(&dir).await;
    assert_eq!(
        store.get(POOL, id).await.unwrap_err().kind(),
        ErrorKind::Config
    );
    let all = QueryParams::from(Query::All);
    assert_eq!(
        store.query(POOL, all).await.unwrap_err().kind(),
        ErrorKind::Config
    );
    let claim = ClaimParams::new("w", Duration::from_secs(5));
    assert_eq!(
        store.claim(POOL, claim).await.unwrap_err().kind(),
        ErrorKind::Config
    );
}

#[tokio::test]
async fn reopen_keeps_tasks_and_indexes() {
    let dir = support::fresh_dir("format_reopen");
    let store = support::open(&dir).await;
    store.create_one(POOL, json!({"a": 1})).await.unwrap();
    store.create_one(POOL, json!({"a": 2})).await.unwrap();
    let claimed = store
        .claim_one(
            POOL,
            task_store::Status::Waiting,
            "w",
            Duration::from_secs(60),
            Query::All,
        )
        .await
        .unwrap()
        .unwrap();
    let before = store.query_all(POOL, Query::All).await.unwrap();
    drop(store);

    let store = support::open(&dir).await;
    assert_eq!(store.query_all(POOL, Query::All).await.unwrap(), before);
    assert_eq!(store.get(POOL, claimed.id).await.unwrap(), claimed);
    assert_eq!(store.pools().await.unwrap(), [POOL]);
    let report = store.check_integrity().await.unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
    assert_eq!(
        (report.pools, report.tasks, report.index_entries),
        (1, 2, 5)
    );
}
