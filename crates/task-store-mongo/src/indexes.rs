//! The indexes of every collection, and creating them in a way both MongoDB
//! and FerretDB v1 accept, from any number of processes.
//!
//! - A pool's collection: `{status: 1, priority: -1, _id: 1}` (the claim's
//!   filter and sort, and pages of one status in priority order), unique
//!   `{key: 1}` (race-free create), `{"lease.expires_at": 1}` (finding
//!   expired leases), and one index per query order that the others cannot
//!   serve, so a page never sorts the pool: `{status: 1, _id: 1}` (pages of
//!   one status by id), `{priority: -1, _id: 1}` (priority order) and
//!   `{finished_at: -1, _id: -1}` (finished order). A pool made by an older
//!   build gets the missing ones at this build's first write to it.
//! - With [`MongoOptions::lookup_indexes`](crate::MongoOptions) (URL
//!   `lookupIndexes=true`; off by default), the lookup indexes, below.
//! - The records collection: unique `{experiment: 1, record: 1, version: 1}`
//!   (one writer per version, and every read of a record) and
//!   `{live: 1, experiment: 1}` (experiments).
//!
//! ## The lookup indexes (optional; for mongo-java-server)
//!
//! Two unique indexes led by `_id`: `{_id: 1, status: 1}`
//! ([`CLAIM_BY_ID_KEYS`]) and `{_id: 1, status: 1, "lease.token": 1}`
//! ([`FENCE_KEYS`]). `_id` makes each unique by itself, so they never
//! reject a write. Their keys are exactly those of the two hot filters by
//! `_id`: the claim of a candidate that had the claim's status when read
//! (`{_id, status}`, for a claim without a query; see the `claim` module)
//! and every lease-fenced write (`{_id, status: "running", "lease.token"}`:
//! heartbeat, commit, return, failing an exhausted task just claimed).
//!
//! They exist for mongo-java-server, which uses an index for a filter only
//! when the filter's keys are exactly a unique index's keys and its values
//! plain (no operator; its `AbstractUniqueIndex.canHandle`), and ignores
//! non-unique indexes: without them each of those filters scans the
//! collection in insertion order up to the task, and done tasks stay in
//! front of the waiting ones, so claims and commits get slower as a pool
//! drains (about 20 ms each at 80,000 tasks; BENCHMARKS.md).
//!
//! MongoDB does not need them: it answers every filter holding `_id` from
//! the `_id` index and checks the rest on the one document. There they only
//! cost: an entry each in both indexes per task, and every claim, commit,
//! heartbeat and return changes `status` or `lease.token`, so each of those
//! writes updates both indexes besides the three the pool has anyway (for a
//! claim or commit, two more index updates out of five). So they are off by
//! default; turn them on (`lookupIndexes=true`) for mongo-java-server. A
//! pool gets them at the first create with the option on; turning it off
//! later leaves them in place (drop them with `dropIndex` if unwanted).
//! FerretDB v1 takes them but scans anyway (it pushes down only `{_id: X}`).
//!
//! A store checks a pool's indexes before every create into it, and creates
//! the records collection's indexes once, before its first write to it.
//! Pools are checked every time because another store (another process, or
//! `taskpool pools drop`) may have dropped the pool since: the next insert
//! would then make a new collection without the unique `key` index, and
//! dedupe would silently stop (two creates of one definition made two
//! tasks). The check is one `listIndexes` per create call, whatever its
//! number of definitions.
//!
//! `listIndexes` first; then, for a new collection, one `createIndexes` with
//! all its indexes (two round trips in all, which is what the first create
//! into a new pool pays), else one `createIndexes` per missing index. The
//! one-command form is what MongoDB documents, but FerretDB v1.24 drops the
//! connection ("slice bounds out of range" in its server log, "unexpected
//! end of file" in the driver) when two or more of the requested indexes
//! already exist: it removes the existing ones from its work list by their
//! position in the request, and the second removal indexes past the
//! shortened list. That can happen to the one command only when another
//! process creates the same new pool at the same moment; then the indexes
//! are created again one per command. A command with one index never fails
//! so, even when another process creates the same index between our
//! `listIndexes` and our `createIndexes` (the server then treats it as
//! already there).

