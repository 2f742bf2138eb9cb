//! [`TrainerRM`] and [`DelayTrainerRM`]: train through a task pool, next to
//! any number of other workers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use task_store::{
    CreateParams, DEFAULT_MAX_ATTEMPTS, Error, Query, RecordStore, Status, TaskId, TaskStore,
    TaskStoreExt,
};

use tokio::sync::Notify;

use super::{TaskFailure, TrainError, TrainedTask, Trainer};
use crate::worker::{
    Backoff, DEFAULT_GRACE, DEFAULT_LEASE, Phase, Shutdown, TaskFn, WaitOptions, WaitOutcome,
    Worker, WorkerConfig, WorkerReport, wait,
};

/// How a trainer through a store creates, runs and waits for its tasks.
#[derive(Debug, Clone)]
pub struct StoreTrainerOptions {
    /// Tasks run at once by this process.
    pub concurrency: usize,
    /// The lease of tasks run by this process.
    pub lease: Duration,
    /// Polling pauses of this process's worker.
    pub backoff: Backoff,
    /// Grace period for running tasks when a trainer stops early (timeout).
    pub grace: Duration,
    /// Priority of the tasks created.
    pub priority: i64,
    /// Attempt limit of the tasks created.
    pub max_attempts: u32,
    /// Qlib's `skip_run_task`: `end_train` (and the one-phase `train`) only
    /// wait for other workers instead of running tasks here too.
    pub skip_run_task: bool,
    /// How to wait for the tasks (poll interval, timeout). `pending` is set
    /// by the trainer for each phase.
    pub wait: WaitOptions,
}

impl Default for StoreTrainerOptions {
    fn default() -> StoreTrainerOptions {
        StoreTrainerOptions {
            concurrency: 1,
            lease: DEFAULT_LEASE,
            backoff: Backoff::default(),
            grace: DEFAULT_GRACE,
            priority: 0,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            skip_run_task: false,
            wait: WaitOptions::default(),
        }
    }
}

/// What both store trainers share: the store, the pool and the options.
struct Pooled {
    store: Arc<dyn TaskStore>,
    /// Where this process's workers store artifact directories.
    records: Option<Arc<dyn RecordStore>>,
    pool: String,
    options: StoreTrainerOptions,
}

impl Pooled {
    /// Create the tasks (deduplicated by content: an existing task with the
    /// same definition is reused whatever its status, as in Qlib); their ids
    /// in input order.
    async fn create(&self, tasks: Vec<Value>) -> Result<Vec<TaskId>, TrainError> {
        let params = CreateParams {
            priority: self.options.priority,
            max_attempts: self.options.max_attempts,
            ..CreateParams::new(tasks)
        };
        let created = self.store.create(&self.pool, params).await?;
        Ok(created.into_iter().map(|c| c.id).collect())
    }

    fn worker(
        &self,
        phase: Phase,
        after_status: Status,
        query: Query,
        follow: bool,
        task_fn: &Arc<dyn TaskFn>,
    ) -> Result<Worker, Error> {
        let config = WorkerConfig {
            phase,
            after_status,
            query,
            concurrency: self.options.concurrency,
            lease: self.options.lease,
            follow,
            backoff: self.options.backoff,
            grace: self.options.grace,
            ..WorkerConfig::new(self.pool.clone())
        };
        let worker = Worker::new(Arc::clone(&self.store), config, Arc::clone(task_fn))?;
        Ok(match &self.records {
            Some(records) => worker.with_records(Arc::clone(records)),
            None => worker,
        })
    }

    /// Run `phase` of the tasks `ids` here (if `run`), alongside any other
    /// worker, until none of them is in a `pending` status. The local worker
    /// keeps polling while it waits, so it also reclaims tasks whose worker
    /// died (expired leases) and retries failed attempts.
    async fn run_and_wait(
        &self,
        ids: &[TaskId],
        phase: Phase,
        after_status: Status,
        task_fn: &Arc<dyn TaskFn>,
        run: bool,
        pending: Vec<Status>,
    ) -> Result<(), TrainError> {
        let query = Query::ids(ids);
        let worker = if run {
            Some(self.worker(phase, after_status, query.clone(), true, task_fn)?)
        } else {
            None
        };
        let wake = Arc::new(Notify::new());
        let options = WaitOptions {
            pending,
            wake: match &worker {
                Some(_) => Some(Arc::clone(&wake)),
                None => self.options.wait.wake.clone(),
            },
            ..self.options.wait.clone()
        };
        let shutdown = Shutdown::new();
        let work = async {
            match &worker {
                Some(worker) => worker.run_waking(&shutdown, &wake).await.map(Some),
                None => Ok(None),
            }
        };
        let waiting = async {
            let mut reported = HashSet::new();
            let outcome = wait(&*self.store, &self.pool, &query, &options, |progress| {
                for stale in &progress.expired {
                    if reported.insert(stale.id) {
                        tracing::warn!(
                            task = %stale.id, owner = %stale.owner, expired_at = %stale.expired_at,
                            "task is stuck in running: its lease expired and no worker has reclaimed it yet"
                        );
                    }
                }
            })
            .await;
            shutdown.request(None);
            outcome
        };
        tokio::pin!(work, waiting);
        let outcome = tokio::select! {
            worked = &mut work => {
                worked?;
                waiting.await?
            }
            outcome = &mut waiting => {
                work.await?;
                outcome?
            }
        };
        match outcome {
            WaitOutcome::Finished(_) => Ok(()),
            WaitOutcome::TimedOut(progress) => Err(TrainError::TimedOut(progress)),
        }
    }

