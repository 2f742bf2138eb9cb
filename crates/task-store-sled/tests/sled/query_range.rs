//! `query` and `stat` walk only the records in the query's `_id` range.
//!
//! The results must be the oracle's (the MemoryStore's semantics:
//! [`Query::matches`] over the pool in id order, then `skip` and `limit`) for
//! any bounds, and the walk must not touch records outside the range, which
//! the tests show by planting undecodable records there: a walk that reached
//! them would fail with `Config`.

use std::path::Path;

use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};
use task_store::query::Query;
use task_store::{
    ClaimParams, CreateParams, ErrorKind, QueryParams, Status, Task, TaskId, TaskStore,
    TaskStoreExt,
};
use task_store_sled::{SledStore, codec, layout};

use crate::support;

const POOL: &str = "range";

fn parse(query: Value) -> Query {
    Query::parse(&query).unwrap()
}

/// What the MemoryStore answers for `params` over `all` (the pool in id order).
fn oracle(all: &[Task], params: &QueryParams) -> Vec<Task> {
    all.iter()
        .filter(|t| params.query.matches(t))
        .skip(params.skip)
        .take(params.limit.unwrap_or(usize::MAX))
        .cloned()
        .collect()
}

/// A store holding `n` tasks of mixed priorities, some claimed, some done.
async fn populated(dir: &Path, n: usize) -> SledStore {
    let store = support::open(dir).await;
    let defs = (0..n).map(|i| json!({"i": i}));
    let mut params = CreateParams::new(defs);
    params.priority = 1;
    store.create(POOL, params).await.unwrap();
    let claim = ClaimParams {
        n: n / 3,
        ..ClaimParams::new("w", std::time::Duration::from_secs(600))
    };
    let claimed = store.claim(POOL, claim).await.unwrap();
    for task in claimed.iter().step_by(2) {
        let commit = task_store::CommitParams {
            id: task.id,
            token: task.lease.as_ref().unwrap().token.clone(),
            result: json!(1),
            status: Status::Done,
        };
        store.commit(POOL, commit).await.unwrap();
    }
    store
}

/// A random id condition: an existing id, or a random one between them.
fn id_condition(rng: &mut impl Rng, ids: &[TaskId]) -> Value {
    let pick = |rng: &mut dyn rand::RngCore| -> String {
        if rng.random_ratio(3, 4) {
            ids.choose(rng).unwrap().to_string()
        } else {
            TaskId::from_bytes(rng.random()).to_string()
        }
    };
    let op = ["$gt", "$gte", "$lt", "$lte", "$eq", "$in", "$ne"][rng.random_range(0..7)];
    if op == "$in" {
        let n = rng.random_range(0..4);
        let list: Vec<String> = (0..n).map(|_| pick(rng)).collect();
        return json!({"_id": {"$in": list}});
    }
    json!({"_id": {op: pick(rng)}})
}

#[tokio::test]
async fn query_with_random_id_bounds_agrees_with_oracle() {
    let dir = support::fresh_dir("query_range_random");
    let store = populated(&dir, 200).await;
    let all = store.query_all(POOL, Query::All).await.unwrap();
    let ids: Vec<TaskId> = all.iter().map(|t| t.id).collect();
    let mut rng = rand::rng();
    for _ in 0..400 {
        let mut parts = vec![id_condition(&mut rng, &ids)];
        if rng.random_bool(0.5) {
            parts.push(id_condition(&mut rng, &ids));
        }
        if rng.random_bool(0.3) {
            parts.push(json!({"status": {"$in": ["waiting", "done"]}}));
        }
        let query = match rng.random_range(0..4) {
            0 => json!({"$and": parts}),
            1 => json!({"$and": [{"$and": parts}, {"attempts": {"$gte": 0}}]}),
            2 => json!({"$or": parts}),
            _ => parts.swap_remove(0),
        };
        let params = QueryParams {
            query: parse(query.clone()),
            limit: rng.random_bool(0.5).then(|| rng.random_range(0..50)),
            skip: if rng.random_bool(0.5) {
                rng.random_range(0..80)
            } else {
                0
            },
            ..QueryParams::default()
        };
        let got = store.query(POOL, params.clone()).await.unwrap();
        assert_eq!(got, oracle(&all, &params), "query {query}");
        let stat = store.stat(POOL, &params.query).await.unwrap();
        let expected = oracle(&all, &QueryParams::from(params.query.clone()));
        assert_eq!(stat.total(), expected.len() as u64, "stat {query}");
    }
}

