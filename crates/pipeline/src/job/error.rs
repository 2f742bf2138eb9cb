//! [`JobError`]: why a `taskpool run` job stopped.

use crate::data::DataError;

/// Why a job could not run to its report.
///
/// [`JobError::is_bad_input`] separates the user's mistakes (a bad config, a
/// missing data file: exit code 2 in the CLI) from failures of the run itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The configuration text is not valid YAML.
    #[error("config: {0}")]
    Syntax(String),
    /// A configuration value is missing, unknown or out of range.
    #[error("config{}: {message}", named(key))]
    Config {
        /// The dotted path of the offending key (`rolling.step`); empty for
        /// the top level.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// The market data could not be loaded.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A store operation failed.
    #[error(transparent)]
    Store(#[from] task_store::Error),
    /// Some tasks failed for good (after their attempts); the messages are
    /// the last error of each, at most a few.
    #[error("{count} task(s) failed; first: {first}")]
    TasksFailed {
        /// How many tasks failed.
        count: usize,
        /// The first failure's task id and last error.
        first: String,
    },
    /// The worker processes could not be started, or all of them exited
    /// while tasks were still pending.
    #[error("worker processes: {0}")]
    Workers(String),
    /// `trainer.timeout` passed with tasks still waiting or running.
    #[error("timed out with {pending} task(s) still waiting or running")]
    TimedOut {
        /// How many.
        pending: u64,
    },
    /// Results were collected but are inconsistent with the tasks (a record
    /// missing for a done task, a prediction frame that does not decode…).
    #[error("collecting results: {0}")]
    Collect(String),
    /// The report could not be written.
    #[error("writing the report to {path}: {message}")]
    Report {
        /// The file or directory.
        path: String,
        /// What failed.
        message: String,
    },
}

/// `` `key` `` after a space, or nothing for the top level.
fn named(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!(" `{key}`")
    }
}

impl JobError {
    /// A [`JobError::Config`] for `key`.
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> JobError {
        JobError::Config {
            key: key.into(),
            message: message.into(),
        }
    }

    /// Whether the error is the user's input (config or data), not the run.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            JobError::Syntax(_) | JobError::Config { .. } | JobError::Data(_)
        )
    }
}