    /// The tasks `ids` as trained tasks, in input order. Each must be in one
    /// of `accept`; failed tasks are reported together.
    async fn collect(
        &self,
        ids: &[TaskId],
        accept: &[Status],
    ) -> Result<Vec<TrainedTask>, TrainError> {
        let tasks: HashMap<TaskId, _> = self
            .store
            .query_all(&self.pool, Query::ids(ids))
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
        let mut trained = Vec::with_capacity(ids.len());
        let mut failures = Vec::new();
        for (index, id) in ids.iter().enumerate() {
            let Some(task) = tasks.get(id) else {
                return Err(Error::not_found(format!(
                    "task {id} disappeared from pool {:?} while training",
                    self.pool
                ))
                .into());
            };
            if accept.contains(&task.status) {
                trained.push(TrainedTask {
                    id: Some(*id),
                    def: task.def.clone(),
                    status: task.status,
                    res: task.res.clone().unwrap_or(Value::Null),
                });
                continue;
            }
            let message = match task.status {
                Status::Failed => task.errors.last().map_or_else(
                    || "failed without an error message".to_string(),
                    |e| e.message.clone(),
                ),
                other => format!("task is {other} (reset or changed by someone else meanwhile)"),
            };
            failures.push(TaskFailure {
                index,
                id: Some(*id),
                message,
            });
        }
        if failures.is_empty() {
            Ok(trained)
        } else {
            Err(TrainError::TasksFailed(failures))
        }
    }

    fn ids_of(tasks: &[TrainedTask]) -> Result<Vec<TaskId>, TrainError> {
        tasks
            .iter()
            .enumerate()
            .map(|(index, t)| {
                t.id.ok_or_else(|| TrainError::InvalidModel {
                    index,
                    reason: "it has no task id: it was not trained through a store".into(),
                })
            })
            .collect()
    }
}

/// Qlib's `TrainerRM`: create the tasks in a pool (deduplicated: a task
/// already in the pool is reused with its result), run them here and in any
/// other worker on the pool, wait for all of them, and return their results
/// in input order.
pub struct TrainerRM {
    pooled: Pooled,
    task_fn: Arc<dyn TaskFn>,
}

impl TrainerRM {
    /// A trainer on `pool` of `store`, running `task_fn`.
    pub fn new(
        store: Arc<dyn TaskStore>,
        pool: impl Into<String>,
        task_fn: Arc<dyn TaskFn>,
        options: StoreTrainerOptions,
    ) -> TrainerRM {
        TrainerRM {
            pooled: Pooled {
                store,
                records: None,
                pool: pool.into(),
                options,
            },
            task_fn,
        }
    }

    /// Store the artifact directories of the tasks this process runs in
    /// `records`, as [`Worker::with_records`] does (experiment: the
    /// definition's `"experiment"` string, else the pool name). Other
    /// workers on the pool store theirs if they were given a record store.
    pub fn with_records(mut self, records: Arc<dyn RecordStore>) -> TrainerRM {
        self.pooled.records = Some(records);
        self
    }
}

#[async_trait]
impl Trainer for TrainerRM {
    /// Creates the tasks, runs them (unless `skip_run_task`) while waiting
    /// for every one of them to be `done` or `failed`, and returns them.
    ///
    /// # Errors
    /// [`TrainError::TasksFailed`] if any task ended `failed` (for instance an
    /// existing failed task that was reused: reset it to retry);
    /// [`TrainError::TimedOut`]; store errors.
    async fn train(&self, tasks: Vec<Value>) -> Result<Vec<TrainedTask>, TrainError> {
        if tasks.is_empty() {
            return Ok(Vec::new());
        }
        let p = &self.pooled;
        let ids = p.create(tasks).await?;
        let pending = vec![Status::Waiting, Status::Running, Status::PartDone];
        p.run_and_wait(
            &ids,
            Phase::First,
            Status::Done,
            &self.task_fn,
            !p.options.skip_run_task,
            pending,
        )
        .await?;
        p.collect(&ids, &[Status::Done]).await
    }

