//! `taskpool remove QUERY`: delete the matching tasks (Qlib's `remove`,
//! which wiped the pool when called without a query; here that needs `--all`).

use clap::Args;
use taskpool::store::Query;

use crate::cli::GlobalArgs;
use crate::context::{Context, parse_query};
use crate::exit::bad_input;
use crate::json::RemovedJson;

/// Arguments of `remove`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  taskpool -t rolling remove '{\"status\": \"failed\"}'
  taskpool -t rolling remove --all      # every task; the pool itself stays (see drop-pool)")]
pub struct RemoveArgs {
    /// Which tasks, as a JSON query; an empty query needs --all.
    #[arg(required_unless_present = "all")]
    pub query: Option<String>,
    /// Remove every task of the pool.
    #[arg(long, conflicts_with = "query")]
    pub all: bool,
}

/// Delete the matching tasks and print how many were removed.
///
/// # Errors
/// No pool, a bad query, an empty query without `--all` (exit code 2), or a store failure.
pub fn run(global: &GlobalArgs, args: &RemoveArgs) -> anyhow::Result<()> {
    let ctx = Context::new(global)?;
    let query = parse_query(args.query.as_deref())?;
    if query == Query::All && !args.all {
        let pool = ctx.pool()?;
        return Err(bad_input(format!(
            "the query matches every task of pool {pool:?}: pass --all (without a query) to remove them all"
        )));
    }
    let n = ctx.block_on(async {
        let (store, pool) = ctx.pool_store().await?;
        Ok::<_, anyhow::Error>(store.remove(pool, &query).await?)
    })?;
    if ctx.out.is_json() {
        ctx.out.json(&RemovedJson {
            removed: n,
            dry_run: false,
        })
    } else {
        ctx.out.line(format_args!("removed {n} task(s)"))
    }
}
