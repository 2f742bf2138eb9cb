//! `claim`: candidates read in batches, each claimed by `_id` with one
//! conditional `find_one_and_update` whose filter re-checks everything the
//! claim requires; reclaim folded into that filter; expired tasks without
//! attempts left failed by a periodic sweep.
//!
//! ## What a task is claimable by
//!
//! The claim filter is
//!
//! ```text
//! {$or: [{status: FROM},
//!        {status: "running", "lease.from_status": FROM, "lease.expires_at": {$lte: NOW}}]}
//! ```
//!
//! and the claim's query; `NOW` is the server's time (see `server_time`).
//! Each `find_one_and_update` with it atomically moves one task to
//! `running` under a fresh lease, so a task is never handed to two live
//! leases. No projection is sent (FerretDB rejects one on `findAndModify`).
//!
//! ## The hot path: the batch claim ([`MongoOptions::claim_batch`](crate::MongoOptions), default 32)
//!
//! A claim takes the next candidate from the store's candidate list for the
//! pool, claim status and query (see `candidates`), and claims it by `_id`
//! (no sort: at most one document matches) with one of two filters:
//!
//! - a candidate that had the claim's status when the list was read (a
//!   *free* candidate), for a claim without a query: `{_id: ID, status:
//!   FROM}`, the first branch of the claim filter, which is all such a claim
//!   requires of it. Its keys are exactly those of the optional lookup
//!   index `{_id: 1, status: 1}` (see `indexes`), so mongo-java-server looks
//!   the task up instead of scanning the pool;
//! - otherwise (a candidate whose lease had expired, or a claim with a
//!   query): `{_id: ID}` plus the whole filter above and the query, all
//!   re-checked on the server.
//!
//! A candidate that another process took, or that no longer matches,
//! matches nothing and is skipped; correctness never depends on the list.
//! When there is no valid list, one `find` reads the ids and statuses of
//! the best `max(claim_batch, n still wanted)` claimable tasks, sorted
//! `{priority: -1, _id: 1}` (projection `_id`, `status`), while a second
//! `find` at the same time reads the first live lease's expiry (below); an
//! empty read ends the claim. So a worker's steady state is the claim and
//! the commit per task plus one sorted read per `claim_batch` tasks, where a
//! sorted `find_one_and_update` per task (`claim_batch = 1`) sorted the
//! claimable tasks for every task:
//!
//! - On MongoDB both are cheap: the sorted read is a merge of two index
//!   scans of `{status: 1, priority: -1, _id: 1}` (`SORT_MERGE`, one per
//!   `$or` branch, each an equality on `status`), the claim by `_id` an
//!   `_id` index lookup.
//! - mongo-java-server uses an index only for a filter whose keys are
//!   exactly a unique index's (`{_id: X}` alone, say) and ignores
//!   non-unique indexes, so every sorted filter scans the pool and then
//!   sorts every match (a full, stable sort, even with a limit): at 80,000
//!   waiting tasks ~150 ms per sorted claim, ~115 ms per candidate read. The
//!   claim of a free candidate and the lease-fenced writes (commit,
//!   heartbeat, return) are looked up through the lookup indexes when the
//!   store creates them ([`MongoOptions::lookup_indexes`](crate::MongoOptions),
//!   URL `lookupIndexes=true`); without them they scan the collection up to
//!   the task (BENCHMARKS.md). FerretDB v1 evaluates such filters in Go
//!   after reading the pool either way.
//!
//! Order: within one store, candidates are claimed in the list's order, and
//! the list is dropped whenever this store writes something that can make a
//! task claimable or change the order (create, prioritize, reset, return,
//! replace, remove, drop, a commit to `waiting` or `part_done`), so a store
//! sees its own changes at once. The list is also rechecked at the first
//! lease expiry it does not cover (the earliest live lease from `FROM`
//! matching the query when it was read, and every lease this store hands
//! out), so an expired lease is reclaimed as soon as without a list: at
//! that expiry the store rechecks (two unsorted reads: is any lease from
//! `FROM` expired? when does the next live one expire?) and re-reads the
//! list only if one has expired (see `candidates`). What a
//! list can miss is another process's new task, priority change, reset or
//! return: those are seen at the latest
//! [`MongoOptions::claim_batch_max_age`](crate::MongoOptions) (default 1 s)
//! after they happened, or when the list runs out. Several processes that
//! read the same list collide on its head at most once each: after a
//! process found a candidate taken, it picks among its first `misses + 1`
//! candidates at random. `claim_batch = 1` (URL `claimBatch=1`) claims with
//! one sorted `find_one_and_update` per task instead: exact order across
//! processes.
//!
//! A claim of `n` tasks is `n` claims by `_id` (plus a read when the list
//! runs out: the read asks for at least the tasks still wanted); each task is
//! claimed atomically, the batch as a whole is not, which is all the
//! contract asks.
//!
//! The update returns the document as it was before, so the claim knows the
//! lease it replaced. A task taken through the second branch whose attempts
//! were all used (`attempts >= max_attempts`: two fields, which FerretDB
//! cannot compare in a filter) must not run again: the claim marks it
//! `failed` at once (fenced on the token it just wrote, restoring its
//! attempts) and claims the next one instead.
//!
//! ## Off the hot path: the expiry sweep
//!
//! The contract also fails expired exhausted tasks that no claim picks (for
//! example outside the claim's query). That sweep reads every expired lease
//! of the pool, so it runs at most once per
//! [`MongoOptions::sweep_interval`](crate::MongoOptions) (default 10 s, on
//! the store's clock) per pool per store, on the first claim after the
//! interval. With several workers, each sweeps at that rate: an expired,
//! exhausted task is failed at the latest one interval after its expiry
//! while claims happen.
//!
//! A claim on a pool this store has not seen checks once that the pool
//! exists (`listCollections`) and returns nothing if not: mongo-java-server
//! creates the collection on `findAndModify`, MongoDB does not.

