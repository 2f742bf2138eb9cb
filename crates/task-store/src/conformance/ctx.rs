//! [`Ctx`]: what every case gets, with shorthands for the calls cases repeat.
//!
//! The shorthands panic with the store's error when a call that the case
//! expects to succeed fails; calls whose failure is the point of a case go
//! through `ctx.store` directly and assert on the error kind.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::{LEASE, START};
use crate::error::Result;
use crate::id::TaskId;
use crate::params::{
    ClaimParams, CommitParams, CreateParams, Created, HeartbeatParams, QueryParams, ReturnParams,
};
use crate::query::Query;
use crate::store::{Store, TaskStore};
use crate::task::{Stat, Status, Task};
use crate::time::{Clock, ManualClock, SharedClock, Timestamp};

/// What a case gets: a fresh store, the clock it reads, and a pool name.
pub struct Ctx {
    /// The store under test.
    pub store: Arc<dyn TaskStore>,
    /// The store's clock; cases move it to expire leases.
    pub clock: ManualClock,
    /// A pool name unique to this case.
    pub pool: String,
}

impl Ctx {
    /// Build a context from a factory; `None` if the factory skips the case.
    pub async fn new<F, Fut>(factory: F, case: &'static str) -> Option<Ctx>
    where
        F: FnOnce(SharedClock, &'static str) -> Fut,
        Fut: std::future::Future<Output = Option<Arc<dyn Store>>>,
    {
        let clock = ManualClock::new(START);
        let store = factory(Arc::new(clock.clone()), case).await?;
        Some(Ctx {
            store,
            clock,
            pool: Ctx::pool_for(case),
        })
    }

    /// Close the store (see [`TaskStore::close`]) before the case's runtime
    /// stops.
    pub async fn close(self) {
        self.store.close().await;
    }

    /// The pool a case works in.
    pub fn pool_for(case: &str) -> String {
        format!("conf_{case}")
    }

    /// The store's current time.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Create tasks from definitions with default options.
    pub async fn create(&self, defs: impl IntoIterator<Item = Value>) -> Vec<Created> {
        self.create_with(CreateParams::new(defs)).await
    }

    /// Create a batch.
    pub async fn create_with(&self, params: CreateParams) -> Vec<Created> {
        self.store
            .create(&self.pool, params)
            .await
            .unwrap_or_else(|e| panic!("create failed: {e}"))
    }

    /// Claim up to `n` waiting tasks as `worker` with the default lease.
    pub async fn claim(&self, n: usize) -> Vec<Task> {
        self.claim_with(claim_params("worker", n, Status::Waiting, Query::All))
            .await
    }

    /// Claim with explicit parameters.
    pub async fn claim_with(&self, params: ClaimParams) -> Vec<Task> {
        self.store
            .claim(&self.pool, params)
            .await
            .unwrap_or_else(|e| panic!("claim failed: {e}"))
    }

    /// Claim exactly one waiting task as `owner`.
    pub async fn claim_one(&self, owner: &str) -> Task {
        let mut got = self
            .claim_with(claim_params(owner, 1, Status::Waiting, Query::All))
            .await;
        assert_eq!(got.len(), 1, "expected to claim one task");
        got.remove(0)
    }

    /// The stored task `id`.
    pub async fn get(&self, id: TaskId) -> Task {
        self.store
            .get(&self.pool, id)
            .await
            .unwrap_or_else(|e| panic!("get {id} failed: {e}"))
    }

    /// Every task of the pool, in `_id` order.
    pub async fn all(&self) -> Vec<Task> {
        self.find(&Query::All).await
    }

    /// The tasks matching `query`, in `_id` order.
    pub async fn find(&self, query: &Query) -> Vec<Task> {
        self.store
            .query(&self.pool, QueryParams::from(query.clone()))
            .await
            .unwrap_or_else(|e| panic!("query failed: {e}"))
    }

    /// Counts of the whole pool.
    pub async fn stat(&self) -> Stat {
        self.stat_of(&Query::All).await
    }

    /// Counts of the tasks matching `query`.
    pub async fn stat_of(&self, query: &Query) -> Stat {
        self.store
            .stat(&self.pool, query)
            .await
            .unwrap_or_else(|e| panic!("stat failed: {e}"))
    }

    /// Extend the lease of a claimed task.
    pub async fn heartbeat(&self, task: &Task, lease: Duration) -> Result<Timestamp> {
        let params = HeartbeatParams {
            id: task.id,
            token: token(task),
            lease,
        };
        self.store.heartbeat(&self.pool, params).await
    }

    /// Commit a claimed task.
    pub async fn commit(&self, task: &Task, status: Status, result: Value) -> Result<()> {
        let params = CommitParams {
            id: task.id,
            token: token(task),
            result,
            status,
        };
        self.store.commit(&self.pool, params).await
    }

    /// Return a claimed task.
    pub async fn return_task(
        &self,
        task: &Task,
        error: Option<&str>,
        status: Option<Status>,
    ) -> Result<Status> {
        let params = ReturnParams {
            id: task.id,
            token: token(task),
            error: error.map(str::to_string),
            status,
        };
        self.store.return_task(&self.pool, params).await
    }
}

/// The lease token of a claimed task.
///
/// # Panics
/// If the task has no lease (the case is wrong).
pub fn token(task: &Task) -> String {
    task.lease
        .as_ref()
        .map(|l| l.token.clone())
        .unwrap_or_else(|| panic!("task {} has no lease", task.id))
}

/// Claim parameters with the default lease.
pub fn claim_params(owner: &str, n: usize, from: Status, query: Query) -> ClaimParams {
    ClaimParams {
        from,
        n,
        owner: owner.to_string(),
        lease: LEASE,
        query,
    }
}

/// Parse a query a case writes out.
///
/// # Panics
/// If the query does not parse (the case is wrong).
pub fn query(json: Value) -> Query {
    Query::parse(&json).unwrap_or_else(|e| panic!("bad query {json}: {e}"))
}
