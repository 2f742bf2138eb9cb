//! `taskpool lost`: `running` tasks whose lease has expired (their worker
//! died or stopped heartbeating), and with `--requeue`, put them back.
//!
//! Requeueing resets exactly the tasks listed, each guarded by its attempt
//! count: a task that a worker reclaimed in the meantime has one more attempt,
//! no longer matches, and keeps its live lease.

use clap::Args;
use taskpool::pipeline::worker::{LostTask, find_lost, requeue_lost};
use taskpool::store::{Query, Timestamp};

use crate::cli::GlobalArgs;
use crate::context::Context;
use crate::json::LostJson;
use crate::output::Table;

/// Arguments of `lost`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  taskpool -t rolling lost
  taskpool -t rolling lost --requeue
Workers reclaim expired tasks by themselves; --requeue also gives them a fresh attempt
budget and shows them as waiting (or part_done for a second phase) right away.")]
pub struct LostArgs {
    /// Reset the lost tasks to the status they were claimed from (waiting or part_done).
    #[arg(long)]
    pub requeue: bool,
}

/// List (and optionally requeue) the running tasks whose lease expired.
///
/// # Errors
/// No pool, or a store failure.
pub fn run(global: &GlobalArgs, args: &LostArgs) -> anyhow::Result<()> {
    let ctx = Context::new(global)?;
    let (lost, requeued) = ctx.block_on(async {
        let (store, pool) = ctx.pool_store().await?;
        let lost = find_lost(store.as_ref(), pool, Query::All, Timestamp::now()).await?;
        let requeued = if args.requeue {
            Some(requeue_lost(store.as_ref(), pool, &lost).await?)
        } else {
            None
        };
        Ok::<_, anyhow::Error>((lost, requeued))
    })?;
    let report = LostJson {
        lost: lost.iter().map(LostTask::from).collect(),
        requeued,
    };
    if ctx.out.is_json() {
        return ctx.out.json(&report);
    }
    let mut table = Table::new(["_ID", "OWNER", "EXPIRED AT", "ATTEMPTS", "FROM"]);
    for t in &report.lost {
        table.row([
            t.id.to_string(),
            t.owner.clone().unwrap_or_default(),
            t.expires_at.map(|e| e.to_string()).unwrap_or_default(),
            format!("{}/{}", t.attempts, t.max_attempts),
            t.from_status.to_string(),
        ]);
    }
    if !table.is_empty() {
        ctx.out.table(&table)?;
    }
    match requeued {
        Some(n) => ctx.out.line(format_args!("requeued {n} task(s)")),
        None if table.is_empty() => ctx.out.line("no lost tasks"),
        None => ctx.out.line(format_args!(
            "{} running task(s) with an expired lease; requeue them with --requeue",
            report.lost.len()
        )),
    }
}