use std::time::Duration;

use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;
use task_store::transition::{self, is_expired_and_exhausted, new_lease_token};
use task_store::{ClaimParams, Lease, Result, Status, Task, Timestamp};

use crate::candidates::{Candidate, ListKey, Next};
use crate::codec::{
    Fields, Owner, count, date, errors_array, lease_doc, oid, status, task_from_doc,
};
use crate::lease::fenced;
use crate::store::MongoStore;
use crate::translate::{Filter, translate};

/// What one claim call works on.
struct Claim<'a> {
    pool: &'a str,
    coll: &'a Collection<Document>,
    params: &'a ClaimParams,
    /// The server's time for the whole call.
    now: Timestamp,
}

/// The claim filter of candidate `id`: `_id` first (mongo-java-server
/// matches the keys in order, so every other task fails at its first key),
/// then everything the claim requires, re-checked on the server.
fn by_id(id: ObjectId, filter: &Document) -> Document {
    let mut d = doc! {"_id": id};
    if filter.contains_key("_id") {
        d.insert("$and", vec![Bson::Document(filter.clone())]);
    } else {
        d.extend(filter.clone());
    }
    d
}

/// The claim filter of a free candidate (it had the claim's status `from`
/// when read) of a claim without a query: `{_id, status}`, the first
/// branch of the claim filter and all a claim without a query requires of
/// such a task. Its keys are exactly [`CLAIM_BY_ID_KEYS`](crate::indexes::CLAIM_BY_ID_KEYS), one of the lookup
/// indexes (see the module docs).
pub(crate) fn free_by_id(id: ObjectId, from: Status) -> Document {
    doc! {"_id": id, "status": status(from)}
}

/// How often, at most, a store sweeps a pool for expired exhausted tasks
/// unless [`MongoOptions::sweep_interval`](crate::MongoOptions) says otherwise.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(10);

