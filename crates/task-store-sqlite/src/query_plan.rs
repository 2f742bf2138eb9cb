//! Test support: the query plan SQLite chooses for a statement, so tests can
//! check that every hot path walks its index.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params_from_iter};

/// The query plan of `sql` (every parameter bound to 1), one step a line.
pub(crate) fn plan(conn: &Connection, sql: &str) -> String {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let n = stmt.parameter_count();
    let steps = stmt
        .query_map(params_from_iter(vec![SqlValue::Integer(1); n]), |r| {
            r.get::<_, String>(3)
        })
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap();
    steps.join("\n")
}
