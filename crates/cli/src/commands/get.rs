//! `taskpool get ID`: one task, every field (Qlib's `re_query`).

use clap::Args;

use crate::cli::GlobalArgs;
use crate::context::{Context, parse_id};

/// Arguments of `get`.
#[derive(Debug, Args)]
#[command(after_help = "Example:
  taskpool -t rolling get 615498be837d0053acbc5d58
Exit code 3 if the pool has no task with this id.")]
pub struct GetArgs {
    /// The task id (24 hexadecimal digits).
    pub id: String,
}

/// Print the task as indented JSON (one line with `--json`).
///
/// # Errors
/// No pool, a malformed id (exit code 2), no such task (exit code 3), or a store failure.
pub fn run(global: &GlobalArgs, args: &GetArgs) -> anyhow::Result<()> {
    let ctx = Context::new(global)?;
    let pool = ctx.pool()?;
    let id = parse_id(&args.id)?;
    let task = ctx.on_store(async |store| store.get(pool, id).await)?;
    if ctx.out.is_json() {
        ctx.out.json(&task)
    } else {
        ctx.out.line(serde_json::to_string_pretty(&task)?)
    }
}
