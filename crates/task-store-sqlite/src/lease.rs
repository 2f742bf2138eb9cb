//! The lease of a claimed task: heartbeat, commit and return.
//!
//! All three are short writes: they run inside the write transaction
//! (`BEGIN IMMEDIATE`) they are given, shared by the writes in flight
//! together, each under its own savepoint (see the `connection` module). Their callers are answered after that transaction commits; a
//! concurrent commit of many tasks is therefore one SQLite transaction, not
//! one each.
//!
//! Each is a single `UPDATE` guarded by `status = 'running' AND lease_token
//! = ?`; when the guard matches no row, one more read tells `NotFound` from
//! `LeaseLost`.

use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, params};
use task_store::{CommitParams, Error, MAX_ERRORS, ReturnParams, Status, TaskId, Timestamp};

use crate::error::{Result, SqliteError};

/// [`MAX_ERRORS`] as a SQL integer.
pub(crate) const MAX_ERRORS_SQL: i64 = MAX_ERRORS as i64;

/// The assignments that clear a task's lease.
pub(crate) const DROP_LEASE: &str =
    "lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, lease_from_status = NULL";

/// SQL appending `{attempt: attempts, at, owner: lease_owner, message}` to
/// the `errors` array and keeping the last `max` entries.
pub(crate) fn append_error(at: &str, message: &str, max: &str) -> String {
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
    Ok(match status {
        Some(status) => SqliteError::Store(Error::lease_lost(format!(
            "task {id} is no longer held by this lease (status {status})"
        ))),
        None => SqliteError::task_not_found(pool, id),
    })
}
