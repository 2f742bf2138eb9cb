//! The MongoDB baseline: the driver's own calls on the store's collections
//! (`tasks.POOL`, with the store's indexes): one `find_one_and_update` per
//! claimed task (sorted by priority then `_id`, returning the new document),
//! one token-fenced `update_one` per commit, an unordered `insert_many` per
//! create batch with one `find` for the duplicate keys, an `aggregate`
//! `$group` for stat.

use std::io::Write;

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, DateTime, Document, doc};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database, IndexModel};
use serde_json::Value;
use taskpool::store::transition::new_lease_token;
use taskpool::store::{DEFAULT_MAX_ATTEMPTS, content_key};

use super::raw::{LEASE_MS, RawClaim, RawStore, now_ms};

/// The duplicate-key error code of MongoDB.
const DUPLICATE_KEY: i32 = 11000;

/// Raw driver calls on a database of the store.
pub struct RawMongo {
    db: Database,
}

fn date(ms: i64) -> DateTime {
    DateTime::from_millis(ms)
}

impl RawMongo {
    /// Connect to `url` and use `database`.
    pub async fn open(url: &str, database: &str) -> RawMongo {
        let client = mongodb::Client::with_uri_str(url)
            .await
            .expect("connect to MongoDB");
        RawMongo {
            db: client.database(database),
        }
    }

    fn pool(&self, pool: &str) -> Collection<Document> {
        self.db.collection(&format!("tasks.{pool}"))
    }

    async fn finish(&self, pool: &str, task: &RawClaim, update: Document) {
        let id = ObjectId::from_bytes(task.id.bytes());
        let result = self
            .pool(pool)
            .update_one(
                doc! {"_id": id, "status": "running", "lease.token": &task.token},
                update,
            )
            .await
            .expect("a raw update_one");
        assert_eq!(
            result.matched_count, 1,
            "the lease of task {} was lost",
            task.id
        );
    }
}

#[async_trait]
impl RawStore for RawMongo {
    async fn create(&self, pool: &str, defs: &[Value]) -> usize {
        let coll = self.pool(pool);
        coll.create_indexes([
            IndexModel::builder()
                .keys(doc! {"status": 1, "priority": -1, "_id": 1})
                .build(),
            IndexModel::builder()
                .keys(doc! {"key": 1})
                .options(
                    mongodb::options::IndexOptions::builder()
                        .unique(true)
                        .build(),
                )
                .build(),
        ])
        .await
        .expect("create the indexes");
        let now = date(now_ms());
        let docs: Vec<Document> = defs
            .iter()
            .map(|json| {
                let def = mongodb::bson::serialize_to_bson(json).expect("JSON as BSON");
                // taskpool's layout: a filter that is the definition is
                // not stored.
                doc! {
                    "_id": ObjectId::new(),
                    "def": def,
                    "key": content_key(json),
                    "status": "waiting",
                    "priority": 0_i64,
                    "attempts": 0_i64,
                    "max_attempts": i64::from(DEFAULT_MAX_ATTEMPTS),
                    "errors": [],
                    "created_at": now,
                    "updated_at": now,
                }
            })
            .collect();
        let duplicates: Vec<&str> = match coll.insert_many(&docs).ordered(false).await {
            Ok(_) => Vec::new(),
            Err(e) => match e.kind.as_ref() {
                mongodb::error::ErrorKind::InsertMany(failure) => failure
                    .write_errors
                    .iter()
                    .flatten()
                    .map(|w| {
                        assert!(
                            w.code == DUPLICATE_KEY || w.code == 1,
                            "insert_many failed: {w:?}"
                        );
                        docs[w.index].get_str("key").expect("a key")
                    })
                    .collect(),
                _ => panic!("insert_many failed: {e}"),
            },
        };
        if !duplicates.is_empty() {
            let found: Vec<Document> = coll
                .find(doc! {"key": {"$in": &duplicates}})
                .projection(doc! {"_id": 1, "key": 1, "status": 1})
                .await
                .expect("find the existing keys")
                .try_collect()
                .await
                .expect("read the existing keys");
            assert_eq!(found.len(), duplicates.len());
        }
        defs.len() - duplicates.len()
    }

