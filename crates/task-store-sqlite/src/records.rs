//! Records: the [`RecordBackend`] impl of [`SqliteStore`] (records and
//! artifacts in the same database file as the tasks; names and sizes were
//! checked by the core) and the record operations. Artifact operations are
//! in the `artifacts` module.
//!
//! One row of `records` per record, unique by `(experiment, id)`, with
//! columns for what a [`RecordFilter`] selects on (status, task id, tags as
//! a JSON object) and JSON text for the definition and the maps.
//!
//! Every rule comes from `task_store::record`: a new record is built with
//! `NewRecord::into_record`, and an update is [`UpdateRecord::apply`] on the
//! stored record. Create and update are short writes: they run inside the
//! write transaction (`BEGIN IMMEDIATE`) they are given (see the
//! `connection` module), so an update's read and write see no other writer
//! in between, and concurrent updates from any process are serialized and
//! none is lost. Reads, record deletion (which also deletes the record's
//! artifacts, of any size, in the same transaction) and every artifact
//! operation run alone: an artifact may be 512 MiB, it never shares, or
//! holds up, a group.

use async_trait::async_trait;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params, params_from_iter};
use task_store::{
    ArtifactInfo, Error, ErrorKind, NewRecord, Record, RecordBackend, RecordFilter, RecordId,
    Timestamp, UpdateRecord,
};

use crate::artifacts;
use crate::codec::{RECORD_COLUMNS, RawRecord, to_json};
use crate::connection::JobKind;
use crate::error::{Result, SqliteError};
use crate::store::SqliteStore;

#[async_trait]
impl RecordBackend for SqliteStore {
    async fn create_record(
        &self,
        experiment: &str,
        params: NewRecord,
    ) -> task_store::Result<Record> {
        let experiment = experiment.to_string();
        self.run(JobKind::Short, move |conn, now| {
            let record = params.into_record(&experiment, now)?;
            create(conn, &record)?;
            Ok(record)
        })
        .await
    }

    async fn update_record(
        &self,
        experiment: &str,
        params: UpdateRecord,
    ) -> task_store::Result<Record> {
        let experiment = experiment.to_string();
        self.run(JobKind::Short, move |conn, now| {
            update(conn, &experiment, &params, now)
        })
        .await
    }

    async fn get_record(&self, experiment: &str, id: RecordId) -> task_store::Result<Record> {
        let experiment = experiment.to_string();
        self.run(JobKind::Alone, move |conn, _| get(conn, &experiment, id))
            .await
    }

    async fn list_records(
        &self,
        experiment: &str,
        filter: &RecordFilter,
    ) -> task_store::Result<Vec<Record>> {
        let experiment = experiment.to_string();
        let filter = filter.clone();
        self.run(JobKind::Alone, move |conn, _| {
            list(conn, &experiment, &filter)
        })
        .await
    }

    async fn delete_record(&self, experiment: &str, id: RecordId) -> task_store::Result<bool> {
        let experiment = experiment.to_string();
        self.run(JobKind::Alone, move |conn, _| delete(conn, &experiment, id))
            .await
    }

    async fn experiments(&self) -> task_store::Result<Vec<String>> {
        self.run(JobKind::Alone, |conn, _| experiments(conn)).await
    }

    async fn put_artifact(
        &self,
        experiment: &str,
        id: RecordId,
        name: &str,
        data: Vec<u8>,
    ) -> task_store::Result<()> {
        let (experiment, name) = (experiment.to_string(), name.to_string());
        self.run(JobKind::Alone, move |conn, _| {
            artifacts::put(conn, &experiment, id, &name, &data)
        })
        .await
    }

    async fn get_artifact(
        &self,
        experiment: &str,
        id: RecordId,
        name: &str,
    ) -> task_store::Result<Vec<u8>> {
        let (experiment, name) = (experiment.to_string(), name.to_string());
        self.run(JobKind::Alone, move |conn, _| {
            artifacts::get(conn, &experiment, id, &name)
        })
        .await
    }

    async fn list_artifacts(
        &self,
        experiment: &str,
        id: RecordId,
    ) -> task_store::Result<Vec<ArtifactInfo>> {
        let experiment = experiment.to_string();
        self.run(JobKind::Alone, move |conn, _| {
            artifacts::list(conn, &experiment, id)
        })
        .await
    }

