//! `taskpool prioritize ID|QUERY PRIORITY`: set the priority of one task or of
//! the matching tasks (Qlib's `prioritize`, which silently matched nothing for
//! string ids: bug B12).

use clap::Args;
use taskpool::store::{Error, Query};

use crate::cli::GlobalArgs;
use crate::context::{Context, parse_id, parse_query};
use crate::json::MatchedJson;

/// Arguments of `prioritize`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  taskpool -t rolling prioritize 615498be837d0053acbc5d58 10
  taskpool -t rolling prioritize '{\"filter.model.class\": \"LGBModel\"}' -- -1
Higher priorities are claimed first. A task id that matches nothing exits with code 3.")]
pub struct PrioritizeArgs {
    /// A task id (24 hexadecimal digits) or a JSON query.
    pub target: String,
    /// The new priority (an integer; higher is claimed first).
    #[arg(allow_negative_numbers = true)]
    pub priority: i64,
}

/// The query the first argument stands for, and whether it was a task id.
fn parse_target(text: &str) -> anyhow::Result<(Query, bool)> {
    if text.trim_start().starts_with('{') {
        Ok((parse_query(Some(text))?, false))
    } else {
        Ok((Query::id(parse_id(text)?), true))
    }
}

/// Set the priority and print how many tasks matched.
///
/// # Errors
/// No pool, a bad id or query (exit code 2), an id that matches nothing (exit
/// code 3), or a store failure.
pub fn run(global: &GlobalArgs, args: &PrioritizeArgs) -> anyhow::Result<()> {
    let ctx = Context::new(global)?;
    let (query, by_id) = parse_target(&args.target)?;
    let (pool, n) = ctx.block_on(async {
        let (store, pool) = ctx.pool_store().await?;
        let n = store.prioritize(pool, &query, args.priority).await?;
        Ok::<_, anyhow::Error>((pool, n))
    })?;
    if by_id && n == 0 {
        return Err(
            Error::not_found(format!("no task {} in pool {pool:?}", args.target.trim())).into(),
        );
    }
    if ctx.out.is_json() {
        ctx.out.json(&MatchedJson { matched: n })
    } else {
        ctx.out.line(format_args!(
            "set priority {} on {n} task(s)",
            args.priority
        ))
    }
}
