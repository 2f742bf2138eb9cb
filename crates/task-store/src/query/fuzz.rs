//! Fuzzing the query parser with property tests: arbitrary text, arbitrary
//! JSON built from the query vocabulary, and mutations of valid queries.
//! Whatever the input, parsing never panics and every refusal is
//! `InvalidQuery`; a query that parses can be evaluated on any task.
//!
//! `TASKPOOL_FUZZ_CASES` sets the inputs per property and
//! `TASKPOOL_PROPTEST_SEED` replays a run (see [`crate::fuzz`]).

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::Query;
use crate::ErrorKind;
use crate::fuzz::{json_scalar, mutated, runner};
use crate::id::TaskId;
use crate::key::content_key;
use crate::task::{Status, Task};
use crate::time::Timestamp;

const VALID: &[&str] = &[
    r#"{"filter.model": "lgb"}"#,
    r#"{"status": {"$in": ["waiting", "done"]}, "priority": {"$gte": 2}}"#,
    r#"{"$or": [{"filter.a.b": {"$exists": false}}, {"attempts": {"$lt": 3}}]}"#,
    r#"{"_id": {"$in": ["65a0c0ffee0000000000abcd"]}, "filter.x": {"$ne": null}}"#,
    r#"{"$and": [{"filter.n": {"$gt": 1.5, "$lte": 9}}, {"filter.s": {"$nin": ["a", 1, true]}}]}"#,
];

const KEYS: &[&str] = &[
    "$and",
    "$or",
    "$nor",
    "$not",
    "$where",
    "$eq",
    "$ne",
    "$in",
    "$nin",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$exists",
    "$regex",
    "status",
    "priority",
    "attempts",
    "_id",
    "filter",
    "filter.a",
    "filter.a.b",
    "filter.",
    "def.x",
    "res",
    "",
    ".",
    "filter..a",
    "filter.$x",
];

fn sample_tasks() -> Vec<Task> {
    let now = Timestamp::from_millis(1_767_225_600_000);
    [
        json!({"model": "lgb", "a": {"b": 1}, "n": 2.5, "s": "a"}),
        json!([1, {"x": null}]),
        json!(null),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, def)| Task {
        id: TaskId::generate(now),
        key: content_key(&def),
        filter: def.clone(),
        def,
        status: Status::ALL[i % Status::ALL.len()],
        priority: i as i64 - 1,
        res: None,
        attempts: i as u32,
        max_attempts: 3,
        lease: None,
        errors: Vec::new(),
        created_at: now,
        updated_at: now,
        started_at: None,
        finished_at: None,
    })
    .collect()
}

/// Parsing `outcome` either succeeded (then evaluating never panics) or
/// failed with `InvalidQuery`.
fn check(outcome: crate::Result<Query>, tasks: &[Task]) -> Result<(), TestCaseError> {
    match outcome {
        Ok(query) => {
            for task in tasks {
                query.matches(task);
            }
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::InvalidQuery => Ok(()),
        Err(e) => Err(TestCaseError::fail(format!("{:?}: {e}", e.kind()))),
    }
}

/// Any JSON scalar ([`json_scalar`]), or one of the words queries match on
/// (as often as each other kind of scalar).
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => json_scalar(12),
        1 => prop::sample::select(vec![
            "waiting",
            "done",
            "running",
            "lgb",
            "",
            "65a0c0ffee0000000000abcd"
        ])
        .prop_map(|s| json!(s)),
    ]
}

fn query_json() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..5).prop_map(|entries| {
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

#[test]
fn parse_str_never_panics_on_arbitrary_text() {
    let tasks = sample_tasks();
    runner("query: arbitrary text")
        .run(&any::<String>(), |text| {
            check(Query::parse_str(&text), &tasks)
        })
        .unwrap();
}

#[test]
fn parse_never_panics_on_arbitrary_query_json() {
    let tasks = sample_tasks();
    runner("query: arbitrary query JSON")
        .run(&query_json(), |value| check(Query::parse(&value), &tasks))
        .unwrap();
}

#[test]
fn parse_str_never_panics_on_mutated_queries() {
    let tasks = sample_tasks();
    for text in VALID {
        Query::parse_str(text).expect("the seeds are valid queries");
    }
    runner("query: mutated queries")
        .run(&mutated(VALID), |text| {
            check(Query::parse_str(&text), &tasks)
        })
        .unwrap();
}
