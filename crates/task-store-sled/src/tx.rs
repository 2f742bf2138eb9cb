//! Transactions over the task trees, and the one place where index entries
//! are derived from tasks.
//!
//! Every write goes through [`Tx::put`] or [`Tx::delete`] inside a sled
//! transaction, which updates the task, all its index entries and its
//! pool's counts together:
//! sled seals a transaction's writes as one batch in its log, so after a crash
//! either all of them or none are recovered. sled 0.34 runs transactions under
//! a process-wide write lock, so reads inside a transaction see a stable state
//! and claims re-checked there can never hand a task to two leases.

use sled::Transactional;
use sled::transaction::{
    ConflictableTransactionError, ConflictableTransactionResult, TransactionError,
    TransactionalTree,
};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use task_store::{Error, Result, Stat, Status, Task, TaskId};

use crate::codec;
use crate::error::SledError;
use crate::layout::{self, ID_LEN};
use crate::store::Inner;

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
        TransactionError::Storage(e) => SledError::Sled(e).into(),
    })
}

impl Inner {
    /// Run `body` as one sled transaction over the task trees, then write
    /// the count changes of its writes.
    pub(crate) fn transact<T>(&self, body: impl Fn(&Tx<'_>) -> TxResult<T>) -> Result<T> {
        finish(self.transact_raw(body))
    }

    /// [`Inner::transact`], with sled's outcome as it is (an abort apart
    /// from a storage error).
    pub(crate) fn transact_raw<T>(
        &self,
        body: impl Fn(&Tx<'_>) -> TxResult<T>,
    ) -> std::result::Result<T, TransactionError<Error>> {
        let t = &self.trees;
        (&t.tasks, &t.claim, &t.keys, &t.expiry, &t.pools, &t.counts).transaction(|trees| {
            let tx = Tx::new(trees);
            let out = body(&tx)?;
            tx.write_counts()?;
            Ok(out)
        })
    }
}

/// The transactional views of the task trees: tasks, claim, keys, expiry,
/// pools, counts.
pub(crate) type TaskTrees = (
    TransactionalTree,
    TransactionalTree,
    TransactionalTree,
    TransactionalTree,
    TransactionalTree,
    TransactionalTree,
);

/// The transactional view of the six task trees.
pub(crate) struct Tx<'a> {
    pub(crate) tasks: &'a TransactionalTree,
    pub(crate) claim: &'a TransactionalTree,
    pub(crate) keys: &'a TransactionalTree,
    pub(crate) expiry: &'a TransactionalTree,
    pub(crate) pools: &'a TransactionalTree,
    pub(crate) counts: &'a TransactionalTree,
    /// How this transaction changes each pool's counts (by pool prefix,
    /// indexed by status code), written by [`Tx::write_counts`].
    deltas: RefCell<BTreeMap<Vec<u8>, [i64; 5]>>,
    /// Whether the transaction wrote a task.
    wrote: Cell<bool>,
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

impl<'a> Tx<'a> {
    /// The view of one run of a transaction over the task trees.
    pub(crate) fn new((tasks, claim, keys, expiry, pools, counts): &'a TaskTrees) -> Tx<'a> {
        Tx {
            tasks,
            claim,
            keys,
            expiry,
            pools,
            counts,
            deltas: RefCell::default(),
            wrote: Cell::new(false),
        }
    }

    /// Whether the transaction wrote (or deleted) a task so far.
    pub(crate) fn wrote(&self) -> bool {
        self.wrote.get()
    }

    /// Count `n` more (or fewer) tasks of `status` in the pool.
    fn count(&self, prefix: &[u8], status: Status, n: i64) {
        let mut deltas = self.deltas.borrow_mut();
        let pool = match deltas.get_mut(prefix) {
            Some(pool) => pool,
            None => deltas.entry(prefix.to_vec()).or_default(),
        };
        pool[usize::from(layout::status_code(status))] += n;
    }

    /// Apply the count changes of the transaction's writes to the counts
    /// tree; called once, after the transaction's body.
    pub(crate) fn write_counts(&self) -> TxResult<()> {
        for (prefix, delta) in self.deltas.borrow().iter() {
            if delta.iter().all(|&d| d == 0) {
                continue;
            }
            let stored = match self.counts.get(prefix)? {
                Some(bytes) => match layout::decode_counts(&bytes) {
                    Some(stat) => stat,
                    None => {
                        return abort(SledError::Corrupt(format!(
                            "the task counts of a pool hold {} bytes instead of {}",
                            bytes.len(),
                            layout::COUNTS_LEN
                        )));
                    }
                },
                None => Stat::default(),
            };
            let mut counts = Stat::default();
            for status in Status::ALL {
                let old = stored.get(status);
                let change = delta[usize::from(layout::status_code(status))];
                let new = old.checked_add_signed(change).unwrap_or_else(|| {
                    // Only a writer that bypassed the counts (an older
                    // build, a raw tool) can get here; the integrity check
                    // reports the disagreement.
                    tracing::warn!(
                        status = %status,
                        stored = old,
                        change,
                        "sled task counts would go negative; kept at 0"
                    );
                    0
                });
                counts.add(status, new);
            }
            if counts.total() == 0 {
                self.counts.remove(prefix.as_slice())?;
            } else {
                self.counts
                    .insert(prefix.as_slice(), &layout::encode_counts(&counts)[..])?;
            }
        }
        Ok(())
    }

    /// The task `id` of the pool, if any.
    pub(crate) fn task(&self, prefix: &[u8], id: TaskId) -> TxResult<Option<Task>> {
        match self.tasks.get(layout::task_key(prefix, id))? {
            Some(bytes) => match codec::decode_task(&bytes) {
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
                None => abort(SledError::Corrupt(format!(
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
        let bytes = match codec::encode_task(new) {
            Ok(bytes) => bytes,
            Err(e) => return abort(e),
        };
        self.tasks.insert(layout::task_key(prefix, new.id), bytes)?;
        self.wrote.set(true);

        if old.map(|o| o.status) != Some(new.status) {
            if let Some(old) = old {
                self.count(prefix, old.status, -1);
            }
            self.count(prefix, new.status, 1);
        }

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
        self.count(prefix, task.status, -1);
        self.wrote.set(true);
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