impl MongoStore {
    pub(crate) async fn claim_tasks(&self, pool: &str, params: ClaimParams) -> Result<Vec<Task>> {
        let query = translate(&params.query)?;
        if !self.pool_known(pool).await? {
            return Ok(Vec::new());
        }
        let coll = self.pool(pool);
        let now = self.now().await;
        if self.sweep_due(pool, now) {
            self.sweep(pool, &coll, now).await?;
        }
        let claimable = Filter::any([
            Filter::Doc(doc! {"status": status(params.from)}),
            Filter::Doc(doc! {
                "status": status(Status::Running),
                "lease.from_status": status(params.from),
                "lease.expires_at": {"$lte": date(now)},
            }),
        ]);
        let key = ListKey {
            from: params.from,
            query: format!("{:?}", params.query),
        };
        let Some(filter) = Filter::all([claimable, query.clone()]).into_document() else {
            return Ok(Vec::new());
        };
        let claim = Claim {
            pool,
            coll: &coll,
            params: &params,
            now,
        };
        let mut claimed = Vec::with_capacity(params.n.min(1024));
        while claimed.len() < params.n {
            let (before, token) = if self.claim_batch <= 1 {
                let Some(found) = self.claim_one(&claim, filter.clone(), true).await? else {
                    break;
                };
                found
            } else {
                let candidate = match self.candidates.next(pool, &key, now) {
                    Next::Take(candidate) => candidate,
                    Next::Recheck => {
                        self.recheck_candidates(&claim, &key, &query).await?;
                        continue;
                    }
                    Next::Read => {
                        if !self
                            .read_candidates(&claim, &key, &filter, &query, claimed.len())
                            .await?
                        {
                            break;
                        }
                        continue;
                    }
                };
                let by = if candidate.free && matches!(query, Filter::Always) {
                    free_by_id(candidate.id, params.from)
                } else {
                    by_id(candidate.id, &filter)
                };
                let Some(found) = self.claim_one(&claim, by, false).await? else {
                    // Taken or changed by another process (this store pops
                    // what it claims, and drops its lists when it writes).
                    self.candidates.missed(pool, &key);
                    continue;
                };
                found
            };
            let mut task = task_from_doc(&before)?;
            if is_expired_and_exhausted(&task, now) {
                self.fail_expired(pool, &coll, task, &token, now).await?;
                continue;
            }
            transition::claim(&mut task, &params.owner, token, params.lease, now);
            claimed.push(self.time.localize(task));
        }
        if !claimed.is_empty() && self.claim_batch > 1 {
            self.candidates.leased(pool, now + params.lease);
        }
        Ok(claimed)
    }

    /// One `findAndModify` that leases the first task matching `filter`
    /// (sorted by priority then `_id` if `sorted`) under a fresh token: the
    /// task as it was before, and the token.
    async fn claim_one(
        &self,
        claim: &Claim<'_>,
        filter: Document,
        sorted: bool,
    ) -> Result<Option<(Document, String)>> {
        let params = claim.params;
        let token = new_lease_token();
        let lease = Lease {
            owner: params.owner.clone(),
            token: token.clone(),
            expires_at: claim.now + params.lease,
            from_status: params.from,
        };
        let update = doc! {
            "$set": {
                "status": status(Status::Running),
                "lease": lease_doc(&lease),
                "started_at": date(claim.now),
                "updated_at": date(claim.now),
            },
            "$inc": {"attempts": 1_i64},
        };
        let mut action = claim
            .coll
            .find_one_and_update(filter, update)
            .return_document(ReturnDocument::Before);
        if sorted {
            action = action.sort(doc! {"priority": -1, "_id": 1});
        }
        let found = action.await.map_err(self.err("claiming a task"))?;
        Ok(found.map(|before| (before, token)))
    }

