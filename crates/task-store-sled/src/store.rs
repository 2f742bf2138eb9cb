//! [`SledStore`]: opening, the URL, and the plumbing every operation uses
//! (blocking threads, transactions, flushes, the bulk lock).

use std::fmt;
use std::fs::File;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use sled::Transactional;
use task_store::{Result, SharedClock, Task, TaskId};

use crate::error::{SledError, sled_error};
use crate::id_range::IdRange;
use crate::layout;
use crate::lock::DirLock;
use crate::options::{self, SledOptions};
use crate::record;
use crate::tx::{self, Tx, TxResult};

/// The name of sled's log file inside the database directory.
const SLED_DATA_FILE: &str = "db";

/// The URL schemes [`SledStore`] answers to (`sled://PATH`).
pub const URL_SCHEMES: &[&str] = &["sled"];

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
    db: sled::Db,
    /// sled's log file (`PATH/db`), opened again to `fdatasync` it: sled 0.34
    /// makes its writes stable on Linux with `sync_file_range`, which writes
    /// the pages but neither the file's size nor the disk's write cache.
    data_file: File,
    pub(crate) clock: SharedClock,
    /// Single-task writes and claims take it shared; operations that select
    /// tasks by scanning (remove, reset, prioritize, drop, integrity check)
    /// take it exclusive, so their scan and their transaction see the same
    /// tasks. Claims among themselves are serialized by sled's transactions.
    bulk: RwLock<()>,
    path: PathBuf,
    /// Declared last: released only after sled has closed its files.
    _lock: DirLock,
}

impl SledStore {
    /// Open (creating if needed) the database in directory `path`.
    ///
    /// Blocks while sled recovers the database; from async code prefer
    /// [`SledStore::from_url`] or call this inside `spawn_blocking`. A
    /// database written before task counts were kept (no layout version) is
    /// upgraded: its claim index is counted once (about 0.3 s per million
    /// tasks) and the counts are written with the layout version.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`](task_store::ErrorKind::Unavailable) if
    /// another process (or another store of this process) has the database
    /// open, naming the path; if the directory cannot be created or sled
    /// cannot read it. [`ErrorKind::Config`](task_store::ErrorKind::Config)
    /// for a database of a newer layout than
    /// [`layout::LAYOUT_VERSION`](crate::layout::LAYOUT_VERSION).
    pub fn open(path: impl AsRef<Path>, clock: SharedClock) -> Result<SledStore> {
        SledStore::open_with(path, clock, SledOptions::default())
    }

    /// Open (creating if needed) the database in directory `path` with
    /// `options` (see [`SledStore::open`]).
    ///
    /// # Errors
    /// As [`SledStore::open`].
    pub fn open_with(
        path: impl AsRef<Path>,
        clock: SharedClock,
        options: SledOptions,
    ) -> Result<SledStore> {
        let path = path.as_ref().to_path_buf();
        let lock = DirLock::acquire(&path)?;
        let db = open_sled(&path, &options).map_err(|source| SledError::Open {
            path: path.display().to_string(),
            source,
        })?;
        let io_error = |source| SledError::Io {
            path: path.display().to_string(),
            source,
        };
        let data_file = File::open(path.join(SLED_DATA_FILE)).map_err(io_error)?;
        // Make the files sled may just have created part of the directory.
        File::open(&path)
            .and_then(|dir| dir.sync_all())
            .map_err(io_error)?;
        let tree = |name: &str| db.open_tree(name).map_err(sled_error);
        let trees = Trees {
            tasks: tree(layout::TASKS_TREE)?,
            claim: tree(layout::CLAIM_TREE)?,
            keys: tree(layout::KEYS_TREE)?,
            expiry: tree(layout::EXPIRY_TREE)?,
            pools: tree(layout::POOLS_TREE)?,
            counts: tree(layout::COUNTS_TREE)?,
            records: tree(layout::RECORDS_TREE)?,
            artifacts: tree(layout::ARTIFACTS_TREE)?,
            chunks: tree(layout::CHUNKS_TREE)?,
        };
        let meta = tree(layout::META_TREE)?;
        let inner = Inner {
            trees,
            db,
            data_file,
            clock,
            bulk: RwLock::new(()),
            path,
            _lock: lock,
        };
        inner.ensure_layout(&meta)?;
        tracing::debug!(path = %inner.path.display(), "opened sled store");
        Ok(SledStore {
            inner: Arc::new(inner),
        })
    }

