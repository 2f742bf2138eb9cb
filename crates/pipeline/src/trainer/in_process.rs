//! [`TrainerR`] and [`DelayTrainerR`]: run tasks in this process, in order,
//! without a store.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use task_store::{Error, Status};

use super::{TaskFailure, TrainError, TrainedTask, Trainer};
use crate::worker::{Phase, Shutdown, TaskError, TaskFn, TaskInput, run_caught};

/// Qlib's `TrainerR`: runs each task with the task function, in input order,
/// in this process. The first failing task stops the batch.
///
/// Task functions see `id` and `pool` as `None` (no store) and attempt 1.
/// To run each task in a fresh process (Qlib's `call_in_subproc`), use a
/// [`CommandTask`](crate::worker::CommandTask): one child per task, never
/// nested (B13).
pub struct TrainerR {
    task_fn: Arc<dyn TaskFn>,
}

impl TrainerR {
    /// A trainer running `task_fn` on each task.
    pub fn new(task_fn: Arc<dyn TaskFn>) -> TrainerR {
        TrainerR { task_fn }
    }
}

#[async_trait]
impl Trainer for TrainerR {
    async fn train(&self, tasks: Vec<Value>) -> Result<Vec<TrainedTask>, TrainError> {
        run_in_order(&self.task_fn, tasks, Status::Done).await
    }

    /// Returns the tasks unchanged: they are done.
    async fn end_train(&self, tasks: Vec<TrainedTask>) -> Result<Vec<TrainedTask>, TrainError> {
        Ok(tasks)
    }

    fn is_delay(&self) -> bool {
        false
    }
}

/// Qlib's `DelayTrainerR`: `train` runs the first phase of each task
/// (`part_done`), `end_train` runs the second phase on the first phase's
/// result.
pub struct DelayTrainerR {
    begin: Arc<dyn TaskFn>,
    end: Arc<dyn TaskFn>,
}

impl DelayTrainerR {
    /// A trainer running `begin` in `train` and `end` in `end_train`.
    pub fn new(begin: Arc<dyn TaskFn>, end: Arc<dyn TaskFn>) -> DelayTrainerR {
        DelayTrainerR { begin, end }
    }
}

#[async_trait]
impl Trainer for DelayTrainerR {
    async fn train(&self, tasks: Vec<Value>) -> Result<Vec<TrainedTask>, TrainError> {
        run_in_order(&self.begin, tasks, Status::PartDone).await
    }

    /// Runs the second phase of every `part_done` task, in order; `done`
    /// tasks are returned as they are (calling it twice is harmless).
    ///
    /// # Errors
    /// [`TrainError::InvalidModel`] for a task in any other status (B15: no
    /// crash on a task without a phase marker); the first failure stops.
    async fn end_train(&self, tasks: Vec<TrainedTask>) -> Result<Vec<TrainedTask>, TrainError> {
        if let Some((index, task)) = tasks
            .iter()
            .enumerate()
            .find(|(_, t)| !matches!(t.status, Status::PartDone | Status::Done))
        {
            return Err(TrainError::InvalidModel {
                index,
                reason: format!("it is {}, not part_done or done", task.status),
            });
        }
        let mut ended = Vec::with_capacity(tasks.len());
        for (index, mut task) in tasks.into_iter().enumerate() {
            if task.status == Status::PartDone {
                task.res = run_one(&self.end, Phase::Second, task.res, index).await?;
                task.status = Status::Done;
            }
            ended.push(task);
        }
        Ok(ended)
    }

    fn is_delay(&self) -> bool {
        true
    }
}

async fn run_in_order(
    task_fn: &Arc<dyn TaskFn>,
    tasks: Vec<Value>,
    status: Status,
) -> Result<Vec<TrainedTask>, TrainError> {
    let mut trained = Vec::with_capacity(tasks.len());
    for (index, def) in tasks.into_iter().enumerate() {
        let res = run_one(task_fn, Phase::First, def.clone(), index).await?;
        trained.push(TrainedTask {
            id: None,
            def,
            status,
            res,
        });
    }
    Ok(trained)
}

/// Run one task in this process with a fresh artifact directory.
///
/// HAND-OFF(records): as in the worker, the artifact directory's files are
/// meant to become the task's artifacts once the records store is wired in;
/// it is removed after the run for now.
async fn run_one(
    task_fn: &Arc<dyn TaskFn>,
    phase: Phase,
    payload: Value,
    index: usize,
) -> Result<Value, TrainError> {
    let dir = tempfile::Builder::new()
        .prefix("taskpool-")
        .tempdir()
        .map_err(|e| Error::backend("cannot create an artifact directory").with_source(e))?;
    let input = TaskInput {
        id: None,
        pool: None,
        attempt: 1,
        phase,
        payload,
        artifact_dir: dir.path().to_path_buf(),
        shutdown: Shutdown::new(),
    };
    match run_caught(Arc::clone(task_fn), input).await {
        Ok(res) => Ok(res),
        Err(TaskError::Failed(message)) => Err(TrainError::TasksFailed(vec![TaskFailure {
            index,
            id: None,
            message,
        }])),
        Err(TaskError::Worker(error)) => Err(TrainError::Store(error)),
    }
}
