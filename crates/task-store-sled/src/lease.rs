//! The lease holder's writes: heartbeat, commit and return, each one
//! transaction that re-reads the task, checks the lease, applies the
//! transition and rewrites its index entries.

use task_store::transition;
use task_store::{
    CommitParams, HeartbeatParams, Result, ReturnParams, Status, Task, TaskId, Timestamp,
};

use crate::error::SledError;
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
                return abort(SledError::TaskNotFound {
                    pool: pool.to_string(),
                    id,
                });
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
            transition::heartbeat_leased(task, params, now)
        })
    }

    /// [`TaskStore::commit`](task_store::TaskStore::commit).
    pub(crate) fn commit(&self, pool: &str, params: &CommitParams) -> Result<()> {
        self.update_one(pool, params.id, |task, now| {
            transition::commit_leased(task, params, now)
        })
    }

    /// [`TaskStore::return_task`](task_store::TaskStore::return_task).
    pub(crate) fn return_task(&self, pool: &str, params: &ReturnParams) -> Result<Status> {
        self.update_one(pool, params.id, |task, now| {
            transition::return_leased(task, params, now)
        })
    }
}
