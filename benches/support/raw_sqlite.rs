//! The SQLite baseline: hand-written rusqlite statements on the store's own
//! file and schema, doing what the store does (the same `BEGIN IMMEDIATE`
//! expire + `UPDATE … WHERE rowid IN (SELECT … LIMIT n) RETURNING` claim, the
//! same token-guarded commit update, the same `INSERT … ON CONFLICT DO
//! NOTHING` create, the same `GROUP BY` stat), on one connection shared by
//! the workers behind a mutex, as the store shares its one connection.
//!
//! Being on the store's schema, its writes fire the schema's triggers too
//! (since schema version 3 they keep the per-status `task_counts`), so they
//! pay the same counting cost as the store's; its stat stays the plain
//! `GROUP BY status` over the tasks, where the store's whole-pool stat reads
//! the counts.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::Value;
use taskpool::store::{DEFAULT_MAX_ATTEMPTS, TaskId, Timestamp, content_key};

use super::raw::{LEASE_MS, RawClaim, RawStore, now_ms};

const EXPIRE: &str = "UPDATE tasks SET status = 'failed', finished_at = ?2, updated_at = ?2, \
     lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, lease_from_status = NULL \
     WHERE pool = ?1 AND status = 'running' AND lease_expires_at <= ?2 \
     AND attempts >= max_attempts";

const CLAIM: &str = "UPDATE tasks SET status = 'running', attempts = attempts + 1, \
     lease_owner = ?5, lease_token = lower(hex(randomblob(16))), lease_expires_at = ?6, \
     lease_from_status = ?2, started_at = ?3, updated_at = ?3 \
     WHERE rowid IN (SELECT r FROM (\
       SELECT r, p, i FROM (SELECT rowid AS r, priority AS p, id AS i FROM tasks \
         WHERE pool = ?1 AND status = ?2 ORDER BY priority DESC, id LIMIT ?4) \
       UNION ALL \
       SELECT r, p, i FROM (SELECT rowid AS r, priority AS p, id AS i FROM tasks \
         WHERE pool = ?1 AND status = 'running' AND lease_expires_at <= ?3 \
         AND lease_from_status = ?2 ORDER BY priority DESC, id LIMIT ?4)) \
       ORDER BY p DESC, i LIMIT ?4) \
     RETURNING id, lease_token, def";

const COMMIT: &str = "UPDATE tasks SET res = '{}', status = 'done', finished_at = ?4, \
     updated_at = ?4, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, \
     lease_from_status = NULL \
     WHERE pool = ?1 AND id = ?2 AND status = 'running' AND lease_token = ?3";

const HAND_BACK: &str = "UPDATE tasks SET status = coalesce(lease_from_status, 'waiting'), \
     attempts = max(attempts - 1, 0), updated_at = ?4, lease_owner = NULL, lease_token = NULL, \
     lease_expires_at = NULL, lease_from_status = NULL \
     WHERE pool = ?1 AND id = ?2 AND status = 'running' AND lease_token = ?3";

const RESET: &str = "UPDATE tasks SET status = 'waiting', attempts = 0, res = NULL, \
     started_at = NULL, finished_at = NULL, updated_at = ?2, lease_owner = NULL, \
     lease_token = NULL, lease_expires_at = NULL, lease_from_status = NULL WHERE pool = ?1";

const STAT: &str = "SELECT status, count(*) FROM tasks WHERE pool = ?1 GROUP BY status";

const SCAN: &str = "SELECT id, status, def FROM tasks WHERE pool = ?1 ORDER BY id LIMIT ?2";

const INSERT_POOL: &str =
    "INSERT INTO pools (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING";

const INSERT_TASK: &str = "INSERT INTO tasks (pool, id, key, status, priority, attempts, \
     max_attempts, created_at, updated_at, def, filter, errors) \
     VALUES (?1, ?2, ?3, 'waiting', 0, 0, ?4, ?5, ?5, ?6, ?6, '[]') \
     ON CONFLICT (pool, key) DO NOTHING";

const FIND_KEY: &str = "SELECT id, status FROM tasks WHERE pool = ?1 AND key = ?2";

/// Raw rusqlite on a store file (the store must have created the schema).
pub struct RawSqlite {
    conn: Mutex<Connection>,
}

