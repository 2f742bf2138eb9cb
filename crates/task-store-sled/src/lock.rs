//! One process per database: an exclusive, non-blocking lock file.
//!
//! sled takes its own lock on its data file, but how it fails depends on its
//! build features (it blocks when compiled for testing). The store therefore
//! takes its own exclusive `flock` on `PATH/taskpool.lock` *before* opening
//! sled, without blocking: a second opener fails at once with
//! [`ErrorKind::Unavailable`](task_store::ErrorKind::Unavailable) naming the
//! path and the holder's pid. The kernel drops the lock when the holder exits,
//! even after `SIGKILL`, so a crashed process never leaves a stale lock.
//!
//! Holding that lock, the store is the only taskpool user of the directory,
//! yet sled's own lock on its log file can still be held for a moment by a
//! store of this process that was just dropped (sled 0.34's background
//! flusher lets go of the file shortly after the last `Db` handle).
//! [`wait_for_sled`] waits for it by trying the same lock itself: sled
//! reports a held lock only as the text of an I/O error, fs4 as a variant.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use fs4::{FileExt, TryLockError};

use crate::error::SledError;

/// The lock file's name inside the database directory.
pub const LOCK_FILE_NAME: &str = "taskpool.lock";

/// A held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Create `dir` if needed and lock it, or fail at once if it is locked.
    pub(crate) fn acquire(dir: &Path) -> Result<DirLock, SledError> {
        let io_error = |source| SledError::Io {
            path: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io_error)?;
        let path = dir.join(LOCK_FILE_NAME);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error)?;
        match FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // Best effort: the pid helps the user find the holder.
                let holder = match file.read_to_string(&mut holder) {
                    Ok(_) if !holder.trim().is_empty() => format!(" (pid {})", holder.trim()),
                    _ => String::new(),
                };
                return Err(SledError::Locked {
                    path: dir.display().to_string(),
                    holder,
                });
            }
            Err(TryLockError::Error(source)) => return Err(io_error(source)),
        }
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| write!(file, "{}", std::process::id()))
            .map_err(io_error)?;
        Ok(DirLock { _file: file })
    }
}

/// Wait up to `wait` until nobody holds the `flock` sled takes on its log
/// file `data_file` (absent in a new database: nothing to wait for).
pub(crate) fn wait_for_sled(data_file: &Path, wait: Duration) -> Result<(), SledError> {
    let io_error = |source| SledError::Io {
        path: data_file.display().to_string(),
        source,
    };
    let file = match File::open(data_file) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error(e)),
    };
    let started = Instant::now();
    loop {
        match FileExt::try_lock(&file) {
            // Dropping `file` releases the probe's lock for sled to take.
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) if started.elapsed() < wait => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(SledError::Locked {
                    path: data_file.display().to_string(),
                    holder: String::new(),
                });
            }
            Err(TryLockError::Error(source)) => return Err(io_error(source)),
        }
    }
}
