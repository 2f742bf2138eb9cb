//! `heartbeat`, `commit`, `return_task`: writes fenced by the lease token.
//!
//! Every write filters on `_id`, `status: running` and `lease.token`, so a
//! worker that lost its lease changes nothing; a write that matched nothing
//! is `NotFound` or `LeaseLost` after one more read.
//!
//! Heartbeat and commit use `find_one_and_update` rather than `update_one`:
//! FerretDB creates a missing collection on `update`, and a stale write to a
//! dropped pool must not bring the pool back.

use mongodb::bson::{Bson, Document, doc};
use task_store::transition::{self, check_lease};
use task_store::{CommitParams, HeartbeatParams, Result, ReturnParams, Status, TaskId, Timestamp};

use crate::codec::value::to_bson;
use crate::codec::{count, date, encode_checked, errors_array, oid, status, task_from_doc};
use crate::store::{MongoStore, not_found};

/// The filter of a write by the holder of `token`. Its keys are exactly
/// [`FENCE_KEYS`](crate::indexes::FENCE_KEYS), one of the lookup indexes.
pub(crate) fn fenced(id: TaskId, token: &str) -> Document {
    doc! {"_id": oid(id), "status": status(Status::Running), "lease.token": token}
}

impl MongoStore {
    pub(crate) async fn heartbeat_task(
        &self,
        pool: &str,
        params: HeartbeatParams,
    ) -> Result<Timestamp> {
        let coll = self.pool(pool);
        let expires_at = self.now().await + params.lease;
        let before = coll
            .find_one_and_update(
                fenced(params.id, &params.token),
                doc! {"$set": {"lease.expires_at": date(expires_at)}},
            )
            .await
            .map_err(self.err("extending a lease"))?;
        if before.is_none() {
            return Err(self.missing_or_lost(&coll, pool, params.id).await);
        }
        Ok(self.time.local(expires_at))
    }

    pub(crate) async fn commit_task(&self, pool: &str, params: CommitParams) -> Result<()> {
        let coll = self.pool(pool);
        let res = to_bson(&params.result)?;
        encode_checked(
            &doc! {"res": res.clone()},
            &format!("the result of task {}", params.id),
        )?;
        let now = self.now().await;
        let mut set = doc! {
            "res": res,
            "status": status(params.status),
            "updated_at": date(now),
        };
        let mut unset = doc! {"lease": ""};
        if params.status == Status::Done {
            set.insert("finished_at", date(now));
        } else {
            set.insert("attempts", count(0));
            unset.insert("finished_at", "");
        }
        let before = coll
            .find_one_and_update(
                fenced(params.id, &params.token),
                doc! {"$set": set, "$unset": unset},
            )
            .await
            .map_err(self.err("committing a task"))?;
        if before.is_none() {
            return Err(self.missing_or_lost(&coll, pool, params.id).await);
        }
        Ok(())
    }

    /// Read the task, apply [`transition::return_task`], write the changed
    /// fields back fenced on the token (a token only changes with the lease,
    /// so nothing the transition read can have changed in between). The read
    /// found the task, so the pool exists and `update_one` is safe.
    pub(crate) async fn return_task_to(&self, pool: &str, params: ReturnParams) -> Result<Status> {
        let coll = self.pool(pool);
        let doc = coll
            .find_one(doc! {"_id": oid(params.id)})
            .await
            .map_err(self.err("reading a task"))?
            .ok_or_else(|| not_found(pool, params.id))?;
        let mut task = task_from_doc(&doc)?;
        check_lease(&task, &params.token)?;
        let now = self.now().await;
        let target =
            transition::return_task(&mut task, params.error.as_deref(), params.status, now);
        let mut set = doc! {
            "status": status(task.status),
            "attempts": count(task.attempts),
            "errors": errors_array(&task.errors),
            "updated_at": date(now),
        };
        let mut unset = doc! {"lease": ""};
        match task.finished_at {
            Some(t) => set.insert("finished_at", date(t)),
            None => unset.insert("finished_at", Bson::String(String::new())),
        };
        let result = coll
            .update_one(
                fenced(params.id, &params.token),
                doc! {"$set": set, "$unset": unset},
            )
            .await
            .map_err(self.err("returning a task"))?;
        if result.matched_count == 0 {
            return Err(self.missing_or_lost(&coll, pool, params.id).await);
        }
        Ok(target)
    }
}
