//! [`SqliteOptions`]: how a store waits for locks and what a write survives.

use std::time::Duration;

/// How durable an acknowledged write is (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous = NORMAL` (the default): in WAL mode a write acknowledged
    /// to the caller survives the death of any process; the last writes before
    /// an operating-system crash or power loss may be lost.
    #[default]
    Process,
    /// `synchronous = FULL`: every commit is fsynced, so acknowledged writes
    /// also survive power loss (slower).
    PowerLoss,
}

/// Tuning of a [`SqliteStore`](crate::SqliteStore).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// How long an operation waits for another connection's write lock
    /// before failing with [`ErrorKind::Unavailable`](task_store::ErrorKind::Unavailable).
    pub busy_timeout: Duration,
    /// What a successful write survives.
    pub durability: Durability,
}

impl Default for SqliteOptions {
    /// A 5 s busy timeout, [`Durability::Process`].
    fn default() -> SqliteOptions {
        SqliteOptions {
            busy_timeout: Duration::from_secs(5),
            durability: Durability::Process,
        }
    }
}
