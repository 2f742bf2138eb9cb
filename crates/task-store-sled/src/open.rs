//! Opening: the `sled://PATH[?cache_mb=N]` URL, the directory lock, sled,
//! its trees and the layout check.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use task_store::{Result, SharedClock};

use crate::batch::WriteQueue;
use crate::error::SledError;
use crate::flush::Flusher;
use crate::layout;
use crate::lock::{self, DirLock};
use crate::options::SledOptions;
use crate::store::{Inner, SLED_DATA_FILE, SledStore, Trees};

/// The URL schemes [`SledStore`] answers to (`sled://PATH`).
pub const URL_SCHEMES: &[&str] = &["sled"];

/// How long an open waits for sled's own lock on its data file. Holding the
/// directory lock, this process is the only taskpool user of the directory,
/// so that lock can only be held by a store of this process that was just
/// dropped: sled 0.34's background flusher lets go of the file a moment
/// after the last `Db` handle.
const SLED_LOCK_WAIT: Duration = Duration::from_secs(2);

impl SledStore {
    /// Open (creating if needed) the database at a `sled://PATH` URL
    /// (`sled:///abs/dir` or `sled://relative/dir`), on a blocking thread.
    ///
    /// The URL parameter `cache_mb=N` sets sled's page cache to N MiB
    /// (`sled:///abs/dir?cache_mb=256`) unless `options` sets it; a path
    /// cannot contain `?`. A database written before task counts were kept
    /// (no layout version) is upgraded: its claim index is counted once
    /// (about 0.3 s per million tasks) and the counts are written with the
    /// layout version.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](task_store::ErrorKind::Config) for another
    /// scheme, an empty path, an unknown or bad parameter, or a database of a
    /// newer layout than [`LAYOUT_VERSION`](crate::layout::LAYOUT_VERSION).
    /// [`ErrorKind::Unavailable`](task_store::ErrorKind::Unavailable) if
    /// another process (or another store of this process) has the database
    /// open, naming the path, or if the directory cannot be created or sled
    /// cannot read it.
    pub async fn open(url: &str, clock: SharedClock, options: SledOptions) -> Result<SledStore> {
        let (path, query) = parse_url(url)?;
        let options = options.with_query(query, url)?;
        let inner = tokio::task::spawn_blocking(move || Inner::open(path, clock, options))
            .await
            .map_err(SledError::Thread)??;
        Ok(SledStore {
            inner: Arc::new(inner),
        })
    }
}

impl Inner {
    /// Lock the directory, open sled and its trees, and check (or upgrade)
    /// the layout. Blocks on disk I/O.
    fn open(path: PathBuf, clock: SharedClock, options: SledOptions) -> Result<Inner> {
        let dir_lock = DirLock::acquire(&path)?;
        let io_error = |source| SledError::Io {
            path: path.display().to_string(),
            source,
        };
        lock::wait_for_sled(&path.join(SLED_DATA_FILE), SLED_LOCK_WAIT)?;
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(options.cache_bytes())
            .open()
            .map_err(|source| SledError::Open {
                path: path.display().to_string(),
                source,
            })?;
        let data_path = path.join(SLED_DATA_FILE);
        let data_file = File::open(&data_path).map_err(io_error)?;
        // Make the files sled may just have created part of the directory.
        File::open(&path)
            .and_then(|dir| dir.sync_all())
            .map_err(io_error)?;
        let tree = |name: &str| db.open_tree(name).map_err(SledError::Sled);
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
            flusher: Flusher::new(db, data_file, data_path),
            writes: WriteQueue::default(),
            clock,
            bulk: RwLock::new(()),
            path,
            _lock: dir_lock,
        };
        inner.ensure_layout(&meta)?;
        tracing::debug!(path = %inner.path().display(), "opened sled store");
        Ok(inner)
    }
}

/// The directory and the query (after the first `?`) of a
/// `sled://PATH[?QUERY]` URL. A path cannot contain `?`.
fn parse_url(url: &str) -> Result<(PathBuf, Option<&str>)> {
    let rest = url
        .strip_prefix("sled://")
        .ok_or_else(|| SledError::Url(format!("not a sled URL: {url} (expected sled://PATH)")))?;
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    if path.is_empty() {
        return Err(SledError::Url(format!("the sled URL {url} names no directory")).into());
    }
    Ok((Path::new(path).to_path_buf(), query))
}

#[cfg(test)]
mod tests {
    use task_store::ErrorKind;

    use super::*;

    #[test]
    fn parse_url_splits_path_and_query() {
        assert_eq!(
            parse_url("sled:///tmp/x").unwrap(),
            (PathBuf::from("/tmp/x"), None)
        );
        assert_eq!(
            parse_url("sled://rel/db?cache_mb=256").unwrap(),
            (PathBuf::from("rel/db"), Some("cache_mb=256"))
        );
    }

    #[test]
    fn parse_url_rejects_other_schemes_and_empty_paths() {
        for bad in ["sled://", "sqlite://x", "/tmp/x", "sled://?cache_mb=1"] {
            assert_eq!(
                parse_url(bad).unwrap_err().kind(),
                ErrorKind::Config,
                "{bad}"
            );
        }
    }
}
