//! `taskpool stat [QUERY]`: task counts by status (Qlib's `task_stat`),
//! counted by the store.

use clap::Args;
use taskpool::store::Status;

use crate::cli::GlobalArgs;
use crate::context::{Context, parse_query};
use crate::json::StatJson;
use crate::output::Table;

/// Arguments of `stat`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  taskpool -t rolling stat
  taskpool -t rolling stat '{\"filter.model.class\": \"LGBModel\"}'
  taskpool -t rolling --json stat   # {\"waiting\":3,\"running\":1,...,\"total\":9}")]
pub struct StatArgs {
    /// Only tasks matching this JSON query (default: all).
    pub query: Option<String>,
}

/// Print the counts of every status, zeros included, and the total.
///
/// # Errors
/// No pool, a bad query (exit code 2), no such store or pool (exit code 3),
/// or a store failure.
pub fn run(global: &GlobalArgs, args: &StatArgs) -> anyhow::Result<()> {
    let ctx = Context::new(global)?;
    let query = parse_query(args.query.as_deref())?;
    let stat = ctx.block_on(async {
        let (store, pool) = ctx.pool_store().await?;
        Ok::<_, anyhow::Error>(store.stat(pool, &query).await?)
    })?;
    if ctx.out.is_json() {
        return ctx.out.json(&StatJson {
            stat,
            total: stat.total(),
        });
    }
    let mut table = Table::new(["STATUS", "COUNT"]).right_align(1);
    for status in Status::ALL {
        table.row([status.to_string(), stat.get(status).to_string()]);
    }
    table.row(["total".to_string(), stat.total().to_string()]);
    ctx.out.table(&table)
}
