//! Single-task writes: heartbeat, commit, return and replace, each one
//! transaction that re-reads the task, applies the transition and rewrites
//! its index entries.

use task_store::transition;
use task_store::{
    CommitParams, Error, ErrorKind, HeartbeatParams, ReplaceParams, Result, ReturnParams, Status,
    Task, TaskId, Timestamp, content_key,
};

use crate::layout;
use crate::store::Inner;
use crate::tx::abort;

impl Inner {
    /// Apply `change` to task `id` in one transaction, then flush. An error
    /// from `change` aborts the transaction: nothing is written.
    fn update_one<R>(
        &self,
        pool: &str,
        id: TaskId,
        change: impl Fn(&mut Task, Timestamp) -> Result<R>,
    ) -> Result<R> {
        let prefix = layout::pool_prefix(pool);
        let _shared = self.shared();
        let now = self.clock.now();
        let out = self.transact(|tx| {
            let Some(old) = tx.task(&prefix, id)? else {
                return abort(not_found(pool, id));
            };
            let mut new = old.clone();
            let out = match change(&mut new, now) {
                Ok(out) => out,
                Err(e) => return abort(e),
            };
            tx.put(&prefix, Some(&old), &new)?;
            Ok(out)
        })?;
        self.flush()?;
        Ok(out)
    }

    /// [`TaskStore::heartbeat`](task_store::TaskStore::heartbeat).
    pub(crate) fn heartbeat(&self, pool: &str, params: &HeartbeatParams) -> Result<Timestamp> {
        self.update_one(pool, params.id, |task, now| {
            transition::check_lease(task, &params.token)?;
            Ok(transition::heartbeat(task, params.lease, now))
        })
    }

    /// [`TaskStore::commit`](task_store::TaskStore::commit).
    pub(crate) fn commit(&self, pool: &str, params: &CommitParams) -> Result<()> {
        self.update_one(pool, params.id, |task, now| {
            transition::check_lease(task, &params.token)?;
            transition::commit(task, params.result.clone(), params.status, now);
            Ok(())
        })
    }

    /// [`TaskStore::return_task`](task_store::TaskStore::return_task).
    pub(crate) fn return_task(&self, pool: &str, params: &ReturnParams) -> Result<Status> {
        self.update_one(pool, params.id, |task, now| {
            transition::check_lease(task, &params.token)?;
            Ok(transition::return_task(
                task,
                params.error.as_deref(),
                params.status,
                now,
            ))
        })
    }

    /// [`TaskStore::replace`](task_store::TaskStore::replace).
    pub(crate) fn replace(&self, pool: &str, params: &ReplaceParams) -> Result<Task> {
        let prefix = layout::pool_prefix(pool);
        let new_key = content_key(&params.def);
        let _shared = self.shared();
        let now = self.clock.now();
        let task = self.transact(|tx| {
            let Some(old) = tx.task(&prefix, params.id)? else {
                return abort(not_found(pool, params.id));
            };
            if let Some(other) = tx.key_owner(&prefix, &new_key)?
                && other != params.id
            {
                return abort(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("task {other} in pool {pool:?} already has this definition"),
                ));
            }
            let mut new = old.clone();
            transition::replace(&mut new, params.def.clone(), params.filter.clone(), now);
            tx.put(&prefix, Some(&old), &new)?;
            Ok(new)
        })?;
        self.flush()?;
        Ok(task)
    }
}

/// The error for a task that is not in the pool.
pub(crate) fn not_found(pool: &str, id: TaskId) -> Error {
    Error::not_found(format!("no task {id} in pool {pool:?}"))
}
