//! Store errors as Python exceptions.
//!
//! The exception classes live in the pure-Python module `taskpool.errors`
//! (they need multiple inheritance: `InvalidInput` is also a `ValueError`,
//! `NotFound` a `LookupError`, `Unavailable` a `ConnectionError`); this
//! module picks the class by [`ErrorKind`], never by message text.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyType;
use taskpool::store::{Error, ErrorKind};

/// The module that defines the exception classes.
const ERRORS_MODULE: &str = "taskpool.errors";

/// The `taskpool.errors` class name for an error kind.
fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::NotFound => "NotFound",
        ErrorKind::AlreadyExists => "AlreadyExists",
        ErrorKind::LeaseLost => "LeaseLost",
        ErrorKind::InvalidQuery => "InvalidQuery",
        ErrorKind::InvalidInput => "InvalidInput",
        ErrorKind::Unsupported => "Unsupported",
        ErrorKind::Config => "ConfigError",
        ErrorKind::Unavailable => "Unavailable",
        _ => "BackendError",
    }
}

/// The exception for a store error: the `taskpool.errors` class of its kind
/// with the Rust message (already free of credentials).
pub fn store_error(py: Python<'_>, error: &Error) -> PyErr {
    raise(py, class_name(error.kind()), error.to_string())
}

/// `taskpool.errors.<class>(message)`.
pub fn raise(py: Python<'_>, class: &str, message: String) -> PyErr {
    let class = py
        .import(ERRORS_MODULE)
        .and_then(|module| module.getattr(class))
        .and_then(|class| Ok(class.cast_into::<PyType>()?));
    match class {
        Ok(class) => PyErr::from_type(class, message),
        Err(import_error) => PyRuntimeError::new_err(format!(
            "{message} (and {ERRORS_MODULE} could not be imported: {import_error})"
        )),
    }
}

/// `taskpool.InvalidInput(message)`.
pub fn invalid_input(py: Python<'_>, message: impl Into<String>) -> PyErr {
    raise(py, "InvalidInput", message.into())
}