use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use task_store::Result;

use crate::error::{NAMESPACE_NOT_FOUND, server_code};
use crate::store::MongoStore;

/// The keys of the lookup index (and of the filter) of a claim by `_id` of a
/// free candidate: `claim::free_by_id`.
pub(crate) const CLAIM_BY_ID_KEYS: [&str; 2] = ["_id", "status"];

/// The keys of the lookup index (and of the filter) of a lease-fenced write:
/// `lease::fenced`.
pub(crate) const FENCE_KEYS: [&str; 3] = ["_id", "status", "lease.token"];

/// The lookup indexes: unique, ascending, on [`CLAIM_BY_ID_KEYS`] and
/// [`FENCE_KEYS`] (see the module docs).
fn lookup_indexes() -> Vec<IndexModel> {
    [&CLAIM_BY_ID_KEYS[..], &FENCE_KEYS[..]]
        .into_iter()
        .map(|keys| {
            let keys: Document = keys
                .iter()
                .map(|k| ((*k).to_string(), Bson::Int32(1)))
                .collect();
            IndexModel::builder()
                .keys(keys)
                .options(IndexOptions::builder().unique(true).build())
                .build()
        })
        .collect()
}

impl MongoStore {
    /// Create the indexes the pool lacks (and so its collection): before
    /// every create into it, see the module docs.
    pub(crate) async fn ensure_pool(&self, pool: &str, coll: &Collection<Document>) -> Result<()> {
        let mut indexes = vec![
            IndexModel::builder()
                .keys(doc! {"status": 1, "priority": -1, "_id": 1})
                .build(),
            IndexModel::builder()
                .keys(doc! {"key": 1})
                .options(IndexOptions::builder().unique(true).build())
                .build(),
            IndexModel::builder()
                .keys(doc! {"lease.expires_at": 1})
                .build(),
            IndexModel::builder()
                .keys(doc! {"status": 1, "_id": 1})
                .build(),
            IndexModel::builder()
                .keys(doc! {"priority": -1, "_id": 1})
                .build(),
            IndexModel::builder()
                .keys(doc! {"finished_at": -1, "_id": -1})
                .build(),
        ];
        if self.lookup_indexes {
            indexes.extend(lookup_indexes());
        }
        // One check at a time per store: concurrent creators into a new
        // pool would each send every index, and FerretDB drops the
        // connection (failing the others' inserts too) when two or more of
        // them already exist (see the module docs).
        let _one_at_a_time = self.ready.lock().await;
        create_missing(coll, indexes)
            .await
            .map_err(self.err(&format!("creating the indexes of pool {pool:?}")))?;
        self.known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pool.to_string());
        Ok(())
    }

    /// Create the records collection's indexes, once per store.
    pub(crate) async fn ensure_records(&self) -> Result<()> {
        let indexes = vec![
            IndexModel::builder()
                .keys(doc! {"experiment": 1, "record": 1, "version": 1})
                .options(IndexOptions::builder().unique(true).build())
                .build(),
            IndexModel::builder()
                .keys(doc! {"live": 1, "experiment": 1})
                .build(),
        ];
        self.ensure_indexes(
            &self.records_collection(),
            indexes,
            "creating the indexes of the records",
        )
        .await
    }

    /// Create the indexes of `coll` it lacks, once per collection per store.
    async fn ensure_indexes(
        &self,
        coll: &Collection<Document>,
        indexes: Vec<IndexModel>,
        what: &str,
    ) -> Result<()> {
        let mut ready = self.ready.lock().await;
        if ready.contains(coll.name()) {
            return Ok(());
        }
        create_missing(coll, indexes)
            .await
            .map_err(self.err(what))?;
        ready.insert(coll.name().to_string());
        Ok(())
    }
}

