//! [`MongoError`], the errors of this backend, and the one conversion into
//! [`task_store::Error`] with a precise kind and no secrets.

use mongodb::error::{Error as DriverError, ErrorKind as DriverKind, WriteFailure};
use task_store::redact::Secrets;
use task_store::{Error, ErrorKind};

/// MongoDB's duplicate-key error code.
pub(crate) const DUPLICATE_KEY: i32 = 11000;

/// MongoDB's `NamespaceNotFound`: `listIndexes` or `drop` on a collection
/// that does not exist.
pub(crate) const NAMESPACE_NOT_FOUND: i32 = 26;

/// What went wrong in this backend. Every public operation turns it into a
/// [`task_store::Error`] through the one `From` impl below.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MongoError {
    /// The driver (or the server through it) failed while doing `doing`. The
    /// driver's message is kept, scrubbed of `secrets`; the driver error is
    /// not attached, as its `Display` is outside our control.
    #[error("MongoDB {doing} failed{}: {}", hint(source), secrets.scrub(&source.to_string()))]
    Driver {
        /// What the store was doing ("claiming a task").
        doing: String,
        /// The driver's error.
        source: DriverError,
        /// The passwords to keep out of the message.
        secrets: Secrets,
    },
    /// A URL that is not a MongoDB URL or does not parse (already redacted).
    #[error("{0}")]
    BadUrl(String),
    /// A stored document that is not what taskpool writes.
    #[error(
        "stored {what} is not a taskpool record: field {field:?} is missing or has the wrong type"
    )]
    Malformed {
        /// The document ("task 65f…", "record 65f…").
        what: String,
        /// The offending field.
        field: String,
    },
    /// A stored value with no JSON form, or an unexpected server answer.
    #[error("{0}")]
    Unexpected(String),
    /// A value BSON cannot hold, or a document over MongoDB's size limit.
    #[error("{0}")]
    Unstorable(String),
}

impl MongoError {
    /// A driver error raised while doing `doing`.
    pub(crate) fn driver(source: DriverError, doing: &str, secrets: &Secrets) -> MongoError {
        MongoError::Driver {
            doing: doing.to_string(),
            source,
            secrets: secrets.clone(),
        }
    }
}

impl From<MongoError> for Error {
    fn from(err: MongoError) -> Error {
        let kind = match &err {
            MongoError::Driver { source, .. } => kind_of(source),
            MongoError::BadUrl(_) => ErrorKind::Config,
            MongoError::Malformed { .. } | MongoError::Unexpected(_) => ErrorKind::Backend,
            MongoError::Unstorable(_) => ErrorKind::InvalidInput,
        };
        Error::new(kind, err.to_string())
    }
}

fn hint(source: &DriverError) -> &'static str {
    if matches!(source.kind.as_ref(), DriverKind::DnsResolve { .. }) {
        " (is the host name right?)"
    } else if matches!(source.kind.as_ref(), DriverKind::Shutdown) {
        " (the store was closed)"
    } else if kind_of(source) == ErrorKind::Unavailable {
        " (is the server running and reachable?)"
    } else {
        ""
    }
}

/// The server error code carried by a driver error, if any.
pub(crate) fn server_code(err: &DriverError) -> Option<i32> {
    match err.kind.as_ref() {
        DriverKind::Command(e) => Some(e.code),
        DriverKind::Write(WriteFailure::WriteError(e)) => Some(e.code),
        DriverKind::Write(WriteFailure::WriteConcernError(e)) => Some(e.code),
        DriverKind::InsertMany(e) => e
            .write_errors
            .as_ref()
            .and_then(|w| w.first())
            .map(|w| w.code)
            .or_else(|| e.write_concern_error.as_ref().map(|w| w.code)),
        _ => None,
    }
}

/// The kind for a server error code.
fn kind_of_code(code: i32) -> ErrorKind {
    match code {
        DUPLICATE_KEY | 11001 | 12582 => ErrorKind::AlreadyExists,
        // BSONObjectTooLarge and "resulting document after update is too large".
        10334 | 17419 | 17420 => ErrorKind::InvalidInput,
        // Unauthorized, AuthenticationFailed.
        13 | 18 => ErrorKind::Config,
        // HostUnreachable, HostNotFound, NetworkTimeout, ShutdownInProgress,
        // PrimarySteppedDown, SocketException, NotWritablePrimary,
        // InterruptedAtShutdown, InterruptedDueToReplStateChange,
        // NotPrimaryNoSecondaryOk, NotPrimaryOrSecondary.
        6 | 7 | 89 | 91 | 189 | 9001 | 10107 | 11600 | 11602 | 13435 | 13436 => {
            ErrorKind::Unavailable
        }
        _ => ErrorKind::Backend,
    }
}

/// Whether the error says no server could be reached (as opposed to a
/// refused request).
pub(crate) fn is_unreachable(err: &DriverError) -> bool {
    matches!(
        err.kind.as_ref(),
        DriverKind::ServerSelection { .. }
            | DriverKind::Io(_)
            | DriverKind::ConnectionPoolCleared { .. }
            | DriverKind::DnsResolve { .. }
            | DriverKind::Shutdown
    )
}

/// The kind for any driver error.
fn kind_of(err: &DriverError) -> ErrorKind {
    if is_unreachable(err) {
        return ErrorKind::Unavailable;
    }
    match err.kind.as_ref() {
        DriverKind::Authentication { .. }
        | DriverKind::InvalidTlsConfig { .. }
        | DriverKind::IncompatibleServer { .. } => ErrorKind::Config,
        DriverKind::InvalidArgument { .. } | DriverKind::BsonSerialization(_) => {
            ErrorKind::InvalidInput
        }
        _ => server_code(err).map_or(ErrorKind::Backend, kind_of_code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_of_code_sorts_server_errors() {
        assert_eq!(kind_of_code(DUPLICATE_KEY), ErrorKind::AlreadyExists);
        assert_eq!(kind_of_code(10334), ErrorKind::InvalidInput);
        assert_eq!(kind_of_code(18), ErrorKind::Config);
        assert_eq!(kind_of_code(91), ErrorKind::Unavailable);
        assert_eq!(kind_of_code(1), ErrorKind::Backend);
    }

    #[test]
    fn driver_errors_are_scrubbed_of_secrets() {
        let secrets = Secrets::from_url("mongodb://u:hunter2@h/", None);
        let source = DriverError::from(std::io::Error::other("auth with hunter2 failed"));
        let err = Error::from(MongoError::driver(source, "connecting", &secrets));
        assert!(!err.message().contains("hunter2"), "{}", err.message());
        assert!(
            err.message().contains("auth with *** failed"),
            "{}",
            err.message()
        );
        assert_eq!(err.kind(), ErrorKind::Unavailable);
    }
}
