//! Group commit: the short writes taken together run in one write
//! transaction, each under its own savepoint, and are answered once it has
//! ended (see the module above for the rules).

use std::collections::VecDeque;

use rusqlite::Connection;

use super::job::{Answer, Job};
use crate::error::{Result, SqliteError};
use crate::open::Location;

/// Answers to send once the connection is released.
pub(super) type Replies = Vec<Box<dyn Answer>>;

const BEGIN: &str = "BEGIN IMMEDIATE";
const COMMIT: &str = "COMMIT";
const ROLLBACK: &str = "ROLLBACK";
const SAVEPOINT: &str = "SAVEPOINT job";
const RELEASE: &str = "RELEASE job";
const ROLLBACK_TO: &str = "ROLLBACK TO job";

/// Run grouped jobs from the front of `group` in one write transaction and
/// add their answers to `replies` once it has ended. Jobs are left in
/// `group` only when SQLite ended the transaction before they ran.
pub(super) fn transaction(
    conn: &mut Connection,
    group: &mut VecDeque<Box<dyn Job>>,
    location: &Location,
    replies: &mut Replies,
) {
    match begin(conn) {
        Ok(()) => run_group(conn, group, location, replies),
        Err(e) => replies.extend(group.drain(..).map(|job| job.refuse(&e))),
    }
}

/// `BEGIN IMMEDIATE`: take SQLite's write lock, waiting for it as long as
/// the connection's busy timeout says.
pub(super) fn begin(conn: &Connection) -> Result<()> {
    execute(conn, BEGIN)
}

/// [`transaction`] once the transaction has begun: run the jobs, each under
/// its own savepoint when there are several, then commit (or roll back) and
/// add their answers to `replies`.
pub(super) fn run_group(
    conn: &mut Connection,
    group: &mut VecDeque<Box<dyn Job>>,
    location: &Location,
    replies: &mut Replies,
) {
    let savepoints = group.len() > 1;
    let mut answers: Vec<Box<dyn Answer>> = Vec::with_capacity(group.len());
    while let Some(job) = group.pop_front() {
        if savepoints && let Err(e) = execute(conn, SAVEPOINT) {
            replies.push(job.refuse(&e));
            return abandon(conn, answers, &e, location, replies);
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
            return abandon(conn, answers, &error, location, replies);
        }
        answers.push(answer);
        if savepoints {
            let ended = if failed {
                execute(conn, ROLLBACK_TO).and_then(|()| execute(conn, RELEASE))
            } else {
                execute(conn, RELEASE)
            };
            if let Err(e) = ended {
                return abandon(conn, answers, &e, location, replies);
            }
        }
    }
    if answers.iter().all(|a| a.error().is_some()) {
        rollback(conn, location);
        replies.extend(answers);
        return;
    }
    match execute(conn, COMMIT) {
        Ok(()) => replies.extend(answers),
        Err(e) => abandon(conn, answers, &e, location, replies),
    }
}

/// End the transaction without committing and answer `error` to every job
/// that ran in it.
fn abandon(
    conn: &mut Connection,
    answers: Vec<Box<dyn Answer>>,
    error: &SqliteError,
    location: &Location,
    replies: &mut Replies,
) {
    tracing::warn!(store = %location, jobs = answers.len(), error = %error, "a write transaction failed");
    rollback(conn, location);
    for mut answer in answers {
        answer.fail(error);
        replies.push(answer);
    }
}

/// Roll back the transaction, if one is still open.
pub(super) fn rollback(conn: &mut Connection, location: &Location) {
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
pub(super) fn log_panic(answer: &dyn Answer, location: &Location) {
    if matches!(answer.error(), Some(SqliteError::Panicked)) {
        tracing::error!(store = %location, "a SQLite operation panicked; its writes were rolled back");
    }
}