    async fn claim(&self, pool: &str, n: usize, owner: &str) -> Vec<RawClaim> {
        let coll = self.pool(pool);
        let now = now_ms();
        let mut claimed = Vec::new();
        while claimed.len() < n {
            let token = new_lease_token();
            let found = coll
                .find_one_and_update(
                    doc! {"status": "waiting"},
                    doc! {
                        "$set": {
                            "status": "running",
                            "lease": {
                                "owner": owner,
                                "token": &token,
                                "expires_at": date(now + LEASE_MS),
                                "from_status": "waiting",
                            },
                            "started_at": date(now),
                            "updated_at": date(now),
                        },
                        "$inc": {"attempts": 1_i64},
                    },
                )
                .sort(doc! {"priority": -1, "_id": 1})
                .return_document(ReturnDocument::After)
                .await
                .expect("a raw find_one_and_update");
            let Some(task) = found else { break };
            let id = task.get_object_id("_id").expect("an ObjectId _id");
            claimed.push(RawClaim {
                id: taskpool::store::TaskId::from_bytes(id.bytes()),
                token,
                read_len: task.get_document("def").map_or(0, Document::len),
            });
        }
        claimed
    }

    async fn commit(&self, pool: &str, task: &RawClaim) {
        let now = date(now_ms());
        self.finish(
            pool,
            task,
            doc! {
                "$set": {"status": "done", "res": {}, "finished_at": now, "updated_at": now},
                "$unset": {"lease": ""},
            },
        )
        .await;
    }

    async fn hand_back(&self, pool: &str, task: &RawClaim) {
        let now = date(now_ms());
        self.finish(
            pool,
            task,
            doc! {
                "$set": {"status": "waiting", "updated_at": now},
                "$inc": {"attempts": -1_i64},
                "$unset": {"lease": ""},
            },
        )
        .await;
    }

    async fn stat(&self, pool: &str) -> Vec<(String, u64)> {
        let groups: Vec<Document> = self
            .pool(pool)
            .aggregate([doc! {"$group": {"_id": "$status", "n": {"$sum": 1}}}])
            .await
            .expect("a raw aggregate")
            .try_collect()
            .await
            .expect("read the groups");
        groups
            .iter()
            .map(|g| {
                let n = match g.get("n") {
                    Some(Bson::Int32(n)) => i64::from(*n),
                    Some(Bson::Int64(n)) => *n,
                    other => panic!("a count, not {other:?}"),
                };
                (
                    g.get_str("_id").expect("a status").to_string(),
                    n.unsigned_abs(),
                )
            })
            .collect()
    }

    async fn reset(&self, pool: &str) {
        self.pool(pool)
            .update_many(
                doc! {},
                doc! {
                    "$set": {"status": "waiting", "attempts": 0_i64, "updated_at": date(now_ms())},
                    "$unset": {"lease": "", "res": "", "started_at": "", "finished_at": ""},
                },
            )
            .await
            .expect("a raw update_many");
    }

    async fn drop_pool(&self, pool: &str) {
        self.pool(pool).drop().await.expect("drop the collection");
    }

    async fn scan(&self, pool: &str, limit: Option<usize>, out: &mut (dyn Write + Send)) -> usize {
        let coll = self.pool(pool);
        let mut find = coll.find(doc! {}).sort(doc! {"_id": 1});
        if let Some(limit) = limit {
            find = find.limit(limit as i64);
        }
        let mut cursor = find.await.expect("a raw find");
        let mut n = 0;
        while let Some(task) = cursor.try_next().await.expect("read a task") {
            writeln!(out, "{task}").expect("write a task");
            n += 1;
        }
        n
    }
}
