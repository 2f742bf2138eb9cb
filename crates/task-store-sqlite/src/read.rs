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
use task_store::{Cursor, Order, Query, QueryParams, Stat, Status, Task, TaskId};

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
/// limit, `?3` skip), in `order`, after a cursor whose parameters are
/// numbered from `n` (bound by [`cursor_values`]).
///
/// After a cursor, the tasks that follow it are the union of key ranges,
/// each one seek in the order's index: for `priority`, the cursor's
/// priority with a larger id, then every lower priority; for `finished`,
/// the cursor's time with a smaller id, then every earlier time, then the
/// unfinished tasks. A single condition with `OR` would make SQLite walk
/// the index from the cursor's key and step over every tie before the
/// cursor, which in a pool of one priority is the whole pool before it.
/// Each range is cut to `limit + skip` rows (`?n+3`) before the union is
/// merged in order.
fn query_statement(compiled: &str, order: Order, cursor: Option<&Cursor>, n: usize) -> String {
    let select = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE pool = ?1 AND ({compiled})");
    let order_by = order_by(order);
    let tail = format!("ORDER BY {order_by} LIMIT ?2 OFFSET ?3");
    let Some(cursor) = cursor else {
        return format!("{select} {tail}");
    };
    let ranges = after_cursor(order, cursor, n);
    if let [(range, _)] = ranges.as_slice() {
        return format!("{select} AND {range} {tail}");
    }
    let cut = n + 3;
    let parts: Vec<String> = ranges
        .iter()
        .map(|(range, by)| {
            format!("SELECT * FROM ({select} AND {range} ORDER BY {by} LIMIT ?{cut})")
        })
        .collect();
    format!("{} {tail}", parts.join(" UNION ALL "))
}

/// The `ORDER BY` terms of `order` (each an index walked forward or back).
fn order_by(order: Order) -> &'static str {
    match order {
        Order::Created => "id",
        Order::CreatedDesc => "id DESC",
        Order::Priority => "priority DESC, id",
        Order::Finished => "finished_at DESC, id DESC",
    }
}

/// The key ranges after `cursor` in `order`, each with the order it is
/// read in: `?n` is the cursor's id, `?n+1` its priority, `?n+2` its
/// `finished_at`.
fn after_cursor(order: Order, cursor: &Cursor, n: usize) -> Vec<(String, &'static str)> {
    let (id, priority, finished) = (n, n + 1, n + 2);
    match (order, cursor.finished_at) {
        (Order::Created, _) => vec![(format!("id > ?{id}"), "id")],
        (Order::CreatedDesc, _) => vec![(format!("id < ?{id}"), "id DESC")],
        (Order::Priority, _) => vec![
            (format!("priority = ?{priority} AND id > ?{id}"), "id"),
            (format!("priority < ?{priority}"), "priority DESC, id"),
        ],
        // NULL (never finished) sorts first ascending, so last here.
        (Order::Finished, Some(_)) => vec![
            (
                format!("finished_at = ?{finished} AND id < ?{id}"),
                "id DESC",
            ),
            (
                format!("finished_at < ?{finished}"),
                "finished_at DESC, id DESC",
            ),
            ("finished_at IS NULL".to_string(), "id DESC"),
        ],
        (Order::Finished, None) => vec![(format!("finished_at IS NULL AND id < ?{id}"), "id DESC")],
    }
}

/// The values of the parameters [`query_statement`] numbers from its `n`:
/// the cursor's id alone for a single range, else id, priority,
/// `finished_at` and the cut of each range (`limit + skip`, or -1).
fn cursor_values(order: Order, cursor: &Cursor, params: &QueryParams) -> Vec<SqlValue> {
    let id = SqlValue::Text(cursor.id.to_string());
    match (order, cursor.finished_at) {
        (Order::Created | Order::CreatedDesc, _) | (Order::Finished, None) => vec![id],
        (Order::Priority | Order::Finished, finished) => {
            let cut = params.limit.map_or(-1, |l| {
                i64::try_from(l.saturating_add(params.skip)).unwrap_or(i64::MAX)
            });
            vec![
                id,
                SqlValue::Integer(cursor.priority),
                finished.map_or(SqlValue::Null, |t| SqlValue::Integer(t.as_millis())),
                SqlValue::Integer(cut),
            ]
        }
    }
}

