//! The connection thread: one dedicated OS thread owns the store's
//! `rusqlite::Connection` (which is `Send` but not `Sync`) and runs jobs sent
//! to it one at a time. Async callers await a oneshot reply, so no executor
//! thread ever blocks on SQLite, and the store needs no particular runtime.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::thread;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::connection::{self, SqliteOptions};
use crate::error::{Result, SqliteError};
use crate::location::Location;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A handle to the connection thread. Dropping it lets the thread finish the
/// jobs already queued, close the connection and end; the drop waits for
/// that, so the database file is closed once the store is gone.
#[derive(Debug)]
pub(crate) struct Worker {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Worker {
    /// Start a thread that opens the database at `location` and then serves
    /// jobs; `opened` is told whether the open succeeded (on failure the
    /// thread ends).
    pub(crate) fn start(
        location: Location,
        options: SqliteOptions,
        opened: impl FnOnce(Result<()>) + Send + 'static,
    ) -> Result<Worker> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = thread::Builder::new()
            .name("taskpool-sqlite".into())
            .spawn(move || match connection::open(&location, &options) {
                Ok(conn) => {
                    opened(Ok(()));
                    serve(conn, &queue, &location);
                }
                Err(e) => opened(Err(e)),
            })
            .map_err(|e| {
                SqliteError::Store(task_store::Error::unavailable(format!(
                    "cannot start the SQLite connection thread: {e}"
                )))
            })?;
        Ok(Worker {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Run `f` on the connection thread and await its result.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            // The caller may have stopped waiting; the work is done either way.
            let _ = reply.send(f(conn));
        });
        self.jobs
            .as_ref()
            .ok_or(SqliteError::WorkerGone)?
            .send(job)
            .map_err(|_| SqliteError::WorkerGone)?;
        answer.await.map_err(|_| SqliteError::WorkerGone)?
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            // The thread catches job panics, so it only ends normally.
            let _ = thread.join();
        }
    }
}

/// Run jobs until every [`Worker`] handle is dropped.
fn serve(mut conn: Connection, queue: &mpsc::Receiver<Job>, location: &Location) {
    for job in queue {
        // A panicking job drops its reply sender (its caller gets
        // `WorkerGone`) and rolls back its transaction guard; the connection
        // stays usable for the next job.
        if catch_unwind(AssertUnwindSafe(|| job(&mut conn))).is_err() {
            tracing::error!(store = %location, "a SQLite job panicked");
        }
    }
}
