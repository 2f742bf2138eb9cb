//! Reads: get, query, stat and pools. Each is one statement, so it sees one
//! consistent snapshot.
//!
//! `stat` of a whole pool (`Query::All`) reads the pool's rows of
//! `task_counts`, which triggers keep equal to the number of tasks in each
//! status (see the `schema` module): at most five rows, whatever the pool's
//! size. `stat` with any other query counts the matching tasks with one
//! `GROUP BY status` over the pool's tasks, so its time grows with the pool.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use task_store::{Query, QueryParams, Stat, Status, Task, TaskId};

use crate::codec::{RawTask, TASK_COLUMNS, decode_all};
use crate::error::{Result, SqliteError};
use crate::translate;

/// One task by id.
pub(crate) fn get(conn: &mut Connection, pool: &str, id: TaskId) -> Result<Task> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE pool = ?1 AND id = ?2");
    conn.prepare_cached(&sql)?
        .query_row(params![pool, id.to_string()], RawTask::read)
        .optional()?
        .ok_or_else(|| SqliteError::task_not_found(pool, id))?
        .decode()
}

/// The number of the first parameter of the compiled query in [`query_statement`].
const QUERY_PARAM: usize = 4;

/// The statement of [`query`] around a compiled query (`?1` pool, `?2`
/// limit, `?3` skip).
fn query_statement(compiled: &str) -> String {
    format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE pool = ?1 AND ({compiled}) ORDER BY id LIMIT ?2 OFFSET ?3"
    )
}

/// Matching tasks in id order, after `skip`, at most `limit`.
pub(crate) fn query(conn: &mut Connection, pool: &str, params: &QueryParams) -> Result<Vec<Task>> {
    let query = translate::compile(&params.query, QUERY_PARAM);
    let sql = query_statement(&query.sql);
    let limit = params
        .limit
        .map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    let mut values = vec![
        SqlValue::Text(pool.to_string()),
        SqlValue::Integer(limit),
        SqlValue::Integer(i64::try_from(params.skip).unwrap_or(i64::MAX)),
    ];
    values.extend(query.params);
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(values), RawTask::read)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    decode_all(rows)
}

/// The counts of the whole pool, from `task_counts`.
const POOL_COUNTS: &str = "SELECT status, n FROM task_counts WHERE pool = ?1";

/// Counts by status: the maintained counts for `Query::All`, else one
/// `GROUP BY` of the matching tasks.
pub(crate) fn stat(conn: &mut Connection, pool: &str, query: &Query) -> Result<Stat> {
    if matches!(query, Query::All) {
        let counts = conn
            .prepare_cached(POOL_COUNTS)?
            .query_map([pool], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        return to_stat(counts);
    }
    let query = translate::compile(query, 2);
    let sql = format!(
        "SELECT status, count(*) FROM tasks WHERE pool = ?1 AND ({}) GROUP BY status",
        query.sql
    );
    let mut values = vec![SqlValue::Text(pool.to_string())];
    values.extend(query.params);
    let counts = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(values), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    to_stat(counts)
}

/// `(status, count)` rows as a [`Stat`]; an unknown status or a negative
/// count is a corrupt file.
fn to_stat(counts: Vec<(String, i64)>) -> Result<Stat> {
    let mut stat = Stat::default();
    for (status, n) in counts {
        let parsed: Status = status
            .parse()
            .map_err(|_| SqliteError::Corrupt(format!("unknown status {status:?}")))?;
        let n = u64::try_from(n)
            .map_err(|_| SqliteError::Corrupt(format!("negative count {n} of {status:?} tasks")))?;
        stat.add(parsed, n);
    }
    Ok(stat)
}

/// Pool names, sorted.
pub(crate) fn pools(conn: &mut Connection) -> Result<Vec<String>> {
    Ok(conn
        .prepare_cached("SELECT name FROM pools ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::query_plan::plan;

    #[test]
    fn stat_of_whole_pool_reads_its_counts_only() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn, "mem").unwrap();
        let counts = plan(&conn, POOL_COUNTS);
        assert_eq!(counts, "SEARCH task_counts USING PRIMARY KEY (pool=?)");
    }

    #[test]
    fn stat_negative_count_is_corrupt() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn, "mem").unwrap();
        conn.execute(
            "INSERT INTO task_counts (pool, status, n) VALUES ('p', 'done', -1)",
            [],
        )
        .unwrap();
        assert!(matches!(
            stat(&mut conn, "p", &Query::All),
            Err(SqliteError::Corrupt(_))
        ));
    }

    /// The plan of a query page for the JSON query `query`.
    fn page_plan(conn: &Connection, query: serde_json::Value) -> String {
        let query = Query::parse(&query).unwrap();
        plan(
            conn,
            &query_statement(&translate::compile(&query, QUERY_PARAM).sql),
        )
    }

    #[test]
    fn query_pages_by_id_start_at_the_bound() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn, "mem").unwrap();
        let last = "0123456789abcdef01234567";
        for query in [
            json!({"_id": {"$gt": last}}),
            json!({"_id": {"$gt": last}, "status": {"$ne": "running"}}),
            json!({"_id": {"$gt": last}, "filter.model": "LGB"}),
            json!({"_id": {"$gt": last}, "status": "waiting"}),
        ] {
            let page = page_plan(&conn, query.clone());
            assert!(
                page.contains("INDEX tasks_pool_id (pool=? AND id>?)"),
                "{query}: {page}"
            );
            assert!(!page.contains("TEMP B-TREE"), "{query}: {page}");
        }
    }
}
