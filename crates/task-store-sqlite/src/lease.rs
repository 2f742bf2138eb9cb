//! The leased lifecycle: claim, heartbeat, commit and return.
//!
//! All four are grouped writes: they run inside the write transaction
//! (`BEGIN IMMEDIATE`) the connection thread opens for the writes queued
//! together, under their own savepoint (see the `worker` module), and their
//! callers are answered after that transaction commits; a concurrent
//! commit of many tasks is therefore one SQLite transaction, not one each.
//!
//! Claim is two statements: expire the exhausted tasks, then a single
//! `UPDATE … WHERE rowid IN (SELECT … ORDER BY priority DESC, id LIMIT n)
//! RETURNING …`; both take effect or neither. Heartbeat, commit and return
//! are single `UPDATE`s guarded by `status = 'running' AND lease_token = ?`;
//! when the guard matches no row, one more read tells `NotFound` from
//! `LeaseLost`.

use std::sync::LazyLock;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use task_store::transition::LEASE_EXPIRED_MESSAGE;
use task_store::{
    ClaimParams, CommitParams, Error, MAX_ERRORS, ReturnParams, Status, Task, TaskId, Timestamp,
};

use crate::error::{Result, SqliteError};
use crate::query_sql;
use crate::row::{RawTask, TASK_COLUMNS, decode_all};

/// [`MAX_ERRORS`] as a SQL integer.
const MAX_ERRORS_SQL: i64 = MAX_ERRORS as i64;

const DROP_LEASE: &str =
    "lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, lease_from_status = NULL";

/// SQL appending `{attempt: attempts, at, owner: lease_owner, message}` to
/// the `errors` array and keeping the last `max` entries.
fn append_error(at: &str, message: &str, max: &str) -> String {
    let entry = format!(
        "json_object('attempt', attempts, 'at', {at}, 'owner', coalesce(lease_owner, ''), \
         'message', {message})"
    );
    format!(
        "CASE WHEN json_array_length(errors) >= {max} \
         THEN json_remove(json_insert(errors, '$[#]', {entry}), '$[0]') \
         ELSE json_insert(errors, '$[#]', {entry}) END"
    )
}

/// ?1 pool, ?2 now, ?3 message, ?4 max errors.
static EXPIRE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE tasks SET status = 'failed', errors = {}, finished_at = ?2, updated_at = ?2, \
         {DROP_LEASE} \
         WHERE pool = ?1 AND status = 'running' AND lease_expires_at <= ?2 \
         AND attempts >= max_attempts",
        append_error("?2", "?3", "?4")
    )
});

/// ?1 pool, ?2 from, ?3 now, ?4 n, ?5 owner, ?6 expires_at; the query's
/// parameters follow. Each branch (tasks in `from`, expired leases taken from
/// `from`) walks its own index and stops after `n` rows.
fn claim_sql(query: &str) -> String {
    let branch = |condition: &str| {
        format!(
            "SELECT r, p, i FROM (SELECT rowid AS r, priority AS p, id AS i FROM tasks \
             WHERE pool = ?1 AND {condition} AND ({query}) \
             ORDER BY priority DESC, id LIMIT ?4)"
        )
    };
    format!(
        "UPDATE tasks SET status = 'running', attempts = attempts + 1, lease_owner = ?5, \
         lease_token = lower(hex(randomblob(16))), lease_expires_at = ?6, \
         lease_from_status = ?2, started_at = ?3, updated_at = ?3 \
         WHERE rowid IN (SELECT r FROM ({} UNION ALL {}) ORDER BY p DESC, i LIMIT ?4) \
         RETURNING {TASK_COLUMNS}",
        branch("status = ?2"),
        branch("status = 'running' AND lease_expires_at <= ?3 AND lease_from_status = ?2"),
    )
}

/// The first parameter number of a claim's query.
const CLAIM_QUERY_PARAM: usize = 7;

/// Claim up to `n` tasks (parameters already validated), inside the
/// caller's write transaction.
pub(crate) fn claim(
    conn: &Connection,
    pool: &str,
    params: &ClaimParams,
    now: Timestamp,
) -> Result<Vec<Task>> {
    let expired = conn.prepare_cached(&EXPIRE)?.execute(params![
        pool,
        now.as_millis(),
        LEASE_EXPIRED_MESSAGE,
        MAX_ERRORS_SQL
    ])?;
    if expired > 0 {
        tracing::debug!(pool, expired, "tasks failed after their last lease expired");
    }
    let query = query_sql::compile(&params.query, CLAIM_QUERY_PARAM);
    let mut values = vec![
        SqlValue::Text(pool.to_string()),
        SqlValue::Text(params.from.as_str().to_string()),
        SqlValue::Integer(now.as_millis()),
        SqlValue::Integer(i64::try_from(params.n).unwrap_or(i64::MAX)),
        SqlValue::Text(params.owner.clone()),
        SqlValue::Integer((now + params.lease).as_millis()),
    ];
    values.extend(query.params);
    let rows = conn
        .prepare_cached(&claim_sql(&query.sql))?
        .query_map(params_from_iter(values), RawTask::read)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut tasks = decode_all(rows)?;
    // RETURNING gives no order: claim order is priority, then creation.
    tasks.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.id.cmp(&b.id)));
    Ok(tasks)
}

