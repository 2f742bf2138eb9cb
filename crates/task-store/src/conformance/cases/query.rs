//! The query language: one case per operator and kind rule of
//! [`crate::query`], each with the expected matches written out (so the
//! oracle itself is checked), run through the backend's `query` and `stat`.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::conformance::{Ctx, claim_params, query};
use crate::error::ErrorKind;
use crate::id::TaskId;
use crate::params::{CreateParams, NewTask};
use crate::query::Query;
use crate::task::Status;

/// Tasks created from labelled filter documents (one batch, so `_id` order
/// is the order of `docs`).
struct Seeded<'a> {
    ctx: &'a Ctx,
    ids: Vec<TaskId>,
    labels: HashMap<TaskId, &'static str>,
}

impl<'a> Seeded<'a> {
    async fn new(ctx: &'a Ctx, docs: &[(&'static str, Value)]) -> Seeded<'a> {
        Seeded::with_priorities(ctx, docs, &[]).await
    }

    async fn with_priorities(
        ctx: &'a Ctx,
        docs: &[(&'static str, Value)],
        priorities: &[i64],
    ) -> Seeded<'a> {
        let tasks = docs.iter().enumerate().map(|(i, (label, filter))| NewTask {
            def: json!({"label": label}),
            filter: Some(filter.clone()),
            priority: priorities.get(i).copied(),
            max_attempts: None,
        });
        let created = ctx.create_with(CreateParams::new(tasks)).await;
        assert!(created.iter().all(|c| c.new), "labels must be distinct");
        let ids: Vec<TaskId> = created.iter().map(|c| c.id).collect();
        let labels = ids.iter().copied().zip(docs.iter().map(|d| d.0)).collect();
        Seeded { ctx, ids, labels }
    }

    /// The id of a label.
    fn id(&self, label: &str) -> TaskId {
        *self
            .labels
            .iter()
            .find(|(_, l)| **l == label)
            .unwrap_or_else(|| panic!("no label {label}"))
            .0
    }

    /// The labels of the tasks matching `q`, in `_id` order; checks that
    /// `stat` counts the same tasks.
    async fn matching(&self, q: Value) -> Vec<&'static str> {
        self.matching_query(&q.to_string(), &query(q)).await
    }

    async fn matching_query(&self, text: &str, q: &Query) -> Vec<&'static str> {
        let tasks = self.ctx.find(q).await;
        let stat = self.ctx.stat_of(q).await;
        assert_eq!(
            stat.total(),
            tasks.len() as u64,
            "stat and query disagree on {text}"
        );
        tasks
            .iter()
            .map(|t| {
                *self
                    .labels
                    .get(&t.id)
                    .unwrap_or_else(|| panic!("query {text} returned an unknown task"))
            })
            .collect()
    }
}

fn rejected(q: Value) {
    assert_eq!(
        Query::parse(&q).unwrap_err().kind(),
        ErrorKind::InvalidQuery,
        "{q} must be rejected"
    );
}

/// `{}` (and empty text) matches every task.
pub async fn query_empty_matches_all(ctx: &Ctx) {
    let s = Seeded::new(ctx, &[("a", json!({"a": 1})), ("empty", json!({}))]).await;
    assert_eq!(s.matching(json!({})).await, ["a", "empty"]);
    let all = Query::parse_str("").unwrap();
    assert_eq!(s.matching_query("", &all).await, ["a", "empty"]);
}

/// `$eq` (and the bare value) matches a scalar of the same kind and value.
pub async fn query_eq_matches_same_kind(ctx: &Ctx) {
    let s = Seeded::new(
        ctx,
        &[
            ("s", json!({"a": "LGB"})),
            ("lower", json!({"a": "lgb"})),
            ("n", json!({"a": 5})),
            ("f", json!({"a": 5.5})),
            ("b", json!({"a": true})),
            ("nul", json!({"a": null})),
            ("miss", json!({})),
            ("arr", json!({"a": ["LGB"]})),
            ("obj", json!({"a": {"class": "LGB"}})),
        ],
    )
    .await;
    assert_eq!(s.matching(json!({"filter.a": "LGB"})).await, ["s"]);
    assert_eq!(s.matching(json!({"filter.a": {"$eq": 5}})).await, ["n"]);
    assert_eq!(s.matching(json!({"filter.a": 5.5})).await, ["f"]);
    assert_eq!(s.matching(json!({"filter.a": true})).await, ["b"]);
    assert_eq!(s.matching(json!({"filter.a.class": "LGB"})).await, ["obj"]);
}

