//! The task record, identical on every backend (see DESIGN.md, "The task record").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::id::TaskId;
use crate::time::Timestamp;

/// Where a task is in its lifecycle.
///
/// ```text
/// waiting ──claim──► running ──commit──► done | part_done | waiting
/// part_done ─claim─► running ──return (error, attempts left)──► from_status
///                            ──return (error, attempts exhausted) / lease expired and exhausted──► failed
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Ready for its first phase.
    Waiting,
    /// Held by a worker under a lease.
    Running,
    /// First phase done; `res` is the input of the second phase.
    PartDone,
    /// Finished; `res` holds the result.
    Done,
    /// Gave up after `max_attempts` attempts; `errors` says why.
    Failed,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 5] = [
        Status::Waiting,
        Status::Running,
        Status::PartDone,
        Status::Done,
        Status::Failed,
    ];

    /// The stored name (`waiting`, `running`, `part_done`, `done`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Waiting => "waiting",
            Status::Running => "running",
            Status::PartDone => "part_done",
            Status::Done => "done",
            Status::Failed => "failed",
        }
    }

    /// `waiting`, `running` or `part_done`: work remains.
    pub fn is_undone(self) -> bool {
        matches!(self, Status::Waiting | Status::Running | Status::PartDone)
    }

    /// `waiting` or `part_done`: a status a claim may start from.
    pub fn is_claimable(self) -> bool {
        matches!(self, Status::Waiting | Status::PartDone)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = Error;

    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) listing the valid names.
    fn from_str(s: &str) -> Result<Status> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                Error::invalid_input(format!(
                    "unknown status {s:?}: expected one of waiting, running, part_done, done, failed"
                ))
            })
    }
}

/// The lease of a `running` task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Who holds it (a worker id such as `host:pid:n`).
    pub owner: String,
    /// The fencing token: heartbeat, commit and return must present it.
    pub token: String,
    /// When the lease runs out; after that the task is claimable again.
    pub expires_at: Timestamp,
    /// The status the task was claimed from (`waiting` or `part_done`).
    pub from_status: Status,
}

/// One entry of a task's error history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEntry {
    /// The attempt that failed (1-based).
    pub attempt: u32,
    /// When it was recorded.
    pub at: Timestamp,
    /// The lease owner that reported it.
    pub owner: String,
    /// What went wrong (truncated to [`MAX_ERROR_MESSAGE_BYTES`]).
    pub message: String,
}

/// How many error entries a task keeps (the oldest are dropped).
pub const MAX_ERRORS: usize = 10;
/// The longest error message kept, in bytes (longer messages keep their tail).
pub const MAX_ERROR_MESSAGE_BYTES: usize = 8 * 1024;
/// The default attempt limit of a new task.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// A task as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// The id (24 hex digits), made client-side at creation.
    #[serde(rename = "_id")]
    pub id: TaskId,
    /// The task definition (never executed, never pickled).
    pub def: Value,
    /// The queryable copy of the definition (defaults to `def`).
    pub filter: Value,
    /// Content hash of the canonical JSON of `def`; unique within a pool.
    pub key: String,
    /// Lifecycle status.
    pub status: Status,
    /// Higher is claimed first; ties by `_id`.
    pub priority: i64,
    /// The result (after commit); a `part_done` result is the second phase's input.
    pub res: Option<Value>,
    /// Claims so far in the current phase (counted at claim).
    pub attempts: u32,
    /// Past this many attempts a failed or expired task becomes `failed`.
    pub max_attempts: u32,
    /// Set while `running`.
    pub lease: Option<Lease>,
    /// The most recent errors, oldest first, at most [`MAX_ERRORS`].
    pub errors: Vec<ErrorEntry>,
    /// When the task was created.
    pub created_at: Timestamp,
    /// When the task last changed.
    pub updated_at: Timestamp,
    /// When the task was last claimed.
    pub started_at: Option<Timestamp>,
    /// When the task reached `done` or `failed`.
    pub finished_at: Option<Timestamp>,
}

/// Task counts by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    /// `waiting` tasks.
    pub waiting: u64,
    /// `running` tasks (including those whose lease has expired).
    pub running: u64,
    /// `part_done` tasks.
    pub part_done: u64,
    /// `done` tasks.
    pub done: u64,
    /// `failed` tasks.
    pub failed: u64,
}

impl Stat {
    /// The count for one status.
    pub fn get(&self, status: Status) -> u64 {
        match status {
            Status::Waiting => self.waiting,
            Status::Running => self.running,
            Status::PartDone => self.part_done,
            Status::Done => self.done,
            Status::Failed => self.failed,
        }
    }

    /// Add `n` to the count of `status`.
    pub fn add(&mut self, status: Status, n: u64) {
        match status {
            Status::Waiting => self.waiting += n,
            Status::Running => self.running += n,
            Status::PartDone => self.part_done += n,
            Status::Done => self.done += n,
            Status::Failed => self.failed += n,
        }
    }

    /// Tasks with work remaining: waiting + running + part_done.
    pub fn undone(&self) -> u64 {
        self.waiting + self.running + self.part_done
    }

    /// All tasks.
    pub fn total(&self) -> u64 {
        self.undone() + self.done + self.failed
    }
}
