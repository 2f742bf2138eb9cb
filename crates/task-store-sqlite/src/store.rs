//! [`SqliteStore`]: the store, its `Debug`/`Display` (its URL), and the
//! [`TaskBackend`] impl, which runs each operation of `create`, `claim`,
//! `lease`, `read` and `admin` on the connection (see the `connection`
//! module for how).

use std::fmt;

use async_trait::async_trait;
use rusqlite::Connection;
use task_store::{Capabilities, TaskBackend};
use task_store::{
    ClaimParams, CommitParams, CreateParams, Created, HeartbeatParams, Query, QueryParams,
    ReplaceParams, ResetParams, Result, ReturnParams, SharedClock, Stat, Status, Task, TaskId,
    Timestamp,
};

use crate::connection::{ConnectionThread, JobKind};
use crate::error::SqliteError;
use crate::open::Location;
use crate::{admin, claim, create, lease, read};

/// A task store in a SQLite database file (or in memory, for tests).
///
/// Several stores, in one process or many, may share one file: writes take
/// SQLite's write lock (`BEGIN IMMEDIATE`) and wait for it up to the busy
/// timeout. Within one store, operations run one at a time on its one
/// connection. The short writes (create of at most 64 tasks, claim,
/// heartbeat, commit, return, replace, record create and update) in flight
/// at the same time run as one transaction, each under its own savepoint,
/// on a caller's thread when the connection and the write lock are free,
/// else on the store's connection thread, and are answered only after that
/// `COMMIT`: one failing write does not affect the others, and none is
/// acknowledged before it is committed. Reads and the large or bulk writes (artifacts, record and pool
/// deletion, remove, reset_status, prioritize, dry-run creates) run alone on
/// the connection thread.
pub struct SqliteStore {
    thread: ConnectionThread,
    clock: SharedClock,
    location: Location,
}

impl SqliteStore {
    /// A store serving requests through `thread`.
    pub(crate) fn new(
        thread: ConnectionThread,
        clock: SharedClock,
        location: Location,
    ) -> SqliteStore {
        SqliteStore {
            thread,
            clock,
            location,
        }
    }

    /// Run `f` on the connection as a job of `kind` (see the `connection`
    /// module for where it runs), with the time at which it runs.
    pub(crate) async fn run<T, F>(&self, kind: JobKind, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, Timestamp) -> Result<T, SqliteError> + Send + 'static,
    {
        let clock = self.clock.clone();
        Ok(self
            .thread
            .run(kind, move |conn| f(conn, clock.now()))
            .await?)
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("url", &self.location.to_string())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for SqliteStore {
    /// The store's URL (`sqlite://PATH` or `sqlite://:memory:`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.location, f)
    }
}

#[async_trait]
impl TaskBackend for SqliteStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::ONE_MACHINE
    }

    async fn create(&self, pool: &str, params: CreateParams) -> Result<Vec<Created>> {
        let pool = pool.to_string();
        if params.dry_run {
            self.run(JobKind::Alone, move |conn, now| {
                create::dry_run(conn, &pool, params, now)
            })
            .await
        } else {
            self.run(create::kind(&params), move |conn, now| {
                create::insert(conn, &pool, params, now)
            })
            .await
        }
    }

    async fn claim(&self, pool: &str, params: ClaimParams) -> Result<Vec<Task>> {
        let pool = pool.to_string();
        self.run(JobKind::Short, move |conn, now| {
            claim::claim(conn, &pool, &params, now)
        })
        .await
    }

    async fn heartbeat(&self, pool: &str, params: HeartbeatParams) -> Result<Timestamp> {
        let pool = pool.to_string();
        self.run(JobKind::Short, move |conn, now| {
            lease::heartbeat(conn, &pool, params.id, &params.token, now + params.lease)
        })
        .await
    }

    async fn commit(&self, pool: &str, params: CommitParams) -> Result<()> {
        let pool = pool.to_string();
        self.run(JobKind::Short, move |conn, now| {
            lease::commit(conn, &pool, &params, now)
        })
        .await
    }

    async fn return_task(&self, pool: &str, params: ReturnParams) -> Result<Status> {
        let pool = pool.to_string();
        self.run(JobKind::Short, move |conn, now| {
            lease::return_task(conn, &pool, &params, now)
        })
        .await
    }

    async fn get(&self, pool: &str, id: TaskId) -> Result<Task> {
        let pool = pool.to_string();
        self.run(JobKind::Alone, move |conn, _| read::get(conn, &pool, id))
            .await
    }

    async fn query(&self, pool: &str, params: QueryParams) -> Result<Vec<Task>> {
        let pool = pool.to_string();
        self.run(JobKind::Alone, move |conn, _| {
            read::query(conn, &pool, &params)
        })
        .await
    }

    async fn stat(&self, pool: &str, query: &Query) -> Result<Stat> {
        let pool = pool.to_string();
        let query = query.clone();
        self.run(JobKind::Alone, move |conn, _| {
            read::stat(conn, &pool, &query)
        })
        .await
    }

    async fn remove(&self, pool: &str, query: &Query) -> Result<u64> {
        let pool = pool.to_string();
        let query = query.clone();
        self.run(JobKind::Alone, move |conn, _| {
            admin::remove(conn, &pool, &query)
        })
        .await
    }

    async fn reset_status(&self, pool: &str, params: ResetParams) -> Result<u64> {
        let pool = pool.to_string();
        self.run(JobKind::Alone, move |conn, now| {
            admin::reset_status(conn, &pool, &params, now)
        })
        .await
    }

    async fn prioritize(&self, pool: &str, query: &Query, priority: i64) -> Result<u64> {
        let pool = pool.to_string();
        let query = query.clone();
        self.run(JobKind::Alone, move |conn, now| {
            admin::prioritize(conn, &pool, &query, priority, now)
        })
        .await
    }

    async fn replace(&self, pool: &str, params: ReplaceParams) -> Result<Task> {
        let pool = pool.to_string();
        self.run(JobKind::Short, move |conn, now| {
            admin::replace(conn, &pool, &params, now)
        })
        .await
    }

    async fn pools(&self) -> Result<Vec<String>> {
        self.run(JobKind::Alone, |conn, _| read::pools(conn)).await
    }

    async fn drop_pool(&self, pool: &str) -> Result<bool> {
        let pool = pool.to_string();
        self.run(JobKind::Alone, move |conn, _| admin::drop_pool(conn, &pool))
            .await
    }
}