/// `$eq: null` matches a missing field or `null`, nothing else.
pub async fn query_null_matches_missing(ctx: &Ctx) {
    let s = Seeded::new(
        ctx,
        &[
            ("missing", json!({})),
            ("null", json!({"a": null})),
            ("zero", json!({"a": 0})),
            ("empty", json!({"a": ""})),
            ("false", json!({"a": false})),
            ("nested_null", json!({"a": {"b": null}})),
        ],
    )
    .await;
    assert_eq!(
        s.matching(json!({"filter.a": null})).await,
        ["missing", "null"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$eq": null}})).await,
        ["missing", "null"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$in": [null]}})).await,
        ["missing", "null"]
    );
    assert_eq!(
        s.matching(json!({"filter.a.b": null})).await,
        ["missing", "null", "zero", "empty", "false", "nested_null"]
    );
}

/// `$ne: v` is the negation of `$eq: v`: it matches missing fields and other kinds.
pub async fn query_ne_matches_missing(ctx: &Ctx) {
    let s = Seeded::new(
        ctx,
        &[
            ("one", json!({"a": 1})),
            ("onef", json!({"a": 1.0})),
            ("str", json!({"a": "1"})),
            ("t", json!({"a": true})),
            ("nul", json!({"a": null})),
            ("miss", json!({})),
            ("arr", json!({"a": [1]})),
        ],
    )
    .await;
    assert_eq!(
        s.matching(json!({"filter.a": {"$ne": 1}})).await,
        ["str", "t", "nul", "miss", "arr"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$ne": null}})).await,
        ["one", "onef", "str", "t", "arr"]
    );
}

/// `$in` matches when `$eq` matches some element.
pub async fn query_in_matches_any_element(ctx: &Ctx) {
    let s = Seeded::new(
        ctx,
        &[
            ("x", json!({"a": "x"})),
            ("y", json!({"a": "y"})),
            ("two", json!({"a": 2})),
            ("twof", json!({"a": 2.0})),
            ("t", json!({"a": true})),
            ("arr", json!({"a": ["x"]})),
        ],
    )
    .await;
    assert_eq!(
        s.matching(json!({"filter.a": {"$in": ["x", 2, false]}}))
            .await,
        ["x", "two", "twof"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$in": [true, "y"]}})).await,
        ["y", "t"]
    );
}

/// An empty `$in` matches nothing (an empty `$nin` everything), on every field.
pub async fn query_empty_in_matches_nothing(ctx: &Ctx) {
    let s = Seeded::new(ctx, &[("a", json!({"a": 1})), ("miss", json!({}))]).await;
    assert!(
        s.matching(json!({"filter.a": {"$in": []}}))
            .await
            .is_empty()
    );
    assert!(s.matching(json!({"_id": {"$in": []}})).await.is_empty());
    assert!(s.matching(json!({"status": {"$in": []}})).await.is_empty());
    assert!(
        s.matching(json!({"priority": {"$in": []}}))
            .await
            .is_empty()
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$nin": []}})).await,
        ["a", "miss"]
    );
    assert_eq!(
        s.matching(json!({"_id": {"$nin": []}})).await,
        ["a", "miss"]
    );
}

/// `$nin` matches when `$in` does not: missing fields match unless `null` is listed.
pub async fn query_nin_excludes_listed_and_matches_missing(ctx: &Ctx) {
    let s = Seeded::new(
        ctx,
        &[
            ("one", json!({"a": 1})),
            ("two", json!({"a": 2})),
            ("str", json!({"a": "1"})),
            ("nul", json!({"a": null})),
            ("miss", json!({})),
            ("arr", json!({"a": [1]})),
        ],
    )
    .await;
    assert_eq!(
        s.matching(json!({"filter.a": {"$nin": [1, "1"]}})).await,
        ["two", "nul", "miss", "arr"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$nin": [null, 2]}})).await,
        ["one", "str", "arr"]
    );
}

/// `$gt $gte $lt $lte` match only fields of the operand's kind (number or string).
pub async fn query_comparisons_skip_other_kinds(ctx: &Ctx) {
    let s = Seeded::new(
        ctx,
        &[
            ("three", json!({"a": 3})),
            ("seven", json!({"a": 7})),
            ("sevenhalf", json!({"a": 7.5})),
            ("abc", json!({"a": "abc"})),
            ("str7", json!({"a": "7"})),
            ("t", json!({"a": true})),
            ("nul", json!({"a": null})),
            ("miss", json!({})),
            ("arr", json!({"a": [8]})),
            ("doc", json!({"a": {"b": 9}})),
        ],
    )
    .await;
    assert_eq!(
        s.matching(json!({"filter.a": {"$gt": 5}})).await,
        ["seven", "sevenhalf"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$lte": 7}})).await,
        ["three", "seven"]
    );
    assert_eq!(s.matching(json!({"filter.a": {"$gt": "a"}})).await, ["abc"]);
    assert_eq!(
        s.matching(json!({"filter.a": {"$lt": "a"}})).await,
        ["str7"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$gte": -1e308}})).await,
        ["three", "seven", "sevenhalf"]
    );
    rejected(json!({"filter.a": {"$gt": true}}));
    rejected(json!({"filter.a": {"$lt": null}}));
}

/// `$exists: true` matches a present field, even `null`; `false` a missing one.
pub async fn query_exists_counts_null_as_present(ctx: &Ctx) {
    let s = Seeded::new(
        ctx,
        &[
            ("missing", json!({})),
            ("null", json!({"a": null})),
            ("zero", json!({"a": 0})),
            ("nested", json!({"a": {"b": 1}})),
            ("arr", json!({"a": [{"b": 1}]})),
        ],
    )
    .await;
    assert_eq!(
        s.matching(json!({"filter.a": {"$exists": true}})).await,
        ["null", "zero", "nested", "arr"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$exists": false}})).await,
        ["missing"]
    );
    assert_eq!(
        s.matching(json!({"filter.a.b": {"$exists": true}})).await,
        ["nested"]
    );
    assert_eq!(
        s.matching(json!({"filter.a.b": {"$exists": false}})).await,
        ["missing", "null", "zero", "arr"]
    );
}

/// Booleans are not numbers: `true` never equals `1`, and booleans take no ordering.
pub async fn query_bool_is_not_number(ctx: &Ctx) {
    let s = Seeded::new(
        ctx,
        &[
            ("t", json!({"a": true})),
            ("f", json!({"a": false})),
            ("one", json!({"a": 1})),
            ("zero", json!({"a": 0})),
            ("onef", json!({"a": 1.0})),
            ("str", json!({"a": "true"})),
        ],
    )
    .await;
    assert_eq!(s.matching(json!({"filter.a": true})).await, ["t"]);
    assert_eq!(s.matching(json!({"filter.a": false})).await, ["f"]);
    assert_eq!(s.matching(json!({"filter.a": 1})).await, ["one", "onef"]);
    assert_eq!(s.matching(json!({"filter.a": 0})).await, ["zero"]);
    assert_eq!(
        s.matching(json!({"filter.a": {"$in": [true, 0]}})).await,
        ["t", "zero"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$gte": 0}})).await,
        ["one", "zero", "onef"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$ne": true}})).await,
        ["f", "one", "zero", "onef", "str"]
    );
}

/// Numbers compare numerically whatever their spelling: `1 == 1.0`, `-0.0 == 0`.
pub async fn query_numbers_compare_across_int_float(ctx: &Ctx) {
    let s = Seeded::new(
        ctx,
        &[
            ("i1", json!({"a": 1})),
            ("f1", json!({"a": 1.0})),
            ("f15", json!({"a": 1.5})),
            ("i2", json!({"a": 2})),
            ("neg0", json!({"a": -0.0})),
            ("zero", json!({"a": 0})),
        ],
    )
    .await;
    assert_eq!(s.matching(json!({"filter.a": 1})).await, ["i1", "f1"]);
    assert_eq!(s.matching(json!({"filter.a": 1.0})).await, ["i1", "f1"]);
    assert_eq!(
        s.matching(json!({"filter.a": {"$gt": 1}})).await,
        ["f15", "i2"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$lt": 1.5}})).await,
        ["i1", "f1", "neg0", "zero"]
    );
    assert_eq!(s.matching(json!({"filter.a": 0})).await, ["neg0", "zero"]);
    assert_eq!(
        s.matching(json!({"filter.a": {"$in": [2.0]}})).await,
        ["i2"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$gte": 1.0, "$lte": 1}}))
            .await,
        ["i1", "f1"]
    );
}

/// Integers beyond 2^53 compare exactly against integers and floats (no
/// rounding through `f64`).
pub async fn query_large_integers_compare_exactly(ctx: &Ctx) {
    const P53: i64 = 1 << 53;
    let s = Seeded::new(
        ctx,
        &[
            ("p53", json!({"a": P53})),
            ("p53f", json!({"a": P53 as f64})),
            ("p53p1", json!({"a": P53 + 1})),
            ("max", json!({"a": i64::MAX})),
            ("min", json!({"a": i64::MIN})),
            ("e19", json!({"a": 1e19})),
            ("huge", json!({"a": 1e300})),
        ],
    )
    .await;
    assert_eq!(s.matching(json!({"filter.a": P53 + 1})).await, ["p53p1"]);
    assert_eq!(s.matching(json!({"filter.a": P53})).await, ["p53", "p53f"]);
    assert_eq!(
        s.matching(json!({"filter.a": P53 as f64})).await,
        ["p53", "p53f"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$gt": P53 as f64}})).await,
        ["p53p1", "max", "e19", "huge"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$gt": i64::MAX}})).await,
        ["e19", "huge"]
    );
    assert_eq!(s.matching(json!({"filter.a": i64::MAX})).await, ["max"]);
    assert!(
        s.matching(json!({"filter.a": 9.223_372_036_854_776e18}))
            .await
            .is_empty(),
        "i64::MAX is not 2^63"
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$lt": 9.223_372_036_854_776e18}}))
            .await,
        ["p53", "p53f", "p53p1", "max", "min"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$lt": i64::MIN + 1}})).await,
        ["min"]
    );
}

/// Strings compare by the bytes of their UTF-8 encoding (code point order,
/// case-sensitive), not by UTF-16 units or a collation.
pub async fn query_string_order_is_bytewise(ctx: &Ctx) {
    let s = Seeded::new(
        ctx,
        &[
            ("upper_b", json!({"a": "B"})),
            ("a", json!({"a": "a"})),
            ("ab", json!({"a": "ab"})),
            ("abc", json!({"a": "abc"})),
            ("e_acute", json!({"a": "é"})),
            ("fullwidth_z", json!({"a": "\u{FF5A}"})),
            ("emoji", json!({"a": "\u{1F600}"})),
            ("empty", json!({"a": ""})),
        ],
    )
    .await;
    assert_eq!(
        s.matching(json!({"filter.a": {"$gt": "a"}})).await,
        ["ab", "abc", "e_acute", "fullwidth_z", "emoji"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$lt": "a"}})).await,
        ["upper_b", "empty"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$gt": "\u{FF5A}"}})).await,
        ["emoji"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$gt": "é", "$lt": "\u{1F600}"}}))
            .await,
        ["fullwidth_z"]
    );
    assert_eq!(s.matching(json!({"filter.a": {"$gte": ""}})).await.len(), 8);
    assert!(s.matching(json!({"filter.a": "b"})).await.is_empty());
    assert_eq!(s.matching(json!({"filter.a": "é"})).await, ["e_acute"]);
}

/// Arrays are not traversed: no element matching, no paths through arrays.
pub async fn query_does_not_traverse_arrays(ctx: &Ctx) {
    let s = Seeded::new(
        ctx,
        &[
            ("arr", json!({"a": [1, 2]})),
            ("arrdocs", json!({"a": [{"b": 1}]})),
            ("one", json!({"a": 1})),
            ("nested", json!({"a": {"b": 1}})),
            ("empty", json!({"a": []})),
            ("strs", json!({"a": ["x"]})),
        ],
    )
    .await;
    assert_eq!(s.matching(json!({"filter.a": 1})).await, ["one"]);
    assert_eq!(
        s.matching(json!({"filter.a": {"$in": [1, 2]}})).await,
        ["one"]
    );
    assert_eq!(s.matching(json!({"filter.a": {"$gt": 0}})).await, ["one"]);
    assert!(s.matching(json!({"filter.a": "x"})).await.is_empty());
    assert_eq!(s.matching(json!({"filter.a.b": 1})).await, ["nested"]);
    assert_eq!(
        s.matching(json!({"filter.a.b": {"$exists": true}})).await,
        ["nested"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$ne": 1}})).await,
        ["arr", "arrdocs", "nested", "empty", "strs"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$nin": [1]}})).await,
        ["arr", "arrdocs", "nested", "empty", "strs"]
    );
    rejected(json!({"filter.a.0": 1}));
    rejected(json!({"filter.a": [1, 2]}));
    rejected(json!({"filter.a": {"$in": [[1, 2]]}}));
}

/// A path through a missing segment or a non-object value is missing.
pub async fn query_nested_path_through_non_object_is_missing(ctx: &Ctx) {
    let s = Seeded::new(
        ctx,
        &[
            ("deep", json!({"a": {"b": {"c": 1}}})),
            ("scalar", json!({"a": 5})),
            ("str", json!({"a": "b"})),
            ("nul", json!({"a": null})),
            ("shallow", json!({"a": {"b": 2}})),
            ("missing", json!({})),
        ],
    )
    .await;
    assert_eq!(s.matching(json!({"filter.a.b.c": 1})).await, ["deep"]);
    let missing = ["scalar", "str", "nul", "shallow", "missing"];
    assert_eq!(s.matching(json!({"filter.a.b.c": null})).await, missing);
    assert_eq!(
        s.matching(json!({"filter.a.b.c": {"$exists": false}}))
            .await,
        missing
    );
    assert_eq!(
        s.matching(json!({"filter.a.b": {"$exists": true}})).await,
        ["deep", "shallow"]
    );
    assert_eq!(
        s.matching(json!({"filter.a.b": {"$ne": 2}})).await,
        ["deep", "scalar", "str", "nul", "missing"]
    );
    assert_eq!(
        s.matching(json!({"filter.a.b.c": {"$lt": 100}})).await,
        ["deep"]
    );
}

/// Documents and arrays stored in `filter` match only `$exists` and the
/// negations; whole-document operands are rejected.
pub async fn query_documents_match_only_exists_and_negations(ctx: &Ctx) {
    let s = Seeded::new(
        ctx,
        &[
            ("doc", json!({"a": {"b": 1}})),
            ("emptydoc", json!({"a": {}})),
            ("arr", json!({"a": [1]})),
            ("one", json!({"a": 1})),
        ],
    )
    .await;
    assert_eq!(
        s.matching(json!({"filter.a": {"$exists": true}})).await,
        ["doc", "emptydoc", "arr", "one"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$ne": 1}})).await,
        ["doc", "emptydoc", "arr"]
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$nin": [1, null]}})).await,
        ["doc", "emptydoc", "arr"]
    );
    assert!(s.matching(json!({"filter.a": null})).await.is_empty());
    assert!(
        s.matching(json!({"filter.a": {"$gte": ""}}))
            .await
            .is_empty()
    );
    assert_eq!(
        s.matching(json!({"filter.a": {"$lte": 1e308}})).await,
        ["one"]
    );
    rejected(json!({"filter.a": {"b": 1}}));
    rejected(json!({"filter.a": {"$eq": {}}}));
}

/// Several operators on one path, and several top-level keys, combine with AND.
pub async fn query_operators_on_one_path_combine_with_and(ctx: &Ctx) {
    let docs: Vec<(&'static str, Value)> = ["n1", "n2", "n3", "n4", "n5", "n6"]
        .iter()
        .enumerate()
        .map(|(i, l)| (*l, json!({"n": i + 1, "odd": i % 2 == 0})))
        .collect();
    let s = Seeded::new(ctx, &docs).await;
    assert_eq!(
        s.matching(json!({"filter.n": {"$gt": 2, "$lte": 5}})).await,
        ["n3", "n4", "n5"]
    );
    assert_eq!(
        s.matching(json!({"filter.n": {"$gte": 2, "$ne": 4, "$nin": [6]}}))
            .await,
        ["n2", "n3", "n5"]
    );
    assert_eq!(
        s.matching(json!({"filter.n": {"$gt": 1}, "filter.odd": true}))
            .await,
        ["n3", "n5"]
    );
    assert!(
        s.matching(json!({"filter.n": {"$gt": 4, "$lt": 2}}))
            .await
            .is_empty()
    );
}

/// `$and` and `$or` combine sub-queries, nested either way.
pub async fn query_and_or_combine(ctx: &Ctx) {
    let s = Seeded::new(
        ctx,
        &[
            ("lgb5", json!({"model": "LGB", "h": 5})),
            ("lgb10", json!({"model": "LGB", "h": 10})),
            ("mlp5", json!({"model": "MLP", "h": 5})),
            ("mlp10", json!({"model": "MLP", "h": 10})),
            ("lin20", json!({"model": "Linear", "h": 20})),
        ],
    )
    .await;
    assert_eq!(
        s.matching(json!({"$or": [{"filter.model": "MLP"}, {"filter.h": 20}]}))
            .await,
        ["mlp5", "mlp10", "lin20"]
    );
    assert_eq!(
        s.matching(json!({"$and": [{"filter.model": "LGB"}, {"filter.h": {"$gt": 5}}]}))
            .await,
        ["lgb10"]
    );
    assert_eq!(
        s.matching(json!({"$or": [
            {"$and": [{"filter.model": "LGB"}, {"filter.h": 5}]},
            {"$and": [{"filter.model": "MLP"}, {"filter.h": 10}]},
        ]}))
        .await,
        ["lgb5", "mlp10"]
    );
    assert_eq!(
        s.matching(json!({
            "filter.model": {"$ne": "Linear"},
            "$or": [{"filter.h": 5}, {"filter.h": 20}],
        }))
        .await,
        ["lgb5", "mlp5"]
    );
    assert_eq!(
        s.matching(json!({"$and": [
            {"$or": [{"filter.h": 5}, {"filter.h": 10}]},
            {"$or": [{"filter.model": "Linear"}, {"filter.model": "MLP"}]},
        ]}))
        .await,
        ["mlp5", "mlp10"]
    );
    assert!(
        s.matching(json!({"$or": [{"filter.x": {"$exists": true}}]}))
            .await
            .is_empty()
    );
}

/// `status` takes `$eq $ne $in $nin` over status names.
pub async fn query_on_status(ctx: &Ctx) {
    let labels = ["w", "r", "p", "d", "f"];
    let docs: Vec<_> = labels.iter().map(|l| (*l, json!({"l": l}))).collect();
    let s = Seeded::new(ctx, &docs).await;
    for (label, target) in [("p", Status::PartDone), ("d", Status::Done)] {
        let task = claim_by_id(ctx, s.id(label)).await;
        ctx.commit(&task, target, json!(label)).await.unwrap();
    }
    let failed = claim_by_id(ctx, s.id("f")).await;
    ctx.return_task(&failed, None, Some(Status::Failed))
        .await
        .unwrap();
    claim_by_id(ctx, s.id("r")).await;
    assert_eq!(s.matching(json!({"status": "waiting"})).await, ["w"]);
    assert_eq!(s.matching(json!({"status": "running"})).await, ["r"]);
    assert_eq!(
        s.matching(json!({"status": {"$in": ["part_done", "failed"]}}))
            .await,
        ["p", "f"]
    );
    assert_eq!(
        s.matching(json!({"status": {"$ne": "done"}})).await,
        ["w", "r", "p", "f"]
    );
    assert_eq!(
        s.matching(json!({"status": {"$nin": ["waiting", "running"]}}))
            .await,
        ["p", "d", "f"]
    );
    let done = Query::status(Status::Done);
    assert_eq!(s.matching_query("status done", &done).await, ["d"]);
    let undone = Query::statuses(&[Status::Waiting, Status::Running, Status::PartDone]);
    assert_eq!(s.matching_query("undone", &undone).await, ["w", "r", "p"]);
    assert_eq!(
        s.matching(json!({"status": "done", "filter.l": "d"})).await,
        ["d"]
    );
}

/// `priority` and `attempts` compare as numbers (integer or float operands).
pub async fn query_on_priority_and_attempts(ctx: &Ctx) {
    let docs: Vec<_> = ["m2", "z", "t1", "t2", "ten"]
        .iter()
        .map(|l| (*l, json!({"l": l})))
        .collect();
    let s = Seeded::with_priorities(ctx, &docs, &[-2, 0, 3, 3, 10]).await;
    ctx.claim(2).await;
    ctx.clock.advance(crate::conformance::LEASE);
    ctx.claim(1).await;
    assert_eq!(s.matching(json!({"priority": 3})).await, ["t1", "t2"]);
    assert_eq!(s.matching(json!({"priority": 3.0})).await, ["t1", "t2"]);
    assert_eq!(
        s.matching(json!({"priority": {"$gte": 0, "$lt": 10}}))
            .await,
        ["z", "t1", "t2"]
    );
    assert_eq!(
        s.matching(json!({"priority": {"$gt": 2.5}})).await,
        ["t1", "t2", "ten"]
    );
    assert_eq!(s.matching(json!({"priority": {"$lt": 0}})).await, ["m2"]);
    assert_eq!(s.matching(json!({"attempts": 2})).await, ["ten"]);
    assert_eq!(
        s.matching(json!({"attempts": {"$gte": 1}})).await,
        ["t1", "ten"]
    );
    assert_eq!(
        s.matching(json!({"attempts": {"$lt": 0.5}})).await,
        ["m2", "z", "t2"]
    );
}

/// `_id` compares as the 24-hex string (creation order), any case accepted.
pub async fn query_id_ranges(ctx: &Ctx) {
    let mut docs = Vec::new();
    for label in ["i0", "i1", "i2", "i3", "i4", "i5"] {
        docs.push((label, json!({"l": label})));
    }
    let mut ids = Vec::new();
    let mut labels = HashMap::new();
    for (label, doc) in &docs {
        let created = ctx
            .create_with(CreateParams::new([NewTask {
                def: json!({"label": label}),
                filter: Some(doc.clone()),
                priority: None,
                max_attempts: None,
            }]))
            .await;
        ids.push(created[0].id);
        labels.insert(created[0].id, *label);
        ctx.clock.advance(Duration::from_millis(700));
    }
    let s = Seeded { ctx, ids, labels };
    let id = |i: usize| s.ids[i].to_string();
    assert_eq!(
        s.matching(json!({"_id": {"$gt": id(2)}})).await,
        ["i3", "i4", "i5"]
    );
    assert_eq!(
        s.matching(json!({"_id": {"$lte": id(1)}})).await,
        ["i0", "i1"]
    );
    assert_eq!(
        s.matching(json!({"_id": id(4).to_uppercase()})).await,
        ["i4"]
    );
    assert_eq!(
        s.matching(json!({"_id": {"$in": [id(0), id(5)]}})).await,
        ["i0", "i5"]
    );
    assert_eq!(
        s.matching(json!({"_id": {"$nin": [id(0), id(5)]}})).await,
        ["i1", "i2", "i3", "i4"]
    );
    assert_eq!(s.matching(json!({"_id": {"$ne": id(0)}})).await.len(), 5);
    assert_eq!(
        s.matching(json!({"_id": {"$gte": id(1), "$lt": id(4)}}))
            .await,
        ["i1", "i2", "i3"]
    );
    assert_eq!(
        s.matching(json!({"_id": {"$gt": "000000000000000000000000"}}))
            .await
            .len(),
        6
    );
    assert_eq!(
        s.matching(json!({"_id": {"$lt": "ffffffffffffffffffffffff"}}))
            .await
            .len(),
        6
    );
    rejected(json!({"_id": "not-an-id"}));
    rejected(json!({"_id": 5}));
}

async fn claim_by_id(ctx: &Ctx, id: TaskId) -> crate::task::Task {
    let mut got = ctx
        .claim_with(claim_params("w", 1, Status::Waiting, Query::id(id)))
        .await;
    assert_eq!(got.len(), 1, "task {id} should be claimable");
    got.remove(0)
}