    async fn delete_artifact(
        &self,
        experiment: &str,
        id: RecordId,
        name: &str,
    ) -> task_store::Result<bool> {
        let (experiment, name) = (experiment.to_string(), name.to_string());
        self.run(JobKind::Alone, move |conn, _| {
            artifacts::delete(conn, &experiment, id, &name)
        })
        .await
    }
}

const INSERT_RECORD: &str = "INSERT INTO records (experiment, id, pool, task_id, status, \
     created_at, updated_at, finished_at, task, params, metrics, tags) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
     ON CONFLICT (experiment, id) DO NOTHING";

const UPDATE_RECORD: &str = "UPDATE records SET status = ?3, updated_at = ?4, finished_at = ?5, \
     params = ?6, metrics = ?7, tags = ?8 WHERE experiment = ?1 AND id = ?2";

/// Fail with `NotFound` unless record `id` of `experiment` exists.
pub(crate) fn require_record(conn: &Connection, experiment: &str, id: RecordId) -> Result<()> {
    let found = conn
        .prepare_cached("SELECT 1 FROM records WHERE experiment = ?1 AND id = ?2")?
        .query_row(params![experiment, id.to_string()], |_| Ok(()))
        .optional()?;
    found.ok_or_else(|| SqliteError::record_not_found(experiment, id))
}

/// Insert a record built by `NewRecord::into_record`, inside the caller's
/// write transaction; `AlreadyExists` if its id is taken in its experiment
/// (the unique index decides, nothing changes).
pub(crate) fn create(conn: &Connection, record: &Record) -> Result<()> {
    let inserted = conn.prepare_cached(INSERT_RECORD)?.execute(params![
        record.experiment,
        record.id.to_string(),
        record.pool,
        record.task_id.map(|t| t.to_string()),
        record.status.as_str(),
        record.created_at.as_millis(),
        record.updated_at.as_millis(),
        record.finished_at.map(Timestamp::as_millis),
        to_json(&record.task, "task")?,
        to_json(&record.params, "params")?,
        to_json(&record.metrics, "metrics")?,
        to_json(&record.tags, "tags")?,
    ])?;
    if inserted == 0 {
        return Err(SqliteError::Store(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "record {} already exists in experiment {:?}",
                record.id, record.experiment
            ),
        )));
    }
    Ok(())
}

/// Read record `id` of `experiment`, if it exists.
fn find(conn: &Connection, experiment: &str, id: RecordId) -> Result<Option<Record>> {
    let sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE experiment = ?1 AND id = ?2");
    conn.prepare_cached(&sql)?
        .query_row(params![experiment, id.to_string()], RawRecord::read)
        .optional()?
        .map(RawRecord::decode)
        .transpose()
}

/// One record by id.
pub(crate) fn get(conn: &mut Connection, experiment: &str, id: RecordId) -> Result<Record> {
    find(conn, experiment, id)?.ok_or_else(|| SqliteError::record_not_found(experiment, id))
}

/// Apply a (validated) update at `now`, inside the caller's write
/// transaction; returns the record as stored.
pub(crate) fn update(
    conn: &Connection,
    experiment: &str,
    update: &UpdateRecord,
    now: Timestamp,
) -> Result<Record> {
    let mut record = find(conn, experiment, update.id)?
        .ok_or_else(|| SqliteError::record_not_found(experiment, update.id))?;
    update.apply(&mut record, now)?;
    conn.prepare_cached(UPDATE_RECORD)?.execute(params![
        experiment,
        record.id.to_string(),
        record.status.as_str(),
        record.updated_at.as_millis(),
        record.finished_at.map(Timestamp::as_millis),
        to_json(&record.params, "params")?,
        to_json(&record.metrics, "metrics")?,
        to_json(&record.tags, "tags")?,
    ])?;
    Ok(record)
}

/// The records of `experiment` passing `filter`, in id order, as one
/// statement.
pub(crate) fn list(
    conn: &mut Connection,
    experiment: &str,
    filter: &RecordFilter,
) -> Result<Vec<Record>> {
    let (sql, values) = list_statement(experiment, filter);
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(values), RawRecord::read)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(RawRecord::decode).collect()
}

