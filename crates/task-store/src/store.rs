//! The [`TaskStore`] trait every backend implements, and [`TaskStoreExt`]
//! conveniences built on it.

use std::fmt::{Debug, Display};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::backend::Capabilities;
use crate::error::Result;
use crate::id::TaskId;
use crate::params::{
    ClaimParams, CommitParams, CreateParams, Created, HeartbeatParams, QueryParams, ReplaceParams,
    ResetParams, ReturnParams,
};
use crate::query::Query;
use crate::task::{Stat, Status, Task};
use crate::time::Timestamp;

/// A task pool store: atomic claim, commit, return, query and stat with
/// leases, fencing tokens and attempt limits.
///
/// A store holds named pools (see [`validate_pool_name`](crate::validate_pool_name)).
/// Every operation takes the pool first; an invalid pool name fails with
/// [`ErrorKind::Config`](crate::ErrorKind::Config) before anything else.
/// Operations on a pool that does not exist behave as on an empty pool.
/// Times come from the store's [`Clock`](crate::Clock).
///
/// The trait is object safe: the pipeline and the CLI hold an
/// `Arc<dyn TaskStore>` chosen at run time. `Display` shows the store's URL
/// with any password redacted.
///
/// Backends do not implement this trait directly: they implement
/// [`TaskBackend`](crate::backend::TaskBackend), and the blanket impl in
/// [`backend`](crate::backend) runs every check named under `# Errors` below
/// (pool names, parameters) before calling them, the same way for all.
#[async_trait]
pub trait TaskStore: Debug + Display + Send + Sync + 'static {
    /// What this store can be used for (shared by processes, by machines,
    /// persistent); see [`Capabilities`].
    fn capabilities(&self) -> Capabilities;

    /// Create a batch of tasks, deduplicated by content key.
    ///
    /// # Behavior
    /// - Each definition's key is the hash of its canonical JSON; a key already
    ///   in the pool (in any status) is not inserted again: the existing task's
    ///   id and status are reported with `new: false` (Qlib's result reuse).
    /// - Repeats within the batch map to the first occurrence (`new: false`).
    /// - Race-free: concurrent creators of the same key create exactly one task.
    /// - New tasks are `waiting` with 0 attempts and the batch's priority and
    ///   attempt limit unless the task sets its own; `filter` defaults to `def`.
    /// - The report has one entry per input, in input order.
    /// - `dry_run` writes nothing (not even the pool) but reports the same
    ///   new/existing split, with fresh ids for new tasks.
    /// - A non-dry-run call creates the pool, even with an empty batch.
    ///
    /// # Errors
    /// `InvalidInput` for a zero attempt limit or an integer beyond `i64` in a
    /// definition or filter (nothing is written); `Config` for a bad pool name.
    async fn create(&self, pool: &str, params: CreateParams) -> Result<Vec<Created>>;

    /// Claim up to `n` tasks for a worker.
    ///
    /// # Behavior
    /// - Every task of the pool that is `running` with an expired lease and no
    ///   attempts left becomes `failed`, with a lease-expired error entry, at
    ///   the latest at the first claim on the pool made 10 s or more after the
    ///   lease expired (a backend may sweep at every claim; MongoDB sweeps each
    ///   pool at most every 10 s per store, off the hot path). Such a task is
    ///   never claimed.
    /// - Claimable: tasks in `from`, and `running` tasks whose lease expired and
    ///   was taken from `from`; only those matching `query`.
    /// - Highest priority first, then by `_id` (creation order).
    /// - Each claimed task becomes `running` with a lease `{owner, fresh token,
    ///   expires_at = now + lease, from_status}`, attempts + 1, `started_at` = now.
    /// - Returns the claimed tasks as stored after the claim, in claim order;
    ///   an empty vector when nothing is claimable.
    /// - Atomic: a task is never handed to two live leases.
    ///
    /// # Errors
    /// `InvalidInput` for a bad `from`, owner or lease; `InvalidQuery` if the
    /// query mentions `status`.
    async fn claim(&self, pool: &str, params: ClaimParams) -> Result<Vec<Task>>;

    /// Extend a lease.
    ///
    /// # Behavior
    /// - The lease now expires at now + `lease`; the new expiry is returned.
    /// - Works while the token is the task's current one, even after expiry if
    ///   nobody reclaimed the task. Nothing else changes.
    ///
    /// # Errors
    /// `NotFound` if the task does not exist; `LeaseLost` if it is not running
    /// under this token (nothing is changed).
    async fn heartbeat(&self, pool: &str, params: HeartbeatParams) -> Result<Timestamp>;

    /// Finish an attempt with a result.
    ///
    /// # Behavior
    /// - Stores `res`, moves to `status` (`done`, `part_done` or `waiting`),
    ///   drops the lease. `done` sets `finished_at`; `part_done` and `waiting`
    ///   reset attempts to 0 for the next phase.
    /// - Fencing: with a stale token nothing changes.
    ///
    /// # Errors
    /// `NotFound`; `LeaseLost` for a stale token; `InvalidInput` for another
    /// status or an integer beyond `i64` in the result (the lease is kept).
    async fn commit(&self, pool: &str, params: CommitParams) -> Result<()>;

    /// Give a claimed task back, with or without an error. Returns the new status.
    ///
    /// # Behavior
    /// - The lease is dropped; the task goes to `status`, or to the status it
    ///   was claimed from.
    /// - With an error, an entry `{attempt, at, owner, message}` is appended
    ///   (at most 10 kept); if attempts ≥ max_attempts the task becomes `failed`.
    /// - Without an error (graceful shutdown) the attempt is given back.
    /// - `failed` sets `finished_at`.
    ///
    /// # Errors
    /// `NotFound`; `LeaseLost` for a stale token; `InvalidInput` for a target
    /// other than waiting/part_done/failed.
    async fn return_task(&self, pool: &str, params: ReturnParams) -> Result<Status>;

    /// One task by id.
    ///
    /// # Behavior
    /// - Returns the stored record, every field as the last write left it.
    ///
    /// # Errors
    /// `NotFound` if no task has this id in the pool.
    async fn get(&self, pool: &str, id: TaskId) -> Result<Task>;

    /// Tasks matching a query, in `params.order` (by `_id` unless asked),
    /// after the cursor `params.after`, then after `skip`, at most `limit`.
    ///
    /// # Behavior
    /// - Exactly the tasks for which [`Query::matches`] is true and, with a
    ///   cursor, [`Order::is_after`](crate::Order::is_after) too.
    /// - In the order [`Order::compare`](crate::Order::compare) defines.
    ///
    /// # Errors
    /// `Config` for a bad pool name.
    async fn query(&self, pool: &str, params: QueryParams) -> Result<Vec<Task>>;

    /// Counts by status of the tasks matching `query`, computed by the backend.
    ///
    /// # Behavior
    /// - Expired `running` tasks count as `running`.
    ///
    /// # Errors
    /// `Config` for a bad pool name.
    async fn stat(&self, pool: &str, query: &Query) -> Result<Stat>;

    /// Delete the tasks matching `query`; returns how many. The pool remains.
    ///
    /// # Behavior
    /// - `Query::All` empties the pool (callers confirm this with the user).
    ///
    /// # Errors
    /// `Config` for a bad pool name.
    async fn remove(&self, pool: &str, query: &Query) -> Result<u64>;

    /// Force a status on the matching tasks; returns how many matched.
    ///
    /// # Behavior
    /// - Drops any lease (a worker still running one gets `LeaseLost`).
    /// - `waiting`/`part_done`: attempts reset to 0; `done`/`failed`:
    ///   `finished_at` = now, otherwise `finished_at` is cleared.
    ///
    /// # Errors
    /// `InvalidInput` for `running`.
    async fn reset_status(&self, pool: &str, params: ResetParams) -> Result<u64>;

    /// Set the priority of the matching tasks; returns how many matched.
    ///
    /// # Behavior
    /// - Only `priority` and `updated_at` change.
    ///
    /// # Errors
    /// `Config` for a bad pool name.
    async fn prioritize(&self, pool: &str, query: &Query, priority: i64) -> Result<u64>;

    /// Give a task a new definition; returns the updated task.
    ///
    /// # Behavior
    /// - New `def`, `filter` and key; the task starts over: `waiting`, no
    ///   result, lease, attempts or errors.
    ///
    /// # Errors
    /// `InvalidInput` for an integer beyond `i64` in the new definition or
    /// filter (checked first); `NotFound`; `AlreadyExists` if another task of
    /// the pool has the new key.
    async fn replace(&self, pool: &str, params: ReplaceParams) -> Result<Task>;

    /// The pools of this store, sorted by name.
    ///
    /// # Behavior
    /// - A pool exists from its first non-dry-run `create` until `drop_pool`.
    ///
    /// # Errors
    /// `Unavailable`/`Backend` when the store cannot be read.
    async fn pools(&self) -> Result<Vec<String>>;

    /// Delete a pool and all its tasks; returns whether it existed.
    ///
    /// # Behavior
    /// - Afterwards the pool is absent from `pools` and behaves as empty.
    ///
    /// # Errors
    /// `Config` for a bad pool name.
    async fn drop_pool(&self, pool: &str) -> Result<bool>;

    /// Release what the store holds open (connections, and the background
    /// tasks its client library runs on the tokio runtime) now, while that
    /// runtime still runs, instead of when the store is dropped.
    ///
    /// Call it when no more operations will be made, before the runtime that
    /// opened the store stops: a store dropped without it leaves that
    /// clean-up to a background task, which the runtime's shutdown may cut
    /// short (the MongoDB driver then prints a panic from its task).
    ///
    /// # Behavior
    /// - Waits for the store's operations in flight to finish.
    /// - Closing again does nothing.
    /// - Operations after `close` fail with `Unavailable` on a backend that
    ///   released its connections (MongoDB); a backend with nothing to
    ///   release (memory, SQLite, sled) does nothing and keeps working.
    async fn close(&self);
}

