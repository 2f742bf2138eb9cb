//! [`SledStore`]: the struct, its `Display`, the [`TaskBackend`] impl that
//! queues claims and lease writes for the batch writer ([`crate::batch`])
//! and sends every other operation to a blocking thread, and the plumbing
//! every operation uses (the bulk lock, the flush before acknowledging).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use task_store::query::Query;
use task_store::{
    Capabilities, ClaimParams, CommitParams, CreateParams, Created, HeartbeatParams, QueryParams,
    ReplaceParams, ResetParams, Result, ReturnParams, SharedClock, Stat, Status, Task, TaskBackend,
    TaskId, Timestamp,
};

use crate::batch::WriteQueue;
use crate::claim::ClaimWrite;
use crate::error::SledError;
use crate::flush::Flusher;
use crate::lease::LeaseWrite;
use crate::lock::DirLock;

/// The name of sled's log file inside the database directory.
pub(crate) const SLED_DATA_FILE: &str = "db";

/// A task store in a sled database: one process, many threads.
///
/// Cloning is cheap and shares the database. See the crate documentation for
/// the layout, transactions and durability.
#[derive(Clone)]
pub struct SledStore {
    pub(crate) inner: Arc<Inner>,
}

/// The trees of the database.
pub(crate) struct Trees {
    pub(crate) tasks: sled::Tree,
    pub(crate) claim: sled::Tree,
    pub(crate) keys: sled::Tree,
    pub(crate) expiry: sled::Tree,
    pub(crate) pools: sled::Tree,
    pub(crate) counts: sled::Tree,
    pub(crate) records: sled::Tree,
    pub(crate) artifacts: sled::Tree,
    pub(crate) chunks: sled::Tree,
}

/// The shared state behind a [`SledStore`].
pub(crate) struct Inner {
    pub(crate) trees: Trees,
    /// Makes writes durable before they are acknowledged (group commit).
    pub(crate) flusher: Flusher,
    /// Claims and lease writes waiting to be applied in batches.
    pub(crate) writes: WriteQueue,
    pub(crate) clock: SharedClock,
    /// Single-task writes and claims take it shared; operations that select
    /// tasks by scanning (remove, reset, prioritize, drop, integrity check)
    /// take it exclusive, so their scan and their transaction see the same
    /// tasks. Claims among themselves are serialized by sled's transactions.
    pub(crate) bulk: RwLock<()>,
    pub(crate) path: PathBuf,
    /// Declared last: released only after sled has closed its files.
    pub(crate) _lock: DirLock,
}

impl SledStore {
    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Run `f` on a blocking thread (sled's calls block on disk I/O).
    pub(crate) async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(SledError::Thread)?
    }
}

impl Inner {
    /// The database directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Shared access for single-task writes and claims.
    pub(crate) fn shared(&self) -> RwLockReadGuard<'_, ()> {
        // The guarded value is `()`: a panic elsewhere leaves nothing broken.
        self.bulk.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Exclusive access for scan-then-write operations.
    pub(crate) fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.bulk.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Make every write applied so far durable (called before acknowledging
    /// a write); concurrent callers share one sync ([`Flusher::flush`]).
    pub(crate) fn flush(&self) -> Result<()> {
        self.flusher.flush()
    }
}

impl fmt::Display for SledStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sled://{}", self.inner.path.display())
    }
}

impl fmt::Debug for SledStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl TaskBackend for SledStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::ONE_PROCESS
    }

    async fn create(&self, pool: &str, params: CreateParams) -> Result<Vec<Created>> {
        let pool = pool.to_string();
        self.blocking(move |s| s.create(&pool, params)).await
    }

    async fn claim(&self, pool: &str, params: ClaimParams) -> Result<Vec<Task>> {
        self.queue(|reply| ClaimWrite::queued(pool, params, reply))
            .await
    }

    async fn heartbeat(&self, pool: &str, params: HeartbeatParams) -> Result<Timestamp> {
        self.queue(|reply| LeaseWrite::queued(pool, params, reply))
            .await
    }

    async fn commit(&self, pool: &str, params: CommitParams) -> Result<()> {
        self.queue(|reply| LeaseWrite::queued(pool, params, reply))
            .await
    }

    async fn return_task(&self, pool: &str, params: ReturnParams) -> Result<Status> {
        self.queue(|reply| LeaseWrite::queued(pool, params, reply))
            .await
    }

    async fn get(&self, pool: &str, id: TaskId) -> Result<Task> {
        let pool = pool.to_string();
        self.blocking(move |s| s.get(&pool, id)).await
    }

    async fn query(&self, pool: &str, params: QueryParams) -> Result<Vec<Task>> {
        let pool = pool.to_string();
        self.blocking(move |s| s.query(&pool, &params)).await
    }

    async fn stat(&self, pool: &str, query: &Query) -> Result<Stat> {
        let (pool, query) = (pool.to_string(), query.clone());
        self.blocking(move |s| s.stat(&pool, &query)).await
    }

    async fn remove(&self, pool: &str, query: &Query) -> Result<u64> {
        let (pool, query) = (pool.to_string(), query.clone());
        self.blocking(move |s| s.remove(&pool, &query)).await
    }

    async fn reset_status(&self, pool: &str, params: ResetParams) -> Result<u64> {
        let pool = pool.to_string();
        self.blocking(move |s| s.reset_status(&pool, &params)).await
    }

    async fn prioritize(&self, pool: &str, query: &Query, priority: i64) -> Result<u64> {
        let (pool, query) = (pool.to_string(), query.clone());
        self.blocking(move |s| s.prioritize(&pool, &query, priority))
            .await
    }

    async fn replace(&self, pool: &str, params: ReplaceParams) -> Result<Task> {
        let pool = pool.to_string();
        self.blocking(move |s| s.replace(&pool, &params)).await
    }

    async fn pools(&self) -> Result<Vec<String>> {
        self.blocking(|s| s.pools()).await
    }

    async fn drop_pool(&self, pool: &str) -> Result<bool> {
        let pool = pool.to_string();
        self.blocking(move |s| s.drop_pool(&pool)).await
    }
}
