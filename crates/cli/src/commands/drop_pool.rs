//! `taskpool drop-pool NAME`: delete a pool and all its tasks.

use clap::Args;
use taskpool::store::Error;

use crate::cli::GlobalArgs;
use crate::context::{Context, not_found};
use crate::json::DroppedJson;

/// Arguments of `drop-pool`.
#[derive(Debug, Args)]
#[command(after_help = "Example:
  taskpool --store sqlite://taskpool.db drop-pool rolling_old
The pool is named explicitly (the -t/--pool option is ignored). Exit code 3 if it does not exist.")]
pub struct DropPoolArgs {
    /// The pool to delete.
    pub name: String,
}

/// Drop the pool and say so.
///
/// # Errors
/// A bad pool name (exit code 2), no such pool (exit code 3), or a store failure.
pub fn run(global: &GlobalArgs, args: &DropPoolArgs) -> anyhow::Result<()> {
    let ctx = Context::new(global)?;
    taskpool::store::validate_pool_name(&args.name)?;
    let existed = ctx.block_on(async {
        let store = ctx.existing_store().await?;
        let pools = store.pools().await?;
        if !pools.contains(&args.name) {
            return Err(not_found("pool", &args.name, &pools).into());
        }
        Ok::<_, anyhow::Error>(store.drop_pool(&args.name).await?)
    })?;
    if !existed {
        return Err(Error::not_found(format!("no pool {:?} in this store", args.name)).into());
    }
    if ctx.out.is_json() {
        ctx.out.json(&DroppedJson {
            dropped: args.name.clone(),
        })
    } else {
        ctx.out.line(format_args!("dropped pool {}", args.name))
    }
}
