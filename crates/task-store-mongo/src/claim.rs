//! `claim`: one `find_one_and_update` per task, reclaim folded into its
//! filter; expired tasks without attempts left failed by a periodic sweep.
//!
//! ## The hot path: one round trip per claimed task
//!
//! Each `find_one_and_update` atomically picks the best claimable task and
//! moves it to `running` under a fresh lease, so on MongoDB a task is never
//! handed to two live leases. Its filter is
//!
//! ```text
//! {$or: [{status: FROM},
//!        {status: "running", "lease.from_status": FROM, "lease.expires_at": {$lte: NOW}}]}
//! ```
//!
//! (and the claim's query), sorted `{priority: -1, _id: 1}`. On MongoDB both
//! branches are equality matches on `status` over the `{status: 1,
//! priority: -1, _id: 1}` index, which yields each branch in sort order, so
//! the plan is a merge of two index scans (`SORT_MERGE` in `explain`), no
//! in-memory sort: the first branch reads from the best task on, the second
//! reads the pool's `running` tasks (as many as there are workers). A claim
//! of `n` tasks is `n` such round trips at most, stopping at the first miss;
//! each task is claimed atomically, the batch as a whole is not, which is all
//! the contract asks. No projection is sent (FerretDB rejects one on
//! `findAndModify`). `NOW` is the server's time (see `server_time`).
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
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;
use task_store::transition::{self, is_expired_and_exhausted, new_lease_token};
use task_store::{ClaimParams, Lease, Result, Status, Task, Timestamp};

use crate::codec::{count, date, errors_array, lease_doc, oid, status, task_from_doc};
use crate::store::MongoStore;
use crate::translate::{Filter, translate};

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
        let Some(filter) = Filter::all([claimable, query]).into_document() else {
            return Ok(Vec::new());
        };
        let mut claimed = Vec::with_capacity(params.n.min(1024));
        while claimed.len() < params.n {
            let token = new_lease_token();
            let lease = Lease {
                owner: params.owner.clone(),
                token: token.clone(),
                expires_at: now + params.lease,
                from_status: params.from,
            };
            let update = doc! {
                "$set": {
                    "status": status(Status::Running),
                    "lease": lease_doc(&lease),
                    "started_at": date(now),
                    "updated_at": date(now),
                },
                "$inc": {"attempts": 1_i64},
            };
            let found = coll
                .find_one_and_update(filter.clone(), update)
                .sort(doc! {"priority": -1, "_id": 1})
                .return_document(ReturnDocument::Before)
                .await
                .map_err(self.err("claiming a task"))?;
            let Some(before) = found else {
                break;
            };
            let mut task = task_from_doc(&before)?;
            if is_expired_and_exhausted(&task, now) {
                self.fail_expired(pool, &coll, task, &token, now).await?;
                continue;
            }
            transition::claim(&mut task, &params.owner, token, params.lease, now);
            claimed.push(self.time.localize(task));
        }
        Ok(claimed)
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
            // The placeholders stand for the fields left out by the
            // projection; only lease, attempts and errors are used below.
            d.insert("def", Bson::Null);
            d.insert("filter", Bson::Null);
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
        let fence =
            doc! {"_id": oid(task.id), "status": status(Status::Running), "lease.token": token};
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
