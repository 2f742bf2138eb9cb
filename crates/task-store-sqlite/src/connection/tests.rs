//! The connection: group commit on the connection thread, and short jobs on
//! the caller's thread when the connection is free.

use std::sync::mpsc;
use std::time::Duration;

use rusqlite::params;
use task_store::{Error, ErrorKind};
use tokio::sync::oneshot;

use super::*;

type Answered<T> = oneshot::Receiver<Result<T>>;

impl ConnectionThread {
    /// Queue a job for the connection thread, whatever its kind (a short job
    /// is not tried on the caller's thread); returns where its answer arrives.
    fn queue<T, F>(&self, kind: JobKind, operation: F) -> Result<Answered<T>>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let (job, answer) = Call::new(kind, operation);
        self.submit(job)?;
        Ok(answer)
    }
}

/// A connection thread on a private in-memory database with a table `t (x)`.
fn started() -> ConnectionThread {
    let thread = futures::executor::block_on(ConnectionThread::open(
        Location::Memory,
        SqliteOptions::default(),
    ))
    .unwrap();
    let created = thread
        .queue(JobKind::Alone, |conn| {
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
        .queue(JobKind::Alone, move |_| {
            let _ = gate.recv();
            Ok(())
        })
        .unwrap();
    (open, held)
}

fn insert(thread: &ConnectionThread, x: i64) -> Answered<()> {
    thread
        .queue(JobKind::Grouped, move |conn| {
            conn.execute("INSERT INTO t (x) VALUES (?1)", [x])?;
            Ok(())
        })
        .unwrap()
}

/// Insert `x`, then fail with `kind`.
fn insert_then_fail(thread: &ConnectionThread, x: i64, kind: ErrorKind) -> Answered<()> {
    thread
        .queue(JobKind::Grouped, move |conn| {
            conn.execute("INSERT INTO t (x) VALUES (?1)", [x])?;
            Err(SqliteError::Store(Error::new(kind, "refused")))
        })
        .unwrap()
}

fn rows(thread: &ConnectionThread) -> Vec<i64> {
    thread
        .queue(JobKind::Alone, |conn| {
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
        .queue(JobKind::Grouped, |conn| -> Result<()> {
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
        .queue(JobKind::Grouped, |conn| -> Result<()> {
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
        .queue(JobKind::Alone, |conn| {
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
        .queue(JobKind::Grouped, |conn| {
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
        .queue(JobKind::Alone, |conn| {
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

/// Run `operation` as a short job from this thread and wait for its answer.
fn run_short<T, F>(thread: &ConnectionThread, operation: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
{
    futures::executor::block_on(thread.run(JobKind::Short, operation))
}

/// Insert `x` and say on which thread.
fn insert_reporting_thread(x: i64) -> impl FnOnce(&mut Connection) -> Result<thread::ThreadId> {
    move |conn| {
        conn.execute("INSERT INTO t (x) VALUES (?1)", [x])?;
        Ok(thread::current().id())
    }
}

#[test]
fn short_job_runs_on_the_callers_thread_when_free() {
    let thread = started();
    let ran_on = run_short(&thread, insert_reporting_thread(1)).unwrap();
    assert_eq!(ran_on, thread::current().id());
    assert_eq!(rows(&thread), [1]);
    // Its transaction is over: the next job begins its own.
    run_short(&thread, insert_reporting_thread(2)).unwrap();
    assert_eq!(rows(&thread), [1, 2]);
}

#[test]
fn short_jobs_meeting_the_thread_at_work_run_on_the_connection_thread() {
    use std::future::Future;
    use std::task::Context;

    let thread = started();
    let (open, held) = hold(&thread);
    let mut pending: Vec<_> = (1..=3)
        .map(|x| Box::pin(thread.run(JobKind::Short, insert_reporting_thread(x))))
        .collect();
    // The first poll makes each job pending; the second finds the
    // connection held by the thread, which runs them after its job.
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    for _ in 0..2 {
        for job in &mut pending {
            assert!(job.as_mut().poll(&mut cx).is_pending());
        }
    }
    open.send(()).unwrap();
    held.blocking_recv().unwrap().unwrap();

    let ran_on = futures::executor::block_on(futures::future::join_all(pending));
    for id in ran_on {
        assert_ne!(id.unwrap(), thread::current().id());
    }
    assert_eq!(rows(&thread), [1, 2, 3]);
}

#[test]
fn short_job_failing_or_panicking_on_callers_thread_writes_nothing() {
    let thread = started();
    let failed = run_short(&thread, |conn| -> Result<()> {
        conn.execute("INSERT INTO t (x) VALUES (1)", [])?;
        Err(SqliteError::Store(Error::lease_lost("refused")))
    });
    assert_eq!(
        task_store::Error::from(failed.unwrap_err()).kind(),
        ErrorKind::LeaseLost
    );
    let panicked = run_short(&thread, |conn| -> Result<()> {
        conn.execute("INSERT INTO t (x) VALUES (2)", [])?;
        panic!("a job that panics after writing");
    });
    assert!(matches!(panicked, Err(SqliteError::Panicked)));
    assert!(rows(&thread).is_empty());
    // The connection goes on serving, on the caller's thread.
    let ran_on = run_short(&thread, insert_reporting_thread(3)).unwrap();
    assert_eq!(ran_on, thread::current().id());
    assert_eq!(rows(&thread), [3]);
}

#[test]
fn short_job_waits_for_another_connections_lock_on_the_connection_thread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let thread = futures::executor::block_on(ConnectionThread::open(
        Location::File(path.clone()),
        SqliteOptions::default(),
    ))
    .unwrap();
    thread
        .queue(JobKind::Alone, |conn| {
            conn.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY)")?;
            Ok(())
        })
        .unwrap()
        .blocking_recv()
        .unwrap()
        .unwrap();
    let holder = Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let releaser = thread::spawn(move || {
        thread::sleep(Duration::from_millis(200));
        holder.execute_batch("COMMIT").unwrap();
    });
    // Not refused at once (the caller's thread does not wait for a lock):
    // queued, the connection thread waits for the lock within its busy
    // timeout, then commits.
    let ran_on = run_short(&thread, insert_reporting_thread(1)).unwrap();
    releaser.join().unwrap();
    assert_ne!(ran_on, thread::current().id());
    assert_eq!(rows(&thread), [1]);
}

#[test]
fn short_jobs_in_flight_together_commit_in_one_transaction_on_the_callers_thread() {
    use futures::future::join_all;

    let thread = started();
    defer_foreign_keys(&thread);
    // One of them leaves a dangling reference: the shared COMMIT fails, so
    // none is written.
    let results = futures::executor::block_on(futures::future::join3(
        thread.run(JobKind::Short, insert_reporting_thread(1)),
        thread.run(JobKind::Short, |conn| {
            conn.execute("INSERT INTO child (parent) VALUES (?1)", params![99])?;
            Ok(())
        }),
        thread.run(JobKind::Short, insert_reporting_thread(2)),
    ));
    let kind = |e: SqliteError| task_store::Error::from(e).kind();
    assert_eq!(kind(results.0.unwrap_err()), ErrorKind::Backend);
    assert_eq!(kind(results.1.unwrap_err()), ErrorKind::Backend);
    assert_eq!(kind(results.2.unwrap_err()), ErrorKind::Backend);
    assert!(rows(&thread).is_empty());

    let together = (3..=5).map(|x| thread.run(JobKind::Short, insert_reporting_thread(x)));
    for ran_on in futures::executor::block_on(join_all(together)) {
        assert_eq!(ran_on.unwrap(), thread::current().id());
    }
    assert_eq!(rows(&thread), [3, 4, 5]);
}

#[test]
fn short_jobs_one_at_a_time_skip_the_yield_and_in_flight_ones_group_again() {
    use futures::future::join_all;

    let thread = started();
    assert!(!thread.shared.yields.skipping());
    for x in 0..ALONE_BEFORE_SKIPPING as i64 {
        assert_eq!(
            run_short(&thread, insert_reporting_thread(x)).unwrap(),
            thread::current().id()
        );
    }
    // Every group held one job: the next jobs run at once.
    assert!(thread.shared.yields.skipping());
    let first = ALONE_BEFORE_SKIPPING as i64;
    let last = first + 2 * PROBE_EVERY as i64;
    // Writes in flight together: until a probe yields, each runs alone (and
    // commits), then the probe's group takes every job pending with it.
    let together = (first..last).map(|x| thread.run(JobKind::Short, insert_reporting_thread(x)));
    for ran_on in futures::executor::block_on(join_all(together)) {
        assert_eq!(ran_on.unwrap(), thread::current().id());
    }
    assert!(!thread.shared.yields.skipping());
    assert_eq!(rows(&thread), (0..last).collect::<Vec<_>>());
}

#[test]
fn short_jobs_from_many_threads_all_commit_whether_they_yield_or_not() {
    let thread = std::sync::Arc::new(started());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    // Four tasks one write at a time and four with 8 writes in flight, so
    // that jobs run alone, in groups, on callers' threads and on the
    // connection thread, with and without the yield.
    let writers = (0..8i64).map(|w| {
        let thread = std::sync::Arc::clone(&thread);
        runtime.spawn(async move {
            for round in 0..25i64 {
                let base = (w * 25 + round) * 8;
                if w % 2 == 0 {
                    for x in base..base + 8 {
                        thread
                            .run(JobKind::Short, insert_reporting_thread(x))
                            .await?;
                    }
                } else {
                    let writes = (base..base + 8)
                        .map(|x| thread.run(JobKind::Short, insert_reporting_thread(x)));
                    for written in futures::future::join_all(writes).await {
                        written?;
                    }
                }
            }
            Ok::<_, SqliteError>(())
        })
    });
    let writers: Vec<_> = writers.collect();
    runtime.block_on(async {
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
    });
    assert_eq!(rows(&thread), (0..8 * 25 * 8).collect::<Vec<_>>());
}
