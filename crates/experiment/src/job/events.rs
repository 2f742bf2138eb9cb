//! [`JobEvent`]: what a running job reports as it goes (the CLI draws its
//! progress bar and messages from these).

use std::sync::Arc;
use std::time::Duration;

use jiff::civil::Date;

/// A step of a job.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum JobEvent {
    /// The data is loaded.
    Loaded {
        /// What it is: source, instruments, trading days and date range.
        data: String,
    },
    /// `--fresh`: the pool and the experiment's records were deleted.
    Dropped {
        /// Records deleted.
        records: usize,
    },
    /// The tasks are generated and in the store.
    Created {
        /// All tasks of the job.
        total: usize,
        /// Models (after the sweep).
        models: usize,
        /// Tasks created now.
        new: usize,
        /// Tasks already `done` (reused: not trained again).
        done: usize,
        /// Tasks that had failed before and were put back to `waiting`.
        retried: usize,
    },
    /// Training starts.
    Training {
        /// Tasks to train (waiting or running).
        pending: usize,
        /// Worker processes, or concurrent tasks in process.
        workers: usize,
        /// Whether the workers are processes.
        processes: bool,
    },
    /// A look at the job's tasks while training.
    Progress {
        /// Done.
        done: u64,
        /// Failed for good.
        failed: u64,
        /// Running now.
        running: u64,
        /// All.
        total: u64,
    },
    /// A line a worker process wrote on stderr.
    WorkerOutput {
        /// Which process (0-based).
        worker: usize,
        /// The line.
        line: String,
    },
    /// Training is over.
    Trained {
        /// How long it took.
        elapsed: Duration,
    },
    /// Online serving: a routine starts (it holds the experiment's routine
    /// lease).
    RoutineStarted {
        /// The last date of data it sees.
        as_of: Date,
    },
    /// Online serving: another process runs a routine of the experiment;
    /// this one waits for it to finish.
    RoutineBusy {
        /// The lease owner (`host:pid:n`).
        owner: String,
    },
    /// Online serving: the online models predicted the new dates.
    PredictionsUpdated {
        /// Models updated.
        models: usize,
        /// Prediction rows added.
        rows: usize,
    },
    /// Online serving: a routine is over.
    RoutineFinished {
        /// Its as-of date.
        as_of: Date,
        /// Windows trained.
        trained: usize,
        /// The signal's last date afterwards.
        signal_end: Option<Date>,
        /// Whether it changed anything (`false`: the state was already
        /// at or past `as_of`).
        ran: bool,
    },
}

/// Where a job sends its events.
pub type Events = Arc<dyn Fn(JobEvent) + Send + Sync>;

/// A sink that drops every event.
pub fn no_events() -> Events {
    Arc::new(|_| {})
}
