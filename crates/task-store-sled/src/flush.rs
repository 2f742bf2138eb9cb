//! Group commit: one `flush` + `fdatasync` acknowledges every write applied
//! before it started.
//!
//! A write is acknowledged only once it is on disk, and making it so costs a
//! `Db::flush` and an `fdatasync` of sled's log file (about 0.3 ms), whatever
//! the number of writes they cover. Writers that finish their transactions
//! while a sync runs therefore do not each sync in turn: they join the
//! *next* batch, and when the running sync ends, one of them (the leader)
//! takes the batch and syncs once for all of its members; the others wait
//! for that sync's outcome. A batch is taken before its sync starts, so every
//! member's transaction was applied before the sync that acknowledges it:
//! the durability promise is the same as one sync per write. A failed sync
//! fails every write of its batch (each may or may not be on disk), and no
//! other.
//!
//! One writer alone pays what it paid before: it finds no sync running and
//! leads a batch of one at once.

use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use task_store::Result;

use crate::error::SledError;

/// The writers that one sync acknowledges, and its outcome once it ran
/// (`Err` holds the leader's error message, for the other members).
#[derive(Default)]
struct Batch {
    outcome: OnceLock<std::result::Result<(), String>>,
}

/// What the writers share under [`Flusher::state`].
struct State {
    /// The batch the next sync will acknowledge; writers join it.
    next: Arc<Batch>,
    /// Whether a sync is running.
    syncing: bool,
    /// Syncs started so far.
    syncs: u64,
}

/// Makes sled's writes durable, one sync for every batch of concurrent writers.
pub(crate) struct Flusher {
    db: sled::Db,
    /// sled's log file (`PATH/db`), opened again to `fdatasync` it: sled 0.34
    /// makes its writes stable on Linux with `sync_file_range`, which writes
    /// the pages but neither the file's size nor the disk's write cache.
    data_file: File,
    /// The log file's path, for errors.
    data_path: PathBuf,
    state: Mutex<State>,
    /// Signalled when a sync ends.
    synced: Condvar,
}

impl Flusher {
    /// A flusher for `db`, whose log file is `data_file` at `data_path`.
    pub(crate) fn new(db: sled::Db, data_file: File, data_path: PathBuf) -> Flusher {
        Flusher {
            db,
            data_file,
            data_path,
            state: Mutex::new(State {
                next: Arc::default(),
                syncing: false,
                syncs: 0,
            }),
            synced: Condvar::new(),
        }
    }

    /// Return once every write applied before this call is on disk: lead a
    /// sync if none is running, or else wait for the one after it (which
    /// some writer of this batch leads).
    ///
    /// # Errors
    /// The error of the sync that was to acknowledge this write: the leader
    /// gets sled's or the `fdatasync`'s own error, the other members
    /// [`ErrorKind::Unavailable`](task_store::ErrorKind::Unavailable) with
    /// its message.
    pub(crate) fn flush(&self) -> Result<()> {
        let mut state = self.lock();
        let batch = Arc::clone(&state.next);
        loop {
            if let Some(outcome) = batch.outcome.get() {
                return outcome.clone().map_err(|cause| {
                    SledError::FlushFailed {
                        path: self.data_path.display().to_string(),
                        cause,
                    }
                    .into()
                });
            }
            if !state.syncing {
                // No sync is running, so the batch this writer joined has
                // not been taken yet: it is still `next`. Take it and sync.
                state.syncing = true;
                state.syncs += 1;
                let leading = std::mem::take(&mut state.next);
                // Every member holds the batch; `leading` is the state's hold.
                tracing::trace!(
                    sync = state.syncs,
                    writers = Arc::strong_count(&leading) - 1,
                    "sled group sync"
                );
                drop(state);
                let lead = Lead {
                    flusher: self,
                    batch: &leading,
                };
                let result = self.sync();
                let _ = leading
                    .outcome
                    .set(result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
                drop(lead);
                return result;
            }
            state = self
                .synced
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// How many syncs ran so far.
    #[cfg(test)]
    pub(crate) fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    /// `Db::flush`, then `fdatasync` of sled's log file.
    fn sync(&self) -> Result<()> {
        self.db.flush().map_err(SledError::Sled)?;
        self.data_file.sync_data().map_err(|source| SledError::Io {
            path: self.data_path.display().to_string(),
            source,
        })?;
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent: `Lead` restores it even on a panic.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running sync: when it ends (returns or panics), the batch has an
/// outcome, the next writer may lead, and the waiters wake.
struct Lead<'a> {
    flusher: &'a Flusher,
    batch: &'a Batch,
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        // Set only if the sync panicked before giving its outcome.
        let _ = self.batch.outcome.set(Err("the sync panicked".to_string()));
        self.flusher.lock().syncing = false;
        self.flusher.synced.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::thread;
    use std::time::Duration;

    use super::*;

    fn flusher(dir: &std::path::Path) -> Flusher {
        let db = sled::open(dir).unwrap();
        let data_path = dir.join(crate::store::SLED_DATA_FILE);
        let data_file = File::open(&data_path).unwrap();
        Flusher::new(db, data_file, data_path)
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("taskpool-sled-flush-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn writers_arriving_during_a_sync_share_the_next_one() {
        let dir = scratch("share");
        let flusher = flusher(&dir);
        const WRITERS: usize = 8;
        // Stand in for a running sync, so that every writer joins the next batch.
        flusher.lock().syncing = true;
        thread::scope(|scope| {
            let writers: Vec<_> = (0..WRITERS)
                .map(|i| {
                    let flusher = &flusher;
                    scope.spawn(move || {
                        flusher.db.insert(i.to_be_bytes(), &[1][..]).unwrap();
                        flusher.flush()
                    })
                })
                .collect();
            // Wait until all of them hold the next batch.
            while Arc::strong_count(&flusher.lock().next) < WRITERS + 1 {
                thread::sleep(Duration::from_millis(1));
            }
            {
                let mut state = flusher.lock();
                assert!(
                    writers.iter().all(|w| !w.is_finished()),
                    "a writer returned before any sync"
                );
                state.syncing = false;
            }
            flusher.synced.notify_all();
            for writer in writers {
                writer.join().unwrap().unwrap();
            }
        });
        assert_eq!(
            flusher.lock().syncs,
            1,
            "one sync acknowledged all {WRITERS} writers"
        );
        assert!(!flusher.lock().syncing);
        drop(flusher);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_lone_writer_syncs_at_once_each_time() {
        let dir = scratch("lone");
        let flusher = flusher(&dir);
        for i in 0u64..3 {
            flusher.db.insert(i.to_be_bytes(), &[1][..]).unwrap();
            flusher.flush().unwrap();
        }
        assert_eq!(flusher.lock().syncs, 3);
        drop(flusher);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
