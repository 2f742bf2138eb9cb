//! The versioned schema: migrations, and the checks that refuse a file this
//! build must not touch.
//!
//! The version lives in `PRAGMA user_version` and the file is marked as a
//! taskpool store by `PRAGMA application_id`. Each migration runs in one
//! `BEGIN IMMEDIATE` transaction together with the version bump, so a crash
//! never leaves a half-migrated file and concurrent openers migrate once.
//! New migrations are appended to [`MIGRATIONS`]; released migrations are
//! never edited (version-1 and version-2 files are upgraded in place, see
//! `tests/sqlite/migration.rs`).
//!
//! Migration 3 adds `task_counts (pool, status, n)`: the number of tasks of
//! each pool in each status, filled from the existing tasks when the
//! migration runs and kept exact by triggers on `tasks` (after insert, after
//! delete, after an update that changes `pool` or `status`). The triggers run
//! inside the statement that changes the tasks, so the counts commit or roll
//! back with it, whoever wrote it (any process, an older build that still
//! had the file open when it was migrated, or plain SQL);
//! `stat(pool, Query::All)` reads the pool's at most five rows instead of
//! walking its index. A count that drops to zero keeps its row (until
//! `drop_pool` deletes the pool's rows). `REPLACE` conflict resolution would
//! delete rows without firing the delete trigger (SQLite's default
//! `recursive_triggers = OFF`); no statement of the store uses it.
//!
//! Migration 4 adds the indexes of the query orders (`task_store::Order`):
//! `tasks_status_id (pool, status, id)` for pages of one status in id order
//! (before it, SQLite walked the whole pool by id testing each status: 1.2 s
//! for an empty page on a million tasks), `tasks_priority (pool, priority
//! DESC, id)` and `tasks_finished (pool, finished_at, id)` (walked backward
//! for most recently finished first). Building them on an existing file
//! reads every task once, inside the migration's transaction.

use rusqlite::{Connection, ErrorCode, TransactionBehavior};

use crate::error::{Result, SqliteError};

/// `PRAGMA application_id` of a taskpool store ("TPOL").
pub(crate) const APPLICATION_ID: i64 = 0x5450_4F4C;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: pools and tasks, with the indexes behind every claim path.
    "CREATE TABLE pools (
        name TEXT PRIMARY KEY NOT NULL,
        created_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE tasks (
        pool TEXT NOT NULL,
        id TEXT NOT NULL,
        key TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('waiting', 'running', 'part_done', 'done', 'failed')),
        priority INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL,
        lease_owner TEXT,
        lease_token TEXT,
        lease_expires_at INTEGER,
        lease_from_status TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        def TEXT NOT NULL,
        filter TEXT NOT NULL,
        res TEXT,
        errors TEXT NOT NULL
    );
    CREATE UNIQUE INDEX tasks_pool_id ON tasks (pool, id);
    CREATE UNIQUE INDEX tasks_pool_key ON tasks (pool, key);
    CREATE INDEX tasks_claim ON tasks (pool, status, priority DESC, id);
    CREATE INDEX tasks_lease_expiry ON tasks (pool, status, lease_expires_at);",
    // 2: records and their artifacts (issue 7). Artifact bytes are split into
    // chunk rows so no single row or statement holds a whole large artifact.
    "CREATE TABLE records (
        experiment TEXT NOT NULL,
        id TEXT NOT NULL,
        pool TEXT,
        task_id TEXT,
        status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed')),
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        finished_at INTEGER,
        task TEXT NOT NULL,
        params TEXT NOT NULL,
        metrics TEXT NOT NULL,
        tags TEXT NOT NULL
    );
    CREATE UNIQUE INDEX records_experiment_id ON records (experiment, id);
    CREATE INDEX records_task ON records (experiment, task_id, id);
    CREATE TABLE artifacts (
        id INTEGER PRIMARY KEY,
        experiment TEXT NOT NULL,
        record_id TEXT NOT NULL,
        name TEXT NOT NULL,
        len INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX artifacts_record_name ON artifacts (experiment, record_id, name);
    CREATE TABLE artifact_chunks (
        artifact INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        data BLOB NOT NULL
    );
    CREATE UNIQUE INDEX artifact_chunks_artifact_seq ON artifact_chunks (artifact, seq);",
    // 3: per-pool, per-status task counts (issue 10), so a whole-pool stat
    // reads at most five rows. Filled from the tasks already there, then kept
    // by triggers in the same statement as every change of a task's status.
    "CREATE TABLE task_counts (
        pool TEXT NOT NULL,
        status TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (pool, status)
    ) WITHOUT ROWID;
    INSERT INTO task_counts (pool, status, n)
        SELECT pool, status, count(*) FROM tasks GROUP BY pool, status;
    CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks BEGIN
        INSERT INTO task_counts (pool, status, n) VALUES (new.pool, new.status, 1)
            ON CONFLICT (pool, status) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks BEGIN
        UPDATE task_counts SET n = n - 1 WHERE pool = old.pool AND status = old.status;
    END;
    CREATE TRIGGER tasks_count_update AFTER UPDATE OF pool, status ON tasks
    WHEN old.pool IS NOT new.pool OR old.status IS NOT new.status BEGIN
        UPDATE task_counts SET n = n - 1 WHERE pool = old.pool AND status = old.status;
        INSERT INTO task_counts (pool, status, n) VALUES (new.pool, new.status, 1)
            ON CONFLICT (pool, status) DO UPDATE SET n = n + 1;
    END;",
    // 4: an index per query order (issue 19), so a page of the dashboard on
    // a large pool walks an index from its cursor instead of the pool: one
    // status by id (`tasks_claim` has priority between status and id),
    // priority order without a status, and finished order.
    "CREATE INDEX tasks_status_id ON tasks (pool, status, id);
    CREATE INDEX tasks_priority ON tasks (pool, priority DESC, id);
    CREATE INDEX tasks_finished ON tasks (pool, finished_at, id);",
];