macro_rules! forward_task_store {
    ($ty:ty) => {
        #[async_trait]
        impl<T: TaskStore + ?Sized> TaskStore for $ty {
            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }
            async fn create(&self, pool: &str, params: CreateParams) -> Result<Vec<Created>> {
                (**self).create(pool, params).await
            }
            async fn claim(&self, pool: &str, params: ClaimParams) -> Result<Vec<Task>> {
                (**self).claim(pool, params).await
            }
            async fn heartbeat(&self, pool: &str, params: HeartbeatParams) -> Result<Timestamp> {
                (**self).heartbeat(pool, params).await
            }
            async fn commit(&self, pool: &str, params: CommitParams) -> Result<()> {
                (**self).commit(pool, params).await
            }
            async fn return_task(&self, pool: &str, params: ReturnParams) -> Result<Status> {
                (**self).return_task(pool, params).await
            }
            async fn get(&self, pool: &str, id: TaskId) -> Result<Task> {
                (**self).get(pool, id).await
            }
            async fn query(&self, pool: &str, params: QueryParams) -> Result<Vec<Task>> {
                (**self).query(pool, params).await
            }
            async fn stat(&self, pool: &str, query: &Query) -> Result<Stat> {
                (**self).stat(pool, query).await
            }
            async fn remove(&self, pool: &str, query: &Query) -> Result<u64> {
                (**self).remove(pool, query).await
            }
            async fn reset_status(&self, pool: &str, params: ResetParams) -> Result<u64> {
                (**self).reset_status(pool, params).await
            }
            async fn prioritize(&self, pool: &str, query: &Query, priority: i64) -> Result<u64> {
                (**self).prioritize(pool, query, priority).await
            }
            async fn replace(&self, pool: &str, params: ReplaceParams) -> Result<Task> {
                (**self).replace(pool, params).await
            }
            async fn pools(&self) -> Result<Vec<String>> {
                (**self).pools().await
            }
            async fn drop_pool(&self, pool: &str) -> Result<bool> {
                (**self).drop_pool(pool).await
            }
            async fn close(&self) {
                (**self).close().await
            }
        }
    };
}