/// Create each of `wanted` that `coll` does not have yet (compared by key
/// pattern): all in one `createIndexes` command when the collection has
/// none of them (a new collection), else one command per index.
///
/// # Errors
/// The driver's error of the failed `listIndexes` or `createIndexes`.
async fn create_missing(
    coll: &Collection<Document>,
    wanted: Vec<IndexModel>,
) -> mongodb::error::Result<()> {
    let existing: Vec<Vec<(String, Bson)>> = match coll.list_indexes().await {
        Ok(cursor) => {
            cursor
                .map_ok(|index| key_pattern(&index.keys))
                .try_collect()
                .await?
        }
        Err(e) if server_code(&e) == Some(NAMESPACE_NOT_FOUND) => Vec::new(),
        Err(e) => return Err(e),
    };
    let missing: Vec<IndexModel> = wanted
        .into_iter()
        .filter(|index| !existing.contains(&key_pattern(&index.keys)))
        .collect();
    let none_exist = existing
        .iter()
        .all(|keys| keys == &[("_id".to_string(), Bson::Int64(1))]);
    if missing.len() > 1 && none_exist {
        match coll.create_indexes(missing.clone()).await {
            Ok(_) => return Ok(()),
            Err(e) => tracing::debug!(
                collection = coll.name(),
                "creating the indexes in one command failed ({e}); creating them one by one"
            ),
        }
    }
    for index in missing {
        coll.create_index(index).await?;
    }
    Ok(())
}

/// A key pattern in a comparable form: servers may answer `1` as an `Int32`,
/// `Int64` or `Double`, which all mean the same direction.
fn key_pattern(keys: &Document) -> Vec<(String, Bson)> {
    keys.iter()
        .map(|(field, value)| {
            let value = match value {
                Bson::Int32(i) => Bson::Int64(i64::from(*i)),
                #[allow(clippy::cast_possible_truncation)]
                Bson::Double(f) if f.fract() == 0.0 => Bson::Int64(*f as i64),
                other => other.clone(),
            };
            (field.clone(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use mongodb::bson::doc;

    use super::*;

    #[test]
    fn key_pattern_ignores_the_number_type() {
        assert_eq!(
            key_pattern(&doc! {"status": 1, "priority": -1_i64, "_id": 1.0}),
            key_pattern(&doc! {"status": 1_i64, "priority": -1, "_id": 1})
        );
        assert_ne!(
            key_pattern(&doc! {"a": 1, "b": 1}),
            key_pattern(&doc! {"b": 1, "a": 1})
        );
        assert_ne!(key_pattern(&doc! {"a": 1}), key_pattern(&doc! {"a": -1}));
    }

    fn keys(d: &Document) -> Vec<&str> {
        d.keys().map(String::as_str).collect()
    }

    /// mongo-java-server uses a unique index only for a filter with exactly
    /// its keys and plain values: the two hot filters by `_id` must keep
    /// that shape.
    #[test]
    fn the_hot_filters_by_id_have_exactly_the_lookup_indexes_keys() {
        let id = task_store::TaskId::from_bytes([7; 12]);
        let fence = crate::lease::fenced(id, "token");
        let claim = crate::claim::free_by_id(
            mongodb::bson::oid::ObjectId::from_bytes([7; 12]),
            task_store::Status::Waiting,
        );
        let indexes = lookup_indexes();
        assert_eq!(keys(&indexes[0].keys), CLAIM_BY_ID_KEYS);
        assert_eq!(keys(&indexes[1].keys), FENCE_KEYS);
        assert_eq!(keys(&claim), CLAIM_BY_ID_KEYS);
        assert_eq!(keys(&fence), FENCE_KEYS);
        for filter in [claim, fence] {
            assert!(
                filter.values().all(|v| !matches!(v, Bson::Document(_))),
                "no operators: {filter}"
            );
        }
        for index in &indexes {
            let unique = index.options.as_ref().and_then(|o| o.unique);
            assert_eq!(unique, Some(true), "{:?}", index.keys);
        }
    }
}
