//! Administration: the operations that select tasks by query (remove,
//! reset_status, prioritize, drop_pool), and replace.
//!
//! The query-selected ones hold the store's bulk lock exclusively, so the
//! tasks their scan selects are exactly the ones their transactions change.
//! replace is one transaction that re-reads the task, like a lease write.

use task_store::query::Query;
use task_store::{ReplaceParams, ResetParams, Result, Task, Timestamp};
use task_store::{content_key, transition};

use crate::error::SledError;
use crate::id_range::IdRange;
use crate::layout;
use crate::store::Inner;
use crate::tx::abort;

/// Tasks changed per transaction: bounds the memory of one transaction.
const CHUNK: usize = 1024;

impl Inner {
    /// The tasks of the pool matching `query`, in id order.
    fn matching(&self, prefix: &[u8], query: &Query) -> Result<Vec<Task>> {
        let mut out = Vec::new();
        for task in self.scan_tasks(prefix, &IdRange::of(query)) {
            let task = task?;
            if query.matches(&task) {
                out.push(task);
            }
        }
        Ok(out)
    }

    /// Delete `tasks` with their index entries, a chunk per transaction.
    fn delete_all(&self, prefix: &[u8], tasks: &[Task]) -> Result<()> {
        for chunk in tasks.chunks(CHUNK) {
            self.transact(|tx| {
                for task in chunk {
                    tx.delete(prefix, task)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Apply `change` to every task of the pool matching `query`; returns how many.
    fn update_matching(
        &self,
        pool: &str,
        query: &Query,
        change: impl Fn(&mut Task, Timestamp),
    ) -> Result<u64> {
        let prefix = layout::pool_prefix(pool);
        let _exclusive = self.exclusive();
        let now = self.clock.now();
        let tasks = self.matching(&prefix, query)?;
        for chunk in tasks.chunks(CHUNK) {
            self.transact(|tx| {
                for old in chunk {
                    let mut new = old.clone();
                    change(&mut new, now);
                    tx.put(&prefix, Some(old), &new)?;
                }
                Ok(())
            })?;
        }
        if !tasks.is_empty() {
            self.flush()?;
        }
        Ok(tasks.len() as u64)
    }

    /// [`TaskStore::remove`](task_store::TaskStore::remove).
    pub(crate) fn remove(&self, pool: &str, query: &Query) -> Result<u64> {
        let prefix = layout::pool_prefix(pool);
        let _exclusive = self.exclusive();
        let tasks = self.matching(&prefix, query)?;
        self.delete_all(&prefix, &tasks)?;
        if !tasks.is_empty() {
            self.flush()?;
        }
        Ok(tasks.len() as u64)
    }

    /// [`TaskStore::reset_status`](task_store::TaskStore::reset_status).
    pub(crate) fn reset_status(&self, pool: &str, params: &ResetParams) -> Result<u64> {
        self.update_matching(pool, &params.query, |task, now| {
            transition::reset_status(task, params.status, now)
        })
    }

    /// [`TaskStore::prioritize`](task_store::TaskStore::prioritize).
    pub(crate) fn prioritize(&self, pool: &str, query: &Query, priority: i64) -> Result<u64> {
        self.update_matching(pool, query, |task, now| {
            transition::prioritize(task, priority, now)
        })
    }

    /// [`TaskStore::drop_pool`](task_store::TaskStore::drop_pool): the pool's
    /// tasks are removed chunk by chunk with their index entries, then the
    /// pool's name.
    pub(crate) fn drop_pool(&self, pool: &str) -> Result<bool> {
        let prefix = layout::pool_prefix(pool);
        let _exclusive = self.exclusive();
        let existed = self
            .trees
            .pools
            .contains_key(pool.as_bytes())
            .map_err(SledError::Sled)?;
        let tasks = self.matching(&prefix, &Query::All)?;
        self.delete_all(&prefix, &tasks)?;
        if existed {
            self.transact(|tx| {
                tx.pools.remove(pool.as_bytes())?;
                Ok(())
            })?;
        }
        if existed || !tasks.is_empty() {
            self.flush()?;
        }
        Ok(existed)
    }

    /// [`TaskStore::replace`](task_store::TaskStore::replace).
    pub(crate) fn replace(&self, pool: &str, params: &ReplaceParams) -> Result<Task> {
        let prefix = layout::pool_prefix(pool);
        let new_key = content_key(&params.def);
        let _shared = self.shared();
        let now = self.clock.now();
        let task = self.transact(|tx| {
            let Some(old) = tx.task(&prefix, params.id)? else {
                return abort(SledError::TaskNotFound {
                    pool: pool.to_string(),
                    id: params.id,
                });
            };
            if let Some(other) = tx.key_owner(&prefix, &new_key)?
                && other != params.id
            {
                return abort(SledError::DuplicateDefinition {
                    pool: pool.to_string(),
                    other,
                });
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