#[tokio::test]
async fn query_pages_by_id_agree_with_oracle() {
    let dir = support::fresh_dir("query_range_pages");
    let store = populated(&dir, 1234).await;
    let all = store.query_all(POOL, Query::All).await.unwrap();
    let base = parse(json!({"status": {"$ne": "running"}}));
    let mut pages = Vec::new();
    let mut after: Option<TaskId> = None;
    loop {
        let query = match after {
            Some(last) => base
                .clone()
                .and(parse(json!({"_id": {"$gt": last.to_string()}}))),
            None => base.clone(),
        };
        let page = store
            .query(
                POOL,
                QueryParams {
                    query,
                    limit: Some(100),
                    skip: 0,
                    ..QueryParams::default()
                },
            )
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        pages.extend(page);
    }
    assert_eq!(pages, oracle(&all, &QueryParams::from(base)));
}

/// Replace the record of each of `ids` with one of an unknown format
/// version: reading it is a `Config` error.
fn plant_unreadable(dir: &Path, ids: &[TaskId]) {
    let db = support::open_raw(dir);
    let tasks = db.open_tree(layout::TASKS_TREE).unwrap();
    for &id in ids {
        let key = layout::task_key(&layout::pool_prefix(POOL), id);
        let mut bytes = tasks.get(&key).unwrap().unwrap().to_vec();
        bytes[0] = codec::FORMAT_VERSION + 1;
        tasks.insert(&key, bytes).unwrap();
    }
    db.flush().unwrap();
}

#[tokio::test]
async fn query_walks_only_the_id_range() {
    let dir = support::fresh_dir("query_range_walk");
    let store = populated(&dir, 100).await;
    let all = store.query_all(POOL, Query::All).await.unwrap();
    drop(store);
    // Unreadable: the first 10 and the last 10 records.
    let outside: Vec<TaskId> = all[..10].iter().chain(&all[90..]).map(|t| t.id).collect();
    plant_unreadable(&dir, &outside);
    let store = support::open(&dir).await;

    let whole = store.query_all(POOL, Query::All).await.unwrap_err();
    assert_eq!(whole.kind(), ErrorKind::Config);

    let (lo, hi) = (all[9].id, all[90].id);
    let inside = |params: QueryParams| {
        let expected = oracle(&all, &params);
        let store = store.clone();
        async move {
            assert_eq!(store.query(POOL, params).await.unwrap(), expected);
        }
    };
    let between = parse(json!({"_id": {"$gt": lo.to_string(), "$lt": hi.to_string()}}));
    inside(QueryParams::from(between.clone())).await;
    let waiting_between = parse(json!({
        "$and": [{"_id": {"$gte": all[10].id.to_string()}}, {"status": "waiting"}],
        "_id": {"$lte": all[89].id.to_string()},
    }));
    inside(QueryParams::from(waiting_between.clone())).await;
    // A page that ends before the unreadable tail stops at its limit.
    inside(QueryParams {
        query: parse(json!({"_id": {"$gt": lo.to_string()}})),
        limit: Some(80),
        skip: 0,
        ..QueryParams::default()
    })
    .await;
    inside(QueryParams::from(parse(
        json!({"_id": {"$in": [all[20].id.to_string(), all[30].id.to_string()]}}),
    )))
    .await;

    let stat = store.stat(POOL, &waiting_between).await.unwrap();
    let expected = oracle(&all, &QueryParams::from(waiting_between));
    assert_eq!(stat.total(), expected.len() as u64);
    assert_eq!(store.stat(POOL, &between).await.unwrap().total(), 80);
}

#[tokio::test]
async fn query_skips_without_decoding_when_the_range_is_the_query() {
    let dir = support::fresh_dir("query_range_skip");
    let store = populated(&dir, 50).await;
    let all = store.query_all(POOL, Query::All).await.unwrap();
    drop(store);
    plant_unreadable(&dir, &[all[0].id, all[5].id, all[20].id]);
    let store = support::open(&dir).await;

    let after_first = QueryParams {
        query: parse(json!({"_id": {"$gt": all[0].id.to_string()}})),
        limit: Some(10),
        skip: 20,
        ..QueryParams::default()
    };
    assert_eq!(
        store.query(POOL, after_first.clone()).await.unwrap(),
        oracle(&all, &after_first)
    );
    // A skip over the whole pool steps over the unreadable records too.
    let everything = QueryParams {
        query: Query::All,
        limit: None,
        skip: 22,
        ..QueryParams::default()
    };
    assert_eq!(
        store.query(POOL, everything.clone()).await.unwrap(),
        oracle(&all, &everything)
    );
    // When the query says more than the range, skipped records must be
    // decoded to know whether they match.
    let waiting = QueryParams {
        query: parse(json!({"status": "waiting"})),
        limit: None,
        skip: 22,
        ..QueryParams::default()
    };
    assert_eq!(
        store.query(POOL, waiting).await.unwrap_err().kind(),
        ErrorKind::Config
    );
}
