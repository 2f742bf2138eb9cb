//! Batched lease writes: claims, heartbeats, commits and returns wait in one
//! queue, and one writer applies a whole batch of them in one sled
//! transaction and makes it durable with one sync.
//!
//! A caller queues its write and awaits a oneshot for the answer: it holds no
//! thread while it waits. The first write queued while no writer runs starts
//! one on a blocking thread; the writer takes every queued write (up to
//! [`MAX_BATCH`]), plans the claims among them outside the transaction
//! (sled 0.34 transactions cannot scan), applies them all in queue order in
//! one transaction, asks the [`Flusher`](crate::flush::Flusher) for a sync
//! that starts after that transaction, and answers each caller. Writes that
//! arrive meanwhile form the next batch; the writer stops when the queue is
//! empty.
//!
//! Each write keeps its own outcome. A write whose own check fails (a stale
//! lease, a missing task) writes nothing and returns its error, and the
//! others go on in the same transaction. A write that fails after it has
//! written (a task that does not decode in the middle of a claim) aborts the
//! transaction, gets its error, and the transaction runs again without it.
//! Only what concerns the whole batch fails all of its writes: a storage
//! error of the transaction, or a failed sync (each write may or may not be
//! on disk then, as with a single write).
//!
//! Nothing is answered before the sync that covers it has ended, so the
//! durability promise is the one of a write that syncs alone: an
//! acknowledged write is on disk.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use task_store::{Error, Result, Status, TaskId, Timestamp};
use tokio::sync::oneshot;

use crate::error::SledError;
use crate::store::{Inner, SledStore};
use crate::tx::{Tx, TxResult};

/// The most writes one transaction applies; more wait for the next batch.
pub(crate) const MAX_BATCH: usize = 1024;

/// A queued write, as the writer drives it through a batch.
///
/// A batch runs in rounds: every write takes part in the first; a write may
/// ask for another ([`Write::committed`]), as a claim that lost candidates
/// does. Each round plans every write taking part, then applies them all in
/// one transaction.
pub(crate) trait Write: Send {
    /// Prepare the round outside the transaction (claims find their
    /// candidates here, skipping what the writes planned before them in this
    /// round took).
    ///
    /// # Errors
    /// Reading the trees failed: the write fails alone.
    fn plan(&mut self, inner: &Inner, now: Timestamp, taken: &mut Taken) -> Result<()>;

    /// Apply the write inside the batch's transaction and keep its outcome
    /// for [`Write::committed`]. A failure of the write's own checks is an
    /// outcome, not an abort: return `Ok` and write nothing. Called again
    /// from the start if the transaction runs again.
    ///
    /// # Errors
    /// An abort fails this write alone (the transaction runs again without
    /// it); a storage error fails the round.
    fn apply(&self, tx: &Tx<'_>, now: Timestamp) -> TxResult<()>;

    /// The transaction committed: keep this round's outcome. Returns whether
    /// the write wants another round.
    fn committed(&mut self) -> bool;

    /// The write failed with `error`; it takes part in no further round.
    fn fail(&mut self, error: Error);

    /// Answer the caller, once the batch's sync ended with `synced`
    /// (`None` if the batch wrote nothing and did not sync).
    fn answer(self: Box<Self>, synced: Option<&Result<()>>);
}

/// What the claims planned so far in a round have taken, so that the next
/// claim of the round plans other tasks.
#[derive(Default)]
pub(crate) struct Taken {
    /// Every task planned by a claim of this round.
    ids: HashSet<TaskId>,
    /// Per pool prefix and claimed status: the claim-index key up to which
    /// every entry was taken (by a claim for any task of that status), so
    /// that the next claim's walk starts after it.
    cursors: HashMap<(Vec<u8>, Status), Vec<u8>>,
}

impl Taken {
    /// Whether a claim of this round planned task `id`.
    pub(crate) fn contains(&self, id: TaskId) -> bool {
        self.ids.contains(&id)
    }

    /// Record that a claim planned task `id`.
    pub(crate) fn take(&mut self, id: TaskId) {
        self.ids.insert(id);
    }

    /// The claim-index key of the pool and status up to which everything is
    /// taken.
    pub(crate) fn cursor(&self, prefix: &[u8], from: Status) -> Option<&[u8]> {
        self.cursors
            .get(&(prefix.to_vec(), from))
            .map(Vec::as_slice)
    }

    /// Record that every claim-index entry of the pool and status up to
    /// `key` is taken.
    pub(crate) fn advance(&mut self, prefix: &[u8], from: Status, key: Vec<u8>) {
        self.cursors.insert((prefix.to_vec(), from), key);
    }
}

/// The queue of writes waiting for the writer.
#[derive(Default)]
pub(crate) struct WriteQueue {
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    writes: Vec<Box<dyn Write>>,
    /// Whether a writer is running (it takes what is queued before it stops).
    running: bool,
}

impl WriteQueue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // The state stays consistent: `Running` restores it even on a panic.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queue `write`; returns whether the caller must start a writer.
    fn push(&self, write: Box<dyn Write>) -> bool {
        let mut state = self.lock();
        state.writes.push(write);
        !std::mem::replace(&mut state.running, true)
    }