    /// Open the store at a `sled://PATH` URL (`sled:///abs/dir` or
    /// `sled://relative/dir`), on a blocking thread. The parameter
    /// `cache_mb=N` sets sled's page cache to N MiB (`sled:///abs/dir?cache_mb=256`;
    /// default [`DEFAULT_CACHE_MB`](crate::DEFAULT_CACHE_MB)); a path cannot
    /// contain `?`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](task_store::ErrorKind::Config) for another scheme,
    /// an empty path, or an unknown or bad parameter; otherwise as
    /// [`SledStore::open`].
    pub async fn from_url(url: &str, clock: SharedClock) -> Result<SledStore> {
        let (path, options) = options::parse_url(url)?;
        tokio::task::spawn_blocking(move || SledStore::open_with(path, clock, options))
            .await
            .map_err(SledError::Worker)?
    }

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
            .map_err(SledError::Worker)?
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

    /// Run `body` as one sled transaction over the task trees.
    pub(crate) fn transact<T>(&self, body: impl Fn(&Tx<'_>) -> TxResult<T>) -> Result<T> {
        let t = &self.trees;
        tx::finish(
            (&t.tasks, &t.claim, &t.keys, &t.expiry, &t.pools, &t.counts).transaction(|trees| {
                let tx = Tx::new(trees);
                let out = body(&tx)?;
                tx.write_counts()?;
                Ok(out)
            }),
        )
    }

    /// Make every write so far durable (called before acknowledging a write).
    pub(crate) fn flush(&self) -> Result<()> {
        self.db.flush().map_err(sled_error)?;
        self.data_file.sync_data().map_err(|source| SledError::Io {
            path: self.path.join(SLED_DATA_FILE).display().to_string(),
            source,
        })?;
        Ok(())
    }

    /// The task `id` of the pool with prefix `prefix`, read outside a transaction.
    pub(crate) fn load(&self, prefix: &[u8], id: TaskId) -> Result<Option<Task>> {
        self.trees
            .tasks
            .get(layout::task_key(prefix, id))
            .map_err(sled_error)?
            .map(|bytes| record::decode(&bytes))
            .transpose()
    }

    /// The records of the pool with prefix `prefix` whose ids lie in
    /// `range`, in id order, undecoded. The walk starts at the range's lower
    /// bound and stops at its upper bound: its cost grows with the records in
    /// the range, not with the pool.
    pub(crate) fn scan_records(
        &self,
        prefix: &[u8],
        range: &IdRange,
    ) -> impl Iterator<Item = Result<sled::IVec>> + '_ {
        let key = |id: &TaskId| layout::task_key(prefix, *id);
        let lower = match &range.lower {
            Bound::Included(id) => Bound::Included(key(id)),
            Bound::Excluded(id) => Bound::Excluded(key(id)),
            Bound::Unbounded => Bound::Included(prefix.to_vec()),
        };
        let upper = match &range.upper {
            Bound::Included(id) => Bound::Included(key(id)),
            Bound::Excluded(id) => Bound::Excluded(key(id)),
            // Every task key of the pool is the prefix and 12 id bytes.
            Bound::Unbounded => Bound::Included(key(&TaskId::from_bytes([0xff; layout::ID_LEN]))),
        };
        let walk = (!range.is_empty()).then(|| self.trees.tasks.range((lower, upper)));
        walk.into_iter()
            .flatten()
            .map(|entry| Ok(entry.map_err(sled_error)?.1))
    }

    /// The tasks of the pool with prefix `prefix` whose ids lie in `range`,
    /// in id order (see [`Inner::scan_records`]).
    pub(crate) fn scan_tasks(
        &self,
        prefix: &[u8],
        range: &IdRange,
    ) -> impl Iterator<Item = Result<Task>> + '_ {
        self.scan_records(prefix, range)
            .map(|bytes| record::decode(&bytes?))
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

/// How long an open waits for sled's own lock on its data file. Holding the
/// directory lock, this process is the only taskpool user of the directory,
/// so that lock can only be held by a store of this process that was just
/// dropped: sled 0.34's background flusher lets go of the file a moment
/// after the last `Db` handle.
const SLED_LOCK_WAIT: Duration = Duration::from_secs(2);

/// Open sled at `path`, waiting up to [`SLED_LOCK_WAIT`] for its file lock.
fn open_sled(path: &Path, options: &SledOptions) -> sled::Result<sled::Db> {
    let started = Instant::now();
    loop {
        match sled::Config::new()
            .path(path)
            .cache_capacity(options.cache_capacity)
            .open()
        {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && started.elapsed() < SLED_LOCK_WAIT =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            result => return result,
        }
    }
}
