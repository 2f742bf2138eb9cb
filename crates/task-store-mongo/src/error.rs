//! Driver errors as [`task_store::Error`]s with a precise kind and no secrets.

use mongodb::error::{Error as DriverError, ErrorKind as DriverKind, WriteFailure};
use task_store::{Error, ErrorKind};

use task_store::redact::Secrets;

/// MongoDB's duplicate-key error code.
pub(crate) const DUPLICATE_KEY: i32 = 11000;

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

/// Convert a driver error raised while doing `what`. The driver's message is
/// kept (scrubbed of secrets); the driver error itself is not attached, as
/// its `Display` is outside our control.
pub(crate) fn convert(err: DriverError, what: &str, secrets: &Secrets) -> Error {
    let kind = kind_of(&err);
    let text = secrets.scrub(&err.to_string());
    let hint = match kind {
        ErrorKind::Unavailable => " (is the server running and reachable?)",
        _ => "",
    };
    Error::new(kind, format!("MongoDB {what} failed{hint}: {text}"))
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
}