/// The schema version this build writes.
pub(crate) const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// Read-only checks before anything is written: the file is a SQLite
/// database, either empty or a taskpool store of a version this build knows.
pub(crate) fn check(conn: &Connection, name: &str) -> Result<()> {
    let read = |pragma: &str| -> Result<i64> {
        conn.pragma_query_value(None, pragma, |r| r.get(0))
            .map_err(|e| match e.sqlite_error_code() {
                Some(ErrorCode::NotADatabase) => {
                    SqliteError::Unusable(format!("{name} is not a SQLite database"))
                }
                _ => e.into(),
            })
    };
    let application_id = read("application_id")?;
    let version = read("user_version")?;
    if application_id == APPLICATION_ID {
        return check_version(version, name);
    }
    let objects: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
    if application_id != 0 || version != 0 || objects != 0 {
        return Err(SqliteError::Unusable(format!(
            "{name} is a SQLite database of another application, not a taskpool store"
        )));
    }
    Ok(())
}

fn check_version(version: i64, name: &str) -> Result<()> {
    if version > LATEST_VERSION {
        return Err(SqliteError::Unusable(format!(
            "{name} has schema version {version}, newer than this build supports \
             ({LATEST_VERSION}): upgrade taskpool"
        )));
    }
    Ok(())
}

/// Bring the schema to [`LATEST_VERSION`]; returns the version found.
pub(crate) fn migrate(conn: &mut Connection, name: &str) -> Result<i64> {
    let read_version = |conn: &Connection| -> Result<i64> {
        Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
    };
    let found = read_version(conn)?;
    if found == LATEST_VERSION {
        return Ok(found);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have migrated while this one waited for the lock.
    let current = read_version(&tx)?;
    check_version(current, name)?;
    for (from, migration) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tracing::info!(store = name, from, to = from + 1, "migrating schema");
        tx.execute_batch(migration)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", LATEST_VERSION)?;
    tx.commit()?;
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrate_is_idempotent_and_marks_the_file() {
        let mut conn = Connection::open_in_memory().unwrap();
        check(&conn, "mem").unwrap();
        assert_eq!(migrate(&mut conn, "mem").unwrap(), 0);
        assert_eq!(migrate(&mut conn, "mem").unwrap(), LATEST_VERSION);
        check(&conn, "mem").unwrap();
        let app: i64 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .unwrap();
        assert_eq!(app, APPLICATION_ID);
    }

    #[test]
    fn check_rejects_foreign_and_newer_databases() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE other (x)").unwrap();
        assert!(matches!(check(&conn, "mem"), Err(SqliteError::Unusable(_))));

        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, "mem").unwrap();
        conn.pragma_update(None, "user_version", LATEST_VERSION + 1)
            .unwrap();
        assert!(matches!(check(&conn, "mem"), Err(SqliteError::Unusable(_))));
        assert!(matches!(
            migrate(&mut conn, "mem"),
            Err(SqliteError::Unusable(_))
        ));
    }
}
