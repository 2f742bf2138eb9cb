//! The storage layout: collection names, indexes, and JSON values that
//! MongoDB-wire servers cannot store as they are.

use std::sync::Arc;

use futures::TryStreamExt;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Document, doc};
use serde_json::json;
use std::time::Duration;

use task_store::{
    ClaimParams, CommitParams, CreateParams, ErrorKind, HeartbeatParams, NewTask, Query,
    QueryParams, ReplaceParams, Status, SystemClock, TaskId, TaskStore, TaskStoreExt,
};
use task_store_mongo::{MongoOptions, MongoStore, POOL_COLLECTION_PREFIX};

use super::support;

/// A fresh store on `test`'s database without the lookup indexes (the
/// default), and the database.
async fn store_and_db(test: &str) -> Option<(Arc<MongoStore>, mongodb::Database)> {
    let url = support::server_url(test)?;
    let options = support::options_for(test).lookup_indexes(false);
    let store = support::fresh_store_with(&url, Arc::new(SystemClock), options).await;
    let client = mongodb::Client::with_uri_str(&url).await.unwrap();
    let db = client.database(store.database());
    Some((store, db))
}

#[tokio::test]
async fn create_makes_prefixed_collection_with_indexes() {
    let Some((store, db)) = store_and_db("create_makes_prefixed_collection_with_indexes").await
    else {
        return;
    };
    store.create_one("rolling", json!({"a": 1})).await.unwrap();
    let coll = db.collection::<Document>(&format!("{POOL_COLLECTION_PREFIX}rolling"));
    let mut names = coll.list_index_names().await.unwrap();
    names.sort();
    assert_eq!(
        names,
        [
            "_id_",
            "finished_at_-1__id_-1",
            "key_1",
            "lease.expires_at_1",
            "priority_-1__id_1",
            "status_1__id_1",
            "status_1_priority_-1__id_1"
        ]
    );
    let stored = coll.find_one(doc! {}).await.unwrap().unwrap();
    assert!(stored.get_object_id("_id").is_ok());
    assert!(stored.get_datetime("created_at").is_ok());
    assert_eq!(stored.get_document("def").unwrap().get_i64("a").unwrap(), 1);
}