/// Matching tasks in `params.order`, after its cursor and `skip`, at most `limit`.
pub(crate) fn query(conn: &mut Connection, pool: &str, params: &QueryParams) -> Result<Vec<Task>> {
    let query = translate::compile(&params.query, QUERY_PARAM);
    let cursor_param = QUERY_PARAM + query.params.len();
    let sql = query_statement(
        &query.sql,
        params.order,
        params.after.as_ref(),
        cursor_param,
    );
    let limit = params
        .limit
        .map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    let mut values = vec![
        SqlValue::Text(pool.to_string()),
        SqlValue::Integer(limit),
        SqlValue::Integer(i64::try_from(params.skip).unwrap_or(i64::MAX)),
    ];
    values.extend(query.params);
    if let Some(cursor) = &params.after {
        values.extend(cursor_values(params.order, cursor, params));
    }
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

    /// The plan of a query page for the JSON query `query`, in `order`
    /// after `cursor`.
    fn page_plan(
        conn: &Connection,
        query: serde_json::Value,
        order: Order,
        cursor: Option<&Cursor>,
    ) -> String {
        let query = Query::parse(&query).unwrap();
        let compiled = translate::compile(&query, QUERY_PARAM);
        let cursor_param = QUERY_PARAM + compiled.params.len();
        plan(
            conn,
            &query_statement(&compiled.sql, order, cursor, cursor_param),
        )
    }

    fn migrated() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn, "mem").unwrap();
        conn
    }

    #[test]
    fn query_pages_by_id_start_at_the_bound() {
        let conn = migrated();
        let last = "0123456789abcdef01234567";
        for (query, index) in [
            (
                json!({"_id": {"$gt": last}}),
                "tasks_pool_id (pool=? AND id>?)",
            ),
            (
                json!({"_id": {"$gt": last}, "status": {"$ne": "running"}}),
                "tasks_pool_id (pool=? AND id>?)",
            ),
            (
                json!({"_id": {"$gt": last}, "filter.model": "LGB"}),
                "tasks_pool_id (pool=? AND id>?)",
            ),
            // One status: its own index, not the walk of the whole pool.
            (
                json!({"_id": {"$gt": last}, "status": "waiting"}),
                "tasks_status_id (pool=? AND status=? AND id>?)",
            ),
        ] {
            let page = page_plan(&conn, query.clone(), Order::Created, None);
            assert!(page.contains(&format!("INDEX {index}")), "{query}: {page}");
            assert!(!page.contains("TEMP B-TREE"), "{query}: {page}");
        }
    }

    #[test]
    fn query_pages_in_every_order_seek_their_index_from_the_cursor() {
        let conn = migrated();
        let cursor = Cursor {
            id: "0123456789abcdef01234567".parse().unwrap(),
            priority: 3,
            finished_at: Some(task_store::Timestamp::from_millis(1)),
        };
        let unfinished = Cursor {
            finished_at: None,
            ..cursor
        };
        for (order, cursor, query, indexes) in [
            (
                Order::Created,
                &cursor,
                json!({}),
                &["tasks_pool_id (pool=? AND id>?)"][..],
            ),
            (
                Order::CreatedDesc,
                &cursor,
                json!({}),
                &["tasks_pool_id (pool=? AND id<?)"],
            ),
            (
                Order::CreatedDesc,
                &cursor,
                json!({"status": "failed"}),
                &["tasks_status_id (pool=? AND status=? AND id<?)"],
            ),
            (
                Order::Priority,
                &cursor,
                json!({}),
                &[
                    "tasks_priority (pool=? AND priority=? AND id>?)",
                    "tasks_priority (pool=? AND priority<?)",
                ],
            ),
            (
                Order::Priority,
                &cursor,
                json!({"status": "waiting"}),
                &[
                    "tasks_claim (pool=? AND status=? AND priority=? AND id>?)",
                    "tasks_claim (pool=? AND status=? AND priority<?)",
                ],
            ),
            (
                Order::Finished,
                &cursor,
                json!({}),
                &[
                    "tasks_finished (pool=? AND finished_at=? AND id<?)",
                    "tasks_finished (pool=? AND finished_at<?)",
                    "tasks_finished (pool=? AND finished_at=?)",
                ],
            ),
            (
                Order::Finished,
                &unfinished,
                json!({}),
                &["tasks_finished (pool=? AND finished_at=? AND id<?)"],
            ),
        ] {
            let page = page_plan(&conn, query.clone(), order, Some(cursor));
            for index in indexes {
                assert!(
                    page.contains(&format!("SEARCH tasks USING INDEX {index}")),
                    "{order} {query}: no {index} in\n{page}"
                );
            }
            assert!(!page.contains("SCAN tasks"), "{order} {query}:\n{page}");
        }
    }
}
