//! The connection thread: one dedicated OS thread owns the store's
//! `rusqlite::Connection` (which is `Send` but not `Sync`) and runs the jobs
//! sent to it. Async callers await a oneshot reply, so no executor thread
//! ever blocks on SQLite, and the store needs no particular runtime.
//!
//! ## Group commit
//!
//! Every job has a [`JobKind`]. A [`JobKind::Alone`] job (a read, or a write
//! that is large or runs its own transactions) runs by itself, outside any
//! transaction of the thread's, and is answered when it returns.
//!
//! A [`JobKind::Grouped`] job is a short write. When the thread takes one
//! from the queue, it also takes the grouped jobs already queued behind it
//! (at most [`MAX_GROUP`] in all; it stops at the first job of the other
//! kind, which runs next) and runs the whole group in one write transaction:
//!
//! 1. `BEGIN IMMEDIATE`, which waits for SQLite's write lock up to the busy
//!    timeout; if it fails, every job of the group gets that error
//!    (`Unavailable` for a busy database) and none runs;
//! 2. each job in turn, inside its own `SAVEPOINT` when the group has more
//!    than one job: a job that fails, or panics, is rolled back to its
//!    savepoint (so none of its statements take effect) and the others go on.
//!    A job alone in its group needs no savepoint: if it fails, the whole
//!    transaction is rolled back;
//! 3. `COMMIT` (a `ROLLBACK` if every job failed);
//! 4. only then the answers: each job's own result if `COMMIT` succeeded;
//!    otherwise every job of the group gets `COMMIT`'s error, and nothing of
//!    the group was written.
//!
//! So no caller is told `Ok` before its write is committed, and one commit
//! (one WAL append and lock hand-over) serves all the writes that queued up
//! while the previous transaction ran. Grouped operations therefore never
//! begin or commit a transaction themselves: they run their statements in
//! the thread's transaction, which keeps each of them atomic (all its
//! statements, or none, through its savepoint).
//!
//! If SQLite ends the transaction early (an I/O error or a full disk rolls
//! back the whole transaction), every job run in it so far gets that error,
//! and the jobs not yet run start a new transaction.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::{Result, SqliteError};
use crate::open::{Location, connect};
use crate::options::SqliteOptions;

/// How the connection thread runs a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobKind {
    /// A short write: it may share one write transaction with the other
    /// grouped jobs queued at the same time, under its own savepoint. It runs
    /// inside that transaction and must not begin, commit or roll back one.
    Grouped,
    /// A read, or a write that must run by itself (large, or managing its
    /// own transactions): it runs outside any transaction of the thread's.
    Alone,
}

/// The most jobs one transaction commits: bounds how long the write lock is
/// held and how long the first job of a group waits for its answer.
pub(crate) const MAX_GROUP: usize = 64;

/// A job queued for the connection thread.
trait Job: Send {
    /// How the thread runs it.
    fn kind(&self) -> JobKind;
    /// Run the operation; its answer is held until its transaction ends.
    fn run(self: Box<Self>, conn: &mut Connection) -> Box<dyn Answer>;
    /// Answer `error` without running the operation.
    fn refuse(self: Box<Self>, error: &SqliteError);
}

/// The result of an operation that ran, not yet sent to its caller.
trait Answer {
    /// The operation's error, if it failed.
    fn error(&self) -> Option<&SqliteError>;
    /// Send the operation's result.
    fn send(self: Box<Self>);
    /// Send `error` instead: the operation's transaction did not commit.
    fn fail(self: Box<Self>, error: &SqliteError);
}

