//! `create`: a batch is a grouped write (all of it or none, inside the write
//! transaction it is given, see the `connection` module), deduplicated by
//! the `(pool, key)` unique index (`INSERT … ON CONFLICT DO NOTHING`, never
//! check-then-insert). A batch of at most [`SHORT_BATCH`] tasks is a short
//! write (on the caller's thread when the connection is free); a larger one
//! always goes to the connection thread, so it never holds up the caller's
//! executor thread for long. A dry run only reads, alone.

use rusqlite::{Connection, OptionalExtension, params};
use task_store::transition::PreparedBatch;
use task_store::{CreateParams, Created, Status, Task, TaskId, Timestamp};

use crate::connection::JobKind;
use crate::error::{Result, SqliteError};

/// The largest batch created as a short write.
pub(crate) const SHORT_BATCH: usize = 64;

/// How a (not dry-run) create runs: short up to [`SHORT_BATCH`] tasks,
/// grouped on the connection thread beyond.
pub(crate) fn kind(params: &CreateParams) -> JobKind {
    if params.tasks.len() <= SHORT_BATCH {
        JobKind::Short
    } else {
        JobKind::Grouped
    }
}

const INSERT_POOL: &str =
    "INSERT INTO pools (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING";

const INSERT_TASK: &str = "INSERT INTO tasks (pool, id, key, status, priority, attempts, \
     max_attempts, created_at, updated_at, def, filter, errors) \
     VALUES (?1, ?2, ?3, 'waiting', ?4, 0, ?5, ?6, ?6, ?7, ?8, '[]') \
     ON CONFLICT (pool, key) DO NOTHING";

const FIND_KEY: &str = "SELECT id, status FROM tasks WHERE pool = ?1 AND key = ?2";

/// Create a batch (the parameters are already validated, not a dry run),
/// inside the caller's write transaction.
pub(crate) fn insert(
    conn: &Connection,
    pool: &str,
    params: CreateParams,
    now: Timestamp,
) -> Result<Vec<Created>> {
    let batch = PreparedBatch::new(params, now);
    conn.prepare_cached(INSERT_POOL)?
        .execute(params![pool, now.as_millis()])?;
    let existing = batch
        .tasks
        .iter()
        .map(|task| insert_task(conn, pool, task))
        .collect::<Result<Vec<_>>>()?;
    Ok(batch.report(&existing))
}

/// Report what creating a batch would do, in one read transaction.
pub(crate) fn dry_run(
    conn: &mut Connection,
    pool: &str,
    params: CreateParams,
    now: Timestamp,
) -> Result<Vec<Created>> {
    let batch = PreparedBatch::new(params, now);
    let tx = conn.transaction()?;
    let existing = batch
        .tasks
        .iter()
        .map(|task| find_key(&tx, pool, &task.key))
        .collect::<Result<Vec<_>>>()?;
    tx.commit()?;
    Ok(batch.report(&existing))
}

/// Insert a task unless its key is taken; `Some` is the task holding the key.
fn insert_task(conn: &Connection, pool: &str, task: &Task) -> Result<Option<(TaskId, Status)>> {
    let inserted = conn.prepare_cached(INSERT_TASK)?.execute(params![
        pool,
        task.id.to_string(),
        task.key,
        task.priority,
        task.max_attempts,
        task.created_at.as_millis(),
        task.def.to_string(),
        task.filter.to_string(),
    ])?;
    if inserted == 1 {
        return Ok(None);
    }
    find_key(conn, pool, &task.key)
}

/// The task holding `key` in `pool`, if any.
fn find_key(conn: &Connection, pool: &str, key: &str) -> Result<Option<(TaskId, Status)>> {
    let found: Option<(String, String)> = conn
        .prepare_cached(FIND_KEY)?
        .query_row(params![pool, key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    found
        .map(|(id, status)| {
            let corrupt = || SqliteError::Corrupt(format!("task {id} has a bad id or status"));
            Ok((
                id.parse().map_err(|_| corrupt())?,
                status.parse().map_err(|_| corrupt())?,
            ))
        })
        .transpose()
}