    /// Returns the tasks unchanged: they are done.
    async fn end_train(&self, tasks: Vec<TrainedTask>) -> Result<Vec<TrainedTask>, TrainError> {
        Ok(tasks)
    }

    fn is_delay(&self) -> bool {
        false
    }

    fn has_worker(&self) -> bool {
        true
    }

    /// Runs `waiting` tasks of the whole pool until none is claimable.
    async fn worker(&self, shutdown: &Shutdown) -> Result<WorkerReport, TrainError> {
        let worker =
            self.pooled
                .worker(Phase::First, Status::Done, Query::All, false, &self.task_fn)?;
        Ok(worker.run(shutdown).await?)
    }
}

/// Qlib's `DelayTrainerRM`: `train` runs the first phase (`waiting →
/// part_done`) of the tasks here and in other workers; the second phase
/// (`part_done → done`, with the first phase's result as input) runs in
/// `end_train` or in workers started with [`Trainer::worker`].
pub struct DelayTrainerRM {
    pooled: Pooled,
    begin: Arc<dyn TaskFn>,
    end: Arc<dyn TaskFn>,
}

impl DelayTrainerRM {
    /// A trainer on `pool` of `store`: `begin` is the first phase, `end` the second.
    pub fn new(
        store: Arc<dyn TaskStore>,
        pool: impl Into<String>,
        begin: Arc<dyn TaskFn>,
        end: Arc<dyn TaskFn>,
        options: StoreTrainerOptions,
    ) -> DelayTrainerRM {
        DelayTrainerRM {
            pooled: Pooled {
                store,
                records: None,
                pool: pool.into(),
                options,
            },
            begin,
            end,
        }
    }

    /// As [`TrainerRM::with_records`], for both phases (each run with files
    /// makes its own record, tagged with its phase).
    pub fn with_records(mut self, records: Arc<dyn RecordStore>) -> DelayTrainerRM {
        self.pooled.records = Some(records);
        self
    }
}

#[async_trait]
impl Trainer for DelayTrainerRM {
    /// Creates the tasks and runs their first phase here (always, whatever
    /// `skip_run_task`, as in Qlib) alongside other workers, waits until none
    /// is `waiting` or `running` (B14), and returns them `part_done` (or
    /// `done`, if a second-phase worker already finished them).
    ///
    /// # Errors
    /// As [`TrainerRM::train`].
    async fn train(&self, tasks: Vec<Value>) -> Result<Vec<TrainedTask>, TrainError> {
        if tasks.is_empty() {
            return Ok(Vec::new());
        }
        let p = &self.pooled;
        let ids = p.create(tasks).await?;
        p.run_and_wait(
            &ids,
            Phase::First,
            Status::PartDone,
            &self.begin,
            true,
            vec![Status::Waiting, Status::Running],
        )
        .await?;
        p.collect(&ids, &[Status::PartDone, Status::Done]).await
    }

    /// Runs the second phase of the tasks here (unless `skip_run_task`)
    /// alongside other workers, waits until all are finished, and returns them `done`.
    ///
    /// # Errors
    /// [`TrainError::InvalidModel`] for a task without an id; otherwise as
    /// [`TrainerRM::train`].
    async fn end_train(&self, tasks: Vec<TrainedTask>) -> Result<Vec<TrainedTask>, TrainError> {
        if tasks.is_empty() {
            return Ok(Vec::new());
        }
        let p = &self.pooled;
        let ids = Pooled::ids_of(&tasks)?;
        let pending = vec![Status::Waiting, Status::Running, Status::PartDone];
        p.run_and_wait(
            &ids,
            Phase::Second,
            Status::Done,
            &self.end,
            !p.options.skip_run_task,
            pending,
        )
        .await?;
        p.collect(&ids, &[Status::Done]).await
    }

    fn is_delay(&self) -> bool {
        true
    }

    fn has_worker(&self) -> bool {
        true
    }

    /// Runs the second phase of `part_done` tasks of the whole pool until none is claimable.
    async fn worker(&self, shutdown: &Shutdown) -> Result<WorkerReport, TrainError> {
        let worker =
            self.pooled
                .worker(Phase::Second, Status::Done, Query::All, false, &self.end)?;
        Ok(worker.run(shutdown).await?)
    }
}