const HEARTBEAT: &str = "UPDATE tasks SET lease_expires_at = ?4 \
     WHERE pool = ?1 AND id = ?2 AND status = 'running' AND lease_token = ?3";

/// Extend a lease; returns the new expiry.
pub(crate) fn heartbeat(
    conn: &Connection,
    pool: &str,
    id: TaskId,
    token: &str,
    expires_at: Timestamp,
) -> Result<Timestamp> {
    let n = conn.prepare_cached(HEARTBEAT)?.execute(params![
        pool,
        id.to_string(),
        token,
        expires_at.as_millis()
    ])?;
    if n == 0 {
        return Err(lost_or_missing(conn, pool, id)?);
    }
    Ok(expires_at)
}

static COMMIT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE tasks SET res = ?4, status = ?5, \
         attempts = CASE WHEN ?5 = 'done' THEN attempts ELSE 0 END, \
         finished_at = ?6, updated_at = ?7, {DROP_LEASE} \
         WHERE pool = ?1 AND id = ?2 AND status = 'running' AND lease_token = ?3"
    )
});

/// Finish an attempt with a result (parameters already validated).
pub(crate) fn commit(
    conn: &Connection,
    pool: &str,
    params: &CommitParams,
    now: Timestamp,
) -> Result<()> {
    let finished_at = (params.status == Status::Done).then_some(now.as_millis());
    let n = conn.prepare_cached(&COMMIT)?.execute(params![
        pool,
        params.id.to_string(),
        params.token,
        params.result.to_string(),
        params.status.as_str(),
        finished_at,
        now.as_millis(),
    ])?;
    if n == 0 {
        return Err(lost_or_missing(conn, pool, params.id)?);
    }
    Ok(())
}

/// ?1 pool, ?2 id, ?3 token, ?4 error message or NULL, ?5 target or NULL,
/// ?6 now, ?7 max errors.
static RETURN: LazyLock<String> = LazyLock::new(|| {
    let target = "CASE WHEN ?4 IS NOT NULL AND attempts >= max_attempts THEN 'failed' \
                  ELSE coalesce(?5, lease_from_status, 'waiting') END";
    format!(
        "UPDATE tasks SET status = {target}, \
         attempts = CASE WHEN ?4 IS NULL THEN max(attempts - 1, 0) ELSE attempts END, \
         errors = CASE WHEN ?4 IS NULL THEN errors ELSE {} END, \
         finished_at = CASE WHEN {target} = 'failed' THEN ?6 ELSE NULL END, \
         updated_at = ?6, {DROP_LEASE} \
         WHERE pool = ?1 AND id = ?2 AND status = 'running' AND lease_token = ?3 \
         RETURNING status",
        append_error("?6", "?4", "?7")
    )
});

/// Give a claimed task back; returns its new status (parameters already validated).
pub(crate) fn return_task(
    conn: &Connection,
    pool: &str,
    params: &ReturnParams,
    now: Timestamp,
) -> Result<Status> {
    let message = params
        .error
        .as_deref()
        .map(task_store::transition::truncate_message);
    let status: Option<String> = conn
        .prepare_cached(&RETURN)?
        .query_row(
            params![
                pool,
                params.id.to_string(),
                params.token,
                message,
                params.status.map(Status::as_str),
                now.as_millis(),
                MAX_ERRORS_SQL,
            ],
            |r| r.get(0),
        )
        .optional()?;
    match status {
        Some(s) => s
            .parse()
            .map_err(|_| SqliteError::Corrupt(format!("task {}: unknown status {s:?}", params.id))),
        None => Err(lost_or_missing(conn, pool, params.id)?),
    }
}

const STATUS_OF: &str = "SELECT status FROM tasks WHERE pool = ?1 AND id = ?2";

/// After a guarded update matched nothing: `LeaseLost` if the task exists,
/// `NotFound` otherwise.
fn lost_or_missing(conn: &Connection, pool: &str, id: TaskId) -> Result<SqliteError> {
    let status: Option<String> = conn
        .prepare_cached(STATUS_OF)?
        .query_row(params![pool, id.to_string()], |r| r.get(0))
        .optional()?;
    Ok(SqliteError::Store(match status {
        Some(status) => Error::lease_lost(format!(
            "task {id} is no longer held by this lease (status {status})"
        )),
        None => not_found(pool, id),
    }))
}

/// The error for a task that is not in the pool.
pub(crate) fn not_found(pool: &str, id: TaskId) -> Error {
    Error::not_found(format!("no task {id} in pool {pool:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query_plan::plan;

    #[test]
    fn claim_and_expiry_walk_their_indexes() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn, "mem").unwrap();
        let query = query_sql::compile(&task_store::Query::All, CLAIM_QUERY_PARAM);
        let claim = plan(&conn, &claim_sql(&query.sql));
        assert!(
            claim.contains("COVERING INDEX tasks_claim (pool=? AND status=?)"),
            "{claim}"
        );
        assert!(
            claim.contains("INDEX tasks_lease_expiry (pool=? AND status=? AND lease_expires_at<?)"),
            "{claim}"
        );
        assert!(!claim.contains("SCAN tasks"), "{claim}");
        let expire = plan(&conn, &EXPIRE);
        assert!(expire.contains("INDEX tasks_lease_expiry"), "{expire}");
    }
}
