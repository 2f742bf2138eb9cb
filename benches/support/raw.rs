//! The raw-backend baselines: each backend's own API doing the same work as
//! the store, with no abstraction in between.

use std::io::Write;

use async_trait::async_trait;
use serde_json::Value;
use taskpool::store::TaskId;

/// The lease length of every claim in the benchmarks.
pub const LEASE_MS: i64 = 60_000;

/// A task a raw baseline claimed.
#[derive(Debug, Clone)]
pub struct RawClaim {
    /// The task.
    pub id: TaskId,
    /// The lease token to commit with.
    pub token: String,
    /// How many bytes of the task the baseline read to hand it to a worker
    /// (the definition's text for SQLite, the record for sled).
    pub read_len: usize,
}

/// What each raw baseline implements. Failures panic: a baseline that
/// fails has no number to report.
#[async_trait]
pub trait RawStore: Send + Sync {
    /// Create the definitions (deduplicated by content key); returns how many were new.
    async fn create(&self, pool: &str, defs: &[Value]) -> usize;
    /// Claim up to `n` waiting tasks for `owner`, highest priority first.
    async fn claim(&self, pool: &str, n: usize, owner: &str) -> Vec<RawClaim>;
    /// Commit a claimed task as `done` with an empty result, fenced by its token.
    async fn commit(&self, pool: &str, task: &RawClaim);
    /// Give a claimed task back to `waiting`, fenced by its token.
    async fn hand_back(&self, pool: &str, task: &RawClaim);
    /// Counts by status, computed by the backend.
    async fn stat(&self, pool: &str) -> Vec<(String, u64)>;
    /// Put every task of the pool back to a fresh `waiting`.
    async fn reset(&self, pool: &str);
    /// Delete the pool's tasks.
    async fn drop_pool(&self, pool: &str);
    /// Write the pool's tasks (at most `limit`) to `out` in id order, one
    /// line each, streaming; returns how many.
    async fn scan(&self, pool: &str, limit: Option<usize>, out: &mut (dyn Write + Send)) -> usize;
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_millis() as i64
}
