//! `taskpool worker … -- CMD [ARGS…]`: claim tasks and run an external
//! command for each (the protocol of `docs/worker-protocol.md`).

use std::ffi::OsString;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use taskpool::pipeline::worker::{
    Backoff, CommandTask, Phase, Shutdown, Worker, WorkerConfig, WorkerReport,
};
use taskpool::store::{RecordStore, Status, TaskStore};

use crate::cli::GlobalArgs;
use crate::commands::prune::parse_age;
use crate::context::{Context, parse_query};
use crate::exit::{bad_input, interrupted};
use crate::signals::StopSignals;
use crate::worker_view::{LiveCounts, show_live_counts};

/// Arguments of `worker`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  taskpool --store sqlite://tasks.db -t rolling worker --concurrency 4 -- python3 train.py
  taskpool -t rolling worker --phase first --after-status part_done -- ./begin.sh
  taskpool -t rolling worker --phase second --follow -- ./end.sh
Per task, CMD runs without a shell. stdin: {\"id\",\"pool\",\"attempt\",\"phase\",\"def\"|\"res\"};
environment: TASKPOOL_TASK_ID, TASKPOOL_POOL, TASKPOOL_ATTEMPT, TASKPOOL_ARTIFACT_DIR;
stdout: one JSON value, the result; exit status 0 = success. Anything else records the exit
code and the end of stderr as the task's error. Files left in TASKPOOL_ARTIFACT_DIR by a
successful run become the artifacts of a record of the task (experiment: the definition's
\"experiment\", else the pool; see `taskpool records`). SIGINT/SIGTERM: stop claiming, forward the
signal to running commands, hand unfinished tasks back after --grace; a second signal hands
them back at once; exit code 130. If the worker process is killed (even with SIGKILL), CMD
is killed too (Linux). An unknown pool is an error (exit code 3) unless --follow, which
waits for the pool to appear. On a terminal, stderr shows live counts.
DURATION: 500ms, 30s, 15m, 2h…")]
pub struct WorkerArgs {
    /// How many tasks run at once.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub concurrency: usize,
    /// Lease length; the worker heartbeats every third of it.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_age)]
    pub lease: Duration,
    /// first: claim waiting tasks, CMD gets `def`; second: claim part_done tasks, CMD gets `res`.
    #[arg(long, value_enum, default_value_t = PhaseArg::First)]
    pub phase: PhaseArg,
    /// Status of a task after success (part_done when a second phase follows).
    #[arg(long, value_enum, default_value_t = AfterStatus::Done)]
    pub after_status: AfterStatus,
    /// Only tasks matching this JSON query (it may not mention status).
    #[arg(long, value_name = "JSON")]
    pub query: Option<String>,
    /// Stop after claiming this many tasks.
    #[arg(long, value_name = "N")]
    pub max_tasks: Option<u64>,
    /// Keep polling when nothing is claimable, until SIGINT/SIGTERM.
    #[arg(long)]
    pub follow: bool,
    /// Kill CMD (and its process group) and fail the attempt after this long.
    #[arg(long, value_name = "DURATION", value_parser = parse_age)]
    pub task_timeout: Option<Duration>,
    /// On SIGINT/SIGTERM, how long running tasks may still finish.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_age)]
    pub grace: Duration,
    /// Longest pause between two polls of an idle pool (they start at 50ms and double).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_age)]
    pub max_poll: Duration,
    /// Serve this worker's counters for Prometheus on ADDR (`GET /metrics`).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// The command to run for each task, and its arguments (after `--`).
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// `--phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PhaseArg {
    /// Claim waiting tasks; the command gets the definition.
    First,
    /// Claim part_done tasks; the command gets the first phase's result.
    Second,
}

/// `--after-status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AfterStatus {
    /// Finished.
    Done,
    /// First phase finished; a second phase follows.
    #[value(name = "part_done")]
    PartDone,
}

impl WorkerArgs {
    fn config(&self, pool: &str) -> anyhow::Result<WorkerConfig> {
        let initial = Duration::from_millis(50).min(self.max_poll);
        if initial.is_zero() {
            return Err(bad_input("--max-poll must be above zero"));
        }
        Ok(WorkerConfig {
            phase: match self.phase {
                PhaseArg::First => Phase::First,
                PhaseArg::Second => Phase::Second,
            },
            after_status: match self.after_status {
                AfterStatus::Done => Status::Done,
                AfterStatus::PartDone => Status::PartDone,
            },
            query: parse_query(self.query.as_deref())?,
            concurrency: self.concurrency,
            lease: self.lease,
            max_tasks: self.max_tasks,
            follow: self.follow,
            backoff: Backoff {
                initial,
                max: self.max_poll,
            },
            grace: self.grace,
            ..WorkerConfig::new(pool)
        })
    }
}

/// Run the worker until the pool has nothing claimable (or, with `--follow`,
/// until a signal), then print what it did.
///
/// # Errors
/// Bad arguments or an unusable command (exit code 2), an unknown pool
/// without `--follow` (exit code 3), a store failure, a SIGINT/SIGTERM
/// (exit code 130, after the report).
pub fn run(global: &GlobalArgs, args: &WorkerArgs) -> anyhow::Result<()> {
    let ctx = Context::new(global)?;
    let pool = ctx.pool()?;
    let config = args.config(pool)?;
    config.validate()?;
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| bad_input("give the command to run after `--`"))?;
    let command = CommandTask::new(program, rest)?.with_timeout(args.task_timeout);
    let report = ctx.block_on(async {
        let shutdown = Shutdown::new();
        // Listen before the first claim, so an early signal is never fatal.
        let signals = tokio::spawn(StopSignals::listen()?.obey(shutdown.clone(), |_| ()));
        // Tasks and records in one store: artifacts go next to the tasks.
        // Without --follow there is nothing to do on a new store or pool.
        let store = if args.follow {
            let store = ctx.store().await?;
            if !store.pools().await?.iter().any(|p| p == pool) {
                tracing::warn!("pool {pool} does not exist yet: waiting for its tasks (--follow)");
            }
            store
        } else {
            ctx.pool_store().await?.0
        };
        let records: Arc<dyn RecordStore> = store.clone();
        let tasks: Arc<dyn TaskStore> = store.clone();
        let worker = Worker::new(store, config, Arc::new(command))?.with_records(records);
        tracing::info!(worker = worker.id(), "worker ready");
        let metrics = match args.metrics {
            Some(addr) => Some(serve_metrics(addr, pool, &worker).await?),
            None => None,
        };
        let view = show_live_counts(global).then(|| {
            let live = LiveCounts::new(tasks, pool, worker.id());
            tokio::spawn(live.show(worker.progress()))
        });
        let report = worker.run(&shutdown).await;
        signals.abort();
        if let Some(stop) = metrics {
            let _ = stop.send(());
        }
        if let Some(view) = view {
            view.abort();
            let _ = view.await;
        }
        Ok::<_, anyhow::Error>(report?)
    })?;
    print_report(&ctx, "worker", &report)?;
    if report.interrupted {
        return Err(interrupted(format!(
            "worker interrupted: {} task(s) handed back (not counted as attempts); run it again to continue",
            report.handed_back
        )));
    }
    Ok(())
}

/// Serve the worker's counters on `addr` until the returned sender fires.
async fn serve_metrics(
    addr: std::net::SocketAddr,
    pool: &str,
    worker: &Worker,
) -> anyhow::Result<tokio::sync::oneshot::Sender<()>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot serve metrics on {addr}: {e}"))?;
    tracing::info!(addr = %listener.local_addr()?, "worker metrics at /metrics");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = taskpool_ui::worker_metrics::serve_worker_metrics(
        listener,
        pool.to_string(),
        worker.progress(),
        async move {
            let _ = stopped.await;
        },
    );
    tokio::spawn(async move {
        if let Err(e) = server.await {
            tracing::warn!("worker metrics server stopped: {e}");
        }
    });
    Ok(stop)
}

/// Print what a worker did: the report as JSON, or one line naming the
/// command (`worker`, `run-worker`).
pub(crate) fn print_report(
    ctx: &Context<'_>,
    command: &str,
    report: &WorkerReport,
) -> anyhow::Result<()> {
    if ctx.out.is_json() {
        return ctx.out.json(report);
    }
    ctx.out
        .line(format_args!("{command} {}: {report}", report.worker))
}
