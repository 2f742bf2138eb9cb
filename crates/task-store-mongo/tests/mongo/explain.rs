//! `explain` of the hot queries (claim candidates, claim by `_id`, the
//! sorted claim of `claimBatch=1`, stat, query by status), as the crate
//! README documents them. On a real MongoDB the plans must use the pool's
//! indexes (no collection scan for claim and query by status); the test
//! servers here have no query planner worth the name (FerretDB v1 answers
//! with the SQL it runs, mongo-java-server has no `explain`), so on them the
//! test prints what they answer and checks only that asking is harmless.

use std::sync::Arc;

use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, DateTime, Document, doc};
use serde_json::json;
use task_store::{CreateParams, SystemClock, TaskStore};
use task_store_mongo::POOL_COLLECTION_PREFIX;

use super::support::{self, Server};

/// The hot queries as the store sends them (`src/claim.rs`, `src/read.rs`).
fn hot_queries(collection: &str) -> Vec<(&'static str, Document)> {
    let now = DateTime::now();
    let claimable = doc! {"$or": [
        {"status": "waiting"},
        {"status": "running", "lease.from_status": "waiting", "lease.expires_at": {"$lte": now}},
    ]};
    let mut by_id = doc! {"_id": ObjectId::new()};
    by_id.extend(claimable.clone());
    vec![
        (
            "claim candidates",
            doc! {"find": collection, "filter": claimable,
            "sort": {"priority": -1, "_id": 1}, "limit": 32_i64, "projection": {"_id": 1}},
        ),
        (
            "claim by _id",
            doc! {"findAndModify": collection, "query": by_id,
                "update": {"$set": {"status": "running"}, "$inc": {"attempts": 1_i64}},
            },
        ),
        (
            "claim with claimBatch=1",
            doc! {"findAndModify": collection,
                "query": {"$or": [
                    {"status": "waiting"},
                    {"status": "running", "lease.from_status": "waiting",
                     "lease.expires_at": {"$lte": now}},
                ]},
                "sort": {"priority": -1, "_id": 1},
                "update": {"$set": {"status": "running"}, "$inc": {"attempts": 1_i64}},
            },
        ),
        (
            "stat",
            doc! {"aggregate": collection,
                "pipeline": [
                    {"$match": {"status": "waiting"}},
                    {"$group": {"_id": "$status", "n": {"$sum": 1}}},
                ],
                "cursor": {},
            },
        ),
        (
            "query by status",
            doc! {"find": collection, "filter": {"status": "done"}, "sort": {"_id": 1}},
        ),
    ]
}

/// The stage names of a plan tree (`stage`, `inputStage`, `inputStages`,
/// and the plans nested in an aggregation's `$cursor`).
fn stages(value: &Bson, out: &mut Vec<String>) {
    match value {
        Bson::Document(d) => {
            for (key, inner) in d {
                if key == "stage"
                    && let Bson::String(s) = inner
                {
                    out.push(s.clone());
                }
                stages(inner, out);
            }
        }
        Bson::Array(items) => items.iter().for_each(|i| stages(i, out)),
        _ => {}
    }
}

#[tokio::test]
async fn explain_of_hot_queries_uses_the_pool_indexes() {
    let test = "explain_of_hot_queries_uses_the_pool_indexes";
    let Some(url) = support::server_url(test) else {
        return;
    };
    let store = support::fresh_store(&url, test, Arc::new(SystemClock)).await;
    let defs: Vec<_> = (0..50).map(|i| json!({"i": i})).collect();
    store.create("hot", CreateParams::new(defs)).await.unwrap();
    let db = support::raw_database(&url, test).await;
    let collection = format!("{POOL_COLLECTION_PREFIX}hot");
    let server = Server::from_env();
    for (name, command) in hot_queries(&collection) {
        let answer = db
            .run_command(doc! {"explain": command, "verbosity": "queryPlanner"})
            .await;
        match (server, answer) {
            (Server::MongoDb, Ok(plan)) => {
                let mut seen = Vec::new();
                stages(&Bson::Document(plan.clone()), &mut seen);
                println!("[{server}] explain {name}: stages {seen:?}");
                assert!(seen.iter().any(|s| s == "IXSCAN"), "{name}: {plan}");
                assert!(!seen.iter().any(|s| s == "COLLSCAN"), "{name}: {plan}");
            }
            (Server::MongoDb, Err(e)) => panic!("MongoDB cannot explain {name}: {e}"),
            (_, Ok(plan)) => println!("[{server}] explain {name}: {plan}"),
            (_, Err(e)) => println!("[{server}] explain {name} is not supported: {e}"),
        }
    }
    // Asking changed nothing (explain never runs the update).
    let stat = store
        .stat("hot", &task_store::Query::All)
        .await
        .expect("the server still answers");
    assert_eq!((stat.waiting, stat.total()), (50, 50));
}
