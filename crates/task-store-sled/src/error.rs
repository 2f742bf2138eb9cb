//! The backend's private errors and their one conversion into [`task_store::Error`].

use std::io;

use task_store::{Error, ErrorKind, RecordId, TaskId};

/// What can go wrong in the sled backend.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SledError {
    /// Another process (or another store in this process) holds the database.
    #[error(
        "the sled database {path} is locked by another process{holder} (sled allows one process per database)"
    )]
    Locked { path: String, holder: String },
    /// The lock file, the database directory or sled's log file cannot be used.
    #[error("cannot use {path}")]
    Io { path: String, source: io::Error },
    /// sled failed to open the database.
    #[error("cannot open the sled database {path}")]
    Open { path: String, source: sled::Error },
    /// sled failed during an operation.
    #[error("sled")]
    Sled(#[from] sled::Error),
    /// The sync that was to make this write durable failed (in the writer
    /// that led it, which reports the cause with its source): the write may
    /// or may not be on disk.
    #[error("the sled database's log {path} could not be made durable: {cause}")]
    FlushFailed { path: String, cause: String },
    /// A stored value written by another format or layout version.
    #[error(
        "a stored {what} has format version {found}; this build reads version {expected}: the database was written by a different taskpool version"
    )]
    UnknownVersion {
        what: &'static str,
        found: u8,
        expected: u8,
    },
    /// Bytes that do not decode, or entries that disagree.
    #[error("corrupt sled database: {0}")]
    Corrupt(String),
    /// A value that cannot be encoded.
    #[error("cannot encode a {what}: {message}")]
    Encode { what: &'static str, message: String },
    /// A URL this backend does not take.
    #[error("{0}")]
    Url(String),
    /// The blocking thread an operation ran on failed.
    #[error("the sled blocking thread failed")]
    Thread(#[source] tokio::task::JoinError),
    /// The batch writer stopped before it answered (it panicked).
    #[error("the sled batch writer stopped before it applied this write")]
    WriterGone,
    /// No task `id` in the pool.
    #[error("no task {id} in pool {pool:?}")]
    TaskNotFound { pool: String, id: TaskId },
    /// Another task of the pool has this definition.
    #[error("task {other} in pool {pool:?} already has this definition")]
    DuplicateDefinition { pool: String, other: TaskId },
    /// No record `id` in the experiment.
    #[error("no record {id} in experiment {experiment:?}")]
    RecordNotFound { experiment: String, id: RecordId },
    /// A record with this id exists already.
    #[error("record {id} already exists in experiment {experiment:?}")]
    RecordExists { experiment: String, id: RecordId },
    /// The record has no artifact of this name.
    #[error("no artifact {name:?} in record {id} of experiment {experiment:?}")]
    ArtifactNotFound {
        experiment: String,
        id: RecordId,
        name: String,
    },
    /// An artifact too long to count its chunks.
    #[error("artifact of {len} bytes is too long")]
    ArtifactTooLong { len: usize },
}

impl SledError {
    fn kind(&self) -> ErrorKind {
        match self {
            SledError::Locked { .. } | SledError::Io { .. } | SledError::FlushFailed { .. } => {
                ErrorKind::Unavailable
            }
            SledError::Open { source, .. } | SledError::Sled(source) => match source {
                // I/O failures (disk, permissions, sled's own lock) make the
                // store unavailable; anything else sled reports is a backend
                // failure.
                sled::Error::Io(_) => ErrorKind::Unavailable,
                _ => ErrorKind::Backend,
            },
            SledError::UnknownVersion { .. } | SledError::Url(_) => ErrorKind::Config,
            SledError::Corrupt(_)
            | SledError::Encode { .. }
            | SledError::Thread(_)
            | SledError::WriterGone => ErrorKind::Backend,
            SledError::TaskNotFound { .. }
            | SledError::RecordNotFound { .. }
            | SledError::ArtifactNotFound { .. } => ErrorKind::NotFound,
            SledError::DuplicateDefinition { .. } | SledError::RecordExists { .. } => {
                ErrorKind::AlreadyExists
            }
            SledError::ArtifactTooLong { .. } => ErrorKind::InvalidInput,
        }
    }
}

impl From<SledError> for Error {
    fn from(error: SledError) -> Error {
        let kind = error.kind();
        let message = error.to_string();
        match error {
            SledError::Io { source, .. } => Error::new(kind, message).with_source(source),
            SledError::Open { source, .. } | SledError::Sled(source) => {
                Error::new(kind, message).with_source(source)
            }
            SledError::Thread(source) => Error::new(kind, message).with_source(source),
            _ => Error::new(kind, message),
        }
    }
}
