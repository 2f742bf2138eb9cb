//! Randomised check of the query translation on the server: documents with
//! arrays at every depth (arrays of arrays, of documents, a `filter` that is
//! itself an array or a scalar), escaped keys and mixed number kinds, against
//! random queries; `query` and `stat` must equal [`Query::matches`].
//!
//! Deterministic (a fixed seed), so a failure is reproducible; the failing
//! query is in the message.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use task_store::{CreateParams, NewTask, Query, QueryParams, Stat, SystemClock, TaskId, TaskStore};

use super::support;

/// xorshift64*: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
}

const P53: i64 = 1 << 53;

fn scalars() -> Vec<Value> {
    vec![
        json!(null),
        json!(true),
        json!(false),
        json!(0),
        json!(1),
        json!(-1),
        json!(2),
        json!(P53),
        json!(P53 + 1),
        json!(i64::MAX),
        json!(1.0),
        json!(1.5),
        json!(-0.0),
        json!(P53 as f64),
        json!(""),
        json!("a"),
        json!("ab"),
        json!("1"),
        json!("é"),
    ]
}

const DOC_KEYS: &[&str] = &["a", "b", "c", "a.b", "$x", "50%"];
const QUERY_SEGMENTS: &[&str] = &["a", "b", "c", "50%"];

fn value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth == 0 { 1 } else { 4 }) {
        0 | 1 => rng.pick(&scalars()),
        2 => Value::Array((0..rng.below(3)).map(|_| value(rng, depth - 1)).collect()),
        _ => object(rng, depth - 1),
    }
}

fn object(rng: &mut Rng, depth: usize) -> Value {
    let mut map = Map::new();
    for _ in 0..rng.below(4) {
        map.insert(rng.pick(DOC_KEYS).to_string(), value(rng, depth));
    }
    Value::Object(map)
}

fn filter_document(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0 => Value::Array((0..1 + rng.below(2)).map(|_| object(rng, 2)).collect()),
        1 => value(rng, 2),
        _ => object(rng, 3),
    }
}

fn condition(rng: &mut Rng) -> Value {
    let depth = 1 + rng.below(3);
    let path: Vec<&str> = (0..depth).map(|_| rng.pick(QUERY_SEGMENTS)).collect();
    let path = format!("filter.{}", path.join("."));
    let operand = rng.pick(&scalars());
    let list: Vec<Value> = (0..rng.below(3)).map(|_| rng.pick(&scalars())).collect();
    let op = match rng.below(10) {
        0 => operand,
        1 => json!({"$ne": operand}),
        2 => json!({"$gt": operand}),
        3 => json!({"$gte": operand}),
        4 => json!({"$lt": operand}),
        5 => json!({"$lte": operand}),
        6 => json!({"$in": list}),
        7 => json!({"$nin": list}),
        8 => json!({"$exists": rng.below(2) == 0}),
        _ => json!({"$eq": operand}),
    };
    json!({ path: op })
}

fn query(rng: &mut Rng) -> Value {
    match rng.below(6) {
        0 => json!({"$or": [condition(rng), condition(rng)]}),
        1 => json!({"$and": [condition(rng), {"$or": [condition(rng), condition(rng)]}]}),
        _ => condition(rng),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_queries_match_the_oracle() {
    let test = "random_queries_match_the_oracle";
    let Some(url) = support::server_url(test) else {
        return;
    };
    let store = support::fresh_store(&url, test, Arc::new(SystemClock)).await;
    let pool = "fuzz";
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    // Half the tasks have their own filter (stored), half a definition that
    // is their filter (stored once, as `def`): queries on `filter.<path>`
    // must match both layouts as the oracle does.
    let tasks: Vec<NewTask> = (0..80)
        .map(|i| {
            let document = filter_document(&mut rng);
            match i % 2 {
                0 => NewTask {
                    def: json!({"i": i}),
                    filter: Some(document),
                    priority: None,
                    max_attempts: None,
                },
                _ => NewTask::from(document),
            }
        })
        .collect();
    let distinct: BTreeSet<String> = tasks
        .iter()
        .map(|t| task_store::content_key(&t.def))
        .collect();
    store.create(pool, CreateParams::new(tasks)).await.unwrap();
    let all = store.query(pool, QueryParams::default()).await.unwrap();
    assert_eq!(all.len(), distinct.len());
    assert!(
        all.len() > 60,
        "too many repeated definitions: {}",
        all.len()
    );
    let mut checked = 0;
    while checked < 300 {
        let text = query(&mut rng);
        let Ok(q) = Query::parse(&text) else {
            continue;
        };
        checked += 1;
        let expected: BTreeSet<TaskId> =
            all.iter().filter(|t| q.matches(t)).map(|t| t.id).collect();
        let got: BTreeSet<TaskId> = store
            .query(pool, QueryParams::from(q.clone()))
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(got, expected, "query {text}");
        let mut stat = Stat::default();
        stat.add(task_store::Status::Waiting, expected.len() as u64);
        assert_eq!(store.stat(pool, &q).await.unwrap(), stat, "stat {text}");
    }
    // Before the multi-thread runtime stops (see `closing`).
    store.close().await;
}
