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
    /// A shutdown (SIGINT/SIGTERM) stopped the job before its report: no
    /// task was claimed after it, and every task not finished was handed
    /// back to the pool without counting the attempt. Running the job again
    /// reuses the tasks done and trains the rest.
    #[error("{}", interrupted_message(*signal, stat.as_ref()))]
    Interrupted {
        /// The signal that asked for the stop, if one did.
        signal: Option<i32>,
        /// The job's tasks by status once the workers stopped (`None` if
        /// the store could not count them).
        stat: Option<task_store::Stat>,
    },
    /// Results were collected but are inconsistent with the tasks (a record
    /// missing for a done task, a prediction frame that does not decode…).
    #[error("collecting results: {0}")]
    Collect(String),
    /// Online serving cannot do what was asked with the state the store
    /// holds (a routine before `init`, an `init` after routines).
    #[error("online: {0}")]
    Online(String),
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

fn interrupted_message(signal: Option<i32>, stat: Option<&task_store::Stat>) -> String {
    let by = match signal {
        Some(libc::SIGINT) => " by SIGINT".to_string(),
        Some(libc::SIGTERM) => " by SIGTERM".to_string(),
        Some(n) => format!(" by signal {n}"),
        None => String::new(),
    };
    let Some(stat) = stat else {
        return format!(
            "interrupted{by}: unfinished tasks were handed back (attempts not counted); run the job again to continue"
        );
    };
    let total = stat.waiting + stat.running + stat.part_done + stat.done + stat.failed;
    let mut message = format!(
        "interrupted{by}: {} of {total} task(s) done, {} waiting (handed back or not started; attempts not counted)",
        stat.done, stat.waiting
    );
    if stat.running > 0 {
        message.push_str(&format!(
            ", {} still running (claimable again once their lease expires)",
            stat.running
        ));
    }
    if stat.failed > 0 {
        message.push_str(&format!(", {} failed", stat.failed));
    }
    message.push_str("; run the job again to continue");
    message
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
            JobError::Syntax(_) | JobError::Config { .. } | JobError::Data(_) | JobError::Online(_)
        )
    }
}