/// A task whose filter is its definition stores the definition once (no
/// `filter` field); one with its own filter stores both. Both read back
/// with their filter, and a document in the older layout (`filter` a copy
/// of `def`, as earlier builds wrote) reads, matches and is replaced like a
/// new one.
#[tokio::test]
async fn filter_is_stored_only_when_it_differs_from_the_definition() {
    let test = "filter_is_stored_only_when_it_differs_from_the_definition";
    let Some((store, db)) = store_and_db(test).await else {
        return;
    };
    let pool = "layout";
    let own_filter = NewTask {
        def: json!({"model": "lgb", "seed": 2}),
        filter: Some(json!({"model": "lgb", "tag": "own"})),
        priority: None,
        max_attempts: None,
    };
    let created = store
        .create(
            pool,
            CreateParams::new([
                NewTask::from(json!({"model": "lgb", "seed": 1})),
                own_filter,
            ]),
        )
        .await
        .unwrap();
    let coll = db.collection::<Document>(&format!("{POOL_COLLECTION_PREFIX}{pool}"));
    let stored = |id: TaskId| {
        let coll = coll.clone();
        async move {
            coll.find_one(doc! {"_id": ObjectId::from_bytes(id.bytes())})
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert!(!stored(created[0].id).await.contains_key("filter"));
    assert_eq!(
        stored(created[1].id).await.get_document("filter").unwrap(),
        &doc! {"model": "lgb", "tag": "own"}
    );
    let first = store.get(pool, created[0].id).await.unwrap();
    assert_eq!(first.filter, first.def);

    // The older layout, written as earlier builds did.
    let mut old = stored(created[0].id).await;
    let old_id = ObjectId::new();
    old.insert("_id", old_id);
    old.insert("def", doc! {"model": "xgb", "seed": 3_i64});
    old.insert("filter", doc! {"model": "xgb", "seed": 3_i64});
    old.insert("key", "an-older-key");
    coll.insert_one(&old).await.unwrap();
    let old_id = TaskId::from_bytes(old_id.bytes());
    assert_eq!(
        store.get(pool, old_id).await.unwrap().filter,
        json!({"model": "xgb", "seed": 3})
    );

    let ids = |q: serde_json::Value| {
        let store = Arc::clone(&store);
        async move {
            let query = Query::parse(&q).unwrap();
            let mut ids: Vec<TaskId> = store
                .query(pool, QueryParams::from(query))
                .await
                .unwrap()
                .into_iter()
                .map(|t| t.id)
                .collect();
            ids.sort();
            ids
        }
    };
    let mut lgb = vec![created[0].id, created[1].id];
    lgb.sort();
    assert_eq!(ids(json!({"filter.model": "lgb"})).await, lgb);
    assert_eq!(ids(json!({"filter.seed": 1})).await, [created[0].id]);
    assert_eq!(ids(json!({"filter.tag": "own"})).await, [created[1].id]);
    assert_eq!(ids(json!({"filter.model": "xgb"})).await, [old_id]);
    // The definition of the task with its own filter is not its filter.
    assert!(ids(json!({"filter.seed": 2})).await.is_empty());
    let mut no_seed = vec![created[1].id];
    no_seed.sort();
    assert_eq!(
        ids(json!({"filter.seed": {"$exists": false}})).await,
        no_seed
    );
    assert_eq!(ids(json!({"filter.seed": {"$ne": 1}})).await.len(), 2);

    // Replacing: a definition without its own filter drops the stored copy;
    // one with its own filter stores it.
    let replaced = store
        .replace(
            pool,
            ReplaceParams {
                id: old_id,
                def: json!({"model": "xgb", "seed": 4}),
                filter: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(replaced.filter, json!({"model": "xgb", "seed": 4}));
    assert!(!stored(old_id).await.contains_key("filter"));
    assert_eq!(ids(json!({"filter.seed": 4})).await, [old_id]);
    store
        .replace(
            pool,
            ReplaceParams {
                id: old_id,
                def: json!({"model": "xgb", "seed": 5}),
                filter: Some(json!({"model": "xgb", "tag": "mine"})),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        stored(old_id).await.get_document("filter").unwrap(),
        &doc! {"model": "xgb", "tag": "mine"}
    );
    assert!(ids(json!({"filter.seed": 5})).await.is_empty());
}

/// A batch larger than one insert piece (250 tasks) reports exactly as one
/// insert would: existing keys spread over every piece resolve to their
/// tasks, repeats within the batch map to the first occurrence, and every
/// new task is stored once.
#[tokio::test]
async fn a_batch_inserted_in_pieces_reports_like_one_insert() {
    let test = "a_batch_inserted_in_pieces_reports_like_one_insert";
    let Some((store, _db)) = store_and_db(test).await else {
        return;
    };
    let pool = "pieces";
    let def = |n: usize| json!({"n": n});
    // Every seventh definition exists before the big batch.
    let before: Vec<usize> = (0..1000).step_by(7).collect();
    let earlier = store
        .create(pool, CreateParams::new(before.iter().map(|&n| def(n))))
        .await
        .unwrap();
    // 1000 definitions, then 100 repeats of ones from every piece.
    let inputs: Vec<usize> = (0..1000).chain((0..1000).step_by(10)).collect();
    let created = store
        .create(pool, CreateParams::new(inputs.iter().map(|&n| def(n))))
        .await
        .unwrap();
    assert_eq!(created.len(), inputs.len());
    let mut first = std::collections::HashMap::new();
    for (i, (&n, c)) in inputs.iter().zip(&created).enumerate() {
        let &mut (at, id) = first.entry(n).or_insert((i, c.id));
        assert_eq!(c.id, id, "definition {n}: one id for every repeat");
        match before.iter().position(|&b| b == n) {
            Some(k) => {
                assert_eq!(c.id, earlier[k].id, "definition {n}: the existing task");
                assert!(!c.new, "definition {n} existed");
            }
            None => assert_eq!(
                c.new,
                at == i,
                "definition {n}: new at its first input only"
            ),
        }
    }
    let stat = store.stat(pool, &Query::All).await.unwrap();
    assert_eq!(stat.total(), 1000);
    assert_eq!(
        created.iter().filter(|c| c.new).count(),
        1000 - before.len()
    );
}

/// `lookupIndexes=true` adds the two unique indexes led by `_id` (their keys
/// exactly the claim-by-`_id` and lease-fenced filters'), also to a pool made
/// without them; claims, heartbeats and commits work under them.
#[tokio::test]
async fn lookup_indexes_are_unique_led_by_id_and_added_to_older_pools() {
    let test = "lookup_indexes_are_unique_led_by_id_and_added_to_older_pools";
    let Some((plain, db)) = store_and_db(test).await else {
        return;
    };
    plain.create_one("rolling", json!({"a": 1})).await.unwrap();
    drop(plain);
    let url = support::server_url(test).unwrap();
    let store = MongoStore::open(
        &format!(
            "{}{}lookupIndexes=true",
            url,
            if url.contains('?') { "&" } else { "?" }
        ),
        Arc::new(SystemClock),
        support::options_for(test).lookup_indexes(true),
    )
    .await
    .unwrap();
    store.create_one("rolling", json!({"a": 2})).await.unwrap();
    let coll = db.collection::<Document>(&format!("{POOL_COLLECTION_PREFIX}rolling"));
    let indexes: Vec<mongodb::IndexModel> = coll
        .list_indexes()
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    for keys in [
        doc! {"_id": 1, "status": 1},
        doc! {"_id": 1, "status": 1, "lease.token": 1},
    ] {
        let index = indexes
            .iter()
            .find(|i| i.keys.keys().eq(keys.keys()))
            .unwrap_or_else(|| panic!("no index {keys} among {indexes:?}"));
        let unique = index.options.as_ref().and_then(|o| o.unique);
        assert_eq!(unique, Some(true), "{keys}");
    }
    let lease = Duration::from_secs(60);
    let mut params = ClaimParams::new("w", lease);
    params.n = 2;
    let tasks = store.claim("rolling", params).await.unwrap();
    assert_eq!(tasks.len(), 2);
    for task in tasks {
        let token = task.lease.as_ref().unwrap().token.clone();
        let (id, heartbeat) = (
            task.id,
            HeartbeatParams {
                id: task.id,
                token: token.clone(),
                lease,
            },
        );
        store.heartbeat("rolling", heartbeat).await.unwrap();
        let commit = |n: i64| CommitParams {
            id,
            token: token.clone(),
            result: json!({"n": n}),
            status: Status::Done,
        };
        store.commit("rolling", commit(1)).await.unwrap();
        let stale = store.commit("rolling", commit(2)).await.unwrap_err();
        assert_eq!(stale.kind(), ErrorKind::LeaseLost);
    }
    let stat = store.stat("rolling", &Query::All).await.unwrap();
    assert_eq!((stat.total(), stat.done), (2, 2));
}

/// Regression: a second store (a new process, with its own index cache)
/// creating into an existing pool re-sent `createIndexes` for all three
/// existing indexes, which made FerretDB v1.24 drop the connection ("slice
/// bounds out of range"); the create failed with `Unavailable`.
#[tokio::test]
async fn create_into_existing_pool_from_second_store_succeeds() {
    let test = "create_into_existing_pool_from_second_store_succeeds";
    let Some((first, db)) = store_and_db(test).await else {
        return;
    };
    let url = support::server_url(test).expect("checked by store_and_db");
    first.create_one("p", json!({"a": 1})).await.unwrap();
    let options = MongoOptions::default().database(first.database().to_string());
    for _ in 0..2 {
        let second = MongoStore::open(&url, Arc::new(SystemClock), options.clone())
            .await
            .unwrap();
        let again = second.create_one("p", json!({"a": 1})).await.unwrap();
        assert!(!again.new);
        second.create_one("p", json!({"a": 2})).await.unwrap();
    }
    let coll = db.collection::<Document>(&format!("{POOL_COLLECTION_PREFIX}p"));
    assert_eq!(coll.list_index_names().await.unwrap().len(), 7);
    assert_eq!(store_stat_total(&first).await, 2);
}

/// Regression: a store remembered that a pool had its indexes after another
/// store dropped the pool, so its next create made a new collection without
/// the unique `key` index and dedupe silently stopped (seen in the Python
/// bench: 2,000 tasks from 1,000 definitions created twice).
#[tokio::test]
async fn create_after_another_store_dropped_the_pool_still_dedupes() {
    let test = "create_after_another_store_dropped_the_pool_still_dedupes";
    let Some((first, db)) = store_and_db(test).await else {
        return;
    };
    let url = support::server_url(test).expect("checked by store_and_db");
    first.create_one("p", json!({"a": 1})).await.unwrap();
    let options = MongoOptions::default().database(first.database().to_string());
    let second = MongoStore::open(&url, Arc::new(SystemClock), options)
        .await
        .unwrap();
    second.drop_pool("p").await.unwrap();
    assert!(first.create_one("p", json!({"a": 1})).await.unwrap().new);
    assert!(!first.create_one("p", json!({"a": 1})).await.unwrap().new);
    assert_eq!(store_stat_total(&first).await, 1);
    let coll = db.collection::<Document>(&format!("{POOL_COLLECTION_PREFIX}p"));
    assert!(
        coll.list_index_names()
            .await
            .unwrap()
            .contains(&"key_1".to_string())
    );
}

async fn store_stat_total(store: &MongoStore) -> u64 {
    store.stat("p", &Query::All).await.unwrap().total()
}

#[tokio::test]
async fn pools_ignore_other_collections() {
    let Some((store, db)) = store_and_db("pools_ignore_other_collections").await else {
        return;
    };
    store.create_one("p1", json!({"a": 1})).await.unwrap();
    db.collection::<Document>("records.p1")
        .insert_one(doc! {"x": 1})
        .await
        .unwrap();
    assert_eq!(store.pools().await.unwrap(), ["p1"]);
}

#[tokio::test]
async fn definitions_with_special_keys_and_nested_arrays_round_trip() {
    let Some((store, _db)) =
        store_and_db("definitions_with_special_keys_and_nested_arrays_round_trip").await
    else {
        return;
    };
    let def = json!({
        "a.b": 1,
        "$where": "not code",
        "50%": {"%array": [[1, [2]], []]},
        "fields": [["$close"], ["CLOSE0"]],
        "n": 1.0,
    });
    let created = store.create_one("p", def.clone()).await.unwrap();
    assert_eq!(store.get("p", created.id).await.unwrap().def, def);
    let by_percent = Query::parse(&json!({"filter.50%": {"$exists": true}})).unwrap();
    assert_eq!(store.query_all("p", by_percent).await.unwrap().len(), 1);
    let by_float = Query::parse(&json!({"filter.n": 1})).unwrap();
    assert_eq!(store.query_all("p", by_float).await.unwrap().len(), 1);
}
