//! `taskpool lost`: `running` tasks whose lease has expired (their worker
//! died or stopped heartbeating), and with `--requeue`, put them back.
//!
//! Requeueing resets exactly the tasks listed, each guarded by its attempt
//! count: a task that a worker reclaimed in the meantime has one more attempt,
//! no longer matches, and keeps its live lease.

use std::collections::BTreeMap;

use clap::Args;
use taskpool::store::query::{Field, Op, Scalar};
use taskpool::store::{Query, ResetParams, Status, Task, TaskStoreExt, Timestamp};

use crate::cli::GlobalArgs;
use crate::context::Context;
use crate::json::{LostJson, LostTaskJson};
use crate::output::Table;

/// How many tasks one reset names (each is an `$or` branch; SQL backends
/// limit expression depth).
const CHUNK: usize = 200;

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
        let now = Timestamp::now();
        let running = store
            .query_all(pool, Query::status(Status::Running))
            .await?;
        let lost: Vec<Task> = running.into_iter().filter(|t| is_lost(t, now)).collect();
        let requeued = if args.requeue {
            let mut n = 0;
            for chunk in lost.chunks(CHUNK) {
                for (status, query) in requeue_queries(chunk) {
                    n += store
                        .reset_status(pool, ResetParams { query, status })
                        .await?;
                }
            }
            Some(n)
        } else {
            None
        };
        Ok::<_, anyhow::Error>((lost, requeued))
    })?;
    let report = LostJson {
        lost: lost.iter().map(describe).collect(),
        requeued,
    };
    if ctx.out.is_json() {
        return ctx.out.json(&report);
    }
    let mut table = Table::new(["_ID", "OWNER", "EXPIRED AT", "ATTEMPTS", "FROM"]);
    for t in &report.lost {
        table.row([
            t.id.clone(),
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

/// `running` with a lease that expired at or before `now` (or, abnormally, no lease).
fn is_lost(task: &Task, now: Timestamp) -> bool {
    task.status == Status::Running && task.lease.as_ref().is_none_or(|l| l.expires_at <= now)
}

fn from_status(task: &Task) -> Status {
    task.lease
        .as_ref()
        .map_or(Status::Waiting, |l| l.from_status)
}

fn describe(task: &Task) -> LostTaskJson {
    LostTaskJson {
        id: task.id.to_string(),
        owner: task.lease.as_ref().map(|l| l.owner.clone()),
        expires_at: task.lease.as_ref().map(|l| l.expires_at),
        attempts: task.attempts,
        max_attempts: task.max_attempts,
        from_status: from_status(task),
    }
}

/// For each target status, a query matching exactly the listed tasks that are
/// still `running` with the attempt count seen.
fn requeue_queries(lost: &[Task]) -> BTreeMap<Status, Query> {
    let mut by_status: BTreeMap<Status, Vec<Query>> = BTreeMap::new();
    for task in lost {
        let same_attempt = Query::id(task.id).and(Query::Cond(
            Field::Attempts,
            Op::Eq(Scalar::Int(i64::from(task.attempts))),
        ));
        by_status
            .entry(from_status(task))
            .or_default()
            .push(same_attempt);
    }
    by_status
        .into_iter()
        .map(|(status, alternatives)| {
            let query = Query::status(Status::Running).and(Query::Or(alternatives));
            (status, query)
        })
        .collect()
}
