//! Exit codes and one-line error reports.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the operation failed |
//! | 2 | bad usage or bad input (arguments, files, queries, store URL) |
//! | 3 | not found |
//! | 4 | store unavailable |
//! | 130 | interrupted by SIGINT/SIGTERM (`run`, `worker`, `online`): unfinished tasks were handed back; run again to continue |

use std::fmt;
use std::process::ExitCode;

use taskpool::store::ErrorKind;
use taskpool_experiment::job::JobError;

/// The operation failed.
pub const FAILED: u8 = 1;
/// Bad usage or bad input.
pub const USAGE: u8 = 2;
/// Not found.
pub const NOT_FOUND: u8 = 3;
/// The store is unavailable.
pub const UNAVAILABLE: u8 = 4;
/// Interrupted by SIGINT/SIGTERM before the end (`run`, `worker`, `online`): unfinished tasks
/// were handed back. 128 + SIGINT, as a shell reports a Ctrl-C.
pub const INTERRUPTED: u8 = 130;

/// The exit-code table, for `--help`.
pub const EXIT_CODES_HELP: &str = "Exit codes: 0 ok, 1 operation failed, 2 bad usage or bad input, 3 not found, 4 store unavailable, 130 interrupted by SIGINT/SIGTERM (run, worker, online).";

/// An error that says its own exit code: bad input ([`USAGE`], see
/// [`bad_input`]) or an interruption ([`INTERRUPTED`], see [`interrupted`]).
#[derive(Debug)]
pub struct CodedError {
    code: u8,
    message: String,
}

impl fmt::Display for CodedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CodedError {}

/// A command stopped by SIGINT/SIGTERM after handing unfinished work back
/// (exit code 130); the message says what was handed back.
pub fn interrupted(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(CodedError {
        code: INTERRUPTED,
        message: message.into(),
    })
}

/// Shorthand: an `anyhow` error with exit code 2.
pub fn bad_input(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(CodedError {
        code: USAGE,
        message: message.into(),
    })
}

/// The exit code for an error: by the first store error, [`CodedError`] or
/// interrupted job in its chain.
pub fn code_for(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(JobError::Interrupted { .. }) = cause.downcast_ref::<JobError>() {
            return INTERRUPTED;
        }
        if let Some(e) = cause.downcast_ref::<CodedError>() {
            return e.code;
        }
        if let Some(e) = cause.downcast_ref::<taskpool::store::Error>() {
            return match e.kind() {
                ErrorKind::NotFound => NOT_FOUND,
                ErrorKind::Unavailable => UNAVAILABLE,
                ErrorKind::InvalidQuery | ErrorKind::InvalidInput | ErrorKind::Config => USAGE,
                _ => FAILED,
            };
        }
    }
    FAILED
}

/// Print `error` as one line on stderr (line breaks inside messages, such as
/// a server's, become spaces) and return its exit code.
pub fn report(error: &anyhow::Error) -> ExitCode {
    let message = format!("{error:#}");
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let code = code_for(error);
    let label = if code == INTERRUPTED {
        "interrupted"
    } else {
        "error"
    };
    eprintln!("taskpool: {label}: {}", lines.join(" "));
    ExitCode::from(code)
}

/// Print a clap parse error (or help/version) and return its exit code.
pub fn clap_error(error: clap::Error) -> ExitCode {
    let _ = error.print();
    if error.use_stderr() {
        ExitCode::from(USAGE)
    } else {
        ExitCode::SUCCESS
    }
}
