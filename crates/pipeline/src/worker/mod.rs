//! Workers: claim tasks, run them, heartbeat their leases, commit results
//! (Qlib's `run_task`), and [`wait`] for a pool to finish.
//!
//! # The loop ([`Worker::run`])
//!
//! - **Claim** up to the free slots (`concurrency` minus running tasks) from
//!   `waiting` (first [`Phase`]) or `part_done` (second phase), highest
//!   priority first, with the configured query and lease.
//! - **Run** each task on its own tokio task with a [`TaskFn`]: a Rust closure
//!   ([`blocking`], [`from_async`]) or an external command ([`CommandTask`]).
//!   The function gets the definition in the first phase and the first
//!   phase's result in the second.
//! - **Heartbeat** every lease/3 while it runs. If the store says the lease
//!   is lost (another worker reclaimed the task after it expired, or an
//!   operator reset it), the run is abandoned with a warning: its result is
//!   never written.
//! - **Commit** the result with the target status (`done`, or `part_done`
//!   when a second phase follows). A commit refused for a lost lease is never
//!   retried: another worker owns the task.
//! - **Failure**: an error, a panic, a non-zero exit… returns the task with
//!   the error message. The store counts the attempt and makes the task
//!   `failed` after `max_attempts`, so a poison task stops circulating (Qlib
//!   re-queued it forever and killed the worker).
//! - **Stop** when nothing is claimable and none of this worker's tasks is
//!   running (a task failing meanwhile is picked up again before stopping),
//!   or keep polling with capped exponential backoff (`follow`).
//! - **Shutdown** ([`Shutdown`], SIGINT/SIGTERM in the CLI): stop claiming;
//!   running tasks may finish within the grace period (external commands get
//!   the signal forwarded); the rest are handed back *without* counting the
//!   attempt, so another worker can take them at once instead of waiting for
//!   the lease to expire. A failure reported during shutdown is also handed
//!   back uncounted: it may have been caused by the shutdown itself.
//!
//! # `force_release`
//!
//! Qlib's `force_release` runs each task in a fresh process so its memory is
//! returned to the system. [`CommandTask`] always does that: one process per
//! task, in its own process group, killed as a group on timeout or when the
//! worker gives up on it. Closures run inside the worker process: a Rust
//! closure cannot be shipped to another process, and forking a multi-threaded
//! async runtime is unsound. A Rust program that wants a fresh process per
//! task runs *itself* as the worker command instead: a subcommand of the
//! program calls [`serve_stdio`] with the closure, and the worker runs
//! `CommandTask::new(std::env::current_exe()?, ["that-subcommand"])`.
//!
//! # Artifacts
//!
//! Every run gets an empty directory ([`TaskInput::artifact_dir`],
//! `TASKPOOL_ARTIFACT_DIR` for commands), removed afterwards. A closure
//! writes its files there exactly as a command does. With a record store
//! ([`Worker::with_records`]), a successful run whose directory holds files
//! leaves a record of the task in the store, with every file as an artifact
//! (a directory holding no file, or only empty directories, makes none):
//!
//! - experiment: the definition's top-level `"experiment"` string, else the
//!   pool name ([`experiment_of`]);
//! - pool, task id, definition and its flattened parameters; tag
//!   [`PHASE_TAG`] = `first`/`second`; metrics: the finite numbers of the
//!   result's `"metrics"` object ([`metrics_of`]);
//! - artifacts: every regular file, recursively, named by its `/`-joined
//!   path relative to the directory; a symlink counts as the regular file it
//!   points to inside the directory, any other symlink or special file fails
//!   the attempt, as does a file name that is not a valid artifact name;
//! - created `running`, `finished` once all artifacts are written, and all
//!   of it *before* the commit, with the lease heartbeaten meanwhile;
//! - a lease lost before the commit deletes the record with the result;
//!   storing that fails deletes the partial record and fails the attempt
//!   with the error (counted, like any failure); a failed run stores nothing.
//!
//! Without a record store the files are discarded with a warning.

mod artifacts;
mod attempt;
mod child_process;
mod command;
mod config;
mod guard;
mod id;
mod input;
mod lost;
mod report;
mod run;
mod serve;
mod shutdown;
mod task_fn;
mod wait;

pub use artifacts::{EXPERIMENT_FIELD, METRICS_FIELD, PHASE_TAG, experiment_of, metrics_of};
pub use child_process::signal_process;
pub use command::{
    CommandTask, DEFAULT_STDERR_LINES, ENV_ARTIFACT_DIR, ENV_ATTEMPT, ENV_POOL, ENV_TASK_ID,
    MAX_STDOUT_BYTES,
};
pub use config::{Backoff, DEFAULT_GRACE, DEFAULT_LEASE, MIN_LEASE, WorkerConfig};
pub use id::{hostname, new_worker_id};
pub use input::{Phase, TaskError, TaskInput};
pub use lost::{LostTask, find_lost, is_lost, requeue_lost, requeue_status};
pub use report::{WorkerProgress, WorkerReport};
pub use run::Worker;
pub use serve::{CommandRequest, serve, serve_stdio};
pub use shutdown::Shutdown;
pub use task_fn::{AsyncFn, BlockingFn, TaskFn, blocking, from_async};
pub use wait::{ExpiredLease, WaitOptions, WaitOutcome, WaitProgress, wait};

pub(crate) use artifacts::{RecordPlan, store_record, warn_discarded};
pub(crate) use task_fn::run_caught;
