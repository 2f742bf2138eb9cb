//! The integrity check itself: it finds index entries that disagree with
//! records, in both directions.

use serde_json::json;
use task_store::TaskStoreExt;
use task_store_sled::layout;

use crate::support;

const POOL: &str = "integrity";

#[tokio::test]
async fn check_integrity_reports_missing_and_stray_entries() {
    let dir = support::fresh_dir("integrity_damaged");
    let store = support::open(&dir).await;
    let a = store.create_one(POOL, json!({"a": 1})).await.unwrap();
    let b = store.create_one(POOL, json!({"a": 2})).await.unwrap();
    assert!(store.check_integrity().await.unwrap().is_consistent());
    drop(store);

    let db = support::open_raw(&dir);
    let prefix = layout::pool_prefix(POOL);
    let keys = db.open_tree(layout::KEYS_TREE).unwrap();
    // Task a loses its content-key entry; a stray entry points b's key at a.
    keys.remove(layout::content_key_key(&prefix, &a.key))
        .unwrap();
    keys.insert(layout::content_key_key(&prefix, &b.key), &a.id.bytes()[..])
        .unwrap();
    let claim = db.open_tree(layout::CLAIM_TREE).unwrap();
    // A claim entry for a task that does not exist.
    let ghost = task_store::TaskId::from_bytes([9; 12]);
    claim
        .insert(
            layout::claim_key(&prefix, task_store::Status::Waiting, 0, ghost),
            &[][..],
        )
        .unwrap();
    db.flush().unwrap();
    drop((keys, claim, db));

    let store = support::open(&dir).await;
    let report = store.check_integrity().await.unwrap();
    assert!(!report.is_consistent());
    assert_eq!(report.tasks, 2);
    // a: no key entry; b: its key entry points elsewhere; the b-key entry
    // points at a, whose key differs; the ghost claim entry has no record,
    // and makes the claim index count one task more than the pool's counts.
    assert_eq!(report.problems.len(), 5, "{:#?}", report.problems);
}
