//! Training a job's pending tasks through the store: worker processes or an
//! in-process worker, with progress from the store's counts.
//!
//! Either way the tasks are claimed from the pool with leases, so what is
//! trained is exactly what the store says is pending, several `taskpool run`
//! processes (or extra `taskpool run-worker`s on other machines) can share
//! the work, and a worker that dies loses its task only until its lease
//! expires.

use std::collections::{HashSet, VecDeque};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use task_store::{Query, RecordStore, Store, TaskId, TaskStore};
use taskpool_pipeline::worker::{
    Backoff, Shutdown, WaitOptions, WaitOutcome, WaitProgress, Worker, WorkerConfig, WorkerReport,
    signal_process, wait,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::error::JobError;
use super::events::{Events, JobEvent};
use super::plan::TrainerPlan;
use super::ridge_task;

/// The longest pause between two looks at the pool while training: a worker
/// of this process wakes the wait as soon as it settles a task, and the
/// pause starts at [`FIRST_POLL`] and doubles (for worker processes and
/// tasks other processes hold).
const POLL: Duration = Duration::from_millis(200);
/// The first pause between two looks at the pool.
const FIRST_POLL: Duration = Duration::from_millis(5);
/// How many of a worker process's last stderr lines an error quotes.
const STDERR_TAIL: usize = 5;

/// How to start one worker process.
///
/// The process must claim tasks of the job's pool matching the query it
/// reads as JSON on stdin, run them with the built-in task function
/// ([`run_worker`]), and exit 0 once nothing is claimable. `taskpool
/// run-worker --query -` is such a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerCommand {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
}

/// Where pending tasks are trained.
#[derive(Debug, Clone)]
pub enum Launch {
    /// A worker inside this process, running `workers` tasks at once.
    InProcess,
    /// `workers` worker processes started with this command.
    Processes(WorkerCommand),
    /// A worker of this process started beforehand trains them
    /// ([`TrainingAhead`]): wait for it; train here (as
    /// [`Launch::InProcess`]) only the tasks it does not cover, or all of
    /// them once it stopped.
    Ahead(Arc<TrainingAhead>),
}

/// Tasks an in-process worker trains ahead of the waits for them:
/// `taskpool online simulate` creates the training tasks of all its
/// routines (each on the data of its own as-of) and trains them while the
/// routines do their other steps; a routine then waits for its tasks
/// ([`Launch::Ahead`]) instead of starting workers.
#[derive(Debug)]
pub struct TrainingAhead {
    /// The tasks the worker claims (it gets more with
    /// [`AheadWorker::extend`]).
    ids: Mutex<HashSet<TaskId>>,
    /// Notified each time the worker claims or settles a task.
    wake: Arc<Notify>,
    /// Requested once the worker stopped (for whatever reason).
    ended: Shutdown,
}

impl TrainingAhead {
    /// Whether the worker trains every one of `ids` and still runs.
    fn covers(&self, ids: &[TaskId]) -> bool {
        let known = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        !self.ended.is_requested() && ids.iter().all(|id| known.contains(id))
    }
}

/// The worker of a [`TrainingAhead`], running in its own tokio task until
/// [`AheadWorker::finish`] (or until dropped: it is then told to stop).
pub(crate) struct AheadWorker {
    ahead: Arc<TrainingAhead>,
    more: tokio::sync::mpsc::UnboundedSender<Vec<TaskId>>,
    stop: Shutdown,
    handle: Option<JoinHandle<task_store::Result<()>>>,
}

impl AheadWorker {
    /// Train `ids` too, once the tasks given before are done.
    pub(crate) fn extend(&self, ids: Vec<TaskId>) {
        self.ahead
            .ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(ids.iter().copied());
        // A worker that stopped already does not train them: the routines
        // train what it does not (see `covers`).
        let _ = self.more.send(ids);
    }

    /// Stop the worker (its running tasks finish) and wait for it.
    ///
    /// # Errors
    /// The worker's error.
    pub(crate) async fn finish(mut self) -> Result<(), JobError> {
        self.stop.request(None);
        let handle = self
            .handle
            .take()
            .expect("finished once: `finish` takes self");
        Ok(handle
            .await
            .map_err(|e| JobError::Workers(format!("the worker training ahead stopped: {e}")))??)
    }
}

impl Drop for AheadWorker {
    fn drop(&mut self) {
        self.stop.request(None);
    }
}

