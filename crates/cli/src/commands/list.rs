//! `taskpool list`: the pools of the store.

use crate::cli::GlobalArgs;
use crate::context::Context;
use crate::json::PoolLine;

/// Print the store's pools, one per line (JSON lines of [`PoolLine`] with `--json`).
///
/// # Errors
/// When the store cannot be opened or read.
pub fn run(global: &GlobalArgs) -> anyhow::Result<()> {
    let ctx = Context::new(global)?;
    let pools = ctx.block_on(async {
        let store = ctx.existing_store().await?;
        Ok::<_, anyhow::Error>(store.pools().await?)
    })?;
    if ctx.out.is_json() {
        return ctx
            .out
            .json_lines(pools.into_iter().map(|pool| PoolLine { pool }));
    }
    for pool in pools {
        ctx.out.line(pool)?;
    }
    Ok(())
}
