//! The overview's numbers: per pool, the counts by status from the store's
//! `stat` (counted by the backend, never a scan) and the expired leases
//! (a look at the `running` tasks only).

use serde::Serialize;
use taskpool::pipeline::worker::find_lost;
use taskpool::store::{Query, Stat, Store, Timestamp};

use taskpool::store::Result;

/// One pool on the overview (and `GET /api/pools`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PoolSummary {
    /// The pool.
    pub(crate) pool: String,
    /// Counts by status (the shape of `taskpool stat --json`, flattened).
    #[serde(flatten)]
    pub(crate) stat: Stat,
    /// All tasks.
    pub(crate) total: u64,
    /// `running` tasks whose lease expired.
    pub(crate) expired_leases: u64,
}

impl PoolSummary {
    /// Finished (done or failed) tasks in percent of all, 100 for an empty pool.
    pub(crate) fn progress_percent(&self) -> f64 {
        if self.total == 0 {
            return 100.0;
        }
        (self.stat.done + self.stat.failed) as f64 * 100.0 / self.total as f64
    }
}

/// The summary of one pool at `now`.
///
/// # Errors
/// Whatever the store reports.
pub(crate) async fn pool_summary(
    store: &dyn Store,
    pool: &str,
    now: Timestamp,
) -> Result<PoolSummary> {
    let stat = store.stat(pool, &Query::All).await?;
    let expired_leases = if stat.running > 0 {
        find_lost(store, pool, Query::All, now).await?.len() as u64
    } else {
        0
    };
    Ok(PoolSummary {
        pool: pool.to_string(),
        total: stat.total(),
        stat,
        expired_leases,
    })
}

/// The summaries of every pool of the store, by name.
///
/// # Errors
/// Whatever the store reports.
pub(crate) async fn all_pools(store: &dyn Store) -> Result<Vec<PoolSummary>> {
    let now = Timestamp::now();
    let mut out = Vec::new();
    for pool in store.pools().await? {
        out.push(pool_summary(store, &pool, now).await?);
    }
    Ok(out)
}
