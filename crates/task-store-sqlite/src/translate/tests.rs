//! The compiled SQL must select exactly what the oracle `Query::matches` does.

use proptest::prelude::*;
use rusqlite::Connection;
use serde_json::{Value, json};
use task_store::query::{Field, Op, Query, Scalar};
use task_store::{Status, Task, TaskId, Timestamp};

use super::{compile, json_path};

fn task(filter: Value, status: Status, priority: i64, attempts: u32) -> Task {
    let now = Timestamp::from_millis(0);
    Task {
        id: TaskId::generate(now),
        def: filter.clone(),
        filter,
        key: String::new(),
        status,
        priority,
        res: None,
        attempts,
        max_attempts: 3,
        lease: None,
        errors: Vec::new(),
        created_at: now,
        updated_at: now,
        started_at: None,
        finished_at: None,
    }
}

fn table(tasks: &[Task]) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE tasks (id TEXT, status TEXT, priority INTEGER, attempts INTEGER, filter TEXT)",
    )
    .unwrap();
    for t in tasks {
        conn.execute(
            "INSERT INTO tasks VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![
                t.id.to_string(),
                t.status.as_str(),
                t.priority,
                t.attempts,
                serde_json::to_string(&t.filter).unwrap()
            ],
        )
        .unwrap();
    }
    conn
}

