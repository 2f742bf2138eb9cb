//! [`TrainerR`] and [`DelayTrainerR`]: run tasks in this process, in order,
//! without a store.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use task_store::record::{flatten_params, validate_experiment_name};
use task_store::{Error, NewRecord, RecordStore, Status};

use super::{TaskFailure, TrainError, TrainedTask, Trainer};
use crate::worker::{
    Phase, RecordPlan, Shutdown, TaskError, TaskFn, TaskInput, experiment_of, metrics_of,
    run_caught, store_record, warn_discarded,
};

/// Where an in-process trainer stores artifact directories.
struct RecordSink {
    records: Arc<dyn RecordStore>,
    /// The experiment of tasks whose definition names none.
    experiment: String,
}

impl RecordSink {
    fn new(records: Arc<dyn RecordStore>, experiment: String) -> Result<RecordSink, Error> {
        validate_experiment_name(&experiment)?;
        Ok(RecordSink {
            records,
            experiment,
        })
    }
}

/// Qlib's `TrainerR`: runs each task with the task function, in input order,
/// in this process. The first failing task stops the batch.
///
/// Task functions see `id` and `pool` as `None` (no store) and attempt 1.
/// To run each task in a fresh process (Qlib's `call_in_subproc`), use a
/// [`CommandTask`](crate::worker::CommandTask): one child per task, never
/// nested (B13).
pub struct TrainerR {
    task_fn: Arc<dyn TaskFn>,
    records: Option<RecordSink>,
}

impl TrainerR {
    /// A trainer running `task_fn` on each task.
    pub fn new(task_fn: Arc<dyn TaskFn>) -> TrainerR {
        TrainerR {
            task_fn,
            records: None,
        }
    }

    /// Store each successful run's artifact directory as a record in
    /// `records`, as a worker does ([`Worker::with_records`](crate::worker::Worker::with_records)),
    /// without pool or task id; `experiment` is used for definitions
    /// without an `"experiment"` string. A task whose record cannot be
    /// stored fails.
    ///
    /// # Errors
    /// `Config` for an invalid experiment name.
    pub fn with_records(
        mut self,
        records: Arc<dyn RecordStore>,
        experiment: impl Into<String>,
    ) -> Result<TrainerR, Error> {
        self.records = Some(RecordSink::new(records, experiment.into())?);
        Ok(self)
    }
}

#[async_trait]
impl Trainer for TrainerR {
    async fn train(&self, tasks: Vec<Value>) -> Result<Vec<TrainedTask>, TrainError> {
        run_in_order(&self.task_fn, self.records.as_ref(), tasks, Status::Done).await
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
    records: Option<RecordSink>,
}

impl DelayTrainerR {
    /// A trainer running `begin` in `train` and `end` in `end_train`.
    pub fn new(begin: Arc<dyn TaskFn>, end: Arc<dyn TaskFn>) -> DelayTrainerR {
        DelayTrainerR {
            begin,
            end,
            records: None,
        }
    }

    /// As [`TrainerR::with_records`], for both phases (each run with files
    /// makes its own record, tagged with its phase).
    ///
    /// # Errors
    /// `Config` for an invalid experiment name.
    pub fn with_records(
        mut self,
        records: Arc<dyn RecordStore>,
        experiment: impl Into<String>,
    ) -> Result<DelayTrainerR, Error> {
        self.records = Some(RecordSink::new(records, experiment.into())?);
        Ok(self)
    }
}

#[async_trait]
impl Trainer for DelayTrainerR {
    async fn train(&self, tasks: Vec<Value>) -> Result<Vec<TrainedTask>, TrainError> {
        run_in_order(&self.begin, self.records.as_ref(), tasks, Status::PartDone).await
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
                let run = Run {
                    sink: self.records.as_ref(),
                    phase: Phase::Second,
                    def: &task.def,
                    index,
                };
                task.res = run_one(&self.end, run, task.res).await?;
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
    sink: Option<&RecordSink>,
    tasks: Vec<Value>,
    status: Status,
) -> Result<Vec<TrainedTask>, TrainError> {
    let mut trained = Vec::with_capacity(tasks.len());
    for (index, def) in tasks.into_iter().enumerate() {
        let run = Run {
            sink,
            phase: Phase::First,
            def: &def,
            index,
        };
        let res = run_one(task_fn, run, def.clone()).await?;
        trained.push(TrainedTask {
            id: None,
            def,
            status,
            res,
        });
    }
    Ok(trained)
}

/// One in-process run of one task.
struct Run<'a> {
    sink: Option<&'a RecordSink>,
    phase: Phase,
    /// The task definition (the record's task).
    def: &'a Value,
    /// The task's position in the input.
    index: usize,
}

impl Run<'_> {
    fn failure(&self, message: String) -> TrainError {
        TrainError::TasksFailed(vec![TaskFailure {
            index: self.index,
            id: None,
            message,
        }])
    }
}

/// Run one task in this process with a fresh artifact directory; with a
/// record sink, a successful run's files become a record (as in a worker).
async fn run_one(
    task_fn: &Arc<dyn TaskFn>,
    run: Run<'_>,
    payload: Value,
) -> Result<Value, TrainError> {
    let dir = tempfile::Builder::new()
        .prefix("taskpool-")
        .tempdir()
        .map_err(|e| Error::backend("cannot create an artifact directory").with_source(e))?;
    let input = TaskInput {
        id: None,
        pool: None,
        attempt: 1,
        phase: run.phase,
        payload,
        artifact_dir: dir.path().to_path_buf(),
        shutdown: Shutdown::new(),
    };
    let res = match run_caught(Arc::clone(task_fn), input).await {
        Ok(res) => res,
        Err(TaskError::Failed(message)) => return Err(run.failure(message)),
        Err(TaskError::Worker(error)) => return Err(TrainError::Store(error)),
    };
    let Some(sink) = run.sink else {
        warn_discarded(&format_args!("#{}", run.index), dir.path());
        return Ok(res);
    };
    let plan = RecordPlan {
        records: &*sink.records,
        experiment: experiment_of(run.def, &sink.experiment),
        record: NewRecord {
            task: run.def.clone(),
            params: flatten_params(run.def),
            metrics: metrics_of(&res),
            ..NewRecord::default()
        },
        phase: run.phase,
    };
    match store_record(plan, dir.path()).await {
        Ok(Some(record)) => {
            tracing::info!(
                task = run.index, record = %record.id, experiment = %record.experiment,
                "artifacts stored"
            );
            Ok(res)
        }
        Ok(None) => Ok(res),
        Err(e) => Err(run.failure(format!("cannot store the task's artifacts: {e}"))),
    }
}