/// Start training the tasks `ids` of `pool` in process (`trainer.workers`
/// tasks at once, in the order the store hands them out), then each batch
/// [`AheadWorker::extend`] adds once the earlier ones are done, until
/// [`AheadWorker::finish`] or `shutdown`; the [`TrainingAhead`] makes
/// [`train`] wait for it.
pub(crate) fn train_ahead(
    store: Arc<dyn Store>,
    pool: &str,
    ids: Vec<TaskId>,
    trainer: &TrainerPlan,
    shutdown: &Shutdown,
) -> (Arc<TrainingAhead>, AheadWorker) {
    let ahead = Arc::new(TrainingAhead {
        ids: Mutex::new(ids.iter().copied().collect()),
        wake: Arc::new(Notify::new()),
        ended: Shutdown::new(),
    });
    let (more, mut batches) = tokio::sync::mpsc::unbounded_channel();
    let stop = Shutdown::new();
    let handle = tokio::spawn({
        let (ahead, stop, shutdown) = (Arc::clone(&ahead), stop.clone(), shutdown.clone());
        let (pool, trainer) = (pool.to_string(), trainer.clone());
        async move {
            let worked = async {
                let mut batch = Some(ids);
                while let Some(ids) = batch.take() {
                    let config = WorkerConfig {
                        // Done once nothing of the batch is left.
                        follow: false,
                        ..in_process_config(&pool, Query::ids(&ids), &trainer, trainer.workers)
                    };
                    built_in_worker(Arc::clone(&store), config)?
                        .run_waking(&stop, &ahead.wake)
                        .await?;
                    batch = tokio::select! {
                        next = batches.recv() => next,
                        () = stop.requested() => None,
                    };
                }
                Ok(())
            };
            let worked = tokio::select! {
                worked = worked => worked,
                never = relay(&shutdown, &stop) => match never {},
            };
            ahead.ended.request(None);
            ahead.wake.notify_one();
            worked
        }
    });
    (
        Arc::clone(&ahead),
        AheadWorker {
            ahead,
            more,
            stop,
            handle: Some(handle),
        },
    )
}

/// The configuration of an in-process worker on the tasks of `query`.
fn in_process_config(
    pool: &str,
    query: Query,
    trainer: &TrainerPlan,
    concurrency: usize,
) -> WorkerConfig {
    WorkerConfig {
        query,
        concurrency,
        lease: trainer.lease,
        follow: true,
        backoff: Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(1),
        },
        grace: trainer.grace,
        ..WorkerConfig::new(pool)
    }
}

/// Work on `pool` with the built-in task function until nothing matching
/// `config.query` is claimable (or, with `follow`, until `shutdown`).
///
/// # Errors
/// As [`Worker::new`] and [`Worker::run`].
pub async fn run_worker(
    store: Arc<dyn Store>,
    config: WorkerConfig,
    shutdown: &Shutdown,
) -> task_store::Result<WorkerReport> {
    built_in_worker(store, config)?.run(shutdown).await
}

/// A worker running the built-in task function.
fn built_in_worker(store: Arc<dyn Store>, config: WorkerConfig) -> task_store::Result<Worker> {
    let records: Arc<dyn RecordStore> = store.clone();
    let tasks: Arc<dyn TaskStore> = store;
    Worker::new(tasks, config, ridge_task::task_fn(records))
}

