//! Transactions over all trees, and the one place where index entries are
//! derived from records.
//!
//! Every write goes through [`Tx::put`] or [`Tx::delete`] inside a sled
//! transaction, which updates the record and all its index entries together:
//! sled seals a transaction's writes as one batch in its log, so after a crash
//! either all of them or none are recovered. sled 0.34 runs transactions under
//! a process-wide write lock, so reads inside a transaction see a stable state
//! and claims re-checked there can never hand a task to two leases.

use sled::transaction::{
    ConflictableTransactionError, ConflictableTransactionResult, TransactionError,
    TransactionalTree,
};
use task_store::{Error, Result, Status, Task, TaskId};

use crate::error::sled_error;
use crate::layout::{self, ID_LEN};
use crate::record;

/// The result type of transaction bodies: aborts carry a store error.
pub(crate) type TxResult<T> = ConflictableTransactionResult<T, Error>;

/// Abort the transaction with `error`.
pub(crate) fn abort<T>(error: impl Into<Error>) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(error.into()))
}

/// The outcome of a whole transaction as a store result.
pub(crate) fn finish<T>(result: std::result::Result<T, TransactionError<Error>>) -> Result<T> {
    result.map_err(|e| match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => sled_error(e),
    })
}

/// The transactional view of the five trees.
pub(crate) struct Tx<'a> {
    pub(crate) tasks: &'a TransactionalTree,
    pub(crate) claim: &'a TransactionalTree,
    pub(crate) keys: &'a TransactionalTree,
    pub(crate) expiry: &'a TransactionalTree,
    pub(crate) pools: &'a TransactionalTree,
}

/// The expiry-index key of a task, if it is running under a lease.
pub(crate) fn expiry_entry(prefix: &[u8], task: &Task) -> Option<Vec<u8>> {
    match (&task.status, &task.lease) {
        (Status::Running, Some(lease)) => {
            Some(layout::expiry_key(prefix, lease.expires_at, task.id))
        }
        _ => None,
    }
}

/// The claim-index key of a task.
pub(crate) fn claim_entry(prefix: &[u8], task: &Task) -> Vec<u8> {
    layout::claim_key(prefix, task.status, task.priority, task.id)
}

impl Tx<'_> {
    /// The task `id` of the pool, if any.
    pub(crate) fn task(&self, prefix: &[u8], id: TaskId) -> TxResult<Option<Task>> {
        match self.tasks.get(layout::task_key(prefix, id))? {
            Some(bytes) => match record::decode(&bytes) {
                Ok(task) => Ok(Some(task)),
                Err(e) => abort(e),
            },
            None => Ok(None),
        }
    }

    /// The id of the pool's task holding content key `key`, if any.
    pub(crate) fn key_owner(&self, prefix: &[u8], key: &str) -> TxResult<Option<TaskId>> {
        match self.keys.get(layout::content_key_key(prefix, key))? {
            Some(bytes) => match layout::id_from_bytes(&bytes) {
                Some(id) => Ok(Some(id)),
                None => abort(crate::error::SledError::Corrupt(format!(
                    "a content-key entry holds {} bytes instead of a {ID_LEN}-byte id",
                    bytes.len()
                ))),
            },
            None => Ok(None),
        }
    }

    /// Write `new` (whose previous version is `old`, `None` for a new task)
    /// with exactly the index entries it needs.
    pub(crate) fn put(&self, prefix: &[u8], old: Option<&Task>, new: &Task) -> TxResult<()> {
        let bytes = match record::encode(new) {
            Ok(bytes) => bytes,
            Err(e) => return abort(e),
        };
        self.tasks.insert(layout::task_key(prefix, new.id), bytes)?;

        let claim = claim_entry(prefix, new);
        let old_claim = old.map(|o| claim_entry(prefix, o));
        if old_claim.as_ref() != Some(&claim) {
            if let Some(stale) = old_claim {
                self.claim.remove(stale)?;
            }
            self.claim.insert(claim, &[])?;
        }

        let old_key = old.map(|o| o.key.as_str());
        if old_key != Some(new.key.as_str()) {
            if let Some(stale) = old_key {
                self.keys.remove(layout::content_key_key(prefix, stale))?;
            }
            self.keys.insert(
                layout::content_key_key(prefix, &new.key),
                &new.id.bytes()[..],
            )?;
        }

        let expiry = expiry_entry(prefix, new);
        let old_expiry = old.and_then(|o| expiry_entry(prefix, o));
        if old_expiry != expiry {
            if let Some(stale) = old_expiry {
                self.expiry.remove(stale)?;
            }
            if let Some(entry) = expiry {
                self.expiry.insert(entry, &[])?;
            }
        }
        Ok(())
    }

    /// Delete a task and its index entries.
    pub(crate) fn delete(&self, prefix: &[u8], task: &Task) -> TxResult<()> {
        self.tasks.remove(layout::task_key(prefix, task.id))?;
        self.claim.remove(claim_entry(prefix, task))?;
        self.keys
            .remove(layout::content_key_key(prefix, &task.key))?;
        if let Some(entry) = expiry_entry(prefix, task) {
            self.expiry.remove(entry)?;
        }
        Ok(())
    }
}
