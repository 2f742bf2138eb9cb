//! `taskpool list`: the pools of the store.

use crate::cli::GlobalArgs;
use crate::context::Context;

/// Print the store's pools, one per line (or a JSON array with `--json`).
///
/// # Errors
/// When the store cannot be opened or read.
pub fn run(global: &GlobalArgs) -> anyhow::Result<()> {
    let ctx = Context::new(global)?;
    let pools = ctx.on_store(async |store| store.pools().await)?;
    if ctx.out.is_json() {
        return ctx.out.json(&pools);
    }
    for pool in pools {
        ctx.out.line(pool)?;
    }
    Ok(())
}
