//! `create`: one unordered `insert_many` per batch; duplicate keys resolved
//! to the existing tasks with one more query (one round trip: its reply
//! holds every match). Every batch first checks the pool's indexes
//! (`listIndexes`, then for a new pool one `createIndexes`, see the
//! `indexes` module) while its documents are encoded on a blocking thread.

use std::collections::HashMap;

use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{Bson, Document, RawDocumentBuf, doc};
use mongodb::error::ErrorKind as DriverKind;
use task_store::transition::PreparedBatch;
use task_store::{CreateParams, Created, Error, Result, Status, TaskId};

use crate::codec::task_raw;
use crate::error::DUPLICATE_KEY;
use crate::store::MongoStore;

/// How many times a key that collided, then vanished before it could be
/// read (removed concurrently), is inserted again before giving up.
const INSERT_ROUNDS: usize = 3;

impl MongoStore {
    pub(crate) async fn create_tasks(
        &self,
        pool: &str,
        params: CreateParams,
    ) -> Result<Vec<Created>> {
        let coll = self.pool(pool);
        let now = self.now().await;
        if params.dry_run {
            let batch = PreparedBatch::new(params, now);
            let keys: Vec<&str> = batch.tasks.iter().map(|t| t.key.as_str()).collect();
            let found = self.existing(&coll, &keys).await?;
            let existing: Vec<_> = keys.iter().map(|k| found.get(*k).copied()).collect();
            return Ok(batch.report(&existing));
        }
        // Keys and documents are computed on a blocking thread while this
        // task checks the pool's indexes (one or two round trips): the two
        // overlap instead of adding up.
        let prepare = tokio::task::spawn_blocking(move || {
            let batch = PreparedBatch::new(params, now);
            let docs = batch
                .tasks
                .iter()
                .map(task_raw)
                .collect::<Result<Vec<_>>>()?;
            Ok::<_, Error>((batch, docs))
        });
        let ready = self.ensure_pool(pool, &coll).await;
        let (batch, docs) = prepare
            .await
            .map_err(|e| Error::backend(format!("preparing the tasks to insert failed: {e}")))??;
        ready?;
        let mut existing = vec![None; batch.tasks.len()];
        let mut pending: Vec<usize> = (0..batch.tasks.len()).collect();
        for _ in 0..INSERT_ROUNDS {
            if pending.is_empty() {
                break;
            }
            let collided = self.insert(pool, &pending, &docs).await?;
            if collided.is_empty() {
                pending.clear();
                break;
            }
            let keys: Vec<&str> = collided
                .iter()
                .map(|&i| batch.tasks[i].key.as_str())
                .collect();
            let found = self.existing(&coll, &keys).await?;
            pending = collided
                .into_iter()
                .filter(|&i| match found.get(batch.tasks[i].key.as_str()) {
                    Some(hit) => {
                        existing[i] = Some(*hit);
                        false
                    }
                    None => true,
                })
                .collect();
            if !pending.is_empty() {
                tracing::warn!(
                    pool,
                    tasks = pending.len(),
                    "keys collided with tasks removed concurrently; inserting again"
                );
            }
        }
        if !pending.is_empty() {
            return Err(Error::backend(format!(
                "{} task(s) collided with keys that were removed concurrently, {INSERT_ROUNDS} times; retry the create",
                pending.len()
            )));
        }
        let report = batch.report(&existing);
        // Freeing the records and documents (thousands of small allocations
        // for a large batch) is not the caller's to wait for.
        tokio::task::spawn_blocking(move || drop((batch, docs)));
        Ok(report)
    }

    /// Insert `docs[i]` for each `i` in `which` (unordered); returns the
    /// positions (values of `which`) whose key already existed.
    async fn insert(
        &self,
        pool: &str,
        which: &[usize],
        docs: &[RawDocumentBuf],
    ) -> Result<Vec<usize>> {
        let result = self
            .raw_pool(pool)
            .insert_many(which.iter().map(|&i| &docs[i]))
            .ordered(false)
            .await;
        let err = match result {
            Ok(_) => return Ok(Vec::new()),
            Err(err) => err,
        };
        if let DriverKind::InsertMany(e) = err.kind.as_ref()
            && e.write_concern_error.is_none()
            && let Some(write_errors) = &e.write_errors
            && write_errors.iter().all(|w| w.code == DUPLICATE_KEY)
        {
            return Ok(write_errors.iter().map(|w| which[w.index]).collect());
        }
        Err(self.err("inserting tasks")(err))
    }

    /// The `(id, status)` of the tasks holding these keys.
    async fn existing(
        &self,
        coll: &Collection<Document>,
        keys: &[&str],
    ) -> Result<HashMap<String, (TaskId, Status)>> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let what = "reading existing keys";
        // Every match in the first reply (the default first batch is 101
        // documents, then a `getMore`): one round trip for the batch.
        let docs: Vec<Document> = coll
            .find(doc! {"key": {"$in": keys}})
            .projection(doc! {"_id": 1, "key": 1, "status": 1})
            .batch_size(u32::try_from(keys.len()).unwrap_or(u32::MAX))
            .await
            .map_err(self.err(what))?
            .try_collect()
            .await
            .map_err(self.err(what))?;
        docs.iter()
            .map(|d| {
                let bad = || Error::backend("a stored task has a malformed _id, key or status");
                let id = match d.get("_id") {
                    Some(Bson::ObjectId(o)) => TaskId::from_bytes(o.bytes()),
                    _ => return Err(bad()),
                };
                let key = d.get_str("key").map_err(|_| bad())?;
                let status = d
                    .get_str("status")
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(bad)?;
                Ok((key.to_string(), (id, status)))
            })
            .collect()
    }
}
