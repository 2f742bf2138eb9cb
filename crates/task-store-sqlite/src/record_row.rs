//! Record rows: the column list every record read uses, the decoding into
//! [`Record`] and the JSON encoding of a record's documents and maps.

use rusqlite::Row;
use serde::Serialize;
use serde::de::DeserializeOwned;
use task_store::{Error, Record, RecordId, Timestamp};

use crate::error::{Result, SqliteError};

/// The columns of a record, in the order [`RawRecord::read`] expects.
pub(crate) const RECORD_COLUMNS: &str = "id, experiment, pool, task_id, task, params, metrics, \
     tags, status, created_at, updated_at, finished_at";

/// A record row as SQLite returns it, before decoding.
pub(crate) struct RawRecord {
    id: String,
    experiment: String,
    pool: Option<String>,
    task_id: Option<String>,
    task: String,
    params: String,
    metrics: String,
    tags: String,
    status: String,
    created_at: i64,
    updated_at: i64,
    finished_at: Option<i64>,
}

impl RawRecord {
    /// Read the [`RECORD_COLUMNS`] of a row.
    pub(crate) fn read(row: &Row<'_>) -> rusqlite::Result<RawRecord> {
        Ok(RawRecord {
            id: row.get(0)?,
            experiment: row.get(1)?,
            pool: row.get(2)?,
            task_id: row.get(3)?,
            task: row.get(4)?,
            params: row.get(5)?,
            metrics: row.get(6)?,
            tags: row.get(7)?,
            status: row.get(8)?,
            created_at: row.get(9)?,
            updated_at: row.get(10)?,
            finished_at: row.get(11)?,
        })
    }

    /// Decode into a record.
    pub(crate) fn decode(self) -> Result<Record> {
        let corrupt = |what: String| SqliteError::Corrupt(format!("record {}: {what}", self.id));
        Ok(Record {
            id: self
                .id
                .parse::<RecordId>()
                .map_err(|_| corrupt("bad id".into()))?,
            task_id: self
                .task_id
                .as_deref()
                .map(|t| t.parse().map_err(|_| corrupt(format!("bad task id {t:?}"))))
                .transpose()?,
            task: from_json(&self.task, "task").map_err(corrupt)?,
            params: from_json(&self.params, "params").map_err(corrupt)?,
            metrics: from_json(&self.metrics, "metrics").map_err(corrupt)?,
            tags: from_json(&self.tags, "tags").map_err(corrupt)?,
            status: self
                .status
                .parse()
                .map_err(|_| corrupt(format!("unknown status {:?}", self.status)))?,
            created_at: Timestamp::from_millis(self.created_at),
            updated_at: Timestamp::from_millis(self.updated_at),
            finished_at: self.finished_at.map(Timestamp::from_millis),
            experiment: self.experiment,
            pool: self.pool,
        })
    }
}

/// Decode a JSON column; the error says which column.
fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> std::result::Result<T, String> {
    serde_json::from_str(text).map_err(|e| format!("{what} does not decode: {e}"))
}

/// The JSON text of a record's document or map (`what` names it in errors).
pub(crate) fn to_json<T: Serialize>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|e| {
        SqliteError::Store(Error::invalid_input(format!(
            "the record's {what} cannot be stored as JSON: {e}"
        )))
    })
}
