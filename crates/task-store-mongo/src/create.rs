//! `create`: unordered `insert_many`; duplicate keys resolved to the
//! existing tasks with one more query (one round trip: its reply holds every
//! match). Every batch first checks the pool's indexes (`listIndexes`, then
//! for a new pool one `createIndexes`, see the `indexes` module) while its
//! keys are computed on a blocking thread. A batch of more than [`PIECE`]
//! tasks is inserted in pieces, pipelined: the next piece is encoded while
//! the server writes the previous ones, so the round trips overlap instead of
//! adding up (a batch of 1000 costs about one round trip and one piece's
//! encoding more than the server's own work).

use std::collections::HashMap;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt, stream};
use mongodb::Collection;
use mongodb::bson::{Bson, Document, RawDocumentBuf, doc};
use mongodb::error::ErrorKind as DriverKind;
use task_store::transition::PreparedBatch;
use task_store::{CreateParams, Created, Error, Result, Status, TaskId};
use tokio::sync::mpsc;

use crate::codec::task_raw;
use crate::error::DUPLICATE_KEY;
use crate::store::MongoStore;

/// How many times a key that collided, then vanished before it could be
/// read (removed concurrently), is inserted before giving up.
const INSERT_ROUNDS: usize = 3;

/// Tasks per `insert_many` of a batch's first insert (see
/// `MongoStore::insert_pieces`).
const PIECE: usize = 250;

/// How many pieces of one batch are encoded ahead or being inserted at once.
const PIECES_IN_FLIGHT: usize = 4;

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
        // Keys are computed on a blocking thread while this task checks the
        // pool's indexes (one or two round trips): the two overlap instead
        // of adding up.
        let prepare = tokio::task::spawn_blocking(move || PreparedBatch::new(params, now));
        let ready = self.ensure_pool(pool, &coll).await;
        let batch = Arc::new(
            prepare
                .await
                .map_err(|e| Error::backend(format!("preparing the tasks failed: {e}")))?,
        );
        ready?;
        let (docs, mut collided) = self.insert_pieces(pool, &batch).await?;
        let mut existing = vec![None; batch.tasks.len()];
        for round in 1..=INSERT_ROUNDS {
            if collided.is_empty() {
                break;
            }
            let keys: Vec<&str> = collided
                .iter()
                .map(|&i| batch.tasks[i].key.as_str())
                .collect();
            let found = self.existing(&coll, &keys).await?;
            let pending: Vec<usize> = collided
                .into_iter()
                .filter(|&i| match found.get(batch.tasks[i].key.as_str()) {
                    Some(hit) => {
                        existing[i] = Some(*hit);
                        false
                    }
                    None => true,
                })
                .collect();
            if pending.is_empty() {
                break;
            }
            if round == INSERT_ROUNDS {
                return Err(Error::backend(format!(
                    "{} task(s) collided with keys that were removed concurrently, {INSERT_ROUNDS} times; retry the create",
                    pending.len()
                )));
            }
            tracing::warn!(
                pool,
                tasks = pending.len(),
                "keys collided with tasks removed concurrently; inserting again"
            );
            collided = self.insert(pool, &pending, &docs).await?;
        }
        let report = batch.report(&existing);
        // Freeing the records and documents (thousands of small allocations
        // for a large batch) is not the caller's to wait for.
        tokio::task::spawn_blocking(move || drop((batch, docs)));
        Ok(report)
    }

    /// The first insert of a batch: its documents encoded on a blocking
    /// thread, [`PIECE`] tasks at a time, each piece inserted as soon as it
    /// is encoded (up to [`PIECES_IN_FLIGHT`] at once), so the encoding of
    /// the next piece overlaps the server's work on the previous ones.
    /// Returns every document (in task order) and the positions whose key
    /// already existed.
    async fn insert_pieces(
        &self,
        pool: &str,
        batch: &Arc<PreparedBatch>,
    ) -> Result<(Vec<RawDocumentBuf>, Vec<usize>)> {
        let (sender, receiver) = mpsc::channel(PIECES_IN_FLIGHT);
        let encoder = Arc::clone(batch);
        tokio::task::spawn_blocking(move || {
            for (n, piece) in encoder.tasks.chunks(PIECE).enumerate() {
                let docs = piece.iter().map(task_raw).collect::<Result<Vec<_>>>();
                let failed = docs.is_err();
                // A closed channel: the create failed and stopped reading.
                if sender.blocking_send(docs.map(|d| (n * PIECE, d))).is_err() || failed {
                    break;
                }
            }
        });
        let pieces = stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|piece| (piece, receiver))
        });
        let mut inserted: Vec<(usize, Vec<RawDocumentBuf>, Vec<usize>)> = pieces
            .map(|piece| async move {
                let (start, docs) = piece?;
                let all: Vec<usize> = (0..docs.len()).collect();
                let collided = self.insert(pool, &all, &docs).await?;
                Ok::<_, Error>((start, docs, collided))
            })
            .buffer_unordered(PIECES_IN_FLIGHT)
            .try_collect()
            .await?;
        inserted.sort_unstable_by_key(|(start, _, _)| *start);
        let mut docs = Vec::with_capacity(batch.tasks.len());
        let mut collided = Vec::new();
        for (start, piece, hits) in inserted {
            collided.extend(hits.into_iter().map(|i| start + i));
            docs.extend(piece);
        }
        Ok((docs, collided))
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