/// Train the tasks `ids` of `pool`: start the workers, report progress
/// until none of them is waiting or running, then stop the workers.
///
/// On `shutdown` nothing more is claimed: the in-process worker lets its
/// running tasks finish within `trainer.grace` (until the shutdown is
/// forced) and hands the rest back without counting their attempt; worker
/// processes get the signal forwarded (again when the shutdown is forced)
/// and do the same. Once every worker has stopped the result is
/// [`JobError::Interrupted`] with the tasks' counts.
pub(crate) async fn train(
    store: Arc<dyn Store>,
    pool: &str,
    ids: &[TaskId],
    trainer: &TrainerPlan,
    launch: &Launch,
    events: &Events,
    shutdown: &Shutdown,
) -> Result<(), JobError> {
    let query = Query::ids(ids);
    // The in-process worker wakes the wait each time it settles a task.
    let wake = match launch {
        Launch::Ahead(ahead) => Arc::clone(&ahead.wake),
        _ => Arc::new(Notify::new()),
    };
    let options = WaitOptions {
        poll: POLL,
        first_poll: Some(FIRST_POLL),
        wake: Some(Arc::clone(&wake)),
        timeout: trainer.timeout,
        pending: vec![task_store::Status::Waiting, task_store::Status::Running],
        ..WaitOptions::default()
    };
    let progress = |p: &WaitProgress| {
        events(JobEvent::Progress {
            done: p.stat.done,
            failed: p.stat.failed,
            running: p.stat.running,
            total: p.total(),
        });
    };
    let tasks: Arc<dyn TaskStore> = store.clone();
    let waiting = wait(&*tasks, pool, &query, &options, progress);
    tokio::pin!(waiting);
    let local = |concurrency| in_process_config(pool, query.clone(), trainer, concurrency);
    let outcome = match launch {
        Launch::Ahead(ahead) if ahead.covers(ids) => {
            tokio::select! {
                biased;
                outcome = &mut waiting => Some(outcome?),
                // The worker ahead stopped (a shutdown, an error): whatever
                // is left trains here.
                () = ahead.ended.requested() => {
                    work_here(store, local(trainer.workers), &mut waiting, &wake, shutdown).await?
                }
            }
        }
        Launch::InProcess | Launch::Ahead(_) => {
            work_here(store, local(trainer.workers), &mut waiting, &wake, shutdown).await?
        }
        Launch::Processes(command) => {
            let mut children = spawn(command, trainer.workers, ids, events).await?;
            tokio::select! {
                outcome = &mut waiting => {
                    children.finish().await?;
                    Some(outcome?)
                }
                exited = children.finish() => {
                    exited?;
                    // Whatever is still pending is held by a worker elsewhere,
                    // or by one that died and whose lease has not expired yet:
                    // keep working here until the pool is done.
                    tracing::info!("all worker processes exited with tasks pending; continuing in process");
                    work_here(store, local(1), &mut waiting, &wake, shutdown).await?
                }
                () = shutdown.requested() => {
                    children.stop(shutdown).await;
                    None
                }
            }
        }
    };
    match outcome {
        Some(WaitOutcome::Finished(_)) => Ok(()),
        Some(WaitOutcome::TimedOut(last)) => Err(JobError::TimedOut {
            pending: last.pending,
        }),
        None => Err(interrupted(&*tasks, pool, &query, shutdown).await),
    }
}

/// [`JobError::Interrupted`] with the counts of the tasks matching `query`.
pub(crate) async fn interrupted(
    tasks: &dyn TaskStore,
    pool: &str,
    query: &Query,
    shutdown: &Shutdown,
) -> JobError {
    let stat = tasks
        .stat(pool, query)
        .await
        .inspect_err(|e| tracing::warn!("cannot count the job's tasks after the stop: {e}"))
        .ok();
    JobError::Interrupted {
        signal: shutdown.signal(),
        stat,
    }
}

/// Run an in-process worker (following the pool, notifying `wake` as it
/// settles tasks) until `waiting` ends, or until `shutdown` stops it
/// (`None`).
async fn work_here<F>(
    store: Arc<dyn Store>,
    config: WorkerConfig,
    waiting: &mut std::pin::Pin<&mut F>,
    wake: &Notify,
    shutdown: &Shutdown,
) -> Result<Option<WaitOutcome>, JobError>
where
    F: std::future::Future<Output = task_store::Result<WaitOutcome>>,
{
    let worker = built_in_worker(store, config)?;
    // The worker's own switch: pulled when the pool is finished, or relayed
    // from `shutdown`.
    let stop = Shutdown::new();
    let work = async {
        tokio::select! {
            worked = worker.run_waking(&stop, wake) => worked,
            never = relay(shutdown, &stop) => match never {},
        }
    };
    tokio::pin!(work);
    tokio::select! {
        outcome = waiting.as_mut() => {
            stop.request(None);
            work.await?;
            Ok(Some(outcome?))
        }
        worked = &mut work => {
            let report = worked?;
            if shutdown.is_requested() {
                tracing::warn!(
                    "training stopped: {} task(s) committed, {} handed back",
                    report.committed,
                    report.handed_back
                );
                return Ok(None);
            }
            Ok(Some(waiting.as_mut().await?))
        }
    }
}

/// Pass a request, then a force, of `from` on to `to`; never returns.
async fn relay(from: &Shutdown, to: &Shutdown) -> std::convert::Infallible {
    from.requested().await;
    to.request(from.signal());
    from.forced().await;
    to.force();
    std::future::pending().await
}

/// The last lines a worker process wrote on stderr.
type Tail = Arc<Mutex<VecDeque<String>>>;

