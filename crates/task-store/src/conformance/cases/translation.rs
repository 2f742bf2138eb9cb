//! Table-driven check of query translation: a fixed set of filter documents
//! chosen where SQL or MongoDB translations plausibly differ from the oracle
//! (type brackets, null vs missing, bool vs number, nested missing paths,
//! arrays, int vs float, large integers, unicode, odd key names, empty `$in`,
//! `$nin` with null, `$or` of `$and`, `_id` ranges), times many queries; the
//! backend's `query` and `stat` must equal [`Query::matches`] over the same tasks.

use serde_json::{Value, json};

use crate::conformance::{Ctx, LEASE, query};
use crate::id::TaskId;
use crate::params::{CreateParams, NewTask, QueryParams};
use crate::query::Query;
use crate::task::{Stat, Status, Task};

fn documents() -> Vec<Value> {
    vec![
        json!({}),
        json!({"a": null}),
        json!({"a": true}),
        json!({"a": false}),
        json!({"a": 0}),
        json!({"a": 1}),
        json!({"a": 1.0}),
        json!({"a": 1.5}),
        json!({"a": -0.0}),
        json!({"a": -7}),
        json!({"a": 1_i64 << 53}),
        json!({"a": (1_i64 << 53) + 1}),
        json!({"a": (1_i64 << 53) as f64}),
        json!({"a": i64::MAX}),
        json!({"a": i64::MIN}),
        json!({"a": 1e300}),
        json!({"a": 0.1}),
        json!({"a": ""}),
        json!({"a": "1"}),
        json!({"a": "true"}),
        json!({"a": "abc"}),
        json!({"a": "ab"}),
        json!({"a": "B"}),
        json!({"a": "é"}),
        json!({"a": "\u{FF5A}"}),
        json!({"a": "\u{1F600}"}),
        json!({"a": [1, 2]}),
        json!({"a": [null]}),
        json!({"a": []}),
        json!({"a": {"b": 1}}),
        json!({"a": {"b": null}}),
        json!({"a": {"b": {"c": "x"}}}),
        json!({"a": [{"b": 1}]}),
        json!({"a": {}}),
        json!({"a": {"b": [1]}}),
        json!({"a": {"b": 1.0}, "c": "x"}),
        json!({"a": {"b": "1"}, "c": ["x"]}),
        json!({"c": "x", "a b": 1, "ключ": 2, "q\"k": 3, "it's": 4}),
    ]
}

fn filter_queries() -> Vec<Value> {
    let p53 = 1_i64 << 53;
    vec![
        json!({"filter.a": null}),
        json!({"filter.a": {"$ne": null}}),
        json!({"filter.a": {"$exists": true}}),
        json!({"filter.a": {"$exists": false}}),
        json!({"filter.a": true}),
        json!({"filter.a": false}),
        json!({"filter.a": {"$ne": true}}),
        json!({"filter.a": 1}),
        json!({"filter.a": 1.0}),
        json!({"filter.a": 0}),
        json!({"filter.a": -0.0}),
        json!({"filter.a": {"$ne": 1}}),
        json!({"filter.a": {"$gt": 0}}),
        json!({"filter.a": {"$gte": 0}}),
        json!({"filter.a": {"$lt": 0}}),
        json!({"filter.a": {"$lte": 1.5}}),
        json!({"filter.a": {"$gt": 1.2, "$lt": 1e300}}),
        json!({"filter.a": {"$gt": 0.1, "$lte": 1}}),
        json!({"filter.a": p53 + 1}),
        json!({"filter.a": p53}),
        json!({"filter.a": {"$gte": p53 as f64}}),
        json!({"filter.a": {"$gt": i64::MAX}}),
        json!({"filter.a": {"$gt": i64::MAX - 1}}),
        json!({"filter.a": {"$lt": i64::MIN + 1}}),
        json!({"filter.a": i64::MIN}),
        json!({"filter.a": {"$lt": 9.223_372_036_854_776e18}}),
        json!({"filter.a": ""}),
        json!({"filter.a": "1"}),
        json!({"filter.a": "true"}),
        json!({"filter.a": {"$gt": ""}}),
        json!({"filter.a": {"$gte": "a"}}),
        json!({"filter.a": {"$lt": "a"}}),
        json!({"filter.a": {"$gt": "ab"}}),
        json!({"filter.a": {"$lt": "\u{1F600}"}}),
        json!({"filter.a": {"$gt": "\u{FF5A}"}}),
        json!({"filter.a": "é"}),
        json!({"filter.a": {"$gt": "é"}}),
        json!({"filter.a": {"$lte": "B"}}),
        json!({"filter.a": {"$in": []}}),
        json!({"filter.a": {"$nin": []}}),
        json!({"filter.a": {"$in": [1, "1", true]}}),
        json!({"filter.a": {"$in": [null]}}),
        json!({"filter.a": {"$nin": [null]}}),
        json!({"filter.a": {"$nin": [null, 1]}}),
        json!({"filter.a": {"$nin": [false, "abc", 1.5]}}),
        json!({"filter.a": {"$in": [0, 2, -7.0]}}),
        json!({"filter.a.b": 1}),
        json!({"filter.a.b": "1"}),
        json!({"filter.a.b": null}),
        json!({"filter.a.b": {"$exists": true}}),
        json!({"filter.a.b": {"$exists": false}}),
        json!({"filter.a.b": {"$ne": 1}}),
        json!({"filter.a.b": {"$gte": 1}}),
        json!({"filter.a.b": {"$nin": [1, null]}}),
        json!({"filter.a.b.c": "x"}),
        json!({"filter.a.b.c": {"$exists": true}}),
        json!({"filter.a.b.c": null}),
        json!({"filter.c": "x"}),
        json!({"filter.c": {"$exists": false}}),
        json!({"filter.a b": 1}),
        json!({"filter.ключ": {"$gte": 2}}),
        json!({"filter.q\"k": 3}),
        json!({"filter.it's": 4}),
        json!({"filter.missing.deep.path": {"$exists": false}}),
        json!({"$or": [{"filter.a": 1}, {"filter.a": "1"}]}),
        json!({"$or": [
            {"$and": [{"filter.a.b": {"$exists": true}}, {"filter.c": "x"}]},
            {"filter.a": {"$lt": 0}},
        ]}),
        json!({"$and": [{"filter.a": {"$ne": null}}, {"filter.a": {"$nin": [1, 0]}}]}),
        json!({"$or": [{"filter.a": null}, {"filter.a": {"$gt": 100}}]}),
        json!({"filter.a": {"$exists": true}, "$or": [{"status": "done"}, {"priority": {"$gt": 0}}]}),
        json!({"status": "running"}),
        json!({"status": {"$nin": ["done", "waiting"]}}),
        json!({"status": {"$ne": "part_done"}, "filter.a": {"$exists": false}}),
        json!({"priority": {"$gte": 1}}),
        json!({"priority": -2}),
        json!({"priority": {"$lt": 0.5}}),
        json!({"attempts": {"$gt": 0}}),
        json!({"attempts": 1.0}),
        json!({"attempts": {"$in": [0, 2]}}),
    ]
}

