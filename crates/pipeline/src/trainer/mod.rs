//! Trainers: Qlib's `Trainer` family on top of task functions and the store.
//!
//! | trainer | where tasks run | phases |
//! |---|---|---|
//! | [`TrainerR`] | in this process, in input order, no store | one |
//! | [`DelayTrainerR`] | in this process, no store | first in `train`, second in `end_train` |
//! | [`TrainerRM`] | through a pool: this process and any other workers | one |
//! | [`DelayTrainerRM`] | through a pool | `waiting → part_done` in `train`, `part_done → done` in `end_train` or by workers |
//!
//! A task function is any [`TaskFn`](crate::worker::TaskFn): a Rust closure
//! or an external command ([`CommandTask`](crate::worker::CommandTask)).
//! A trainer returns one [`TrainedTask`] per input task, in input order.
//!
//! # Qlib bugs fixed here
//!
//! - **B13** (`TrainerR` re-wrapped `call_in_subproc` on every task, so task
//!   *k* ran inside *k* nested process pools): a trainer holds one task
//!   function chosen at construction and never wraps it. To run each task in
//!   a fresh process, give it a [`CommandTask`](crate::worker::CommandTask):
//!   exactly one child process per task, started by the trainer itself.
//! - **B14** (`DelayTrainerRM.train` flipped `self.skip_run_task` without
//!   `finally`, and did not wait, so reading a result still being produced by
//!   another worker raised `KeyError`): trainers are never mutated
//!   (`train(&self)`); the first phase always runs in this process (as in
//!   Qlib, `skip_run_task` only concerns `end_train`) and `train` waits until
//!   none of its tasks is `waiting` or `running`, so every returned task has
//!   its first-phase result.
//! - **B15** (`DelayTrainerR.end_train` raised `KeyError` on a recorder
//!   without the `train_status` tag): the phase of a [`TrainedTask`] is its
//!   typed `status`; `end_train` runs the second phase of `part_done` tasks,
//!   skips `done` ones (idempotent), and rejects anything else with
//!   [`TrainError::InvalidModel`] instead of crashing.
//!
//! Failures are not silent either: a task that fails (after its attempts,
//! through the store) makes `train` return [`TrainError::TasksFailed`] with
//! every failure's last error, after the other tasks finished.

mod in_process;
mod through_store;

use std::fmt;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use task_store::{Status, TaskId};

use crate::worker::{Shutdown, WaitProgress, WorkerReport};

pub use in_process::{DelayTrainerR, TrainerR};
pub use through_store::{DelayTrainerRM, StoreTrainerOptions, TrainerRM};

/// What a trainer made of one task (Qlib returns a recorder; here the task
/// function's JSON result, which may name a record).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainedTask {
    /// The task's id in the pool (`None` for trainers without a store).
    pub id: Option<TaskId>,
    /// The task definition.
    pub def: Value,
    /// `part_done` after the first phase of a delayed trainer, else `done`.
    pub status: Status,
    /// The result of the last phase that ran.
    pub res: Value,
}

/// One task that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    /// Its position in the input.
    pub index: usize,
    /// Its id in the pool (`None` without a store).
    pub id: Option<TaskId>,
    /// The last error recorded for it.
    pub message: String,
}

impl fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id {
            Some(id) => write!(f, "task #{} ({id}): {}", self.index, self.message),
            None => write!(f, "task #{}: {}", self.index, self.message),
        }
    }
}

/// Why a trainer could not return its tasks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// The store failed, or the worker could not run tasks at all (a command
    /// that cannot start).
    #[error(transparent)]
    Store(#[from] task_store::Error),
    /// Some tasks failed (never empty); the others were trained.
    #[error("{} task(s) failed; first: {}", .0.len(), .0.first().map(ToString::to_string).unwrap_or_default())]
    TasksFailed(Vec<TaskFailure>),
    /// The wait's timeout passed; the last look at the tasks.
    #[error("timed out with {} task(s) still pending", .0.pending)]
    TimedOut(WaitProgress),
    /// A task handed to `end_train` cannot be ended.
    #[error("task #{index} cannot be ended: {reason}")]
    InvalidModel {
        /// Its position in the input.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// [`Trainer::worker`] on a trainer that runs no worker.
    #[error("this trainer has no worker: it runs its tasks in process")]
    NoWorker,
}

/// Qlib's `Trainer`: train tasks, possibly in two phases.
#[async_trait]
pub trait Trainer: Send + Sync {
    /// Train `tasks` (task definitions); one result per task, in input order.
    ///
    /// # Errors
    /// See [`TrainError`].
    async fn train(&self, tasks: Vec<Value>) -> Result<Vec<TrainedTask>, TrainError>;

    /// Finish training: the second phase for delayed trainers; the tasks
    /// unchanged otherwise.
    ///
    /// # Errors
    /// See [`TrainError`].
    async fn end_train(&self, tasks: Vec<TrainedTask>) -> Result<Vec<TrainedTask>, TrainError>;

    /// Whether `train` only runs the first phase and `end_train` the second.
    fn is_delay(&self) -> bool;

    /// Whether [`Trainer::worker`] is available (trainers through a store).
    fn has_worker(&self) -> bool {
        false
    }

    /// Work on the trainer's whole pool until nothing is claimable (run this
    /// in other processes or machines next to `train`).
    ///
    /// # Errors
    /// [`TrainError::NoWorker`] for in-process trainers; store errors.
    async fn worker(&self, shutdown: &Shutdown) -> Result<WorkerReport, TrainError> {
        let _ = shutdown;
        Err(TrainError::NoWorker)
    }

    /// `end_train(train(tasks))` (Qlib's `__call__`).
    ///
    /// # Errors
    /// As [`Trainer::train`] and [`Trainer::end_train`].
    async fn train_all(&self, tasks: Vec<Value>) -> Result<Vec<TrainedTask>, TrainError> {
        let trained = self.train(tasks).await?;
        self.end_train(trained).await
    }
}
