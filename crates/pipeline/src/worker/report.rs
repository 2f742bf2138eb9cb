//! [`WorkerReport`]: what a worker did.

use serde::Serialize;
use task_store::Status;

/// How one claimed task ended for this worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Committed to the target status.
    Committed,
    /// Returned with an error; the store put it in this status.
    Failed(Status),
    /// Handed back unfinished (shutdown, or a worker-level error), attempt not counted.
    HandedBack,
    /// The lease was lost (another worker reclaimed it, or it was reset): result abandoned.
    LeaseLost,
    /// A store error other than a lost lease kept the outcome from being recorded;
    /// the lease will expire and another worker will run the task again.
    StoreError,
}

/// Counts of what a worker did, returned when it stops.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WorkerReport {
    /// The worker's id (the lease owner).
    pub worker: String,
    /// Tasks claimed.
    pub claimed: u64,
    /// Tasks committed (done, part_done or waiting as configured).
    pub committed: u64,
    /// Attempts that failed and were returned with their error (retried later).
    pub retried: u64,
    /// Attempts that failed and used up the task's attempts (now `failed`).
    pub failed: u64,
    /// Tasks handed back unfinished without counting the attempt (shutdown).
    pub handed_back: u64,
    /// Tasks whose lease was lost while running; their results were discarded.
    pub lease_lost: u64,
    /// Tasks whose outcome could not be written because of a store error.
    pub store_errors: u64,
    /// Whether the worker stopped because a shutdown was requested.
    pub interrupted: bool,
}

/// One human line: `3 claimed, 2 committed, 1 retried, …` (what `-v` logs
/// and the CLI prints).
impl std::fmt::Display for WorkerReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} claimed, {} committed, {} retried, {} failed, {} handed back, {} lease lost, {} store errors",
            self.claimed,
            self.committed,
            self.retried,
            self.failed,
            self.handed_back,
            self.lease_lost,
            self.store_errors
        )?;
        if self.interrupted {
            f.write_str(" (interrupted)")?;
        }
        Ok(())
    }
}

impl WorkerReport {
    pub(crate) fn new(worker: String) -> WorkerReport {
        WorkerReport {
            worker,
            ..WorkerReport::default()
        }
    }

    pub(crate) fn record(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Committed => self.committed += 1,
            Outcome::Failed(Status::Failed) => self.failed += 1,
            Outcome::Failed(_) => self.retried += 1,
            Outcome::HandedBack => self.handed_back += 1,
            Outcome::LeaseLost => self.lease_lost += 1,
            Outcome::StoreError => self.store_errors += 1,
        }
    }
}

/// A live look at a running worker ([`Worker::progress`](super::Worker::progress)):
/// its counts so far and how many of its tasks are running now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WorkerProgress {
    /// What the worker did so far (as in the final report).
    #[serde(flatten)]
    pub report: WorkerReport,
    /// Tasks claimed and not yet settled.
    pub in_flight: u64,
}