fn id_queries(ids: &[TaskId]) -> Vec<Value> {
    let id = |i: usize| ids[i].to_string();
    vec![
        json!({"_id": {"$gt": id(10)}}),
        json!({"_id": {"$lte": id(5)}}),
        json!({"_id": {"$in": [id(0), id(3), "ffffffffffffffffffffffff"]}}),
        json!({"_id": {"$nin": [id(0), id(3)]}}),
        json!({"_id": {"$ne": id(7)}}),
        json!({"_id": {"$gte": id(2), "$lt": id(9)}}),
        json!({"_id": {"$gt": id(3)}, "filter.a": {"$exists": true}}),
        json!({"$or": [{"_id": id(1)}, {"filter.a": 1.5}]}),
        json!({"_id": id(12).to_uppercase()}),
    ]
}

/// The backend's `query` and `stat` agree with [`Query::matches`] on a table
/// of tricky documents and queries, and the documents read back unchanged.
pub async fn query_translation_agrees_with_oracle(ctx: &Ctx) {
    let docs = documents();
    let tasks = docs.iter().enumerate().map(|(i, doc)| NewTask {
        def: json!({"doc": i}),
        filter: Some(doc.clone()),
        priority: Some(i as i64 % 5 - 2),
        max_attempts: None,
    });
    let created = ctx.create_with(CreateParams::new(tasks)).await;
    let ids: Vec<TaskId> = created.iter().map(|c| c.id).collect();
    vary_statuses(ctx).await;

    let stored = ctx.all().await;
    assert_eq!(stored.len(), docs.len());
    for task in &stored {
        let i = task.def["doc"].as_u64().expect("def.doc") as usize;
        assert_eq!(
            task.filter, docs[i],
            "filter {i} does not read back unchanged"
        );
    }
    let queries = filter_queries().into_iter().chain(id_queries(&ids));
    for json in queries {
        let q = query(json.clone());
        let expected: Vec<&Task> = stored.iter().filter(|t| q.matches(t)).collect();
        let got = ctx.find(&q).await;
        assert_eq!(
            got.iter().map(|t| t.id).collect::<Vec<_>>(),
            expected.iter().map(|t| t.id).collect::<Vec<_>>(),
            "query {json}"
        );
        let mut stat = Stat::default();
        for t in &expected {
            stat.add(t.status, 1);
        }
        assert_eq!(ctx.stat_of(&q).await, stat, "stat {json}");
        let page = ctx
            .store
            .query(
                &ctx.pool,
                QueryParams {
                    query: q.clone(),
                    limit: Some(3),
                    skip: 2,
                    ..QueryParams::default()
                },
            )
            .await
            .unwrap();
        let expected_page: Vec<TaskId> = expected.iter().skip(2).take(3).map(|t| t.id).collect();
        assert_eq!(
            page.iter().map(|t| t.id).collect::<Vec<_>>(),
            expected_page,
            "page of {json}"
        );
    }
}

/// Spread the tasks over every status and a few attempt counts.
async fn vary_statuses(ctx: &Ctx) {
    let claimed = ctx.claim(14).await;
    for (i, task) in claimed.iter().enumerate() {
        match i % 7 {
            0 | 1 => ctx.commit(task, Status::Done, json!(i)).await.unwrap(),
            2 | 3 => ctx.commit(task, Status::PartDone, json!(i)).await.unwrap(),
            4 => {
                ctx.return_task(task, Some("boom"), None).await.unwrap();
            }
            5 => {
                ctx.return_task(task, None, Some(Status::Failed))
                    .await
                    .unwrap();
            }
            _ => {}
        }
    }
    ctx.clock.advance(LEASE);
    ctx.claim(1).await;
    let stat = ctx.stat_of(&Query::All).await;
    assert!(stat.waiting > 0 && stat.running > 0 && stat.part_done > 0);
    assert!(stat.done > 0 && stat.failed > 0);
}
