//! The command side of the worker protocol, for Rust programs: read the task
//! from stdin, run a closure, write the result on stdout.
//!
//! This is what taskpool offers for Qlib's `force_release` with Rust
//! closures: a closure cannot be moved into a fresh process, but the program
//! that defines it can run itself as the worker command (for instance
//! `std::env::current_exe()` with a subcommand that calls [`serve_stdio`]),
//! so each task gets a fresh process whose memory is returned when it exits.

use std::fmt;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Deserialize;
use serde_json::Value;
use task_store::{Error, TaskId};

use super::command::ENV_ARTIFACT_DIR;
use super::input::Phase;

/// A task as an external command receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandRequest {
    /// The task id (`None` without a store).
    pub id: Option<TaskId>,
    /// The pool (`None` without a store).
    pub pool: Option<String>,
    /// The attempt number.
    pub attempt: u32,
    /// The phase.
    pub phase: Phase,
    /// `def` in the first phase, `res` in the second.
    pub payload: Value,
    /// The artifact directory (`TASKPOOL_ARTIFACT_DIR`), if set.
    pub artifact_dir: Option<PathBuf>,
}

#[derive(Deserialize)]
struct Envelope {
    id: Option<TaskId>,
    pool: Option<String>,
    attempt: u32,
    phase: Phase,
    def: Option<Value>,
    res: Option<Value>,
}

impl CommandRequest {
    /// Parse the stdin envelope.
    ///
    /// # Errors
    /// `InvalidInput` if it is not a valid envelope or lacks the phase's input field.
    pub fn parse(bytes: &[u8], artifact_dir: Option<PathBuf>) -> Result<CommandRequest, Error> {
        let envelope: Envelope = serde_json::from_slice(bytes)
            .map_err(|e| Error::invalid_input(format!("invalid task envelope on stdin: {e}")))?;
        let payload = match envelope.phase {
            Phase::First => envelope.def,
            Phase::Second => envelope.res,
        }
        .ok_or_else(|| {
            Error::invalid_input(format!(
                "the task envelope has no {:?} field for the {} phase",
                envelope.phase.input_field(),
                envelope.phase
            ))
        })?;
        Ok(CommandRequest {
            id: envelope.id,
            pool: envelope.pool,
            attempt: envelope.attempt,
            phase: envelope.phase,
            payload,
            artifact_dir,
        })
    }
}

/// Serve one task: read the envelope from `stdin`, run `f`, write its result
/// as one JSON value on `stdout`.
///
/// # Errors
/// The message to print on stderr: a bad envelope, `f`'s error, or an I/O error.
pub fn serve<F, E>(
    mut stdin: impl Read,
    mut stdout: impl Write,
    artifact_dir: Option<PathBuf>,
    f: F,
) -> Result<(), String>
where
    F: FnOnce(CommandRequest) -> Result<Value, E>,
    E: fmt::Display,
{
    let mut bytes = Vec::new();
    stdin
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read stdin: {e}"))?;
    let request = CommandRequest::parse(&bytes, artifact_dir).map_err(|e| e.to_string())?;
    let result = f(request).map_err(|e| e.to_string())?;
    serde_json::to_writer(&mut stdout, &result).map_err(|e| format!("cannot write stdout: {e}"))?;
    stdout
        .write_all(b"\n")
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write stdout: {e}"))
}

/// [`serve`] on the process's stdin and stdout, with the artifact directory
/// from the environment; on failure the message goes to stderr and the exit
/// code is 1. Call it from `main` of a worker command.
pub fn serve_stdio<F, E>(f: F) -> ExitCode
where
    F: FnOnce(CommandRequest) -> Result<Value, E>,
    E: fmt::Display,
{
    let artifact_dir = std::env::var_os(ENV_ARTIFACT_DIR).map(PathBuf::from);
    match serve(
        std::io::stdin().lock(),
        std::io::stdout().lock(),
        artifact_dir,
        f,
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use task_store::ErrorKind;

    #[test]
    fn serve_runs_the_closure_on_the_phase_input() {
        let input =
            json!({"id": null, "pool": null, "attempt": 1, "phase": "second", "res": {"x": 2}});
        let mut out = Vec::new();
        serve(input.to_string().as_bytes(), &mut out, None, |req| {
            assert_eq!(req.phase, Phase::Second);
            Ok::<_, String>(json!({"y": req.payload["x"].as_i64().unwrap() * 10}))
        })
        .unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&out).unwrap(),
            json!({"y": 20})
        );
    }

    #[test]
    fn serve_reports_the_closure_error() {
        let input = json!({"id": null, "pool": null, "attempt": 1, "phase": "first", "def": 1});
        let err = serve(input.to_string().as_bytes(), Vec::new(), None, |_| {
            Err::<Value, _>("boom")
        })
        .unwrap_err();
        assert_eq!(err, "boom");
    }

    #[test]
    fn parse_rejects_an_envelope_without_the_phase_input() {
        let input = json!({"id": null, "pool": null, "attempt": 1, "phase": "second", "def": 1});
        let err = CommandRequest::parse(input.to_string().as_bytes(), None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}
