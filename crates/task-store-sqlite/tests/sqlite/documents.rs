//! Documents survive the trip through SQLite's JSON text exactly.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use task_store::{
    ClaimParams, CommitParams, CreateParams, ManualClock, NewTask, Status, TaskStore, Timestamp,
};
use task_store_sqlite::{MEMORY_URL, SqliteOptions, SqliteStore};

const POOL: &str = "docs";

fn awkward() -> Value {
    json!({
        "floats": [1.0715660391465826e-75, -1.81996730402717e-179, 0.1, -0.0, 1e300, 5e-324],
        // The whole range every backend stores (beyond `i64` is InvalidInput).
        "ints": [i64::MIN, i64::MAX, 0],
        "text": "é \u{1F600} \u{0} \"quoted\" \\ \n",
        "keys": {"a b": 1, "q\"k": 2, "ключ": 3, "": 4},
        "nested": {"a": [{"b": null}, [], {}], "t": true, "f": false},
    })
}

#[tokio::test]
async fn create_claim_commit_round_trip_documents_exactly() {
    let clock = ManualClock::new(Timestamp::from_millis(1_767_225_600_123));
    let store = SqliteStore::open(MEMORY_URL, Arc::new(clock), SqliteOptions::default())
        .await
        .unwrap();
    let def = awkward();
    let filter = json!({"copy": awkward()});
    let mut params = CreateParams::new([NewTask {
        def: def.clone(),
        filter: Some(filter.clone()),
        priority: Some(i64::MIN),
        max_attempts: Some(u32::MAX),
    }]);
    params.priority = 7;
    let created = store.create(POOL, params).await.unwrap().remove(0);
    let task = store.get(POOL, created.id).await.unwrap();
    assert_eq!(task.def, def);
    assert_eq!(task.filter, filter);
    assert_eq!(task.priority, i64::MIN);
    assert_eq!(task.max_attempts, u32::MAX);
    assert_eq!(task.created_at, Timestamp::from_millis(1_767_225_600_123));

    let claimed = store
        .claim(POOL, ClaimParams::new("w", Duration::from_secs(1)))
        .await
        .unwrap()
        .remove(0);
    store
        .commit(
            POOL,
            CommitParams {
                id: claimed.id,
                token: claimed.lease.unwrap().token,
                result: awkward(),
                status: Status::Done,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.get(POOL, created.id).await.unwrap().res,
        Some(awkward())
    );
}
