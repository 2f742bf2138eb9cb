//! The backend's private error type and its mapping onto [`task_store::Error`].

use rusqlite::ErrorCode;
use task_store::{Error, ErrorKind, RecordId, TaskId};

/// Everything that can go wrong inside the SQLite backend.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SqliteError {
    /// A store-level outcome (not found, lease lost…) decided by an operation.
    #[error(transparent)]
    Store(#[from] Error),
    /// An error reported by SQLite.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The URL or path cannot name a SQLite store.
    #[error("{0}")]
    BadUrl(String),
    /// The file exists but cannot be used as a taskpool store (not SQLite,
    /// another application's database, a newer schema, read-only…).
    #[error("{0}")]
    Unusable(String),
    /// A stored row does not decode into a task, record or artifact.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The connection thread has stopped.
    #[error("the SQLite connection thread has stopped")]
    ThreadGone,
    /// The operation panicked on the connection thread; its writes were
    /// rolled back and the thread went on serving.
    #[error("a SQLite operation panicked; its writes were rolled back")]
    Panicked,
}

impl SqliteError {
    /// `NotFound` for a task that is not in the pool.
    pub(crate) fn task_not_found(pool: &str, id: TaskId) -> SqliteError {
        SqliteError::Store(Error::not_found(format!("no task {id} in pool {pool:?}")))
    }

    /// `NotFound` for a record that is not in the experiment.
    pub(crate) fn record_not_found(experiment: &str, id: RecordId) -> SqliteError {
        SqliteError::Store(Error::not_found(format!(
            "no record {id} in experiment {experiment:?}"
        )))
    }

    fn kind(&self) -> ErrorKind {
        match self {
            SqliteError::Store(e) => e.kind(),
            SqliteError::Sqlite(e) => sqlite_kind(e),
            SqliteError::BadUrl(_) | SqliteError::Unusable(_) => ErrorKind::Config,
            SqliteError::Corrupt(_) | SqliteError::Panicked => ErrorKind::Backend,
            SqliteError::ThreadGone => ErrorKind::Unavailable,
        }
    }

    /// The same error again, for each operation of a write group that failed
    /// as a whole: a SQLite failure keeps its codes and message (so its kind),
    /// any other error its kind and message.
    pub(crate) fn duplicate(&self) -> SqliteError {
        match self {
            SqliteError::Sqlite(rusqlite::Error::SqliteFailure(code, message)) => {
                SqliteError::Sqlite(rusqlite::Error::SqliteFailure(*code, message.clone()))
            }
            SqliteError::Store(e) => SqliteError::Store(Error::new(e.kind(), e.message())),
            other => SqliteError::Store(Error::new(other.kind(), other.to_string())),
        }
    }
}

fn sqlite_kind(e: &rusqlite::Error) -> ErrorKind {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => ErrorKind::Unavailable,
        Some(ErrorCode::DiskFull | ErrorCode::SystemIoFailure | ErrorCode::OutOfMemory) => {
            ErrorKind::Unavailable
        }
        Some(
            ErrorCode::NotADatabase
            | ErrorCode::ReadOnly
            | ErrorCode::CannotOpen
            | ErrorCode::PermissionDenied,
        ) => ErrorKind::Config,
        _ => ErrorKind::Backend,
    }
}

impl From<SqliteError> for Error {
    fn from(e: SqliteError) -> Error {
        match e {
            SqliteError::Store(e) => e,
            SqliteError::Sqlite(source) => {
                let kind = sqlite_kind(&source);
                let message = match kind {
                    ErrorKind::Unavailable => "the SQLite store is busy or unavailable",
                    ErrorKind::Config => "the SQLite store cannot be used",
                    _ => "SQLite failed",
                };
                Error::new(kind, message).with_source(source)
            }
            other => Error::new(other.kind(), other.to_string()),
        }
    }
}

/// Result alias inside the backend.
pub(crate) type Result<T, E = SqliteError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn sqlite_codes_map_to_precise_kinds() {
        let cases = [
            (rusqlite::ffi::SQLITE_BUSY, ErrorKind::Unavailable),
            (rusqlite::ffi::SQLITE_LOCKED, ErrorKind::Unavailable),
            (rusqlite::ffi::SQLITE_NOTADB, ErrorKind::Config),
            (rusqlite::ffi::SQLITE_READONLY, ErrorKind::Config),
            (rusqlite::ffi::SQLITE_CANTOPEN, ErrorKind::Config),
            (rusqlite::ffi::SQLITE_CORRUPT, ErrorKind::Backend),
        ];
        for (code, kind) in cases {
            let e: Error = SqliteError::from(failure(code)).into();
            assert_eq!(e.kind(), kind, "code {code}");
        }
    }

    #[test]
    fn store_errors_pass_through() {
        let e: Error = SqliteError::from(Error::lease_lost("x")).into();
        assert_eq!(e.kind(), ErrorKind::LeaseLost);
        let e: Error = SqliteError::Unusable("newer schema".into()).into();
        assert_eq!(e.kind(), ErrorKind::Config);
    }
}