    /// Read the next candidate list for `key` (at least the tasks this claim
    /// still needs), with its validity; `false` if nothing is claimable. One
    /// read at a time per store: a claim that waited for another's read uses
    /// the list that read installed.
    async fn read_candidates(
        &self,
        claim: &Claim<'_>,
        key: &ListKey,
        filter: &Document,
        query: &Filter,
        have: usize,
    ) -> Result<bool> {
        let _reading = self.candidates.reading.lock().await;
        if self.candidates.has(claim.pool, key, claim.now) {
            // Another claim of this store read it while this one waited.
            return Ok(true);
        }
        let what = "reading claim candidates";
        let generation = self.candidates.generation();
        let limit = self.claim_batch.max(claim.params.n - have);
        let read = async {
            claim
                .coll
                .find(filter.clone())
                .sort(doc! {"priority": -1, "_id": 1})
                .limit(i64::try_from(limit).unwrap_or(i64::MAX))
                .projection(doc! {"_id": 1, "status": 1})
                .await
                .map_err(self.err(what))?
                .try_collect::<Vec<Document>>()
                .await
                .map_err(self.err(what))
        };
        // Both reads at once: one round trip of waiting, not two.
        let (found, expiry) = futures::try_join!(read, self.next_lease_expiry(claim, query))?;
        if found.is_empty() {
            return Ok(false);
        }
        let from = status(claim.params.from);
        let ids = found
            .iter()
            .map(|d| {
                Ok(Candidate {
                    id: Fields::new(d, Owner::task_of(d)).object_id("_id")?,
                    free: d.get("status") == Some(&from),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let valid_until = claim.now + self.claim_batch_max_age;
        let recheck_at = expiry.unwrap_or(valid_until);
        self.candidates.put(
            claim.pool,
            key.clone(),
            (ids, generation),
            (valid_until, recheck_at),
            claim.now,
        );
        Ok(true)
    }

    /// Recheck the list for `key` (see `candidates`): drop it if a lease
    /// from the claim's status (matching the query) has expired, else keep
    /// it until the next live lease's expiry. One recheck at a time per
    /// store, like a read; a claim that waited for another's uses its result.
    async fn recheck_candidates(
        &self,
        claim: &Claim<'_>,
        key: &ListKey,
        query: &Filter,
    ) -> Result<()> {
        let _reading = self.candidates.reading.lock().await;
        let Some(generation) = self.candidates.begin_recheck(claim.pool, key, claim.now) else {
            return Ok(());
        };
        let expired = Filter::Doc(doc! {
            "status": status(Status::Running),
            "lease.from_status": status(claim.params.from),
            "lease.expires_at": {"$lte": date(claim.now)},
        });
        let what = "checking for expired leases";
        let probe = async {
            let Some(filter) = Filter::all([expired, query.clone()]).into_document() else {
                return Ok(false);
            };
            let found = claim
                .coll
                .find_one(filter)
                .projection(doc! {"_id": 1})
                .await
                .map_err(self.err(what))?;
            Ok(found.is_some())
        };
        let (any_expired, expiry) =
            futures::try_join!(probe, self.next_lease_expiry(claim, query))?;
        if any_expired {
            self.candidates.drop_list(claim.pool, key);
        } else {
            self.candidates
                .rechecked(claim.pool, key, generation, expiry);
        }
        Ok(())
    }

    /// When the first live lease taken from the claim's status (among the
    /// tasks matching its query) expires: the task is claimable again then,
    /// so a candidate list is rechecked by then.
    async fn next_lease_expiry(
        &self,
        claim: &Claim<'_>,
        query: &Filter,
    ) -> Result<Option<Timestamp>> {
        let live = Filter::Doc(doc! {
            "status": status(Status::Running),
            "lease.from_status": status(claim.params.from),
            "lease.expires_at": {"$gt": date(claim.now)},
        });
        let Some(filter) = Filter::all([live, query.clone()]).into_document() else {
            return Ok(None);
        };
        let what = "reading the next lease expiry";
        let first = claim
            .coll
            .find_one(filter)
            .sort(doc! {"lease.expires_at": 1})
            .projection(doc! {"lease": 1})
            .await
            .map_err(self.err(what))?;
        let Some(d) = first else {
            return Ok(None);
        };
        let fields = Fields::new(&d, Owner::task_of(&d));
        fields
            .nested(fields.document("lease")?)
            .time("expires_at")
            .map(Some)
    }

    /// Whether this store should sweep `pool` now (and if so, notes that it
    /// did, so concurrent claims sweep once).
    fn sweep_due(&self, pool: &str, now: Timestamp) -> bool {
        let mut swept = self.swept.lock().unwrap_or_else(|e| e.into_inner());
        let interval = i64::try_from(self.sweep_interval.as_millis()).unwrap_or(i64::MAX);
        match swept.get(pool) {
            Some(last) if now.as_millis().saturating_sub(last.as_millis()) < interval => false,
            _ => {
                swept.insert(pool.to_string(), now);
                true
            }
        }
    }

    /// Mark `failed` every `running` task of the pool whose lease expired
    /// with no attempts left.
    ///
    /// The expired leases are read (without the large fields) and the
    /// exhausted ones updated one by one, each fenced on its token and
    /// expiry: a concurrent heartbeat, commit or reclaim wins.
    async fn sweep(&self, pool: &str, coll: &Collection<Document>, now: Timestamp) -> Result<()> {
        let what = "reading expired leases";
        let expired: Vec<Document> = coll
            .find(doc! {
                "status": status(Status::Running),
                "lease.expires_at": {"$lte": date(now)},
            })
            .projection(doc! {"def": 0, "filter": 0, "res": 0})
            .await
            .map_err(self.err(what))?
            .try_collect()
            .await
            .map_err(self.err(what))?;
        for mut d in expired {
            // The placeholder stands for the definition left out by the
            // projection (and the filter, read as the definition); only
            // lease, attempts and errors are used below.
            d.insert("def", Bson::Null);
            let task = task_from_doc(&d)?;
            if !is_expired_and_exhausted(&task, now) {
                continue;
            }
            let Some(lease) = task.lease.clone() else {
                continue;
            };
            let fence = doc! {
                "_id": oid(task.id),
                "status": status(Status::Running),
                "lease.token": &lease.token,
                "lease.expires_at": date(lease.expires_at),
            };
            self.write_failed(pool, coll, task, fence, now).await?;
        }
        Ok(())
    }

    /// Fail `task`, an expired exhausted task (as it was before) that this
    /// claim just leased under `token`: its attempts are restored and the
    /// expired lease recorded.
    async fn fail_expired(
        &self,
        pool: &str,
        coll: &Collection<Document>,
        task: Task,
        token: &str,
        now: Timestamp,
    ) -> Result<()> {
        let fence = fenced(task.id, token);
        self.write_failed(pool, coll, task, fence, now).await
    }

    /// Write `task` (expired, exhausted) as `failed` where `fence` matches.
    async fn write_failed(
        &self,
        pool: &str,
        coll: &Collection<Document>,
        mut task: Task,
        fence: Document,
        now: Timestamp,
    ) -> Result<()> {
        let owner = task.lease.as_ref().map(|l| l.owner.clone());
        transition::expire(&mut task, now);
        let update = doc! {
            "$set": {
                "status": status(task.status),
                "attempts": count(task.attempts),
                "errors": errors_array(&task.errors),
                "finished_at": date(now),
                "updated_at": date(now),
            },
            "$unset": {"lease": ""},
        };
        let result = coll
            .update_one(fence, update)
            .await
            .map_err(self.err("failing an expired task"))?;
        if result.modified_count == 1 {
            tracing::info!(
                pool,
                task = %task.id,
                owner = owner.as_deref().unwrap_or(""),
                attempts = task.attempts,
                "lease expired with no attempts left: task failed"
            );
        }
        Ok(())
    }
}
