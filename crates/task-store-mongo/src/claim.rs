//! `claim`: reap expired, exhausted leases, then one `find_one_and_update`
//! per task.
//!
//! Each `find_one_and_update` atomically picks the best claimable task
//! (`sort {priority: -1, _id: 1}` over the `(status, priority, _id)` index) and
//! moves it to `running` under a fresh lease, so on MongoDB a task is never
//! handed to two live leases. A claim of `n` tasks is `n` such round trips at
//! most, stopping at the first miss: each task is claimed atomically, the
//! batch as a whole is not (another worker may take some of the tasks in
//! between), which is all the contract asks. Bounding the loop by `n` keeps a
//! claim's cost proportional to what it returns, and no projection is sent
//! (FerretDB rejects one on `findAndModify`).
//!
//! The reap reads every expired lease anyway, so it also tells whether an
//! expired lease taken from the claim's `from` status is left to reclaim.
//! When none is (the usual case), the claim filter is the plain
//! `{status: from}` (plus the query) instead of an `$or` with the
//! expired-lease branch: on MongoDB one scan of the `(status, priority, _id)`
//! index in sort order instead of a plan per branch, on FerretDB (which reads
//! and filters every document of the pool for any filter but a lone `_id`) one
//! condition per document instead of two branches, about a quarter less time.
//! Expiry is judged at the claim's `now`, read once before the reap, so a
//! lease written after the reap read it is only missed if its writer's clock
//! put its expiry before that `now`, i.e. if it was already expired when written.

use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;
use task_store::transition::{self, is_expired_and_exhausted, new_lease_token};
use task_store::{ClaimParams, Lease, Result, Status, Task, Timestamp};

use crate::codec::{date, errors_array, lease_doc, oid, status, task_from_doc};
use crate::store::MongoStore;
use crate::translate::{Filter, translate};

impl MongoStore {
    pub(crate) async fn claim_tasks(&self, pool: &str, params: ClaimParams) -> Result<Vec<Task>> {
        let coll = self.pool(pool);
        let query = translate(&params.query)?;
        let now = self.clock.now();
        let mut branches = vec![Filter::Doc(doc! {"status": status(params.from)})];
        if self.reap(pool, &coll, now, params.from).await? {
            branches.push(Filter::Doc(doc! {
                "status": status(Status::Running),
                "lease.expires_at": {"$lte": date(now)},
                "lease.from_status": status(params.from),
            }));
        }
        let claimable = Filter::any(branches);
        let Some(filter) = Filter::all([claimable, query]).into_document() else {
            return Ok(Vec::new());
        };
        let mut claimed = Vec::with_capacity(params.n.min(1024));
        while claimed.len() < params.n {
            let lease = Lease {
                owner: params.owner.clone(),
                token: new_lease_token(),
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
                .return_document(ReturnDocument::After)
                .await
                .map_err(self.err("claiming a task"))?;
            match found {
                Some(d) => claimed.push(task_from_doc(&d)?),
                None => break,
            }
        }
        Ok(claimed)
    }

    /// Mark `failed` every `running` task whose lease expired with no
    /// attempts left (the first `# Behavior` bullet of `claim`); returns
    /// whether an expired lease taken from `from` may be left to reclaim.
    ///
    /// "No attempts left" compares two fields, which FerretDB cannot do
    /// server-side (`$expr`), so the expired leases are read (without the
    /// large fields) and the exhausted ones updated one by one, each fenced on
    /// its token and expiry: a concurrent heartbeat, commit or reclaim wins.
    /// A lease whose fenced update lost such a race counts as left.
    async fn reap(
        &self,
        pool: &str,
        coll: &Collection<Document>,
        now: Timestamp,
        from: Status,
    ) -> Result<bool> {
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
        let mut reclaimable = false;
        for mut d in expired {
            // The placeholders stand for the fields left out by the
            // projection; only lease, attempts and errors are used below.
            d.insert("def", Bson::Null);
            d.insert("filter", Bson::Null);
            let mut task = task_from_doc(&d)?;
            let Some(lease) = task.lease.clone() else {
                continue;
            };
            if !is_expired_and_exhausted(&task, now) {
                reclaimable |= lease.from_status == from;
                continue;
            }
            transition::expire(&mut task, now);
            let fence = doc! {
                "_id": oid(task.id),
                "status": status(Status::Running),
                "lease.token": &lease.token,
                "lease.expires_at": date(lease.expires_at),
            };
            let update = doc! {
                "$set": {
                    "status": status(task.status),
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
                    owner = %lease.owner,
                    attempts = task.attempts,
                    "lease expired with no attempts left: task failed"
                );
            } else {
                reclaimable |= lease.from_status == from;
            }
        }
        Ok(reclaimable)
    }
}
