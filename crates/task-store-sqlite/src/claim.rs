//! Claim: move up to `n` matching tasks of one status to `running`, highest
//! priority first, with a fresh lease each; a running task whose lease
//! expired is claimable again as if it were in its `from_status`, and one
//! whose lease expired after its last attempt becomes `failed`.
//!
//! A claim is a short write (inside the write transaction it is given, see
//! the `connection` module) of two statements: expire the
//! exhausted tasks, then a single `UPDATE … WHERE rowid IN (SELECT … ORDER
//! BY priority DESC, id LIMIT n) RETURNING …`; both take effect or neither.

use std::sync::LazyLock;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params, params_from_iter};
use task_store::transition::LEASE_EXPIRED_MESSAGE;
use task_store::{ClaimParams, Task, Timestamp};

use crate::codec::{RawTask, TASK_COLUMNS, decode_all};
use crate::error::Result;
use crate::lease::{DROP_LEASE, MAX_ERRORS_SQL, append_error};
use crate::translate;

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
    let query = translate::compile(&params.query, CLAIM_QUERY_PARAM);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query_plan::plan;

    #[test]
    fn claim_and_expiry_walk_their_indexes() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn, "mem").unwrap();
        let query = translate::compile(&task_store::Query::All, CLAIM_QUERY_PARAM);
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