forward_task_store!(Arc<T>);

/// Conveniences over [`TaskStore`], available on every store.
#[async_trait]
pub trait TaskStoreExt: TaskStore {
    /// Create one task with default options.
    ///
    /// # Errors
    /// As [`TaskStore::create`].
    async fn create_one(&self, pool: &str, def: Value) -> Result<Created> {
        let mut created = self.create(pool, CreateParams::new([def])).await?;
        Ok(created.pop().expect("one input gives one report"))
    }

    /// Claim at most one task.
    ///
    /// # Errors
    /// As [`TaskStore::claim`].
    async fn claim_one(
        &self,
        pool: &str,
        from: Status,
        owner: &str,
        lease: Duration,
        query: Query,
    ) -> Result<Option<Task>> {
        let params = ClaimParams {
            from,
            n: 1,
            owner: owner.to_string(),
            lease,
            query,
        };
        Ok(self.claim(pool, params).await?.pop())
    }

    /// Qlib's `reset_waiting`: matching `running` tasks go back to `waiting`
    /// (if the query mentions no status, only `running` tasks are reset).
    ///
    /// # Errors
    /// As [`TaskStore::reset_status`].
    async fn reset_waiting(&self, pool: &str, query: Query) -> Result<u64> {
        let query = if query.mentions_status() {
            query
        } else {
            query.and(Query::status(Status::Running))
        };
        self.reset_status(
            pool,
            ResetParams {
                query,
                status: Status::Waiting,
            },
        )
        .await
    }

    /// All tasks matching `query`, in `_id` order.
    ///
    /// # Errors
    /// As [`TaskStore::query`].
    async fn query_all(&self, pool: &str, query: Query) -> Result<Vec<Task>> {
        self.query(pool, QueryParams::from(query)).await
    }
}

impl<T: TaskStore + ?Sized> TaskStoreExt for T {}

/// A backend that holds both tasks and records with their artifacts, so a
/// whole experiment lives behind one URL. Every store type implementing
/// [`TaskStore`] and [`RecordStore`](crate::RecordStore) is one;
/// `Arc<dyn Store>` coerces to `Arc<dyn TaskStore>` and `Arc<dyn RecordStore>`.
pub trait Store: TaskStore + crate::record::RecordStore {}

impl<T: TaskStore + crate::record::RecordStore + ?Sized> Store for T {}