    /// The next batch, or `None` (and the writer stops) if nothing is queued.
    fn next_batch(&self) -> Option<Vec<Box<dyn Write>>> {
        let mut state = self.lock();
        if state.writes.is_empty() {
            state.running = false;
            return None;
        }
        let at = state.writes.len().min(MAX_BATCH);
        let rest = state.writes.split_off(at);
        Some(std::mem::replace(&mut state.writes, rest))
    }
}

/// The running writer: if it panics, the queue gets no writer stuck as
/// running, and the writes still queued fail (their callers see the writer
/// gone) rather than wait for a writer nobody starts.
struct Running<'a>(&'a WriteQueue);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut state = self.0.lock();
            state.running = false;
            state.writes.clear();
        }
    }
}

impl SledStore {
    /// Queue a write built around the sender of its answer, and await the
    /// answer (durable once it comes).
    pub(crate) async fn queue<T>(
        &self,
        write: impl FnOnce(oneshot::Sender<Result<T>>) -> Box<dyn Write>,
    ) -> Result<T> {
        let (answer, answered) = oneshot::channel();
        if self.inner.writes.push(write(answer)) {
            let inner = Arc::clone(&self.inner);
            // The writer answers through the oneshots: its join handle is
            // not needed (a panic drops the senders, which the callers see).
            drop(tokio::task::spawn_blocking(move || run_writer(inner)));
        }
        answered.await.map_err(|_| SledError::WriterGone)?
    }
}

/// The writer: apply and sync batches until the queue is empty.
///
/// It answers a batch only after letting go of the store, so that a caller
/// that drops its last handle once answered closes the database at once
/// (and may open it again); between batches it holds the store weakly.
fn run_writer(inner: Arc<Inner>) {
    let weak = Arc::downgrade(&inner);
    let mut strong = Some(inner);
    loop {
        let Some(inner) = strong.take().or_else(|| weak.upgrade()) else {
            return;
        };
        let running = Running(&inner.writes);
        let Some(batch) = inner.writes.next_batch() else {
            return;
        };
        let (writes, synced) = inner.run_batch(batch);
        drop(running);
        drop(inner);
        for write in writes {
            write.answer(synced.as_ref());
        }
    }
}

impl Inner {
    /// Apply one batch in rounds and sync once; returns the writes, ready
    /// to answer, and the sync's outcome (`None`: nothing was written).
    fn run_batch(
        &self,
        mut writes: Vec<Box<dyn Write>>,
    ) -> (Vec<Box<dyn Write>>, Option<Result<()>>) {
        tracing::trace!(writes = writes.len(), "sled write batch");
        let mut wrote = false;
        {
            let _shared = self.shared();
            let now = self.clock.now();
            let mut active: Vec<usize> = (0..writes.len()).collect();
            while !active.is_empty() {
                let mut taken = Taken::default();
                active.retain(|&i| match writes[i].plan(self, now, &mut taken) {
                    Ok(()) => true,
                    Err(e) => {
                        writes[i].fail(e);
                        false
                    }
                });
                match self.apply_round(&mut writes, &mut active, now) {
                    Ok(round_wrote) => wrote |= round_wrote,
                    Err(e) => {
                        for &i in &active {
                            writes[i].fail(copy(&e));
                        }
                        break;
                    }
                }
                active.retain(|&i| writes[i].committed());
            }
        }
        let synced = wrote.then(|| self.flush());
        (writes, synced)
    }

    /// Apply the `active` writes in one transaction; a write whose `apply`
    /// aborts fails and leaves `active`, and the transaction runs again
    /// without it. Returns whether the committed transaction wrote anything.
    ///
    /// # Errors
    /// sled's storage error, for every write of the round.
    fn apply_round(
        &self,
        writes: &mut [Box<dyn Write>],
        active: &mut Vec<usize>,
        now: Timestamp,
    ) -> Result<bool> {
        loop {
            let applying = Cell::new(None);
            let result = self.transact_raw(|tx| {
                for (at, &i) in active.iter().enumerate() {
                    applying.set(Some(at));
                    writes[i].apply(tx, now)?;
                }
                applying.set(None);
                Ok(tx.wrote())
            });
            match result {
                Ok(wrote) => return Ok(wrote),
                Err(sled::transaction::TransactionError::Abort(e)) => match applying.get() {
                    Some(at) => {
                        let i = active.remove(at);
                        writes[i].fail(e);
                    }
                    None => return Err(e),
                },
                Err(sled::transaction::TransactionError::Storage(e)) => {
                    return Err(SledError::Sled(e).into());
                }
            }
        }
    }
}

/// The same error again, for each of the writes it fails.
pub(crate) fn copy(error: &Error) -> Error {
    Error::new(error.kind(), error.to_string())
}

/// The answer of a write: its outcome, unless the sync that was to make it
/// durable failed.
pub(crate) fn answer<T>(
    reply: oneshot::Sender<Result<T>>,
    outcome: Result<T>,
    synced: Option<&Result<()>>,
) {
    let answer = match (outcome, synced) {
        (Ok(_), Some(Err(e))) => Err(copy(e)),
        (outcome, _) => outcome,
    };
    // A caller that stopped waiting no longer needs the answer.
    let _ = reply.send(answer);
}

#[cfg(test)]
mod tests;
