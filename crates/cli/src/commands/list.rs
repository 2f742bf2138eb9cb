//! `taskpool list`: the pools of the store.

use crate::cli::GlobalArgs;

/// Print the store's pools, one per line (or a JSON array with `--json`).
///
/// # Errors
/// When the store cannot be opened or read.
pub fn run(global: &GlobalArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store = taskpool::open_store(&global.store).await?;
        let pools = store.pools().await?;
        if global.json {
            println!("{}", serde_json::to_string(&pools)?);
        } else {
            for pool in pools {
                println!("{pool}");
            }
        }
        Ok(())
    })
}
