//! The backend's private errors and their one conversion into [`task_store::Error`].

use std::io;

use task_store::{Error, ErrorKind};

/// What can go wrong in the sled backend.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SledError {
    /// Another process (or another store in this process) holds the database.
    #[error(
        "the sled database {path} is locked by another process{holder} (sled allows one process per database)"
    )]
    Locked { path: String, holder: String },
    /// The lock file or the database directory cannot be used.
    #[error("cannot use {path}")]
    Io { path: String, source: io::Error },
    /// sled failed to open the database.
    #[error("cannot open the sled database {path}")]
    Open { path: String, source: sled::Error },
    /// sled failed during an operation.
    #[error("sled")]
    Sled(#[from] sled::Error),
    /// A record written by another format version.
    #[error(
        "a task record has format version {found}; this build reads version {}: the database was written by a different taskpool version",
        crate::record::FORMAT_VERSION
    )]
    UnknownVersion { found: u8 },
    /// A record or artifact directory written by another format version.
    #[error(
        "a stored {what} has format version {found}; this build reads version {expected}: the database was written by a different taskpool version"
    )]
    UnknownEntryVersion {
        what: &'static str,
        found: u8,
        expected: u8,
    },
    /// Bytes that do not decode.
    #[error("corrupt sled database: {0}")]
    Corrupt(String),
    /// A record that cannot be encoded.
    #[error("cannot encode a task record: {0}")]
    Encode(String),
    /// A record or artifact directory that cannot be encoded.
    #[error("cannot encode a {what}: {message}")]
    EncodeEntry { what: &'static str, message: String },
    /// A URL this backend does not take.
    #[error("{0}")]
    Url(String),
    /// The blocking worker thread failed.
    #[error("the sled worker thread failed")]
    Worker(#[source] tokio::task::JoinError),
}

impl SledError {
    fn kind(&self) -> ErrorKind {
        match self {
            SledError::Locked { .. } | SledError::Io { .. } => ErrorKind::Unavailable,
            SledError::Open { source, .. } | SledError::Sled(source) => sled_kind(source),
            SledError::UnknownVersion { .. }
            | SledError::UnknownEntryVersion { .. }
            | SledError::Url(_) => ErrorKind::Config,
            SledError::Corrupt(_)
            | SledError::Encode(_)
            | SledError::EncodeEntry { .. }
            | SledError::Worker(_) => ErrorKind::Backend,
        }
    }
}

/// I/O failures (disk, permissions, sled's own lock) make the store
/// unavailable; anything else sled reports is a backend failure.
fn sled_kind(error: &sled::Error) -> ErrorKind {
    match error {
        sled::Error::Io(_) => ErrorKind::Unavailable,
        _ => ErrorKind::Backend,
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
            SledError::Worker(source) => Error::new(kind, message).with_source(source),
            _ => Error::new(kind, message),
        }
    }
}

/// A sled error as a store error.
pub(crate) fn sled_error(error: sled::Error) -> Error {
    SledError::Sled(error).into()
}
