//! The record as stored, its id and status, and artifact descriptions.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::id::TaskId;
use crate::time::Timestamp;

/// A record id: 24 hex digits, made client-side like a [`TaskId`], so ids
/// sort by creation on every backend.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordId(TaskId);

impl RecordId {
    /// A fresh id stamped with `now`.
    pub fn generate(now: Timestamp) -> RecordId {
        RecordId(TaskId::generate(now))
    }

    /// The id from its 12 raw bytes.
    pub fn from_bytes(bytes: [u8; 12]) -> RecordId {
        RecordId(TaskId::from_bytes(bytes))
    }

    /// The 12 raw bytes.
    pub fn bytes(&self) -> [u8; 12] {
        self.0.bytes()
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordId({})", self.0)
    }
}

impl FromStr for RecordId {
    type Err = Error;

    /// Parses 24 hex digits (either case).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the bad value.
    fn from_str(s: &str) -> Result<RecordId> {
        s.parse().map(RecordId).map_err(|_| {
            Error::invalid_input(format!(
                "invalid record id {s:?}: expected 24 hexadecimal digits"
            ))
        })
    }
}

impl Serialize for RecordId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RecordId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RecordId, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a record is: being produced, or finished one way or the other.
///
/// Unlike Qlib's recorders (reference §9 B20), `finished` means the training
/// that produced the record completed and its artifacts were written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// Training is in progress; artifacts may be incomplete.
    Running,
    /// Training completed; metrics and artifacts are final.
    Finished,
    /// Training failed; whatever was written is partial.
    Failed,
}

impl RecordStatus {
    /// Every status.
    pub const ALL: [RecordStatus; 3] = [
        RecordStatus::Running,
        RecordStatus::Finished,
        RecordStatus::Failed,
    ];

    /// The stored name (`running`, `finished`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::Running => "running",
            RecordStatus::Finished => "finished",
            RecordStatus::Failed => "failed",
        }
    }

    /// `finished` or `failed`.
    pub fn is_final(self) -> bool {
        !matches!(self, RecordStatus::Running)
    }
}

impl fmt::Display for RecordStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RecordStatus {
    type Err = Error;

    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) listing the valid names.
    fn from_str(s: &str) -> Result<RecordStatus> {
        RecordStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                Error::invalid_input(format!(
                    "unknown record status {s:?}: expected one of running, finished, failed"
                ))
            })
    }
}

/// A record as stored (artifacts are fetched separately).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The record id, made client-side at creation.
    #[serde(rename = "_id")]
    pub id: RecordId,
    /// The experiment the record belongs to.
    pub experiment: String,
    /// The pool of the task that produced it, if any.
    pub pool: Option<String>,
    /// The task that produced it, if any.
    pub task_id: Option<TaskId>,
    /// The task definition (`null` when the record has no task).
    pub task: Value,
    /// Flattened parameters (`model.kwargs.alpha` → value).
    pub params: BTreeMap<String, Value>,
    /// Metrics (finite numbers).
    pub metrics: BTreeMap<String, f64>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Status.
    pub status: RecordStatus,
    /// When the record was created.
    pub created_at: Timestamp,
    /// When the record last changed (artifact writes do not count).
    pub updated_at: Timestamp,
    /// When the record became `finished` or `failed`; `None` while `running`.
    pub finished_at: Option<Timestamp>,
}

/// One artifact of a record, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactInfo {
    /// The artifact's name.
    pub name: String,
    /// Its length in bytes.
    pub len: u64,
}