/// An operation and where its result goes.
struct Call<T, F> {
    kind: JobKind,
    operation: F,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Job for Call<T, F>
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
{
    fn kind(&self) -> JobKind {
        self.kind
    }

    fn run(self: Box<Self>, conn: &mut Connection) -> Box<dyn Answer> {
        let Call {
            operation, reply, ..
        } = *self;
        // A panic becomes this operation's error; its savepoint (or
        // transaction) is rolled back like any failure's, and the thread and
        // connection go on serving.
        let result = catch_unwind(AssertUnwindSafe(|| operation(conn)))
            .unwrap_or(Err(SqliteError::Panicked));
        Box::new(Held { result, reply })
    }

    fn refuse(self: Box<Self>, error: &SqliteError) {
        // The caller may have stopped waiting.
        let _ = self.reply.send(Err(error.duplicate()));
    }
}

/// A result waiting for its transaction to end.
struct Held<T> {
    result: Result<T>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T> Answer for Held<T> {
    fn error(&self) -> Option<&SqliteError> {
        self.result.as_ref().err()
    }

    fn send(self: Box<Self>) {
        // The caller may have stopped waiting; the work is done either way.
        let _ = self.reply.send(self.result);
    }

    fn fail(self: Box<Self>, error: &SqliteError) {
        let _ = self.reply.send(Err(error.duplicate()));
    }
}

/// A handle to the connection thread (not to be confused with a task
/// worker). Dropping it lets the thread finish the jobs already queued, close
/// the connection and end; the drop waits for that, so the database file is
/// closed once the store is gone.
#[derive(Debug)]
pub(crate) struct ConnectionThread {
    jobs: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl ConnectionThread {
    /// Start a thread that opens the database at `location` and then serves
    /// jobs; answers once the open succeeded (on failure the thread ends).
    pub(crate) async fn open(
        location: Location,
        options: SqliteOptions,
    ) -> Result<ConnectionThread> {
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let (opened, answer) = oneshot::channel();
        let thread = thread::Builder::new()
            .name("taskpool-sqlite".into())
            .spawn(move || match connect(&location, &options) {
                Ok(mut conn) => {
                    let _ = opened.send(Ok(()));
                    serve(&mut conn, &queue, &location);
                }
                Err(e) => {
                    let _ = opened.send(Err(e));
                }
            })
            .map_err(|e| {
                SqliteError::Store(task_store::Error::unavailable(format!(
                    "cannot start the SQLite connection thread: {e}"
                )))
            })?;
        let handle = ConnectionThread {
            jobs: Some(jobs),
            thread: Some(thread),
        };
        answer.await.map_err(|_| SqliteError::ThreadGone)??;
        Ok(handle)
    }

    /// Run `operation` on the connection thread as a job of `kind` and await
    /// its result (for a grouped job, sent once its transaction committed).
    pub(crate) async fn run<T, F>(&self, kind: JobKind, operation: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let answer = self.submit(kind, operation)?;
        answer.await.map_err(|_| SqliteError::ThreadGone)?
    }

    /// Queue `operation` for the connection thread as a job of `kind`;
    /// returns where its result will arrive.
    fn submit<T, F>(&self, kind: JobKind, operation: F) -> Result<oneshot::Receiver<Result<T>>>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Call {
            kind,
            operation,
            reply,
        });
        self.jobs
            .as_ref()
            .ok_or(SqliteError::ThreadGone)?
            .send(job)
            .map_err(|_| SqliteError::ThreadGone)?;
        Ok(answer)
    }
}

impl Drop for ConnectionThread {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            // The thread catches job panics, so it only ends normally.
            let _ = thread.join();
        }
    }
}

