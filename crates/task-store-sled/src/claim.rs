//! claim: reap and claim through the expiry and claim indexes, never a scan
//! of the pool.
//!
//! A claim is a [`Write`] of a batch ([`crate::batch`]). It first *plans*
//! outside the transaction: it walks the expiry index up to `now` (expired
//! leases: exhausted ones are reaped, the others are candidates if taken
//! from `from`) and lazily walks the claim index under `pool · from`
//! (already in priority order), and merges both by (priority desc, id)
//! until it has `n` candidates matching the query, passing over what the
//! claims planned before it in the same batch took. Then, inside the batch's
//! transaction, it re-reads every candidate and claims those still
//! claimable. A candidate that changed in between (a write earlier in the
//! batch returned or reclaimed it) is skipped, and the claim plans again for
//! the rest in another round of the batch.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::ops::Bound;

use task_store::query::Query;
use task_store::transition;
use task_store::{ClaimParams, Error, Result, Task, TaskId, Timestamp};
use tokio::sync::oneshot;

use crate::batch::{self, Taken, Write};
use crate::error::SledError;
use crate::layout;
use crate::store::Inner;
use crate::tx::{Tx, TxResult};

/// How many rounds a claim re-plans after losing candidates before it
/// returns what it has.
const MAX_ROUNDS: usize = 64;

/// Claim order: higher priority first, then lower id.
type Rank = (Reverse<i64>, TaskId);

/// What one planning pass found.
#[derive(Default)]
struct Plan {
    /// Expired leases with no attempts left.
    reap: Vec<TaskId>,
    /// Candidates in claim order.
    picks: Vec<TaskId>,
}

/// A claim waiting in the write queue.
pub(crate) struct ClaimWrite {
    pool: String,
    prefix: Vec<u8>,
    params: ClaimParams,
    plan: Plan,
    /// What the last run of this round's transaction claimed, and how many
    /// candidates it skipped.
    applied: RefCell<Option<(Vec<Task>, usize)>>,
    /// What the committed rounds claimed.
    claimed: Vec<Task>,
    rounds: usize,
    error: Option<Error>,
    reply: oneshot::Sender<Result<Vec<Task>>>,
}

impl ClaimWrite {
    /// A claim of `params` on pool `pool`, answering through `reply`.
    pub(crate) fn queued(
        pool: &str,
        params: ClaimParams,
        reply: oneshot::Sender<Result<Vec<Task>>>,
    ) -> Box<dyn Write> {
        Box::new(ClaimWrite {
            pool: pool.to_string(),
            prefix: layout::pool_prefix(pool),
            params,
            plan: Plan::default(),
            applied: RefCell::default(),
            claimed: Vec::new(),
            rounds: 0,
            error: None,
            reply,
        })
    }
}

impl Write for ClaimWrite {
    fn plan(&mut self, inner: &Inner, now: Timestamp, taken: &mut Taken) -> Result<()> {
        let want = self.params.n - self.claimed.len();
        self.plan = inner.plan(&self.prefix, &self.params, now, want, taken)?;
        Ok(())
    }

    fn apply(&self, tx: &Tx<'_>, now: Timestamp) -> TxResult<()> {
        let (prefix, params) = (&self.prefix, &self.params);
        for &id in &self.plan.reap {
            if let Some(task) = tx.task(prefix, id)?
                && transition::is_expired_and_exhausted(&task, now)
            {
                reap(tx, prefix, &task, now)?;
            }
        }
        let mut got = Vec::with_capacity(self.plan.picks.len());
        let mut skipped = 0;
        for &id in &self.plan.picks {
            match tx.task(prefix, id)? {
                Some(task) if transition::is_expired_and_exhausted(&task, now) => {
                    reap(tx, prefix, &task, now)?;
                    skipped += 1;
                }
                Some(task)
                    if transition::is_claimable(&task, params.from, now)
                        && params.query.matches(&task) =>
                {
                    let mut new = task.clone();
                    transition::claim(
                        &mut new,
                        &params.owner,
                        transition::new_lease_token(),
                        params.lease,
                        now,
                    );
                    tx.put(prefix, Some(&task), &new)?;
                    got.push(new);
                }
                _ => skipped += 1,
            }
        }
        *self.applied.borrow_mut() = Some((got, skipped));
        Ok(())
    }