fn selected(conn: &Connection, query: &Query) -> Vec<String> {
    let compiled = compile(query, 1);
    let sql = format!("SELECT id FROM tasks WHERE {} ORDER BY id", compiled.sql);
    let mut stmt = conn.prepare(&sql).unwrap();
    stmt.query_map(rusqlite::params_from_iter(compiled.params), |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn expected(tasks: &[Task], query: &Query) -> Vec<String> {
    let mut ids: Vec<String> = tasks
        .iter()
        .filter(|t| query.matches(t))
        .map(|t| t.id.to_string())
        .collect();
    ids.sort();
    ids
}

fn assert_agrees(tasks: &[Task], query: &Query) {
    let conn = table(tasks);
    assert_eq!(selected(&conn, query), expected(tasks, query), "{query:?}");
}

fn filters(values: &[Value]) -> Vec<Task> {
    values
        .iter()
        .map(|f| task(f.clone(), Status::Waiting, 0, 0))
        .collect()
}

fn q(value: Value) -> Query {
    Query::parse(&value).unwrap()
}

#[test]
fn compile_bool_is_not_number() {
    let tasks = filters(&[
        json!({"a": true}),
        json!({"a": 1}),
        json!({"a": 1.0}),
        json!({"a": false}),
        json!({"a": 0}),
    ]);
    for query in [
        json!({"filter.a": true}),
        json!({"filter.a": 1}),
        json!({"filter.a": {"$gte": 0}}),
        json!({"filter.a": {"$ne": true}}),
        json!({"filter.a": {"$in": [false, 1]}}),
    ] {
        assert_agrees(&tasks, &q(query));
    }
}

#[test]
fn compile_null_matches_missing() {
    let tasks = filters(&[
        json!({}),
        json!({"a": null}),
        json!({"a": 0}),
        json!({"a": {"b": null}}),
        json!([1]),
        json!(5),
    ]);
    for query in [
        json!({"filter.a": null}),
        json!({"filter.a": {"$ne": null}}),
        json!({"filter.a": {"$exists": true}}),
        json!({"filter.a": {"$exists": false}}),
        json!({"filter.a.b": null}),
        json!({"filter.a.b": {"$exists": true}}),
    ] {
        assert_agrees(&tasks, &q(query));
    }
}

#[test]
fn compile_arrays_and_objects_equal_no_scalar() {
    let tasks = filters(&[
        json!({"a": [1]}),
        json!({"a": {"b": 1}}),
        json!({"a": "[1]"}),
        json!({"a": 1}),
        json!({"a": [{"b": 1}]}),
    ]);
    for query in [
        json!({"filter.a": 1}),
        json!({"filter.a": "[1]"}),
        json!({"filter.a": {"$nin": [1]}}),
        json!({"filter.a": {"$gt": 0}}),
        json!({"filter.a.b": 1}),
    ] {
        assert_agrees(&tasks, &q(query));
    }
}

#[test]
fn compile_strings_order_bytewise() {
    let tasks = filters(&[
        json!({"a": "B"}),
        json!({"a": "a"}),
        json!({"a": "é"}),
        json!({"a": "z"}),
        json!({"a": "a\u{0}b"}),
        json!({"a": "10"}),
        json!({"a": 9}),
    ]);
    for query in [
        json!({"filter.a": {"$gt": "Z"}}),
        json!({"filter.a": {"$lt": "é"}}),
        json!({"filter.a": {"$gte": "a"}}),
        json!({"filter.a": {"$lte": "9"}}),
        json!({"filter.a": "a"}),
        json!({"filter.a": "a\u{0}b"}),
    ] {
        assert_agrees(&tasks, &q(query));
    }
}

#[test]
fn compile_numbers_compare_across_int_and_real() {
    let tasks = filters(&[
        json!({"a": 1}),
        json!({"a": 1.0}),
        json!({"a": 1.5}),
        json!({"a": i64::MAX}),
        json!({"a": i64::MIN}),
        json!({"a": u64::MAX}),
        json!({"a": 9_007_199_254_740_993_i64}),
        json!({"a": -0.0}),
        json!({"a": 1e300}),
        json!({"a": 1_u64 << 63}),
        json!({"a": (1_u64 << 63) + 1}),
        json!({"a": (1_u64 << 63) + 2048}),
        json!({"a": u64::MAX - 2048}),
        json!({"a": (1_u64 << 53) as f64}),
    ]);
    for query in [
        json!({"filter.a": 1}),
        json!({"filter.a": 1.0}),
        json!({"filter.a": {"$gt": 1}}),
        json!({"filter.a": {"$lt": 1.5}}),
        json!({"filter.a": i64::MAX}),
        json!({"filter.a": {"$gte": 9_007_199_254_740_992_i64}}),
        json!({"filter.a": 9_007_199_254_740_992.0}),
        json!({"filter.a": u64::MAX}),
        json!({"filter.a": 0}),
        json!({"filter.a": {"$lte": -1e308}}),
        json!({"filter.a": 9_223_372_036_854_775_808.0}),
        json!({"filter.a": {"$gt": 9_223_372_036_854_775_808.0}}),
        json!({"filter.a": {"$lte": 9_223_372_036_854_777_856.0}}),
        json!({"filter.a": 18_446_744_073_709_551_616.0}),
        json!({"filter.a": {"$lt": 18_446_744_073_709_551_616.0}}),
        json!({"filter.a": {"$gte": 18_446_744_073_709_549_568.0}}),
        json!({"filter.a": {"$gt": i64::MAX}}),
        json!({"filter.a": (1_i64 << 53) + 1}),
        json!({"filter.a": {"$lt": (1_i64 << 53) + 1}}),
    ] {
        assert_agrees(&tasks, &q(query));
    }
}

#[test]
fn compile_quotes_awkward_keys() {
    let keys = [
        "a b", "q\"t", "b\\s", "é", "n\nl", "x[0]", "*", "a'b", "\u{7f}", "日本",
    ];
    let tasks: Vec<Task> = keys
        .iter()
        .map(|k| task(json!({ *k: {"in": k}}), Status::Waiting, 0, 0))
        .collect();
    for k in keys {
        let field = Field::Filter(vec![k.to_string(), "in".to_string()]);
        let query = Query::Cond(field, Op::Eq(Scalar::String(k.to_string())));
        let conn = table(&tasks);
        assert_eq!(selected(&conn, &query).len(), 1, "{k:?}");
        assert_agrees(&tasks, &query);
    }
}

#[test]
fn compile_fixed_fields() {
    let mut tasks = Vec::new();
    for (i, status) in Status::ALL.into_iter().enumerate() {
        tasks.push(task(json!({}), status, i as i64 - 2, i as u32));
    }
    let id = tasks[2].id.to_string();
    for query in [
        json!({"status": {"$in": ["waiting", "done"]}}),
        json!({"status": {"$ne": "running"}}),
        json!({"priority": {"$gt": -1}}),
        json!({"priority": {"$lte": 0.5}}),
        json!({"attempts": 3}),
        json!({"attempts": {"$nin": [1, 2.0]}}),
        json!({"_id": id}),
        json!({"_id": {"$gt": id}}),
        json!({"priority": {"$exists": false}}),
        json!({"$or": [{"priority": 2}, {"status": "waiting"}]}),
    ] {
        assert_agrees(&tasks, &q(query));
    }
    let odd = [
        Query::Cond(Field::Id, Op::Eq(Scalar::Int(1))),
        Query::Cond(Field::Priority, Op::Eq(Scalar::Null)),
        Query::Cond(Field::Priority, Op::Ne(Scalar::String("0".into()))),
        Query::Cond(Field::Attempts, Op::Gt(Scalar::Float(f64::NAN))),
        Query::Cond(Field::Status, Op::Gt(Scalar::Bool(true))),
        Query::And(vec![]),
        Query::Or(vec![]),
        Query::Cond(Field::Priority, Op::In(vec![])),
        Query::Cond(Field::Priority, Op::Nin(vec![])),
    ];
    for query in odd {
        assert_agrees(&tasks, &query);
    }
}

#[test]
fn json_path_escapes_quotes_and_backslashes() {
    assert_eq!(json_path(&["a".into(), "b c".into()]), r#"$."a"."b c""#);
    assert_eq!(json_path(&["q\"\\".into()]), r#"$."q\"\\""#);
    assert_eq!(json_path(&["\n".into()]), r#"$."\u000a""#);
}

const KEYS: &[&str] = &["a", "b", "a b", "q\"t", "b\\s", "é", "n\nl", "x[0]"];

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(KEYS).prop_map(str::to_string)
}

/// Numbers around the edges of exact `f64` integers, `i64` and `u64`.
const EDGES: &[f64] = &[
    9_007_199_254_740_992.0,
    9_223_372_036_854_775_808.0,
    9_223_372_036_854_777_856.0,
    18_446_744_073_709_549_568.0,
    18_446_744_073_709_551_616.0,
];

fn number() -> impl Strategy<Value = Value> {
    let edge = prop::sample::select(EDGES);
    prop_oneof![
        edge.clone().prop_map(Value::from),
        (edge.clone(), -3i64..4).prop_map(|(e, d)| Value::from(
            (e as i128 + i128::from(d)).clamp(0, i128::from(u64::MAX)) as u64
        )),
        (edge, -3i64..4).prop_map(|(e, d)| Value::from(
            (e as i128 + i128::from(d)).min(i128::from(i64::MAX)) as i64
        )),
        (-3i64..4).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::sample::select(vec![
            0.0,
            -0.0,
            0.5,
            1.0,
            2.5,
            -1.5,
            1e20,
            9.007_199_254_740_993e15
        ])
        .prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
    ]
}

fn string() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "", "a", "ab", "b", "B", "é", "\u{0}", "a\u{0}", "1", "10", "true", "null",
    ])
    .prop_map(str::to_string)
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        string().prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn filter() -> impl Strategy<Value = Value> {
    prop_oneof![
        9 => prop::collection::btree_map(key(), value(), 0..4)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        1 => value(),
    ]
}

fn scalar() -> impl Strategy<Value = Scalar> {
    leaf().prop_map(|v| match v {
        Value::Null => Scalar::Null,
        Value::Bool(b) => Scalar::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Scalar::Int(i),
            None => Scalar::Float(n.as_f64().unwrap()),
        },
        Value::String(s) => Scalar::String(s),
        _ => unreachable!("leaves are scalars"),
    })
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        6 => prop::collection::vec(key(), 1..3).prop_map(Field::Filter),
        1 => Just(Field::Priority),
        1 => Just(Field::Attempts),
        1 => Just(Field::Status),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        scalar().prop_map(Op::Eq),
        scalar().prop_map(Op::Ne),
        prop::collection::vec(scalar(), 0..3).prop_map(Op::In),
        prop::collection::vec(scalar(), 0..3).prop_map(Op::Nin),
        scalar().prop_map(Op::Gt),
        scalar().prop_map(Op::Gte),
        scalar().prop_map(Op::Lt),
        scalar().prop_map(Op::Lte),
        any::<bool>().prop_map(Op::Exists),
    ]
}

fn query() -> impl Strategy<Value = Query> {
    let cond = (field(), op()).prop_map(|(f, o)| Query::Cond(f, o));
    cond.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Query::And),
            prop::collection::vec(inner, 0..3).prop_map(Query::Or),
        ]
    })
}

fn tasks() -> impl Strategy<Value = Vec<Task>> {
    let status = prop::sample::select(Status::ALL.to_vec());
    prop::collection::vec((filter(), status, -2i64..3, 0u32..4), 1..8).prop_map(|rows| {
        rows.into_iter()
            .map(|(f, s, p, a)| task(f, s, p, a))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn compile_agrees_with_the_oracle(tasks in tasks(), queries in prop::collection::vec(query(), 1..6)) {
        let conn = table(&tasks);
        for query in &queries {
            prop_assert_eq!(selected(&conn, query), expected(&tasks, query), "{:?}", query);
        }
    }
}