impl RawSqlite {
    /// Open the file with the store's settings (WAL, `synchronous = NORMAL`,
    /// 5 s busy timeout, the query planner stability guarantee).
    pub fn open(path: &Path) -> RawSqlite {
        let conn = Connection::open(path).expect("open the SQLite file");
        conn.busy_timeout(Duration::from_secs(5))
            .expect("set the busy timeout");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("WAL mode");
        conn.pragma_update(None, "synchronous", "NORMAL")
            .expect("synchronous = NORMAL");
        conn.set_prepared_statement_cache_capacity(64);
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .expect("the query planner stability guarantee");
        RawSqlite {
            conn: Mutex::new(conn),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> T {
        let mut conn = self.conn.lock().expect("the connection mutex");
        f(&mut conn).expect("a raw SQLite statement")
    }

    fn fenced(&self, sql: &str, pool: &str, task: &RawClaim) {
        let n = self.with(|c| {
            c.prepare_cached(sql)?
                .execute(params![pool, task.id.to_string(), task.token, now_ms()])
        });
        assert_eq!(n, 1, "the lease of task {} was lost", task.id);
    }
}

#[async_trait]
impl RawStore for RawSqlite {
    async fn create(&self, pool: &str, defs: &[Value]) -> usize {
        let now = now_ms();
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached(INSERT_POOL)?
                .execute(params![pool, now])?;
            let mut new = 0;
            {
                let mut insert = tx.prepare_cached(INSERT_TASK)?;
                let mut find = tx.prepare_cached(FIND_KEY)?;
                for def in defs {
                    let key = content_key(def);
                    let id = TaskId::generate(Timestamp::from_millis(now));
                    let inserted = insert.execute(params![
                        pool,
                        id.to_string(),
                        key,
                        DEFAULT_MAX_ATTEMPTS,
                        now,
                        def.to_string()
                    ])?;
                    if inserted == 1 {
                        new += 1;
                    } else {
                        find.query_row(params![pool, key], |r| {
                            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                        })
                        .optional()?;
                    }
                }
            }
            tx.commit()?;
            Ok(new)
        })
    }

    async fn claim(&self, pool: &str, n: usize, owner: &str) -> Vec<RawClaim> {
        let now = now_ms();
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached(EXPIRE)?.execute(params![pool, now])?;
            let claimed = tx
                .prepare_cached(CLAIM)?
                .query_map(
                    params![pool, "waiting", now, n as i64, owner, now + LEASE_MS],
                    |r| {
                        let id: String = r.get(0)?;
                        Ok(RawClaim {
                            id: id.parse().expect("a stored id"),
                            token: r.get(1)?,
                            read_len: r.get_ref(2)?.as_str()?.len(),
                        })
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            tx.commit()?;
            Ok(claimed)
        })
    }

    async fn commit(&self, pool: &str, task: &RawClaim) {
        self.fenced(COMMIT, pool, task);
    }

    async fn hand_back(&self, pool: &str, task: &RawClaim) {
        self.fenced(HAND_BACK, pool, task);
    }

    async fn stat(&self, pool: &str) -> Vec<(String, u64)> {
        self.with(|c| {
            c.prepare_cached(STAT)?
                .query_map(params![pool], |r| {
                    Ok((r.get(0)?, r.get::<_, i64>(1)?.unsigned_abs()))
                })?
                .collect()
        })
    }

    async fn reset(&self, pool: &str) {
        self.with(|c| c.prepare_cached(RESET)?.execute(params![pool, now_ms()]));
    }

    async fn drop_pool(&self, pool: &str) {
        self.with(|c| {
            c.execute("DELETE FROM tasks WHERE pool = ?1", params![pool])?;
            c.execute("DELETE FROM pools WHERE name = ?1", params![pool])
        });
    }

    async fn scan(&self, pool: &str, limit: Option<usize>, out: &mut (dyn Write + Send)) -> usize {
        let limit = limit.map_or(-1, |l| l as i64);
        self.with(|c| {
            let mut stmt = c.prepare_cached(SCAN)?;
            let mut rows = stmt.query(params![pool, limit])?;
            let mut n = 0;
            while let Some(row) = rows.next()? {
                let id = row.get_ref(0)?.as_str()?;
                let status = row.get_ref(1)?.as_str()?;
                let def = row.get_ref(2)?.as_str()?;
                writeln!(out, "{id}\t{status}\t{def}").expect("write a task");
                n += 1;
            }
            Ok(n)
        })
    }
}