    fn committed(&mut self) -> bool {
        let planned = !(self.plan.reap.is_empty() && self.plan.picks.is_empty());
        let Some((got, skipped)) = self.applied.get_mut().take() else {
            return false;
        };
        self.claimed.extend(got);
        self.rounds += 1;
        let more = planned && skipped > 0 && self.claimed.len() < self.params.n;
        if more && self.rounds == MAX_ROUNDS {
            tracing::warn!(pool = %self.pool, "claim gave up re-planning under contention");
            return false;
        }
        more
    }

    fn fail(&mut self, error: Error) {
        self.error = Some(error);
    }

    fn answer(self: Box<Self>, synced: Option<&Result<()>>) {
        let outcome = match self.error {
            Some(e) => Err(e),
            None => Ok(self.claimed),
        };
        batch::answer(self.reply, outcome, synced);
    }
}

impl Inner {
    /// Find what to reap and up to `want` candidates, in claim order,
    /// passing over what `taken` holds, and add the candidates to it.
    fn plan(
        &self,
        prefix: &[u8],
        params: &ClaimParams,
        now: Timestamp,
        want: usize,
        taken: &mut Taken,
    ) -> Result<Plan> {
        let mut reap = Vec::new();
        let mut expired: Vec<Rank> = Vec::new();
        for entry in self
            .trees
            .expiry
            .range(prefix.to_vec()..layout::expiry_bound(prefix, now))
        {
            let (key, _) = entry.map_err(SledError::Sled)?;
            let id = layout::trailing_id(&key).ok_or_else(|| corrupt("expiry"))?;
            if taken.contains(id) {
                continue;
            }
            let Some(task) = self.load(prefix, id)? else {
                continue;
            };
            if transition::is_expired_and_exhausted(&task, now) {
                reap.push(id);
            } else if transition::is_claimable(&task, params.from, now)
                && params.query.matches(&task)
            {
                expired.push((Reverse(task.priority), id));
            }
        }
        expired.sort_unstable();
        let mut expired = expired.into_iter().peekable();

        // Every entry up to the cursor was taken by an earlier claim of
        // this round: start after it.
        let start = layout::claim_prefix(prefix, params.from);
        let end = layout::claim_prefix_end(prefix, params.from);
        let lower = match taken.cursor(prefix, params.from) {
            Some(cursor) => Bound::Excluded(cursor.to_vec()),
            None => Bound::Included(start),
        };
        let mut index = self.trees.claim.range((lower, Bound::Excluded(end)));
        let all = matches!(params.query, Query::All);
        let mut next_indexed = || -> Result<Option<(Rank, sled::IVec)>> {
            for entry in index.by_ref() {
                let (key, _) = entry.map_err(SledError::Sled)?;
                let (_, priority, id) = layout::parse_claim_suffix(&key[prefix.len()..])
                    .ok_or_else(|| corrupt("claim"))?;
                if taken.contains(id) {
                    continue;
                }
                if all {
                    return Ok(Some(((Reverse(priority), id), key)));
                }
                if let Some(task) = self.load(prefix, id)?
                    && transition::is_claimable(&task, params.from, now)
                    && params.query.matches(&task)
                {
                    return Ok(Some(((Reverse(task.priority), id), key)));
                }
            }
            Ok(None)
        };

        let mut indexed = next_indexed()?;
        let mut picks = Vec::new();
        // The last index entry a claim of every task took.
        let mut cursor = None;
        while picks.len() < want {
            match (indexed.take(), expired.peek().copied()) {
                (None, None) => break,
                (Some(a), Some(b)) if b < a.0 => {
                    picks.push(b.1);
                    expired.next();
                    indexed = Some(a);
                }
                (None, Some(b)) => {
                    picks.push(b.1);
                    expired.next();
                }
                (Some((rank, key)), _) => {
                    picks.push(rank.1);
                    if all {
                        cursor = Some(key);
                    }
                    indexed = next_indexed()?;
                }
            }
        }
        for &id in &picks {
            taken.take(id);
        }
        if let Some(key) = cursor {
            taken.advance(prefix, params.from, key.to_vec());
        }
        Ok(Plan { reap, picks })
    }
}

/// Mark an expired task with no attempts left `failed`.
fn reap(tx: &Tx<'_>, prefix: &[u8], task: &Task, now: Timestamp) -> TxResult<()> {
    let mut new = task.clone();
    transition::expire(&mut new, now);
    tracing::info!(task = %task.id, "lease expired with no attempts left: task failed");
    tx.put(prefix, Some(task), &new)
}

fn corrupt(index: &str) -> SledError {
    SledError::Corrupt(format!("malformed {index} index key"))
}
