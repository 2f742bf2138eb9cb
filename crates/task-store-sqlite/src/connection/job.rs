//! Jobs: an operation on the connection, how it runs ([`JobKind`]), and its
//! answer, held until the operation's transaction has ended.

use std::panic::{AssertUnwindSafe, catch_unwind};

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::{Result, SqliteError};

/// How a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobKind {
    /// A short write of bounded size (claim, heartbeat, commit, return,
    /// replace, a small create, record create and update). It runs in a
    /// group with the short writes pending at the same time, on a caller's
    /// thread when the connection is free, else on the connection thread
    /// (see the module above).
    Short,
    /// A write that may share one write transaction with the other grouped
    /// jobs queued at the same time, under its own savepoint, on the
    /// connection thread (a large create). Like a short job, it runs inside
    /// that transaction and must not begin, commit or roll back one.
    Grouped,
    /// A read, or a write that must run by itself (large, or managing its
    /// own transactions): it runs on the connection thread, outside any
    /// transaction of the thread's.
    Alone,
}

impl JobKind {
    /// Whether the job runs inside a write transaction it shares with others.
    pub(super) fn is_grouped(self) -> bool {
        matches!(self, JobKind::Short | JobKind::Grouped)
    }
}

/// A job: an operation on the connection and where its answer goes.
pub(super) trait Job: Send {
    /// How it runs.
    fn kind(&self) -> JobKind;
    /// Run the operation; its answer is held until its transaction ends.
    fn run(self: Box<Self>, conn: &mut Connection) -> Box<dyn Answer>;
    /// The answer `error`, without running the operation.
    fn refuse(self: Box<Self>, error: &SqliteError) -> Box<dyn Answer>;
}

/// The result of an operation, not yet sent to its caller: answers are sent
/// once the transaction has ended and the connection is released, so a
/// caller woken by its answer finds the connection free.
pub(super) trait Answer {
    /// The operation's error, if it failed.
    fn error(&self) -> Option<&SqliteError>;
    /// Answer `error` instead: the operation's transaction did not commit.
    fn fail(&mut self, error: &SqliteError);
    /// Send the answer.
    fn send(self: Box<Self>);
}

/// An operation and where its result goes.
pub(super) struct Call<T, F> {
    kind: JobKind,
    operation: F,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Call<T, F> {
    /// A job of `kind` running `operation`, and where its answer arrives.
    pub(super) fn new(kind: JobKind, operation: F) -> (Box<Self>, oneshot::Receiver<Result<T>>) {
        let (reply, answer) = oneshot::channel();
        let call = Call {
            kind,
            operation,
            reply,
        };
        (Box::new(call), answer)
    }
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
        // transaction) is rolled back like any failure's, and the connection
        // goes on serving.
        let result = catch_unwind(AssertUnwindSafe(|| operation(conn)))
            .unwrap_or(Err(SqliteError::Panicked));
        Box::new(Held { result, reply })
    }

    fn refuse(self: Box<Self>, error: &SqliteError) -> Box<dyn Answer> {
        Box::new(Held {
            result: Err(error.duplicate()),
            reply: self.reply,
        })
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

    fn fail(&mut self, error: &SqliteError) {
        self.result = Err(error.duplicate());
    }

    fn send(self: Box<Self>) {
        // The caller may have stopped waiting; the work is done either way.
        let _ = self.reply.send(self.result);
    }
}
