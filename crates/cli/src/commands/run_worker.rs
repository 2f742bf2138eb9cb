//! `taskpool run-worker`: work on a `taskpool run` pool with the built-in
//! ridge task function, in this process.
//!
//! `taskpool run` starts its worker processes with this command (`--query -`,
//! the job's task ids on stdin). Started by hand on other machines against
//! the same store, it shares the work of a running job.

use std::io::Read;
use std::time::Duration;

use clap::Args;
use taskpool::pipeline::worker::{Backoff, Shutdown, WorkerConfig};
use taskpool_experiment::job::run_worker;

use crate::cli::GlobalArgs;
use crate::commands::prune::parse_age;
use crate::commands::worker::print_report;
use crate::context::{Context, parse_query};
use crate::exit::bad_input;
use crate::signals::StopSignals;

/// Arguments of `run-worker`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  taskpool --store sqlite://taskpool.db -t rolling run-worker
  taskpool --store mongodb://db-host/exp -t rolling run-worker --concurrency 4 --follow
Each task is a `taskpool run` task: ridge is fitted on its train segment, measured on valid
and test, and its record (metrics, predictions as artifact `pred`) goes to the task's
experiment in the same store. SIGINT/SIGTERM: stop claiming, let running tasks finish
within --grace, hand the rest back without counting the attempt; a second signal hands
them back at once.")]
pub struct RunWorkerArgs {
    /// How many tasks run at once.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub concurrency: usize,
    /// Lease length; the worker heartbeats every third of it.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_age)]
    pub lease: Duration,
    /// Only tasks matching this JSON query; `-` reads it from stdin.
    #[arg(long, value_name = "JSON")]
    pub query: Option<String>,
    /// Keep polling when nothing is claimable, until SIGINT/SIGTERM.
    #[arg(long)]
    pub follow: bool,
    /// On SIGINT/SIGTERM, how long running tasks may still finish before they are handed back.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_age)]
    pub grace: Duration,
}

/// Work until nothing is claimable (or a signal with `--follow`), then print
/// what the worker did.
///
/// # Errors
/// No pool, a bad query, an unusable store (exit code 2 or 4), a store failure.
pub fn run(global: &GlobalArgs, args: &RunWorkerArgs) -> anyhow::Result<()> {
    let ctx = Context::new(global)?;
    let pool = ctx.pool()?;
    let query_text = match args.query.as_deref() {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| bad_input(format!("cannot read the query from stdin: {e}")))?;
            Some(text)
        }
        other => other.map(str::to_string),
    };
    let config = WorkerConfig {
        query: parse_query(query_text.as_deref())?,
        concurrency: args.concurrency,
        lease: args.lease,
        follow: args.follow,
        grace: args.grace,
        backoff: Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(2),
        },
        ..WorkerConfig::new(pool)
    };
    config.validate()?;
    let report = ctx.block_on(async {
        let shutdown = Shutdown::new();
        // Listen before the first claim, so an early signal is never fatal.
        let signals = tokio::spawn(StopSignals::listen()?.obey(shutdown.clone(), |_| ()));
        let store = taskpool::open(&global.store).await?;
        ctx.close_at_exit(&store);
        let report = run_worker(store, config, &shutdown).await;
        signals.abort();
        Ok::<_, anyhow::Error>(report?)
    })?;
    print_report(&ctx, "run-worker", &report)
}
