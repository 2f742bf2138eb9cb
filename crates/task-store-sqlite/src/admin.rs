//! Bulk and administrative writes: remove, reset_status, prioritize, replace
//! and drop_pool. The triggers of schema migration 3 keep `task_counts`
//! exact through each of them; `drop_pool` also deletes the pool's counts.
//!
//! `replace` changes one task and is a short write (inside the write
//! transaction it is given, see the `connection` module). The others may
//! change a whole pool and run alone: remove, reset_status and prioritize as
//! one statement each, drop_pool as its own `BEGIN IMMEDIATE` transaction.

use rusqlite::types::Value as SqlValue;
use rusqlite::{
    Connection, ErrorCode, OptionalExtension, TransactionBehavior, params, params_from_iter,
};
use task_store::{
    Error, ErrorKind, Query, ReplaceParams, ResetParams, Status, Task, Timestamp, content_key,
};

use crate::codec::{RawTask, TASK_COLUMNS};
use crate::error::{Result, SqliteError};
use crate::translate;

/// Run `statement WHERE pool = ?1 AND (query)`, where `fixed` holds the
/// statement's own parameters (the pool first); returns the rows changed.
fn execute_with_query(
    conn: &Connection,
    statement: &str,
    fixed: Vec<SqlValue>,
    query: &Query,
) -> Result<u64> {
    let query = translate::compile(query, fixed.len() + 1);
    let sql = format!("{statement} WHERE pool = ?1 AND ({})", query.sql);
    let mut values = fixed;
    values.extend(query.params);
    let n = conn
        .prepare_cached(&sql)?
        .execute(params_from_iter(values))?;
    Ok(n as u64)
}

/// Delete the matching tasks.
pub(crate) fn remove(conn: &mut Connection, pool: &str, query: &Query) -> Result<u64> {
    execute_with_query(
        conn,
        "DELETE FROM tasks",
        vec![SqlValue::Text(pool.to_string())],
        query,
    )
}

/// Force a status on the matching tasks (parameters already validated).
pub(crate) fn reset_status(
    conn: &mut Connection,
    pool: &str,
    params: &ResetParams,
    now: Timestamp,
) -> Result<u64> {
    let finished = matches!(params.status, Status::Done | Status::Failed);
    execute_with_query(
        conn,
        "UPDATE tasks SET status = ?2, attempts = CASE WHEN ?3 THEN 0 ELSE attempts END, \
         finished_at = ?4, updated_at = ?5, lease_owner = NULL, lease_token = NULL, \
         lease_expires_at = NULL, lease_from_status = NULL",
        vec![
            SqlValue::Text(pool.to_string()),
            SqlValue::Text(params.status.as_str().to_string()),
            SqlValue::Integer(i64::from(params.status.is_claimable())),
            if finished {
                SqlValue::Integer(now.as_millis())
            } else {
                SqlValue::Null
            },
            SqlValue::Integer(now.as_millis()),
        ],
        &params.query,
    )
}

/// Set the priority of the matching tasks.
pub(crate) fn prioritize(
    conn: &mut Connection,
    pool: &str,
    query: &Query,
    priority: i64,
    now: Timestamp,
) -> Result<u64> {
    execute_with_query(
        conn,
        "UPDATE tasks SET priority = ?2, updated_at = ?3",
        vec![
            SqlValue::Text(pool.to_string()),
            SqlValue::Integer(priority),
            SqlValue::Integer(now.as_millis()),
        ],
        query,
    )
}

/// A new definition for one task, inside the caller's write transaction;
/// the `(pool, key)` index refuses a key held by another task.
pub(crate) fn replace(
    conn: &Connection,
    pool: &str,
    params: &ReplaceParams,
    now: Timestamp,
) -> Result<Task> {
    let key = content_key(&params.def);
    let filter = params.filter.as_ref().unwrap_or(&params.def);
    let sql = format!(
        "UPDATE tasks SET def = ?3, filter = ?4, key = ?5, status = 'waiting', res = NULL, \
         attempts = 0, errors = '[]', started_at = NULL, finished_at = NULL, updated_at = ?6, \
         lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, lease_from_status = NULL \
         WHERE pool = ?1 AND id = ?2 RETURNING {TASK_COLUMNS}"
    );
    let updated = conn
        .prepare_cached(&sql)?
        .query_row(
            params![
                pool,
                params.id.to_string(),
                params.def.to_string(),
                filter.to_string(),
                key,
                now.as_millis()
            ],
            RawTask::read,
        )
        .optional();
    match updated {
        Ok(Some(row)) => row.decode(),
        Ok(None) => Err(SqliteError::task_not_found(pool, params.id)),
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
            let other: Option<String> = conn
                .prepare_cached("SELECT id FROM tasks WHERE pool = ?1 AND key = ?2")?
                .query_row(params![pool, key], |r| r.get(0))
                .optional()?;
            Err(SqliteError::Store(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "task {} in pool {pool:?} already has this definition",
                    other.as_deref().unwrap_or("?")
                ),
            )))
        }
        Err(e) => Err(e.into()),
    }
}

/// Delete a pool, its tasks and its counts; whether it existed.
pub(crate) fn drop_pool(conn: &mut Connection, pool: &str) -> Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached("DELETE FROM tasks WHERE pool = ?1")?
        .execute([pool])?;
    tx.prepare_cached("DELETE FROM task_counts WHERE pool = ?1")?
        .execute([pool])?;
    let existed = tx
        .prepare_cached("DELETE FROM pools WHERE name = ?1")?
        .execute([pool])?;
    tx.commit()?;
    Ok(existed > 0)
}
