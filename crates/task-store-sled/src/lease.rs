//! The lease holder's writes: heartbeat, commit and return. Each is a
//! [`Write`] of a batch ([`crate::batch`]): inside the batch's transaction
//! it re-reads the task, checks the lease, applies the transition and
//! rewrites the task's index entries; a stale lease or a missing task fails
//! this write alone, before it writes anything.

use std::cell::RefCell;

use task_store::transition;
use task_store::{
    CommitParams, Error, HeartbeatParams, Result, ReturnParams, Status, Task, TaskId, Timestamp,
};
use tokio::sync::oneshot;

use crate::batch::{self, Taken, Write};
use crate::error::SledError;
use crate::layout;
use crate::store::Inner;
use crate::tx::{Tx, TxResult};

/// A change of one leased task: what it asks, and what it answers.
pub(crate) trait LeaseChange: Send + 'static {
    /// What the write answers.
    type Out: Send + 'static;

    /// The task it changes.
    fn id(&self) -> TaskId;

    /// Check the lease and change `task`.
    ///
    /// # Errors
    /// [`LeaseLost`](task_store::ErrorKind::LeaseLost) for a stale lease.
    fn change(&self, task: &mut Task, now: Timestamp) -> Result<Self::Out>;
}

impl LeaseChange for HeartbeatParams {
    type Out = Timestamp;

    fn id(&self) -> TaskId {
        self.id
    }

    fn change(&self, task: &mut Task, now: Timestamp) -> Result<Timestamp> {
        transition::heartbeat_leased(task, self, now)
    }
}

impl LeaseChange for CommitParams {
    type Out = ();

    fn id(&self) -> TaskId {
        self.id
    }

    fn change(&self, task: &mut Task, now: Timestamp) -> Result<()> {
        transition::commit_leased(task, self, now)
    }
}

impl LeaseChange for ReturnParams {
    type Out = Status;

    fn id(&self) -> TaskId {
        self.id
    }

    fn change(&self, task: &mut Task, now: Timestamp) -> Result<Status> {
        transition::return_leased(task, self, now)
    }
}

/// A heartbeat, commit or return waiting in the write queue.
pub(crate) struct LeaseWrite<C: LeaseChange> {
    pool: String,
    prefix: Vec<u8>,
    change: C,
    /// The outcome of the last run of the transaction.
    applied: RefCell<Option<Result<C::Out>>>,
    /// The outcome once the transaction committed, or the write failed.
    outcome: Option<Result<C::Out>>,
    reply: oneshot::Sender<Result<C::Out>>,
}

impl<C: LeaseChange> LeaseWrite<C> {
    /// The write `change` on pool `pool`, answering through `reply`.
    pub(crate) fn queued(
        pool: &str,
        change: C,
        reply: oneshot::Sender<Result<C::Out>>,
    ) -> Box<dyn Write> {
        Box::new(LeaseWrite {
            pool: pool.to_string(),
            prefix: layout::pool_prefix(pool),
            change,
            applied: RefCell::default(),
            outcome: None,
            reply,
        })
    }
}

impl<C: LeaseChange> Write for LeaseWrite<C> {
    fn plan(&mut self, _: &Inner, _: Timestamp, _: &mut Taken) -> Result<()> {
        Ok(())
    }

    fn apply(&self, tx: &Tx<'_>, now: Timestamp) -> TxResult<()> {
        let id = self.change.id();
        let outcome = match tx.task(&self.prefix, id)? {
            None => Err(SledError::TaskNotFound {
                pool: self.pool.clone(),
                id,
            }
            .into()),
            Some(old) => {
                let mut new = old.clone();
                match self.change.change(&mut new, now) {
                    Ok(out) => {
                        tx.put(&self.prefix, Some(&old), &new)?;
                        Ok(out)
                    }
                    Err(e) => Err(e),
                }
            }
        };
        *self.applied.borrow_mut() = Some(outcome);
        Ok(())
    }

    fn committed(&mut self) -> bool {
        self.outcome = self.applied.get_mut().take();
        false
    }

    fn fail(&mut self, error: Error) {
        self.outcome = Some(Err(error));
    }

    fn answer(self: Box<Self>, synced: Option<&Result<()>>) {
        let outcome = self
            .outcome
            .unwrap_or_else(|| Err(SledError::WriterGone.into()));
        batch::answer(self.reply, outcome, synced);
    }
}
