//! What a task function receives ([`TaskInput`]) and how it fails ([`TaskError`]).

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use task_store::{Error, Status, TaskId};

use super::shutdown::Shutdown;

/// Which phase of a task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Claim `waiting` tasks; the function receives the definition (`def`).
    #[default]
    First,
    /// Claim `part_done` tasks; the function receives the first phase's result (`res`).
    Second,
}

impl Phase {
    /// The status a claim for this phase starts from.
    pub fn from_status(self) -> Status {
        match self {
            Phase::First => Status::Waiting,
            Phase::Second => Status::PartDone,
        }
    }

    /// The name of the input field in the external-command envelope (`def` or `res`).
    pub fn input_field(self) -> &'static str {
        match self {
            Phase::First => "def",
            Phase::Second => "res",
        }
    }

    /// `first` or `second`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::First => "first",
            Phase::Second => "second",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One run of a task function.
#[derive(Debug, Clone)]
pub struct TaskInput {
    /// The task's id; `None` when a trainer runs tasks without a store
    /// ([`TrainerR`](crate::trainer::TrainerR)).
    pub id: Option<TaskId>,
    /// The pool; `None` without a store.
    pub pool: Option<String>,
    /// The attempt number of this run (1-based, counted per phase by the store).
    pub attempt: u32,
    /// Which phase runs.
    pub phase: Phase,
    /// The definition (first phase) or the first phase's result (second phase).
    pub payload: Value,
    /// An empty directory for this run's artifacts, removed after the run.
    /// With a record store, the files left there by a successful run become
    /// the artifacts of the task's record (see [`Worker::with_records`](super::Worker::with_records)).
    pub artifact_dir: PathBuf,
    /// Fires when the worker starts shutting down: a cooperative function may
    /// stop early (its task is then handed back, not counted as failed).
    pub shutdown: Shutdown,
}

impl TaskInput {
    /// The JSON object an external command receives on stdin:
    /// `{"id", "pool", "attempt", "phase", "def" | "res"}` (`id` and `pool`
    /// are `null` without a store).
    pub fn envelope(&self) -> Value {
        let mut map = Map::new();
        map.insert(
            "id".into(),
            self.id
                .map_or(Value::Null, |id| Value::String(id.to_string())),
        );
        map.insert(
            "pool".into(),
            self.pool.clone().map_or(Value::Null, Value::String),
        );
        map.insert("attempt".into(), Value::from(self.attempt));
        map.insert("phase".into(), Value::from(self.phase.as_str()));
        map.insert(self.phase.input_field().into(), self.payload.clone());
        Value::Object(map)
    }
}

/// Why a task function did not produce a result.
#[derive(Debug)]
pub enum TaskError {
    /// The task failed (an error, a panic, a non-zero exit, bad output, a
    /// timeout): the attempt counts, the message goes into the task's error
    /// history, and the task fails for good after `max_attempts`.
    Failed(String),
    /// The worker cannot run tasks at all (a command that cannot be started,
    /// no room for an artifact directory): the task is handed back without
    /// counting the attempt and the worker stops with this error.
    Worker(Error),
}

impl TaskError {
    /// A [`TaskError::Failed`] from anything displayable.
    pub fn failed(message: impl fmt::Display) -> TaskError {
        TaskError::Failed(message.to_string())
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Failed(message) => f.write_str(message),
            TaskError::Worker(error) => write!(f, "worker error: {error}"),
        }
    }
}

impl std::error::Error for TaskError {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use task_store::Timestamp;

    #[test]
    fn envelope_names_the_phase_input() {
        let id = TaskId::generate(Timestamp::from_millis(0));
        let mut input = TaskInput {
            id: Some(id),
            pool: Some("p".into()),
            attempt: 2,
            phase: Phase::First,
            payload: json!({"x": 1}),
            artifact_dir: PathBuf::from("/tmp"),
            shutdown: Shutdown::new(),
        };
        assert_eq!(
            input.envelope(),
            json!({"id": id.to_string(), "pool": "p", "attempt": 2, "phase": "first", "def": {"x": 1}})
        );
        input.phase = Phase::Second;
        input.id = None;
        input.pool = None;
        assert_eq!(
            input.envelope(),
            json!({"id": null, "pool": null, "attempt": 2, "phase": "second", "res": {"x": 1}})
        );
    }
}