/// Run jobs until the [`ConnectionThread`] handle is dropped.
fn serve(conn: &mut Connection, queue: &mpsc::Receiver<Box<dyn Job>>, location: &Location) {
    let mut next: Option<Box<dyn Job>> = None;
    while let Some(job) = next.take().or_else(|| receive(queue)) {
        match job.kind() {
            JobKind::Alone => {
                let answer = job.run(conn);
                log_panic(answer.as_ref(), location);
                // An operation that runs alone ends its own transactions;
                // never let one stay open into the next job.
                rollback(conn, location);
                answer.send();
            }
            JobKind::Grouped => {
                let mut group = VecDeque::from([job]);
                while group.len() < MAX_GROUP {
                    match queue.try_recv() {
                        Ok(job) if job.kind() == JobKind::Grouped => group.push_back(job),
                        Ok(job) => {
                            next = Some(job);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                while !group.is_empty() {
                    transaction(conn, &mut group, location);
                }
            }
        }
    }
}

/// How long the connection thread polls for the next job before it sleeps.
///
/// A task worker sends its next operation right after the previous answer (the
/// commit after its claim, the next claim after its commits); catching it
/// while still awake spares the thread a sleep and a wake-up, which on this
/// class of machine cost more than the SQL itself (BENCHMARKS.md, finding 2).
const POLL_BEFORE_SLEEP: Duration = Duration::from_micros(200);

/// The next job: polled for [`POLL_BEFORE_SLEEP`] (yielding the core to other
/// threads between polls), then waited for; `None` once every sender is gone.
fn receive(queue: &mpsc::Receiver<Box<dyn Job>>) -> Option<Box<dyn Job>> {
    let started = Instant::now();
    while started.elapsed() < POLL_BEFORE_SLEEP {
        match queue.try_recv() {
            Ok(job) => return Some(job),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) => thread::yield_now(),
        }
    }
    queue.recv().ok()
}

const BEGIN: &str = "BEGIN IMMEDIATE";
const COMMIT: &str = "COMMIT";
const ROLLBACK: &str = "ROLLBACK";
const SAVEPOINT: &str = "SAVEPOINT job";
const RELEASE: &str = "RELEASE job";
const ROLLBACK_TO: &str = "ROLLBACK TO job";

/// Run grouped jobs from the front of `group` in one write transaction and
/// answer them once it has ended. Jobs are left in `group` only when SQLite
/// ended the transaction before they ran.
fn transaction(conn: &mut Connection, group: &mut VecDeque<Box<dyn Job>>, location: &Location) {
    if let Err(e) = execute(conn, BEGIN) {
        for job in group.drain(..) {
            job.refuse(&e);
        }
        return;
    }
    let savepoints = group.len() > 1;
    let mut answers: Vec<Box<dyn Answer>> = Vec::with_capacity(group.len());
    while let Some(job) = group.pop_front() {
        if savepoints && let Err(e) = execute(conn, SAVEPOINT) {
            job.refuse(&e);
            return abandon(conn, answers, &e, location);
        }
        let answer = job.run(conn);
        log_panic(answer.as_ref(), location);
        let failed = answer.error().is_some();
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (an I/O error, a full
            // disk…): nothing of it is written. (A grouped operation never
            // ends the transaction itself; if one did, its group fails too.)
            let error = answer.error().map_or_else(
                || {
                    SqliteError::Store(task_store::Error::backend(
                        "an operation ended its group's transaction",
                    ))
                },
                SqliteError::duplicate,
            );
            answers.push(answer);
            return abandon(conn, answers, &error, location);
        }
        answers.push(answer);
        if savepoints {
            let ended = if failed {
                execute(conn, ROLLBACK_TO).and_then(|()| execute(conn, RELEASE))
            } else {
                execute(conn, RELEASE)
            };
            if let Err(e) = ended {
                return abandon(conn, answers, &e, location);
            }
        }
    }
    if answers.iter().all(|a| a.error().is_some()) {
        rollback(conn, location);
        answers.into_iter().for_each(|a| a.send());
        return;
    }
    match execute(conn, COMMIT) {
        Ok(()) => answers.into_iter().for_each(|a| a.send()),
        Err(e) => abandon(conn, answers, &e, location),
    }
}

/// End the transaction without committing and answer `error` to every job
/// that ran in it.
fn abandon(
    conn: &mut Connection,
    answers: Vec<Box<dyn Answer>>,
    error: &SqliteError,
    location: &Location,
) {
    tracing::warn!(store = %location, jobs = answers.len(), error = %error, "a write transaction failed");
    rollback(conn, location);
    for answer in answers {
        answer.fail(error);
    }
}

/// Roll back the transaction, if one is still open.
fn rollback(conn: &mut Connection, location: &Location) {
    if !conn.is_autocommit()
        && let Err(e) = execute(conn, ROLLBACK)
    {
        tracing::error!(store = %location, error = %e, "cannot roll back a write transaction");
    }
}

/// Run one of the thread's own statements.
fn execute(conn: &Connection, sql: &str) -> Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// Log an operation that panicked (its caller gets [`SqliteError::Panicked`]).
fn log_panic(answer: &dyn Answer, location: &Location) {
    if matches!(answer.error(), Some(SqliteError::Panicked)) {
        tracing::error!(store = %location, "a SQLite operation panicked; its writes were rolled back");
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::params;
    use task_store::{Error, ErrorKind};

    use super::*;

    type Answered<T> = oneshot::Receiver<Result<T>>;

    /// A connection thread on a private in-memory database with a table `t (x)`.
    fn started() -> ConnectionThread {
        let thread = futures::executor::block_on(ConnectionThread::open(
            Location::Memory,
            SqliteOptions::default(),
        ))
        .unwrap();
        let created = thread
            .submit(JobKind::Alone, |conn| {
                conn.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY)")?;
                Ok(())
            })
            .unwrap();
        created.blocking_recv().unwrap().unwrap();
        thread
    }

    /// Hold the connection thread in an alone job until the returned sender
    /// is used or dropped, so that jobs queued meanwhile are taken together.
    fn hold(thread: &ConnectionThread) -> (mpsc::Sender<()>, Answered<()>) {
        let (open, gate) = mpsc::channel::<()>();
        let held = thread
            .submit(JobKind::Alone, move |_| {
                let _ = gate.recv();
                Ok(())
            })
            .unwrap();
        (open, held)
    }

    fn insert(thread: &ConnectionThread, x: i64) -> Answered<()> {
        thread
            .submit(JobKind::Grouped, move |conn| {
                conn.execute("INSERT INTO t (x) VALUES (?1)", [x])?;
                Ok(())
            })
            .unwrap()
    }

    /// Insert `x`, then fail with `kind`.
    fn insert_then_fail(thread: &ConnectionThread, x: i64, kind: ErrorKind) -> Answered<()> {
        thread
            .submit(JobKind::Grouped, move |conn| {
                conn.execute("INSERT INTO t (x) VALUES (?1)", [x])?;
                Err(SqliteError::Store(Error::new(kind, "refused")))
            })
            .unwrap()
    }

    fn rows(thread: &ConnectionThread) -> Vec<i64> {
        thread
            .submit(JobKind::Alone, |conn| {
                Ok(conn
                    .prepare("SELECT x FROM t ORDER BY x")?
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<i64>>>()?)
            })
            .unwrap()
            .blocking_recv()
            .unwrap()
            .unwrap()
    }

    fn kind_of<T: std::fmt::Debug>(answer: Answered<T>) -> ErrorKind {
        let error: task_store::Error = answer.blocking_recv().unwrap().unwrap_err().into();
        error.kind()
    }

    #[test]
    fn group_failing_jobs_roll_back_alone() {
        let thread = started();
        let (open, held) = hold(&thread);
        let first = insert(&thread, 1);
        let lost = insert_then_fail(&thread, 2, ErrorKind::LeaseLost);
        let missing = insert_then_fail(&thread, 3, ErrorKind::NotFound);
        let invalid = insert_then_fail(&thread, 4, ErrorKind::InvalidInput);
        let duplicate = insert(&thread, 1);
        let last = insert(&thread, 5);
        open.send(()).unwrap();
        held.blocking_recv().unwrap().unwrap();

        first.blocking_recv().unwrap().unwrap();
        assert_eq!(kind_of(lost), ErrorKind::LeaseLost);
        assert_eq!(kind_of(missing), ErrorKind::NotFound);
        assert_eq!(kind_of(invalid), ErrorKind::InvalidInput);
        assert_eq!(kind_of(duplicate), ErrorKind::Backend);
        last.blocking_recv().unwrap().unwrap();
        assert_eq!(rows(&thread), [1, 5]);
    }

    #[test]
    fn group_panicking_job_rolls_back_alone() {
        let thread = started();
        let (open, held) = hold(&thread);
        let before = insert(&thread, 1);
        let panicking = thread
            .submit(JobKind::Grouped, |conn| -> Result<()> {
                conn.execute("INSERT INTO t (x) VALUES (2)", [])?;
                panic!("a job that panics after writing");
            })
            .unwrap();
        let after = insert(&thread, 3);
        open.send(()).unwrap();
        held.blocking_recv().unwrap().unwrap();

        before.blocking_recv().unwrap().unwrap();
        assert!(matches!(
            panicking.blocking_recv().unwrap(),
            Err(SqliteError::Panicked)
        ));
        after.blocking_recv().unwrap().unwrap();
        assert_eq!(rows(&thread), [1, 3]);
        // The thread and its connection go on serving.
        insert(&thread, 4).blocking_recv().unwrap().unwrap();
        assert_eq!(rows(&thread), [1, 3, 4]);
    }

    #[test]
    fn grouped_job_alone_failing_writes_nothing() {
        let thread = started();
        assert_eq!(
            kind_of(insert_then_fail(&thread, 1, ErrorKind::LeaseLost)),
            ErrorKind::LeaseLost
        );
        assert!(rows(&thread).is_empty());
        let panicking = thread
            .submit(JobKind::Grouped, |conn| -> Result<()> {
                conn.execute("INSERT INTO t (x) VALUES (2)", [])?;
                panic!("a job that panics after writing");
            })
            .unwrap();
        assert_eq!(kind_of(panicking), ErrorKind::Backend);
        assert!(rows(&thread).is_empty());
    }

    /// Add a deferred foreign key, checked by COMMIT: a job that leaves a
    /// dangling reference ([`dangling`]) makes its group's COMMIT fail after
    /// every job of the group succeeded.
    fn defer_foreign_keys(thread: &ConnectionThread) {
        thread
            .submit(JobKind::Alone, |conn| {
                conn.execute_batch(
                    "PRAGMA foreign_keys = ON;
                     CREATE TABLE parent (id INTEGER PRIMARY KEY);
                     CREATE TABLE child (parent INTEGER \
                       REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);",
                )?;
                Ok(())
            })
            .unwrap()
            .blocking_recv()
            .unwrap()
            .unwrap();
    }

    fn dangling(thread: &ConnectionThread) -> Answered<()> {
        thread
            .submit(JobKind::Grouped, |conn| {
                conn.execute("INSERT INTO child (parent) VALUES (?1)", params![99])?;
                Ok(())
            })
            .unwrap()
    }

    #[test]
    fn group_failed_commit_fails_every_job_and_writes_nothing() {
        let thread = started();
        defer_foreign_keys(&thread);
        let (open, held) = hold(&thread);
        let first = insert(&thread, 1);
        let dangling = dangling(&thread);
        let last = insert(&thread, 2);
        open.send(()).unwrap();
        held.blocking_recv().unwrap().unwrap();

        // Every job's own work succeeded, yet none is acknowledged.
        for answer in [first, dangling, last] {
            assert_eq!(kind_of(answer), ErrorKind::Backend);
        }
        assert!(rows(&thread).is_empty());
        // The failed transaction was rolled back: the next group commits.
        insert(&thread, 3).blocking_recv().unwrap().unwrap();
        assert_eq!(rows(&thread), [3]);
    }

    #[test]
    fn alone_job_ends_a_group_and_sees_it_committed() {
        let thread = started();
        let (open, held) = hold(&thread);
        let first = insert(&thread, 1);
        let read = thread
            .submit(JobKind::Alone, |conn| {
                // Outside any transaction of the thread's, after the group
                // before it committed.
                let autocommit = conn.is_autocommit();
                let n: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
                Ok((autocommit, n))
            })
            .unwrap();
        let second = insert(&thread, 2);
        open.send(()).unwrap();
        held.blocking_recv().unwrap().unwrap();

        first.blocking_recv().unwrap().unwrap();
        assert_eq!(read.blocking_recv().unwrap().unwrap(), (true, 1));
        second.blocking_recv().unwrap().unwrap();
        assert_eq!(rows(&thread), [1, 2]);
    }

    #[test]
    fn group_takes_at_most_max_group_jobs() {
        let thread = started();
        defer_foreign_keys(&thread);
        let (open, held) = hold(&thread);
        // The first group's COMMIT fails: exactly its jobs get the error.
        let first_group: Vec<_> = std::iter::once(dangling(&thread))
            .chain((1..MAX_GROUP as i64).map(|x| insert(&thread, x)))
            .collect();
        let next_group = insert(&thread, 1000);
        open.send(()).unwrap();
        held.blocking_recv().unwrap().unwrap();

        for answer in first_group {
            assert_eq!(kind_of(answer), ErrorKind::Backend);
        }
        next_group.blocking_recv().unwrap().unwrap();
        assert_eq!(rows(&thread), [1000]);
    }
}
