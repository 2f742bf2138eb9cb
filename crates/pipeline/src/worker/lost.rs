//! Lost tasks: `running` tasks whose lease expired (their worker died or
//! stopped heartbeating), found with [`find_lost`] and put back with
//! [`requeue_lost`]. The CLI's `lost` command and the dashboard share them.

use std::collections::BTreeMap;

use serde::Serialize;

use task_store::query::{Field, Op, Scalar};
use task_store::{
    Query, ResetParams, Result, Status, Task, TaskId, TaskStore, TaskStoreExt, Timestamp,
};

/// How many tasks one reset names (each is an `$or` branch; SQL backends
/// limit expression depth).
const CHUNK: usize = 200;

/// One lost task as reported (the CLI's `lost --json` and the dashboard's
/// API): who held it, when its lease ran out, where a requeue puts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LostTask {
    /// The task.
    #[serde(rename = "_id")]
    pub id: TaskId,
    /// The worker that held the lease.
    pub owner: Option<String>,
    /// When the lease ran out.
    pub expires_at: Option<Timestamp>,
    /// Attempts counted so far.
    pub attempts: u32,
    /// The task's attempt limit.
    pub max_attempts: u32,
    /// The status a requeue puts it back to.
    pub from_status: Status,
}

impl From<&Task> for LostTask {
    fn from(task: &Task) -> LostTask {
        LostTask {
            id: task.id,
            owner: task.lease.as_ref().map(|l| l.owner.clone()),
            expires_at: task.lease.as_ref().map(|l| l.expires_at),
            attempts: task.attempts,
            max_attempts: task.max_attempts,
            from_status: requeue_status(task),
        }
    }
}

/// `running` with a lease that expired at or before `now` (or, abnormally, no lease).
pub fn is_lost(task: &Task, now: Timestamp) -> bool {
    task.status == Status::Running && task.lease.as_ref().is_none_or(|l| l.expires_at <= now)
}

/// The status a requeue puts `task` back to: the one its lease was claimed
/// from (waiting for a first phase, part_done for a second).
pub fn requeue_status(task: &Task) -> Status {
    task.lease
        .as_ref()
        .map_or(Status::Waiting, |l| l.from_status)
}

/// The `running` tasks of `pool` matching `query` whose lease expired at or
/// before `now`, in `_id` order. Lists the running tasks only (a claim's
/// concurrency bounds them), never the whole pool.
///
/// # Errors
/// Whatever the store reports.
pub async fn find_lost(
    store: &dyn TaskStore,
    pool: &str,
    query: Query,
    now: Timestamp,
) -> Result<Vec<Task>> {
    let running = store
        .query_all(pool, query.and(Query::status(Status::Running)))
        .await?;
    Ok(running.into_iter().filter(|t| is_lost(t, now)).collect())
}

/// Put `lost` tasks back to the status they were claimed from; returns how
/// many were reset.
///
/// Each task is guarded by the attempt count seen when it was listed: a task
/// that a worker reclaimed in the meantime has one more attempt, no longer
/// matches, and keeps its live lease.
///
/// # Errors
/// Whatever the store reports (tasks of earlier chunks stay requeued).
pub async fn requeue_lost(store: &dyn TaskStore, pool: &str, lost: &[Task]) -> Result<u64> {
    let mut n = 0;
    for chunk in lost.chunks(CHUNK) {
        for (status, query) in requeue_queries(chunk) {
            n += store
                .reset_status(pool, ResetParams { query, status })
                .await?;
        }
    }
    Ok(n)
}

/// For each target status, a query matching exactly the listed tasks that are
/// still `running` with the attempt count seen.
fn requeue_queries(lost: &[Task]) -> BTreeMap<Status, Query> {
    let mut by_status: BTreeMap<Status, Vec<Query>> = BTreeMap::new();
    for task in lost {
        let same_attempt = Query::id(task.id).and(Query::Cond(
            Field::Attempts,
            Op::Eq(Scalar::Int(i64::from(task.attempts))),
        ));
        by_status
            .entry(requeue_status(task))
            .or_default()
            .push(same_attempt);
    }
    by_status
        .into_iter()
        .map(|(status, alternatives)| {
            let query = Query::status(Status::Running).and(Query::Or(alternatives));
            (status, query)
        })
        .collect()
}
