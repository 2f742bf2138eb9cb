//! claim: reap and claim through the expiry and claim indexes, never a scan
//! of the pool.
//!
//! A claim first *plans* outside any transaction: it walks the expiry index
//! up to `now` (expired leases: exhausted ones are reaped, the others are
//! candidates if taken from `from`) and lazily walks the claim index under
//! `pool · from` (already in priority order), and merges both by
//! (priority desc, id) until it has `n` candidates matching the query. Then
//! one transaction re-reads every candidate and claims those still claimable.
//! A candidate another worker took in between is skipped, and the claim plans
//! again for the rest.

use std::cmp::Reverse;

use task_store::query::Query;
use task_store::transition;
use task_store::{ClaimParams, Result, Task, TaskId, Timestamp};

use crate::error::SledError;
use crate::layout;
use crate::store::Inner;
use crate::tx::{Tx, TxResult};

/// How often a claim re-plans after losing candidates to other workers
/// before it returns what it has.
const MAX_ROUNDS: usize = 64;

/// Claim order: higher priority first, then lower id.
type Rank = (Reverse<i64>, TaskId);

/// What one planning pass found.
struct Plan {
    /// Expired leases with no attempts left.
    reap: Vec<TaskId>,
    /// Candidates in claim order.
    picks: Vec<TaskId>,
}

impl Inner {
    /// [`TaskStore::claim`](task_store::TaskStore::claim).
    pub(crate) fn claim(&self, pool: &str, params: &ClaimParams) -> Result<Vec<Task>> {
        let prefix = layout::pool_prefix(pool);
        let _shared = self.shared();
        let now = self.clock.now();
        let mut claimed = Vec::new();
        let mut wrote = false;
        for round in 0.. {
            if round == MAX_ROUNDS {
                tracing::warn!(pool, "claim gave up re-planning under contention");
                break;
            }
            let plan = self.plan(&prefix, params, now, params.n - claimed.len())?;
            if plan.reap.is_empty() && plan.picks.is_empty() {
                break;
            }
            let (got, skipped) = self.transact(|tx| {
                for &id in &plan.reap {
                    if let Some(task) = tx.task(&prefix, id)?
                        && transition::is_expired_and_exhausted(&task, now)
                    {
                        reap(tx, &prefix, &task, now)?;
                    }
                }
                let mut got = Vec::new();
                let mut skipped = 0;
                for &id in &plan.picks {
                    match tx.task(&prefix, id)? {
                        Some(task) if transition::is_expired_and_exhausted(&task, now) => {
                            reap(tx, &prefix, &task, now)?;
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
                            tx.put(&prefix, Some(&task), &new)?;
                            got.push(new);
                        }
                        _ => skipped += 1,
                    }
                }
                Ok((got, skipped))
            })?;
            wrote = true;
            claimed.extend(got);
            if skipped == 0 || claimed.len() >= params.n {
                break;
            }
        }
        if wrote {
            self.flush()?;
        }
        Ok(claimed)
    }

    /// Find what to reap and up to `want` candidates, in claim order.
    fn plan(
        &self,
        prefix: &[u8],
        params: &ClaimParams,
        now: Timestamp,
        want: usize,
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

        let mut index = self
            .trees
            .claim
            .scan_prefix(layout::claim_prefix(prefix, params.from));
        let mut next_indexed = || -> Result<Option<Rank>> {
            for entry in index.by_ref() {
                let (key, _) = entry.map_err(SledError::Sled)?;
                let (_, priority, id) = layout::parse_claim_suffix(&key[prefix.len()..])
                    .ok_or_else(|| corrupt("claim"))?;
                if matches!(params.query, Query::All) {
                    return Ok(Some((Reverse(priority), id)));
                }
                if let Some(task) = self.load(prefix, id)?
                    && transition::is_claimable(&task, params.from, now)
                    && params.query.matches(&task)
                {
                    return Ok(Some((Reverse(task.priority), id)));
                }
            }
            Ok(None)
        };

        let mut indexed = next_indexed()?;
        let mut picks = Vec::new();
        while picks.len() < want {
            match (indexed, expired.peek().copied()) {
                (None, None) => break,
                (Some(a), Some(b)) if b < a => {
                    picks.push(b.1);
                    expired.next();
                }
                (None, Some(b)) => {
                    picks.push(b.1);
                    expired.next();
                }
                (Some(a), _) => {
                    picks.push(a.1);
                    indexed = next_indexed()?;
                }
            }
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
