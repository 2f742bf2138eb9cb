//! [`Worker`]: the claim → run → commit loop (Qlib's `run_task`).

use std::sync::Arc;

use task_store::{ClaimParams, Error, ErrorKind, RecordStore, Result, TaskStore};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::attempt::{AttemptContext, run_attempt};
use super::config::WorkerConfig;
use super::id::new_worker_id;
use super::report::{Outcome, WorkerProgress, WorkerReport};
use super::shutdown::Shutdown;
use super::task_fn::TaskFn;

/// How many times in a row an unavailable store is retried before a worker
/// that does not follow gives up (a following worker retries forever).
const CLAIM_RETRIES: u32 = 10;

/// A worker: claims tasks of one pool and phase, runs them with a task
/// function, heartbeats their leases and commits their results.
///
/// See the [module documentation](super) for the loop's rules.
pub struct Worker {
    store: Arc<dyn TaskStore>,
    records: Option<Arc<dyn RecordStore>>,
    config: WorkerConfig,
    task_fn: Arc<dyn TaskFn>,
    id: String,
    progress: watch::Sender<WorkerProgress>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.id)
            .field("store", &self.store.to_string())
            .field("records", &self.records.as_ref().map(ToString::to_string))
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker with a fresh id (`hostname:pid:n`).
    ///
    /// # Errors
    /// As [`WorkerConfig::validate`].
    pub fn new(
        store: Arc<dyn TaskStore>,
        config: WorkerConfig,
        task_fn: Arc<dyn TaskFn>,
    ) -> Result<Worker> {
        config.validate()?;
        let id = new_worker_id();
        let (progress, _) = watch::channel(WorkerProgress {
            report: WorkerReport::new(id.clone()),
            in_flight: 0,
        });
        Ok(Worker {
            store,
            records: None,
            config,
            task_fn,
            id,
            progress,
        })
    }

    /// Store each successful run's artifact directory in `records` (usually
    /// the same store as the tasks): when it holds files, they become the
    /// artifacts of a new record of the task, written before the commit. See
    /// the [module documentation](super#artifacts). Without it the files are
    /// discarded with a warning.
    pub fn with_records(mut self, records: Arc<dyn RecordStore>) -> Worker {
        self.records = Some(records);
        self
    }

    /// The worker's id: the owner of its leases.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The configuration.
    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    /// Live counts while [`run`](Worker::run) goes on: updated after every
    /// claim and every settled task (the `--metrics` endpoint of the CLI's
    /// worker reads them).
    pub fn progress(&self) -> watch::Receiver<WorkerProgress> {
        self.progress.subscribe()
    }

    /// Run until the pool has nothing claimable and nothing of this worker is
    /// running (or, with `follow`, until `shutdown`), or until `max_tasks`
    /// tasks were claimed and finished.
    ///
    /// On `shutdown` the worker stops claiming, lets running tasks finish
    /// within the grace period (or until the shutdown is forced), then hands
    /// the rest back without counting their attempt.
    ///
    /// # Errors
    /// A claim that fails (other than a briefly unavailable store), or a task
    /// function reporting that the worker cannot run tasks
    /// ([`TaskError::Worker`](super::TaskError::Worker)). Running tasks are
    /// finished first; the report is logged.
    pub async fn run(&self, shutdown: &Shutdown) -> Result<WorkerReport> {
        let config = &self.config;
        let ctx = Arc::new(AttemptContext {
            store: Arc::clone(&self.store),
            records: self.records.clone(),
            pool: config.pool.clone(),
            worker: self.id.clone(),
            phase: config.phase,
            after_status: config.after_status,
            lease: config.lease,
            heartbeat_every: config.heartbeat_interval(),
            task_fn: Arc::clone(&self.task_fn),
            shutdown: shutdown.clone(),
            hand_back: Shutdown::new(),
        });
        tracing::info!(worker = %self.id, pool = %config.pool, phase = %config.phase, "worker started");
        let mut state = LoopState {
            report: WorkerReport::new(self.id.clone()),
            running: JoinSet::new(),
            fatal: None,
        };
        let mut idle_polls = 0u32;
        let mut claim_failures = 0u32;
        loop {
            if shutdown.is_requested() {
                break;
            }
            let budget = config.max_tasks.map_or(usize::MAX, |max| {
                usize::try_from(max.saturating_sub(state.report.claimed)).unwrap_or(usize::MAX)
            });
            let claiming = state.fatal.is_none() && budget > 0;
            if !claiming && state.running.is_empty() {
                break;
            }
            let free = config
                .concurrency
                .saturating_sub(state.running.len())
                .min(budget);
            let mut poll_later = false;
            if claiming && free > 0 {
                match self
                    .store
                    .claim(&config.pool, self.claim_params(free))
                    .await
                {
                    Ok(tasks) => {
                        claim_failures = 0;
                        let got = tasks.len();
                        for task in tasks {
                            state.report.claimed += 1;
                            state.running.spawn(run_attempt(Arc::clone(&ctx), task));
                        }
                        state.publish(&self.progress);
                        if got == 0 && state.running.is_empty() && !config.follow {
                            break;
                        }
                        if got > 0 {
                            idle_polls = 0;
                        }
                        poll_later = got < free;
                    }
                    Err(e)
                        if e.kind() == ErrorKind::Unavailable
                            && (config.follow || claim_failures < CLAIM_RETRIES) =>
                    {
                        claim_failures += 1;
                        // Back off by the failures in a row, even when tasks
                        // ending in between wake the loop before the pause.
                        idle_polls = idle_polls.max(claim_failures - 1);
                        tracing::warn!(
                            worker = %self.id,
                            retry_in = ?config.backoff.delay(idle_polls),
                            "claim failed, will retry: {e}"
                        );
                        poll_later = true;
                    }
                    Err(e) => {
                        tracing::error!(worker = %self.id, "claim failed: {e}");
                        state.fatal = Some(e);
                        continue;
                    }
                }
            }
            let pause = config.backoff.delay(idle_polls);
            tokio::select! {
                Some(joined) = state.running.join_next(), if !state.running.is_empty() => {
                    state.settle(joined);
                    state.publish(&self.progress);
                }
                _ = tokio::time::sleep(pause), if poll_later => {
                    idle_polls = idle_polls.saturating_add(1);
                }
                _ = shutdown.requested() => {}
            }
        }
        if shutdown.is_requested() {
            state.report.interrupted = true;
            self.drain(&mut state, shutdown, &ctx.hand_back).await;
        }
        while let Some(joined) = state.running.join_next().await {
            state.settle(joined);
        }
        state.publish(&self.progress);
        tracing::info!(worker = %self.id, "worker stopped: {}", state.report);
        match state.fatal {
            Some(error) => Err(error),
            None => Ok(state.report),
        }
    }

    /// [`run`](Worker::run), notifying `wake` each time the worker claims
    /// or settles tasks, and when it stops: a [`wait`](super::wait) in the same process with
    /// [`WaitOptions::wake`](super::WaitOptions::wake) set to it looks at
    /// the pool as soon as this worker finished a task, instead of at its
    /// next poll.
    ///
    /// # Errors
    /// As [`run`](Worker::run).
    pub async fn run_waking(&self, shutdown: &Shutdown, wake: &Notify) -> Result<WorkerReport> {
        let mut progress = self.progress();
        let forward = async {
            while progress.changed().await.is_ok() {
                wake.notify_one();
            }
            std::future::pending::<std::convert::Infallible>().await
        };
        let report = tokio::select! {
            report = self.run(shutdown) => report,
            never = forward => match never {},
        };
        // The last settle may not have been forwarded before `run` returned.
        wake.notify_one();
        report
    }

    /// Shutdown: let running tasks finish within the grace period (or until
    /// the shutdown is forced), then tell the rest to hand their task back.
    async fn drain(&self, state: &mut LoopState, shutdown: &Shutdown, hand_back: &Shutdown) {
        if !state.running.is_empty() {
            tracing::warn!(
                worker = %self.id,
                "shutting down: {} running task(s) get {:?} to finish",
                state.running.len(),
                self.config.grace
            );
            let grace = tokio::time::sleep(self.config.grace);
            tokio::pin!(grace);
            loop {
                tokio::select! {
                    joined = state.running.join_next() => match joined {
                        Some(joined) => {
                            state.settle(joined);
                            state.publish(&self.progress);
                        }
                        None => break,
                    },
                    _ = &mut grace => break,
                    _ = shutdown.forced() => break,
                }
            }
        }
        hand_back.request(None);
    }

    fn claim_params(&self, n: usize) -> ClaimParams {
        ClaimParams {
            from: self.config.phase.from_status(),
            n,
            owner: self.id.clone(),
            lease: self.config.lease,
            query: self.config.query.clone(),
        }
    }
}

struct LoopState {
    report: WorkerReport,
    running: JoinSet<(Outcome, Option<Error>)>,
    fatal: Option<Error>,
}

impl LoopState {
    fn publish(&self, progress: &watch::Sender<WorkerProgress>) {
        progress.send_replace(WorkerProgress {
            report: self.report.clone(),
            in_flight: self.running.len() as u64,
        });
    }

    fn settle(
        &mut self,
        joined: std::result::Result<(Outcome, Option<Error>), tokio::task::JoinError>,
    ) {
        match joined {
            Ok((outcome, error)) => {
                self.report.record(outcome);
                if let Some(error) = error {
                    self.fatal.get_or_insert(error);
                }
            }
            Err(e) => {
                tracing::error!("a task attempt ended abnormally: {e}");
                self.report.record(Outcome::StoreError);
            }
        }
    }
}
