//! `taskpool reset-waiting [QUERY]`: put `running` tasks back to `waiting`
//! (Qlib's `reset_waiting`).

use clap::Args;
use taskpool::store::TaskStoreExt;

use crate::cli::GlobalArgs;
use crate::context::{Context, parse_query};
use crate::json::MatchedJson;

/// Arguments of `reset-waiting`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  taskpool -t rolling reset-waiting
  taskpool -t rolling reset-waiting '{\"filter.model.class\": \"LGBModel\"}'
If the query names no status, only running tasks are reset. Their leases are dropped:
a worker still running one of them gets lease_lost when it commits. To requeue only
tasks whose worker died, use `taskpool lost --requeue`.")]
pub struct ResetWaitingArgs {
    /// Only tasks matching this JSON query (default: all running tasks).
    pub query: Option<String>,
}

/// Reset the matching tasks and print how many.
///
/// # Errors
/// No pool, a bad query, or a store failure.
pub fn run(global: &GlobalArgs, args: &ResetWaitingArgs) -> anyhow::Result<()> {
    let ctx = Context::new(global)?;
    let query = parse_query(args.query.as_deref())?;
    let n = ctx.block_on(async {
        let (store, pool) = ctx.pool_store().await?;
        Ok::<_, anyhow::Error>(store.reset_waiting(pool, query).await?)
    })?;
    if ctx.out.is_json() {
        ctx.out.json(&MatchedJson { matched: n })
    } else {
        ctx.out.line(format_args!("reset {n} task(s) to waiting"))
    }
}