/// One worker process.
struct WorkerProcess {
    index: usize,
    child: Child,
    /// Forwards its stderr as events.
    reader: JoinHandle<()>,
    tail: Tail,
}

/// The running worker processes.
struct Children {
    running: Vec<WorkerProcess>,
}

async fn spawn(
    command: &WorkerCommand,
    n: usize,
    ids: &[TaskId],
    events: &Events,
) -> Result<Children, JobError> {
    let query_json = ids_query_json(ids);
    let mut running = Vec::with_capacity(n);
    for worker in 0..n {
        let mut child = Command::new(&command.program)
            .args(&command.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            // Its own process group: a terminal's Ctrl-C reaches only this
            // process, which forwards it exactly once (see `Children::stop`).
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                JobError::Workers(format!("cannot start {}: {e}", command.program.display()))
            })?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        stdin.write_all(query_json.as_bytes()).await.map_err(|e| {
            JobError::Workers(format!("cannot send the query to worker {worker}: {e}"))
        })?;
        drop(stdin);
        let stderr = child.stderr.take().expect("stderr is piped");
        let tail = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL)));
        let reader = tokio::spawn(forward_lines(
            worker,
            stderr,
            Arc::clone(&tail),
            Arc::clone(events),
        ));
        running.push(WorkerProcess {
            index: worker,
            child,
            reader,
            tail,
        });
    }
    Ok(Children { running })
}

impl Children {
    /// Wait for every process to exit.
    ///
    /// # Errors
    /// [`JobError::Workers`] quoting the end of the stderr of the first
    /// process that failed.
    async fn finish(&mut self) -> Result<(), JobError> {
        // A process is removed once it is fully waited for, so calling this
        // again after an interrupted call (a `select!` that dropped it)
        // resumes with the processes still running.
        while let Some(process) = self.running.first_mut() {
            let worker = process.index;
            let status = process
                .child
                .wait()
                .await
                .map_err(|e| JobError::Workers(format!("waiting for worker {worker}: {e}")))?;
            // The pipe closes when the process exits; the reader then stops.
            let _ = (&mut process.reader).await;
            let process = self.running.remove(0);
            if !status.success() {
                let tail = process.tail.lock().unwrap_or_else(|e| e.into_inner());
                let said: Vec<&str> = tail.iter().map(String::as_str).collect();
                return Err(JobError::Workers(format!(
                    "worker {worker} exited with {status}{}{}",
                    if said.is_empty() { "" } else { ": " },
                    said.join(" | ")
                )));
            }
        }
        Ok(())
    }

    /// Shutdown: send every running process the signal that stopped the job
    /// (SIGTERM if none did), send it again if the shutdown is forced, and
    /// wait until all of them have exited: each hands its unfinished tasks
    /// back (see `taskpool run-worker`). A process that fails is logged.
    async fn stop(&mut self, shutdown: &Shutdown) {
        let signal = shutdown.signal().unwrap_or(libc::SIGTERM);
        tracing::warn!(
            "stopping {} worker process(es): they claim nothing more and hand unfinished tasks back",
            self.running.len()
        );
        self.signal_all(signal);
        let mut forced = false;
        loop {
            tokio::select! {
                finished = self.finish() => match finished {
                    Ok(()) => return,
                    Err(e) => tracing::warn!("{e}"),
                },
                () = shutdown.forced(), if !forced => {
                    forced = true;
                    self.signal_all(signal);
                }
            }
        }
    }

    /// Send `signal` to every process not yet reaped.
    fn signal_all(&self, signal: i32) {
        for process in &self.running {
            // `id` is `None` once the process was reaped: its pid may be reused.
            if let Some(pid) = process.child.id()
                && let Err(e) = signal_process(pid, signal)
            {
                tracing::warn!(worker = process.index, "cannot signal worker process: {e}");
            }
        }
    }
}

/// The query of the tasks `ids`, as the JSON a worker process reads.
fn ids_query_json(ids: &[TaskId]) -> String {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    serde_json::json!({"_id": {"$in": ids}}).to_string()
}

async fn forward_lines(
    worker: usize,
    stderr: tokio::process::ChildStderr,
    tail: Tail,
    events: Events,
) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        {
            let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
            if tail.len() == STDERR_TAIL {
                tail.pop_front();
            }
            tail.push_back(line.clone());
        }
        events(JobEvent::WorkerOutput { worker, line });
    }
}
