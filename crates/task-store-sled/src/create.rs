//! create: a batch in one transaction, deduplicated through the key index.

use task_store::{CreateParams, Created, Result, Status, TaskId, transition::PreparedBatch};

use crate::error::SledError;
use crate::layout;
use crate::store::Inner;
use crate::tx::abort;

impl Inner {
    /// [`TaskStore::create`](task_store::TaskStore::create).
    pub(crate) fn create(&self, pool: &str, params: CreateParams) -> Result<Vec<Created>> {
        let dry_run = params.dry_run;
        let batch = PreparedBatch::new(params, self.clock.now());
        let prefix = layout::pool_prefix(pool);
        let _shared = self.shared();
        if dry_run {
            let existing = batch
                .tasks
                .iter()
                .map(|task| self.existing(pool, &prefix, &task.key))
                .collect::<Result<Vec<_>>>()?;
            return Ok(batch.report(&existing));
        }
        let existing = self.transact(|tx| {
            tx.pools.insert(pool.as_bytes(), &[][..])?;
            let mut existing = Vec::with_capacity(batch.tasks.len());
            for task in &batch.tasks {
                match tx.key_owner(&prefix, &task.key)? {
                    Some(id) => match tx.task(&prefix, id)? {
                        Some(owner) => existing.push(Some((id, owner.status))),
                        None => return abort(dangling_key(pool, id)),
                    },
                    None => {
                        tx.put(&prefix, None, task)?;
                        existing.push(None);
                    }
                }
            }
            Ok(existing)
        })?;
        self.flush()?;
        Ok(batch.report(&existing))
    }

    /// The `(id, status)` of the task holding `key`, read outside a transaction.
    fn existing(&self, pool: &str, prefix: &[u8], key: &str) -> Result<Option<(TaskId, Status)>> {
        let Some(bytes) = self
            .trees
            .keys
            .get(layout::content_key_key(prefix, key))
            .map_err(SledError::Sled)?
        else {
            return Ok(None);
        };
        let id = layout::id_from_bytes(&bytes)
            .ok_or_else(|| SledError::Corrupt("a content-key entry is not an id".into()))?;
        match self.load(prefix, id)? {
            Some(task) => Ok(Some((id, task.status))),
            None => Err(dangling_key(pool, id).into()),
        }
    }
}

fn dangling_key(pool: &str, id: TaskId) -> SledError {
    SledError::Corrupt(format!(
        "a content key of pool {pool:?} points at task {id}, which does not exist"
    ))
}
