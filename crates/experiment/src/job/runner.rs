//! [`run_job`]: generate → create (dedupe) → train → collect → report.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use task_store::{
    CreateParams, Query, RecordFilter, RecordStore, ResetParams, Status, Store, TaskId, TaskStore,
    TaskStoreExt,
};
use taskpool_pipeline::worker::Shutdown;

use super::config::TrainerMode;
use super::error::JobError;
use super::events::{Events, JobEvent};
use super::market;
use super::plan::JobPlan;
use super::report::{self, JobSummary, TaskCounts};
use super::results;
use super::task_def::TaskDef;
use super::train::{self, Launch, WorkerCommand};

/// How a job runs, beyond its configuration.
pub struct RunOptions {
    /// Delete the pool and the experiment's records first (start over).
    pub fresh: bool,
    /// How worker processes are started (`trainer.mode: workers`); `None`
    /// trains in this process whatever the configuration says.
    pub worker_command: Option<WorkerCommand>,
    /// Where progress goes.
    pub events: Events,
    /// Stops the job (the CLI pulls it on SIGINT/SIGTERM): nothing more is
    /// claimed, unfinished tasks are handed back, and the job ends with
    /// [`JobError::Interrupted`] instead of a report.
    pub shutdown: Shutdown,
}

/// Open the store `plan` names, through the facade (every backend this
/// build has).
///
/// # Errors
/// An unknown scheme, a malformed URL, or whatever the backend reports.
pub async fn open_store(plan: &JobPlan) -> Result<Arc<dyn Store>, JobError> {
    Ok(taskpool::open(&plan.store).await?)
}

/// Run the job of `plan` on `store`: its report is written to
/// `plan.report_dir` and its summary returned.
///
/// Re-running the same plan reuses the tasks that are already `done`
/// (deduplicated by content in the pool) and trains nothing for them;
/// tasks that failed before are put back to `waiting` and tried again.
///
/// # Errors
/// [`JobError::Config`] for segments that do not fit the data, or worker
/// processes on a store that processes cannot share (`memory://`,
/// `sled://`: see [`Capabilities`](task_store::Capabilities));
/// [`JobError::TasksFailed`] when tasks fail for good;
/// [`JobError::Interrupted`] when `options.shutdown` is pulled before the
/// report is written; store, data and report errors.
pub async fn run_job(
    plan: &JobPlan,
    store: Arc<dyn Store>,
    options: RunOptions,
) -> Result<JobSummary, JobError> {
    let started = Instant::now();
    let events = &options.events;
    let launch = launch_for(options.worker_command.as_ref(), plan, &*store)?;
    let spec = plan.data.clone();
    let data = tokio::task::spawn_blocking(move || market::load(&spec))
        .await
        .map_err(|e| JobError::Workers(format!("loading the data stopped: {e}")))??;
    let described = data.describe(&plan.data);
    events(JobEvent::Loaded {
        data: described.clone(),
    });
    let planned = plan.tasks(&data.calendar)?;
    let defs = planned.tasks;
    let models = model_names(&defs)?;
    let labels = data.labels();
    if matches!(launch, Launch::Processes(_)) {
        // Worker processes load the data themselves; from here on this
        // process needs only the labels (issue 22: keeping the features
        // too put it past 1 GB at research scale).
        drop(data);
        market::forget(&plan.data);
    }

    if options.fresh {
        let records = drop_everything(&store, plan).await?;
        events(JobEvent::Dropped { records });
    }
    let trained = create_and_train(
        &store,
        plan,
        defs,
        models.len(),
        &launch,
        events,
        &options.shutdown,
    )
    .await?;
    let (ids, counts, train_seconds) = (trained.ids, trained.counts, trained.seconds);
    let tasks: Arc<dyn TaskStore> = store.clone();
    let job_query = Query::ids(&ids);
    let interrupted = || train::interrupted(&*tasks, &plan.pool, &job_query, &options.shutdown);

    let records: Arc<dyn RecordStore> = store.clone();
    let results = tokio::select! {
        results = results::collect(
            records,
            &plan.experiment,
            &ids,
            models,
            &labels,
            plan.ensemble,
        ) => results?,
        () = options.shutdown.requested() => return Err(interrupted().await),
    };
    let mut summary = JobSummary::new(
        store.to_string(),
        plan.pool.clone(),
        plan.experiment.clone(),
        described,
        counts,
        &results,
        plan.report_dir.clone(),
    );
    summary.skipped = planned.skipped;
    summary.train_seconds = train_seconds;
    summary.total_seconds = started.elapsed().as_secs_f64();
    report::write(&mut summary, plan.plot, results.signal.as_ref())?;
    Ok(summary)
}

/// Where the tasks of `plan` train: worker processes started with
/// `command` (when given and `trainer.mode` is `workers`), else in process.
///
/// # Errors
/// [`JobError::Config`] for worker processes on a store that processes
/// cannot share.
pub(crate) fn launch_for(
    command: Option<&WorkerCommand>,
    plan: &JobPlan,
    store: &dyn Store,
) -> Result<Launch, JobError> {
    match (command, plan.trainer.mode) {
        (Some(command), TrainerMode::Workers) => {
            if !store.capabilities().shared_by_processes {
                return Err(JobError::config(
                    "trainer.mode",
                    format!(
                        "worker processes cannot share the store {store} (it belongs to one process): use `in_process`, or a store that processes share, such as sqlite:// or mongodb://"
                    ),
                ));
            }
            Ok(Launch::Processes(command.clone()))
        }
        _ => Ok(Launch::InProcess),
    }
}

