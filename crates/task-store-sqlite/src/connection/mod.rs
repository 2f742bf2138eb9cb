//! The store's one `rusqlite::Connection` (which is `Send` but not `Sync`),
//! behind a mutex, and the connection thread: one dedicated OS thread that
//! runs the jobs queued for the connection. Short writes run on their
//! callers' threads when the connection is free; everything else, and the
//! short writes that meet contention, run on the connection thread, whose
//! async callers await a oneshot reply. The store needs no particular
//! runtime.
//!
//! ## Where a job runs
//!
//! Every job has a [`JobKind`].
//!
//! A [`JobKind::Short`] job (claim, heartbeat, commit, return, replace, a
//! small create, record create and update) becomes *pending*; its future
//! yields once, so that the writes in flight with it (the other commits of
//! a batch awaited together, other workers' writes) become pending too
//! (unless the last groups held one job each: see [`Yields`]), and
//! then combines: if nothing is queued for the connection thread and the
//! mutex is free (`try_lock`), it takes up to [`MAX_GROUP`] pending jobs,
//! its own and others', and runs them as one group on its own thread:
//! `BEGIN IMMEDIATE` without waiting (busy timeout 0), the jobs, `COMMIT`,
//! then the answers. One worker committing one task at a time thus pays no
//! cross-thread wake-up, as a raw rusqlite caller would, and commits in
//! flight together still share one transaction. A caller that finds the
//! mutex held leaves its job pending: whoever holds the connection (another
//! caller, or the connection thread) takes the pending jobs after its own
//! work, before it lets go. If another connection (another store, another
//! process) holds SQLite's write lock, the group goes to the connection
//! thread, which waits for the lock up to the busy timeout: a caller's
//! thread never waits for a lock, only for a group of short SQL (in WAL
//! mode). A caller runs at most [`COMBINE_ROUNDS`] groups, then hands what
//! is still pending to the connection thread.
//!
//! A [`JobKind::Alone`] job (a read, or a write that is large or runs its
//! own transactions) runs on the connection thread by itself, outside any
//! transaction of the thread's, and is answered when it returns.
//!
//! ## Group commit
//!
//! When the thread takes a [`JobKind::Short`] or [`JobKind::Grouped`] job
//! from its queue, it also takes the grouped jobs already queued behind it
//! (at most [`MAX_GROUP`] in all; it stops at the first [`JobKind::Alone`]
//! job, which runs next) and runs the whole group in one write transaction;
//! pending short jobs it takes as a group of their own:
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
//! A group run on a caller's thread follows the same steps, after a
//! `BEGIN IMMEDIATE` that does not wait. So no caller is told `Ok` before
//! its write is committed, and one commit (one WAL append and lock
//! hand-over) serves all the writes that became pending together or
//! queued up while the previous transaction ran. Grouped operations
//! therefore never begin or commit a transaction themselves: they run their
//! statements in the transaction they are given, which keeps each of them
//! atomic (all its statements, or none, through its savepoint).
//!
//! If SQLite ends the transaction early (an I/O error or a full disk rolls
//! back the whole transaction), every job run in it so far gets that error,
//! and the jobs not yet run start a new transaction.

mod group;
mod job;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError, mpsc};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode};

pub(crate) use self::job::JobKind;
use self::job::{Call, Job};
use crate::error::{Result, SqliteError};
use crate::open::{Location, connect};
use crate::options::SqliteOptions;

/// The most jobs one transaction commits: bounds how long the write lock is
/// held and how long the first job of a group waits for its answer.
pub(crate) const MAX_GROUP: usize = 64;

/// What the callers and the connection thread share.
struct Shared {
    conn: Mutex<Connection>,
    /// Short jobs waiting for whoever next holds the connection: a caller
    /// (on its own thread) or the connection thread.
    pending: Mutex<Vec<Box<dyn Job>>>,
    /// Jobs queued for the connection thread and not yet started.
    queued: AtomicUsize,
    /// Whether a short job yields before combining.
    yields: Yields,
    busy_timeout: Duration,
    location: Location,
}

impl Shared {
    /// The connection, waiting for the mutex. A panic while it was held
    /// (operations' panics are caught inside, so only a bug of this module)
    /// leaves no transaction open: every path rolls back before answering.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The connection if nobody holds it.
    fn try_lock(&self) -> Option<MutexGuard<'_, Connection>> {
        match self.conn.try_lock() {
            Ok(conn) => Some(conn),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// Add a short job to the pending ones.
    fn push_pending(&self, job: Box<dyn Job>) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(job);
    }

