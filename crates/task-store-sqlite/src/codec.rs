//! Documents as rows: the column lists every read uses, the decoding of a
//! task or record row ([`Task`], [`Record`]) and the JSON text of a record's
//! documents and maps. Times are stored in milliseconds.

use rusqlite::Row;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use task_store::{Error, ErrorEntry, Lease, Record, RecordId, Status, Task, TaskId, Timestamp};

use crate::error::{Result, SqliteError};

/// The columns of a task, in the order [`RawTask::read`] expects
/// (used by `SELECT` and `RETURNING`).
pub(crate) const TASK_COLUMNS: &str = "id, def, filter, key, status, priority, res, attempts, \
     max_attempts, lease_owner, lease_token, lease_expires_at, lease_from_status, errors, \
     created_at, updated_at, started_at, finished_at";

/// One error entry as stored in the `errors` JSON array: times in
/// milliseconds, like every other time column.
#[derive(Debug, Deserialize)]
pub(crate) struct StoredError {
    attempt: u32,
    at: i64,
    owner: String,
    message: String,
}

/// A row as SQLite returns it, before decoding.
pub(crate) struct RawTask {
    id: String,
    def: String,
    filter: String,
    key: String,
    status: String,
    priority: i64,
    res: Option<String>,
    attempts: i64,
    max_attempts: i64,
    lease_owner: Option<String>,
    lease_token: Option<String>,
    lease_expires_at: Option<i64>,
    lease_from_status: Option<String>,
    errors: String,
    created_at: i64,
    updated_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
}

impl RawTask {
    /// Read the [`TASK_COLUMNS`] of a row.
    pub(crate) fn read(row: &Row<'_>) -> rusqlite::Result<RawTask> {
        Ok(RawTask {
            id: row.get(0)?,
            def: row.get(1)?,
            filter: row.get(2)?,
            key: row.get(3)?,
            status: row.get(4)?,
            priority: row.get(5)?,
            res: row.get(6)?,
            attempts: row.get(7)?,
            max_attempts: row.get(8)?,
            lease_owner: row.get(9)?,
            lease_token: row.get(10)?,
            lease_expires_at: row.get(11)?,
            lease_from_status: row.get(12)?,
            errors: row.get(13)?,
            created_at: row.get(14)?,
            updated_at: row.get(15)?,
            started_at: row.get(16)?,
            finished_at: row.get(17)?,
        })
    }

    /// Decode into a task.
    pub(crate) fn decode(self) -> Result<Task> {
        let corrupt = |what: &str| SqliteError::Corrupt(format!("task {}: {what}", self.id));
        let json = |text: &str, what: &str| -> Result<Value> {
            serde_json::from_str(text).map_err(|e| corrupt(&format!("{what} is not JSON: {e}")))
        };
        let count = |n: i64, what: &str| -> Result<u32> {
            u32::try_from(n).map_err(|_| corrupt(&format!("{what} {n} is out of range")))
        };
        let status = |s: &str| -> Result<Status> {
            s.parse()
                .map_err(|_| corrupt(&format!("unknown status {s:?}")))
        };
        let lease = match (
            self.lease_owner,
            self.lease_token,
            self.lease_expires_at,
            self.lease_from_status.as_deref(),
        ) {
            (Some(owner), Some(token), Some(expires_at), Some(from)) => Some(Lease {
                owner,
                token,
                expires_at: Timestamp::from_millis(expires_at),
                from_status: status(from)?,
            }),
            (None, None, None, None) => None,
            _ => return Err(corrupt("partial lease")),
        };
        let errors: Vec<StoredError> = serde_json::from_str(&self.errors)
            .map_err(|e| corrupt(&format!("errors do not decode: {e}")))?;
        Ok(Task {
            id: self.id.parse::<TaskId>().map_err(|_| corrupt("bad id"))?,
            def: json(&self.def, "def")?,
            filter: json(&self.filter, "filter")?,
            key: self.key.clone(),
            status: status(&self.status)?,
            priority: self.priority,
            res: self.res.as_deref().map(|r| json(r, "res")).transpose()?,
            attempts: count(self.attempts, "attempts")?,
            max_attempts: count(self.max_attempts, "max_attempts")?,
            lease,
            errors: errors.into_iter().map(ErrorEntry::from).collect(),
            created_at: Timestamp::from_millis(self.created_at),
            updated_at: Timestamp::from_millis(self.updated_at),
            started_at: self.started_at.map(Timestamp::from_millis),
            finished_at: self.finished_at.map(Timestamp::from_millis),
        })
    }
}

impl From<StoredError> for ErrorEntry {
    fn from(e: StoredError) -> ErrorEntry {
        ErrorEntry {
            attempt: e.attempt,
            at: Timestamp::from_millis(e.at),
            owner: e.owner,
            message: e.message,
        }
    }
}

/// Decode every row of a query.
pub(crate) fn decode_all(rows: Vec<RawTask>) -> Result<Vec<Task>> {
    rows.into_iter().map(RawTask::decode).collect()
}

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
