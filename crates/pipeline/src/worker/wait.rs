//! [`wait`]: block until the tasks matching a query are finished, reporting
//! progress and tasks stuck under an expired lease.

use std::sync::Arc;
use std::time::Duration;

use task_store::{
    Query, QueryParams, Result, SharedClock, Stat, Status, SystemClock, TaskId, TaskStore,
    Timestamp,
};
use tokio::sync::Notify;
use tokio::time::Instant;

/// How [`wait`] waits.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// Pause between two looks at the pool (the longest pause, with
    /// [`first_poll`](WaitOptions::first_poll)).
    pub poll: Duration,
    /// The first pause: doubled after each look up to `poll`, and taken
    /// again after a look that found fewer tasks pending, so that a wait
    /// for short tasks ends soon after they do without looking often at a
    /// pool whose tasks take long. `None`: always `poll`.
    pub first_poll: Option<Duration>,
    /// Look again as soon as this is notified (say, by a worker of this
    /// process each time it settles a task), without waiting out the pause.
    /// A notification that comes during a look is kept for the next pause.
    pub wake: Option<Arc<Notify>>,
    /// Give up after this long; `None` waits for ever.
    pub timeout: Option<Duration>,
    /// The statuses that still count as unfinished. Default: waiting, running
    /// and part_done (Qlib's "undone"). A first phase waits for waiting and
    /// running only.
    pub pending: Vec<Status>,
    /// The clock that decides whether a lease has expired (the store's clock).
    pub clock: SharedClock,
}

impl Default for WaitOptions {
    fn default() -> WaitOptions {
        WaitOptions {
            poll: Duration::from_secs(1),
            first_poll: None,
            wake: None,
            timeout: None,
            pending: vec![Status::Waiting, Status::Running, Status::PartDone],
            clock: Arc::new(SystemClock),
        }
    }
}

/// A `running` task whose lease ran out: its worker is gone (or stalled) and
/// no worker has reclaimed it yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredLease {
    /// The task.
    pub id: TaskId,
    /// The worker that held it.
    pub owner: String,
    /// When the lease ran out.
    pub expired_at: Timestamp,
    /// The status a reclaim would start from.
    pub from_status: Status,
}

/// One look at the pool, handed to the progress callback.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitProgress {
    /// Counts by status of the matching tasks.
    pub stat: Stat,
    /// How many of them are in a pending status.
    pub pending: u64,
    /// `running` tasks whose lease has expired: nobody is working on them
    /// until a worker reclaims them.
    pub expired: Vec<ExpiredLease>,
}

impl WaitProgress {
    /// All matching tasks.
    pub fn total(&self) -> u64 {
        self.stat.total()
    }

    /// Matching tasks that are no longer pending.
    pub fn finished(&self) -> u64 {
        self.total().saturating_sub(self.pending)
    }
}

/// How a [`wait`] ended.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitOutcome {
    /// No matching task is pending any more.
    Finished(Stat),
    /// The timeout passed first; the last look at the pool.
    TimedOut(WaitProgress),
}

/// Wait until no task of `pool` matching `query` is in a pending status.
///
/// Looks at the pool every `poll` (see [`WaitOptions::first_poll`] and
/// [`WaitOptions::wake`] for looking sooner) with a server-side
/// [`TaskStore::stat`]; when
/// tasks are `running` it also lists them to find expired leases. Every look
/// is handed to `progress` (the CLI draws a progress bar from it), including
/// the first and the last.
///
/// Unlike Qlib's `wait`, a task left `running` by a dead worker does not make
/// this hang silently: it shows up in [`WaitProgress::expired`] (until a
/// worker reclaims it or it fails for good), and `timeout` bounds the wait.
///
/// # Errors
/// Whatever the store reports.
pub async fn wait(
    store: &dyn TaskStore,
    pool: &str,
    query: &Query,
    options: &WaitOptions,
    mut progress: impl FnMut(&WaitProgress) + Send,
) -> Result<WaitOutcome> {
    let deadline = options.timeout.map(|t| Instant::now() + t);
    let first = options
        .first_poll
        .map_or(options.poll, |f| f.min(options.poll));
    let mut next = first;
    let mut pending_before = None;
    loop {
        let look = look(store, pool, query, options).await?;
        progress(&look);
        if look.pending == 0 {
            return Ok(WaitOutcome::Finished(look.stat));
        }
        if pending_before.is_some_and(|before| look.pending < before) {
            next = first;
        }
        pending_before = Some(look.pending);
        let pause = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(WaitOutcome::TimedOut(look));
                }
                left.min(next)
            }
            None => next,
        };
        next = next.saturating_mul(2).min(options.poll);
        match &options.wake {
            Some(wake) => {
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = wake.notified() => {}
                }
            }
            None => tokio::time::sleep(pause).await,
        }
    }
}

async fn look(
    store: &dyn TaskStore,
    pool: &str,
    query: &Query,
    options: &WaitOptions,
) -> Result<WaitProgress> {
    let stat = store.stat(pool, query).await?;
    let pending = options.pending.iter().map(|s| stat.get(*s)).sum();
    let mut expired = Vec::new();
    if stat.running > 0 {
        let now = options.clock.now();
        let running = query.clone().and(Query::status(Status::Running));
        for task in store.query(pool, QueryParams::from(running)).await? {
            if let Some(lease) = task.lease.filter(|l| l.expires_at <= now) {
                expired.push(ExpiredLease {
                    id: task.id,
                    owner: lease.owner,
                    expired_at: lease.expires_at,
                    from_status: lease.from_status,
                });
            }
        }
    }
    Ok(WaitProgress {
        stat,
        pending,
        expired,
    })
}