    /// Up to [`MAX_GROUP`] pending short jobs, oldest first.
    fn take_pending(&self) -> VecDeque<Box<dyn Job>> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let n = pending.len().min(MAX_GROUP);
        pending.drain(..n).collect()
    }

    /// `BEGIN IMMEDIATE` if SQLite's write lock is free right now (busy
    /// timeout 0 for this statement only); `Ok(false)` if another
    /// connection holds it.
    fn begin_without_waiting(&self, conn: &Connection) -> Result<bool> {
        conn.busy_timeout(Duration::ZERO)?;
        let begun = group::begin(conn);
        conn.busy_timeout(self.busy_timeout)?;
        match begun {
            Ok(()) => Ok(true),
            Err(SqliteError::Sqlite(e))
                if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

/// A handle to the store's connection and its connection thread (not to be
/// confused with a task worker). Dropping it lets the thread finish the
/// jobs already queued and end; the drop waits for that, and the connection
/// closes with the handle, so the database file is closed once the store is
/// gone.
pub(crate) struct ConnectionThread {
    shared: Arc<Shared>,
    jobs: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl std::fmt::Debug for ConnectionThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionThread")
            .field("location", &self.shared.location)
            .finish_non_exhaustive()
    }
}

impl ConnectionThread {
    /// Start a thread that opens the database at `location` and then serves
    /// jobs; answers once the open succeeded (on failure the thread ends).
    pub(crate) async fn open(
        location: Location,
        options: SqliteOptions,
    ) -> Result<ConnectionThread> {
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let (opened, answer) = tokio::sync::oneshot::channel();
        let thread = thread::Builder::new()
            .name("taskpool-sqlite".into())
            .spawn(move || match connect(&location, &options) {
                Ok(conn) => {
                    let shared = Arc::new(Shared {
                        conn: Mutex::new(conn),
                        pending: Mutex::new(Vec::new()),
                        queued: AtomicUsize::new(0),
                        yields: Yields::default(),
                        busy_timeout: options.busy_timeout,
                        location,
                    });
                    if opened.send(Ok(Arc::clone(&shared))).is_ok() {
                        serve(&shared, &queue);
                    }
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
        let shared = answer.await.map_err(|_| SqliteError::ThreadGone)??;
        Ok(ConnectionThread {
            shared,
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Run `operation` as a job of `kind` and await its result (for a write,
    /// sent once its transaction committed): on the caller's thread for a
    /// short job when the connection is free, else on the connection thread.
    pub(crate) async fn run<T, F>(&self, kind: JobKind, operation: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let (job, answer) = Call::new(kind, operation);
        if kind == JobKind::Short {
            self.shared.push_pending(job);
            // Let the writes in flight alongside this one (the other commits
            // of a batch, other workers' writes) become pending too, so that
            // one transaction commits them all; unless the last groups show
            // that nothing joins (see `Yields`).
            if self.shared.yields.before_combining() {
                YieldOnce::default().await;
            }
            self.combine();
        } else {
            self.submit(job)?;
        }
        answer.await.map_err(|_| SqliteError::ThreadGone)?
    }

    /// Run the pending short jobs on the caller's thread while nothing is
    /// queued for the connection thread and the connection is free, as
    /// groups of up to [`MAX_GROUP`]; hand them to the connection thread if
    /// another connection holds SQLite's write lock, or after
    /// [`COMBINE_ROUNDS`] groups. Whoever holds the connection meanwhile
    /// (another caller, the connection thread) runs them after its own work.
    ///
    /// A job that cannot be queued (the connection thread has stopped) is
    /// dropped, and its caller gets [`SqliteError::ThreadGone`].
    fn combine(&self) {
        let shared = &self.shared;
        for _ in 0..COMBINE_ROUNDS {
            if shared.queued.load(Ordering::Acquire) != 0 {
                return;
            }
            let Some(mut conn) = shared.try_lock() else {
                return;
            };
            let mut group = shared.take_pending();
            if group.is_empty() {
                return;
            }
            shared.yields.learn(group.len());
            let mut replies = Vec::with_capacity(group.len());
            match shared.begin_without_waiting(&conn) {
                Ok(true) => group::run_group(&mut conn, &mut group, &shared.location, &mut replies),
                Ok(false) => {}
                Err(e) => replies.extend(group.drain(..).map(|job| job.refuse(&e))),
            }
            drop(conn);
            replies.into_iter().for_each(|reply| reply.send());
            // Left in the group: another connection holds the write lock, or
            // SQLite ended the transaction early. The connection thread waits
            // for the lock.
            group.into_iter().for_each(|job| self.hand_over(job));
        }
        shared
            .take_pending()
            .into_iter()
            .for_each(|job| self.hand_over(job));
    }

    /// Queue `job` for the connection thread; if it has stopped, the job is
    /// dropped and its caller gets [`SqliteError::ThreadGone`].
    fn hand_over(&self, job: Box<dyn Job>) {
        let _ = self.submit(job);
    }

    /// Queue `job` for the connection thread.
    fn submit(&self, job: Box<dyn Job>) -> Result<()> {
        let jobs = self.jobs.as_ref().ok_or(SqliteError::ThreadGone)?;
        self.shared.queued.fetch_add(1, Ordering::AcqRel);
        jobs.send(job).map_err(|refused| {
            self.shared.queued.fetch_sub(1, Ordering::AcqRel);
            drop(refused);
            SqliteError::ThreadGone
        })
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

/// Run queued jobs until the [`ConnectionThread`] handle is dropped.
///
/// A job stops counting as queued once it runs under the connection's
/// mutex, and answers are sent once the mutex is released: a caller woken by
/// its answer finds nothing queued for it and the connection free, and runs
/// its next short job on its own thread.
fn serve(shared: &Shared, queue: &mpsc::Receiver<Box<dyn Job>>) {
    let location = &shared.location;
    let mut next: Option<Box<dyn Job>> = None;
    let mut replies = Vec::new();
    loop {
        // Short jobs left pending by callers that found the connection busy
        // (with this thread) run here, before the thread waits again.
        let pending = shared.take_pending();
        if !pending.is_empty() {
            run_pending(shared, pending, &mut replies);
            continue;
        }
        let Some(job) = next.take().or_else(|| receive(queue)) else {
            // The store is gone. A write whose caller stopped waiting may
            // still be pending: it runs (or fails) like any other.
            let pending = shared.take_pending();
            if pending.is_empty() {
                break;
            }
            run_pending(shared, pending, &mut replies);
            continue;
        };
        let mut conn = shared.lock();
        if job.kind().is_grouped() {
            let mut group = VecDeque::from([job]);
            while group.len() < MAX_GROUP {
                match queue.try_recv() {
                    Ok(job) if job.kind().is_grouped() => group.push_back(job),
                    Ok(job) => {
                        next = Some(job);
                        break;
                    }
                    Err(_) => break,
                }
            }
            shared.queued.fetch_sub(group.len(), Ordering::AcqRel);
            while !group.is_empty() {
                group::transaction(&mut conn, &mut group, location, &mut replies);
            }
        } else {
            shared.queued.fetch_sub(1, Ordering::AcqRel);
            let answer = job.run(&mut conn);
            group::log_panic(answer.as_ref(), location);
            // An operation that runs alone ends its own transactions;
            // never let one stay open into the next job.
            group::rollback(&mut conn, location);
            replies.push(answer);
        }
        drop(conn);
        replies.drain(..).for_each(|reply| reply.send());
    }
}

/// Run a group of pending short jobs on the connection thread, waiting for
/// SQLite's write lock up to the busy timeout.
fn run_pending(shared: &Shared, mut group: VecDeque<Box<dyn Job>>, replies: &mut group::Replies) {
    let mut conn = shared.lock();
    while !group.is_empty() {
        group::transaction(&mut conn, &mut group, &shared.location, replies);
    }
    drop(conn);
    replies.drain(..).for_each(|reply| reply.send());
}

/// The most groups a caller runs for others before it hands the pending
/// short jobs to the connection thread.
const COMBINE_ROUNDS: usize = 4;

/// How many groups of one job in a row, combined on callers' threads, make
/// short jobs stop yielding before they combine.
const ALONE_BEFORE_SKIPPING: usize = 8;

/// While short jobs skip the yield, one in this many yields anyway, to find
/// out whether writes in flight together have appeared.
const PROBE_EVERY: usize = 16;

/// Whether a short job yields before it combines, learned from the groups
/// combined on callers' threads.
///
/// The yield lets the writes in flight with a job become pending, so that
/// one transaction commits them all; but it costs a trip through the
/// caller's scheduler (tokio wakes another worker thread to look for work),
/// which for one worker committing one task at a time is a large part of
/// the operation (BENCHMARKS.md, issue 22). So after
/// [`ALONE_BEFORE_SKIPPING`] groups in a row that held only their own job,
/// short jobs run at once, except one in [`PROBE_EVERY`], which still
/// yields: as soon as a group holds more than one job (writes in flight
/// together, or other threads' writes pending), every job yields again.
/// Only the grouping depends on this, never what a job does or when it is
/// answered (after its `COMMIT`, as always).
#[derive(Default)]
struct Yields {
    /// Groups of one job in a row.
    alone: AtomicUsize,
    /// Short jobs started since skipping began (picks the probes).
    skipped: AtomicUsize,
}

impl Yields {
    /// Whether the next short job yields before combining.
    fn before_combining(&self) -> bool {
        self.alone.load(Ordering::Relaxed) < ALONE_BEFORE_SKIPPING
            || self
                .skipped
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(PROBE_EVERY)
    }

    /// A caller took a group of `jobs` pending jobs.
    fn learn(&self, jobs: usize) {
        if jobs > 1 {
            self.alone.store(0, Ordering::Relaxed);
        } else if self.alone.load(Ordering::Relaxed) < ALONE_BEFORE_SKIPPING {
            self.alone.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Whether short jobs skip the yield now.
    #[cfg(test)]
    fn skipping(&self) -> bool {
        self.alone.load(Ordering::Relaxed) >= ALONE_BEFORE_SKIPPING
    }
}

/// A future that is pending once (waking its task at once), then ready: the
/// other futures of the same task and the tasks already scheduled run in
/// between.
#[derive(Default)]
struct YieldOnce {
    yielded: bool,
}

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// How long the connection thread polls for the next job before it sleeps.
///
/// Under contention a task worker sends its next operation right after the
/// previous answer (the commit after its claim, the next claim after its
/// commits); catching it while still awake spares the thread a sleep and a
/// wake-up, which on this class of machine cost more than the SQL itself
/// (BENCHMARKS.md, finding 2).
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