/// The `SELECT` of [`list`] and its parameters: status and task id compare
/// columns, each required tag is an `EXISTS` over `json_each` of the tags
/// object (exact key and value text, whatever characters the name holds).
fn list_statement(experiment: &str, filter: &RecordFilter) -> (String, Vec<SqlValue>) {
    let mut sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE experiment = ?1");
    let mut values = vec![SqlValue::Text(experiment.to_string())];
    let mut bind = |value: String| {
        values.push(SqlValue::Text(value));
        format!("?{}", values.len())
    };
    if let Some(statuses) = &filter.status {
        let placeholders: Vec<String> = statuses
            .iter()
            .map(|s| bind(s.as_str().to_string()))
            .collect();
        sql += &format!(" AND status IN ({})", placeholders.join(", "));
    }
    if let Some(task_id) = filter.task_id {
        sql += &format!(" AND task_id = {}", bind(task_id.to_string()));
    }
    for (name, value) in &filter.tags {
        let (name, value) = (bind(name.clone()), bind(value.clone()));
        sql += &format!(
            " AND EXISTS (SELECT 1 FROM json_each(records.tags) AS t \
             WHERE t.key = {name} AND t.value = {value})"
        );
    }
    sql += " ORDER BY id";
    (sql, values)
}

/// Delete a record and, in the same transaction, all its artifacts.
pub(crate) fn delete(conn: &mut Connection, experiment: &str, id: RecordId) -> Result<bool> {
    let id = id.to_string();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached(
        "DELETE FROM artifact_chunks WHERE artifact IN \
         (SELECT id FROM artifacts WHERE experiment = ?1 AND record_id = ?2)",
    )?
    .execute(params![experiment, id])?;
    tx.prepare_cached("DELETE FROM artifacts WHERE experiment = ?1 AND record_id = ?2")?
        .execute(params![experiment, id])?;
    let deleted = tx
        .prepare_cached("DELETE FROM records WHERE experiment = ?1 AND id = ?2")?
        .execute(params![experiment, id])?;
    tx.commit()?;
    Ok(deleted > 0)
}

const EXPERIMENTS: &str = "SELECT DISTINCT experiment FROM records ORDER BY experiment";

/// The experiments having records, sorted.
pub(crate) fn experiments(conn: &mut Connection) -> Result<Vec<String>> {
    Ok(conn
        .prepare_cached(EXPERIMENTS)?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    use task_store::{RecordStatus, TaskId, Timestamp};

    use super::*;
    use crate::query_plan::plan;

    fn migrated() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn, "mem").unwrap();
        conn
    }

    #[test]
    fn list_walks_the_record_indexes_in_id_order() {
        let conn = migrated();
        let all = plan(&conn, &list_statement("e", &RecordFilter::all()).0);
        assert!(
            all.contains("INDEX records_experiment_id (experiment=?)"),
            "{all}"
        );
        let filtered = RecordFilter {
            task_id: Some(TaskId::generate(Timestamp::from_millis(0))),
            ..RecordFilter::all()
        }
        .status([RecordStatus::Finished])
        .tag("online", "yes");
        let by_task = plan(&conn, &list_statement("e", &filtered).0);
        assert!(
            by_task.contains("INDEX records_task (experiment=? AND task_id=?)"),
            "{by_task}"
        );
        for p in [&all, &by_task] {
            assert!(!p.contains("SCAN records"), "{p}");
            assert!(!p.contains("TEMP B-TREE"), "{p}");
        }
    }

    #[test]
    fn get_and_experiments_use_the_unique_index() {
        let conn = migrated();
        let get = plan(
            &conn,
            &format!("SELECT {RECORD_COLUMNS} FROM records WHERE experiment = ?1 AND id = ?2"),
        );
        assert!(
            get.contains("INDEX records_experiment_id (experiment=? AND id=?)"),
            "{get}"
        );
        let experiments = plan(&conn, EXPERIMENTS);
        assert!(
            experiments.contains("USING COVERING INDEX records_"),
            "{experiments}"
        );
        assert!(!experiments.contains("TEMP B-TREE"), "{experiments}");
    }
}
