//! Checkpoints off the writers' path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its
//! threshold (1000 WAL pages): that writer copies the WAL into the database
//! and fsyncs it before its commit returns, so one write in every few
//! megabytes stalls for the whole checkpoint (10–130 ms on this project's
//! machines, the largest part of an online routine's store time). Instead a
//! store's connection hands the checkpoint to a thread of its own: the
//! connection's WAL hook (which replaces the automatic checkpoint) wakes the
//! thread once the WAL holds [`CHECKPOINT_PAGES`] pages, and the thread runs
//! a `PASSIVE` checkpoint on its own connection while writers go on
//! appending to the WAL. The work and its fsyncs still happen, at the same
//! threshold; only nobody's commit waits for them. Durability is unchanged:
//! a checkpoint only copies committed frames.

use std::os::raw::c_int;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{self, JoinHandle};

use rusqlite::hooks::Wal;
use rusqlite::{Connection, OpenFlags};

use crate::error::{Result, SqliteError};

/// WAL size, in pages, at which a checkpoint is asked for: SQLite's own
/// automatic checkpoint threshold.
pub(crate) const CHECKPOINT_PAGES: c_int = 1000;

/// Move `conn`'s checkpoints to a new thread with its own connection to the
/// database file at `path` (already in WAL mode). The thread belongs to
/// `conn`'s WAL hook: closing `conn` stops and joins it, so a store's close
/// still leaves no thread or connection behind (whichever connection
/// closes last checkpoints and removes the WAL, as before).
/// `journal_size_limit` is `conn`'s limit, set on the checkpointer's
/// connection too.
///
/// # Errors
/// The checkpointer's connection cannot be opened, or the thread cannot be
/// started.
pub(crate) fn hand_off(
    conn: &mut Connection,
    path: &Path,
    name: &str,
    journal_size_limit: i64,
) -> Result<()> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.pragma_update(None, "journal_size_limit", journal_size_limit)?;
    let (wake, woken) = sync_channel::<Wake>(1);
    let store = name.to_owned();
    let thread = thread::Builder::new()
        .name("taskpool-sqlite-checkpoint".into())
        .spawn(move || serve(&connection, &woken, &store))
        .map_err(|e| {
            SqliteError::Store(task_store::Error::unavailable(format!(
                "cannot start the SQLite checkpoint thread: {e}"
            )))
        })?;
    let checkpointer = Checkpointer {
        wake,
        thread: Some(thread),
    };
    conn.wal_hook(Some(move |_: &mut Wal, pages: c_int| {
        checkpointer.ask(pages);
        Ok(())
    }))?;
    Ok(())
}

/// What the checkpoint thread is woken for.
enum Wake {
    /// Run a checkpoint.
    Checkpoint,
    /// The store's connection is closing: end.
    Stop,
}

/// The handle of one connection's checkpoint thread, owned by the
/// connection's WAL hook.
struct Checkpointer {
    wake: SyncSender<Wake>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Wake the thread when the WAL holds enough pages.
    fn ask(&self, pages: c_int) {
        if pages >= CHECKPOINT_PAGES {
            // Full: a wake-up is already pending and covers this one.
            // Disconnected: the thread is gone (it panicked); the WAL then
            // grows until the store is reopened, as with no checkpoint.
            let _ = self.wake.try_send(Wake::Checkpoint);
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Waits for a pending wake-up to be taken; fails only if the
        // thread is gone.
        let _ = self.wake.send(Wake::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Run a `PASSIVE` checkpoint per wake-up until told to stop.
fn serve(connection: &Connection, woken: &Receiver<Wake>, store: &str) {
    while let Ok(Wake::Checkpoint) = woken.recv() {
        let outcome = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        });
        match outcome {
            Ok((log, copied)) => tracing::trace!(store, log, copied, "checkpoint"),
            // The next commit past the threshold asks again.
            Err(e) => tracing::warn!(store, error = %e, "WAL checkpoint failed"),
        }
    }
}
