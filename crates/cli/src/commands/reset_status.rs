//! `taskpool reset-status QUERY STATUS`: force a status on the matching tasks
//! (Qlib's `reset_status`).

use clap::Args;
use taskpool::store::{ResetParams, Status};

use crate::cli::GlobalArgs;
use crate::context::{Context, parse_query};
use crate::json::MatchedJson;

/// Arguments of `reset-status`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  taskpool -t rolling reset-status '{\"status\": \"failed\"}' waiting
  taskpool -t rolling reset-status '{\"_id\": \"615498be837d0053acbc5d58\"}' done
STATUS is waiting, part_done, done or failed (only a claim makes a task running).
Tasks set to waiting or part_done get a fresh attempt budget; leases are dropped.")]
pub struct ResetStatusArgs {
    /// Which tasks, as a JSON query (`{}` for all).
    pub query: String,
    /// The status to set.
    pub status: String,
}

/// Reset the matching tasks and print how many.
///
/// # Errors
/// No pool, a bad query or status (exit code 2), or a store failure.
pub fn run(global: &GlobalArgs, args: &ResetStatusArgs) -> anyhow::Result<()> {
    let ctx = Context::new(global)?;
    let query = parse_query(Some(&args.query))?;
    let status: Status = args.status.parse()?;
    let params = ResetParams { query, status };
    params.validate()?;
    let n = ctx.block_on(async {
        let (store, pool) = ctx.pool_store().await?;
        Ok::<_, anyhow::Error>(store.reset_status(pool, params).await?)
    })?;
    if ctx.out.is_json() {
        ctx.out.json(&MatchedJson { matched: n })
    } else {
        ctx.out.line(format_args!("reset {n} task(s) to {status}"))
    }
}
