//! The error type of task generation.

use jiff::civil::Date;

use crate::time_adjust::{TimeError, UnknownRollType};

/// Why tasks could not be generated. Every variant names the offending
/// parameter, key or path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenError {
    /// A generator parameter is out of range (step 0, empty horizon list…).
    #[error("invalid {param}: {reason}")]
    Config {
        /// The parameter.
        param: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A rolling type other than `sliding` / `expanding`.
    #[error(transparent)]
    UnknownRollType(#[from] UnknownRollType),
    /// A key the generator needs is absent from the task.
    #[error("the task has no `{path}`")]
    MissingKey {
        /// Dotted path of the key.
        path: String,
    },
    /// A value of the task has the wrong JSON type.
    #[error("`{path}` must be {expected}")]
    WrongType {
        /// Dotted path of the value.
        path: String,
        /// What it must be.
        expected: &'static str,
    },
    /// The segment named by `test_key` / `train_key` is absent.
    #[error("dataset.kwargs.segments has no `{key}` segment")]
    MissingSegment {
        /// The segment key.
        key: String,
    },
    /// A segment that is not a 2-element list `[start, end]`.
    #[error("segment `{key}` must be a 2-element list [start, end]")]
    BadSegment {
        /// The segment key.
        key: String,
    },
    /// A value that must be a date (or `null`) is not.
    #[error("`{path}`: {value} is not a date (expected \"YYYY-MM-DD\" or null)")]
    InvalidDate {
        /// Dotted path of the value.
        path: String,
        /// The value as JSON text.
        value: String,
    },
    /// A segment whose start is after its end.
    #[error("segment `{key}` starts on {start}, after its end {end}")]
    UnorderedSegment {
        /// The segment key.
        key: String,
        /// Its start.
        start: Date,
        /// Its end.
        end: Date,
    },
    /// The test segment has no start (`null`).
    #[error("the test segment `{key}` has an open start (null): rolling needs a test start")]
    OpenTestStart {
        /// The test segment key.
        key: String,
    },
    /// A segment does not fit the calendar.
    #[error("segment `{key}`")]
    Time {
        /// The segment key.
        key: String,
        /// What does not fit.
        #[source]
        source: TimeError,
    },
    /// A malformed dotted JSON path.
    #[error("invalid JSON path `{path}`: {reason}")]
    BadPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl From<GenError> for task_store::Error {
    fn from(error: GenError) -> Self {
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        task_store::Error::new(task_store::ErrorKind::InvalidInput, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn into_store_error_is_invalid_input_with_cause() {
        let error = GenError::Time {
            key: "train".to_owned(),
            source: TimeError::ShiftedPastCalendar {
                last: jiff::civil::date(2021, 1, 30),
            },
        };
        let store: task_store::Error = error.into();
        assert_eq!(store.kind(), task_store::ErrorKind::InvalidInput);
        assert!(store.to_string().contains("2021-01-30"));
    }
}