/// Tasks created and trained by [`create_and_train`].
pub(crate) struct TrainedTasks {
    /// Their ids, each once, in generation order.
    pub ids: Vec<TaskId>,
    /// What happened to them.
    pub counts: TaskCounts,
    /// Seconds spent training (0 when nothing needed it).
    pub seconds: f64,
}

/// Create `defs` in the plan's pool (deduplicated by content: tasks already
/// done are reused, failed ones retried) and train the pending ones until
/// every one is done: the part `taskpool run` and online routines share.
///
/// # Errors
/// [`JobError::TasksFailed`], [`JobError::Interrupted`], training and
/// store errors.
pub(crate) async fn create_and_train(
    store: &Arc<dyn Store>,
    plan: &JobPlan,
    defs: Vec<serde_json::Value>,
    models: usize,
    launch: &Launch,
    events: &Events,
    shutdown: &Shutdown,
) -> Result<TrainedTasks, JobError> {
    let (ids, counts) = create(store, plan, defs).await?;
    let tasks: Arc<dyn TaskStore> = store.clone();
    let job_query = Query::ids(&ids);
    let interrupted = || train::interrupted(&*tasks, &plan.pool, &job_query, shutdown);
    events(JobEvent::Created {
        total: counts.total,
        models,
        new: counts.new,
        done: counts.reused,
        retried: counts.retried,
    });
    if shutdown.is_requested() {
        return Err(interrupted().await);
    }
    let mut seconds = 0.0;
    if counts.trained > 0 {
        events(JobEvent::Training {
            pending: counts.trained,
            workers: plan.trainer.workers,
            processes: matches!(launch, Launch::Processes(_)),
        });
        let training = Instant::now();
        train::train(
            Arc::clone(store),
            &plan.pool,
            &ids,
            &plan.trainer,
            launch,
            events,
            shutdown,
        )
        .await?;
        seconds = training.elapsed().as_secs_f64();
        events(JobEvent::Trained {
            elapsed: training.elapsed(),
        });
    }
    if shutdown.is_requested() {
        return Err(interrupted().await);
    }
    check_all_done(store, &plan.pool, &ids).await?;
    Ok(TrainedTasks {
        ids,
        counts,
        seconds,
    })
}

/// The model names of the tasks, in order of first appearance.
pub(crate) fn model_names(defs: &[serde_json::Value]) -> Result<Vec<String>, JobError> {
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    for def in defs {
        let def = TaskDef::from_value(def).map_err(|e| JobError::config("models", e))?;
        if seen.insert(def.model.name.clone()) {
            names.push(def.model.name);
        }
    }
    Ok(names)
}

/// `--fresh`: drop the pool and delete the experiment's records; returns
/// how many records were deleted.
async fn drop_everything(store: &Arc<dyn Store>, plan: &JobPlan) -> Result<usize, JobError> {
    store.drop_pool(&plan.pool).await?;
    let records = store
        .list_records(&plan.experiment, &RecordFilter::all())
        .await?;
    for record in &records {
        store.delete_record(&plan.experiment, record.id).await?;
    }
    Ok(records.len())
}

/// Create the tasks (deduplicated by content); put failed ones back to
/// waiting. Returns the job's task ids (each once, in generation order).
pub(crate) async fn create(
    store: &Arc<dyn Store>,
    plan: &JobPlan,
    defs: Vec<serde_json::Value>,
) -> Result<(Vec<TaskId>, TaskCounts), JobError> {
    let params = CreateParams {
        max_attempts: plan.trainer.max_attempts,
        ..CreateParams::new(defs)
    };
    let created = store.create(&plan.pool, params).await?;
    let mut seen = HashSet::new();
    let mut ids = Vec::with_capacity(created.len());
    let mut counts = TaskCounts::default();
    let mut failed = Vec::new();
    for c in created {
        if !seen.insert(c.id) {
            continue;
        }
        ids.push(c.id);
        counts.total += 1;
        if c.new {
            counts.new += 1;
        } else if c.status == Status::Done {
            counts.reused += 1;
        } else if c.status == Status::Failed {
            failed.push(c.id);
        }
    }
    if !failed.is_empty() {
        counts.retried = store
            .reset_status(
                &plan.pool,
                ResetParams {
                    query: Query::ids(&failed),
                    status: Status::Waiting,
                },
            )
            .await? as usize;
    }
    counts.trained = counts.total - counts.reused;
    Ok((ids, counts))
}

/// Every task must be done; failed ones are reported with their last error.
async fn check_all_done(
    store: &Arc<dyn Store>,
    pool: &str,
    ids: &[TaskId],
) -> Result<(), JobError> {
    let tasks: Arc<dyn TaskStore> = store.clone();
    let all = tasks.query_all(pool, Query::ids(ids)).await?;
    let failed: Vec<_> = all.iter().filter(|t| t.status != Status::Done).collect();
    match failed.first() {
        None => Ok(()),
        Some(first) => Err(JobError::TasksFailed {
            count: failed.len(),
            first: format!(
                "task {} is {}: {}",
                first.id,
                first.status,
                first
                    .errors
                    .last()
                    .map_or("no error recorded", |e| e.message.as_str())
            ),
        }),
    }
}
