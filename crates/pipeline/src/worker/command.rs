//! [`CommandTask`]: run each task as an external command (the protocol of
//! `docs/worker-protocol.md`).

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use task_store::{Error, ErrorKind};
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use super::child_process::{ProcessGroup, StderrTail, read_capped, read_stderr};
use super::guard::tie_to_worker;
use super::input::{TaskError, TaskInput};
use super::task_fn::TaskFn;

/// The most stdout a command may write, in bytes (its result).
pub const MAX_STDOUT_BYTES: usize = 64 * 1024 * 1024;
/// How many stderr lines a failure records by default.
pub const DEFAULT_STDERR_LINES: usize = 20;
/// How long the worker keeps reading a command's output after it exited
/// (a background process that inherited the pipes may hold them open).
const OUTPUT_DRAIN: Duration = Duration::from_secs(2);

/// Environment variable: the task id (unset without a store).
pub const ENV_TASK_ID: &str = "TASKPOOL_TASK_ID";
/// Environment variable: the pool (unset without a store).
pub const ENV_POOL: &str = "TASKPOOL_POOL";
/// Environment variable: the attempt number.
pub const ENV_ATTEMPT: &str = "TASKPOOL_ATTEMPT";
/// Environment variable: the task's empty artifact directory.
pub const ENV_ARTIFACT_DIR: &str = "TASKPOOL_ARTIFACT_DIR";

/// A task function that runs an external command per task, without a shell.
///
/// Each task starts a fresh process (Qlib's `force_release`: memory is
/// returned to the system after every task) in its own process group:
///
/// - stdin: one JSON object `{"id", "pool", "attempt", "phase", "def" | "res"}`
///   ([`TaskInput::envelope`]), then end of file;
/// - environment: [`ENV_TASK_ID`], [`ENV_POOL`], [`ENV_ATTEMPT`],
///   [`ENV_ARTIFACT_DIR`] on top of the worker's own environment;
/// - stdout: exactly one JSON value, the result;
/// - exit status 0 is success; a non-zero exit, a death by signal, stdout
///   that is not one JSON value, or the timeout (the group is killed) is a
///   failure recording the exit code or signal and the last lines of stderr;
/// - when the worker shuts down, the signal it received (SIGTERM by default)
///   is forwarded to the group; when it gives up on the task, the group is
///   killed with SIGKILL;
/// - once the command has exited, what it left running in its group is
///   killed, and if the worker process dies (even by SIGKILL) the command
///   and its group die with it (Linux; see the `guard` module).
///
/// Every stderr line is also logged at `info` level (target
/// `taskpool::worker::child`).
#[derive(Debug, Clone)]
pub struct CommandTask {
    program: PathBuf,
    args: Vec<OsString>,
    timeout: Option<Duration>,
    stderr_lines: usize,
}

impl CommandTask {
    /// A command: `program` is a path or a name looked up in `PATH` now.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] if the program cannot be found or is not
    /// an executable file.
    pub fn new(
        program: impl AsRef<OsStr>,
        args: impl IntoIterator<Item = impl Into<OsString>>,
    ) -> Result<CommandTask, Error> {
        Ok(CommandTask {
            program: resolve_program(program.as_ref())?,
            args: args.into_iter().map(Into::into).collect(),
            timeout: None,
            stderr_lines: DEFAULT_STDERR_LINES,
        })
    }

    /// Kill the command (and its process group) after `timeout`; the task
    /// fails with a timeout error.
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> CommandTask {
        self.timeout = timeout;
        self
    }

    /// How many of the last stderr lines a failure records.
    pub fn with_stderr_lines(mut self, lines: usize) -> CommandTask {
        self.stderr_lines = lines;
        self
    }

    /// The resolved program.
    pub fn program(&self) -> &Path {
        &self.program
    }

    fn command(&self, input: &TaskInput) -> std::io::Result<tokio::process::Command> {
        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .env(ENV_ATTEMPT, input.attempt.to_string())
            .env(ENV_ARTIFACT_DIR, &input.artifact_dir);
        match input.id {
            Some(id) => command.env(ENV_TASK_ID, id.to_string()),
            None => command.env_remove(ENV_TASK_ID),
        };
        match &input.pool {
            Some(pool) => command.env(ENV_POOL, pool),
            None => command.env_remove(ENV_POOL),
        };
        tie_to_worker(&mut command)?;
        Ok(command)
    }
}

enum Ending {
    Exited(ExitStatus),
    TimedOut(Duration),
}

#[async_trait]
impl TaskFn for CommandTask {
    async fn run(&self, input: TaskInput) -> Result<Value, TaskError> {
        let envelope = input.envelope().to_string().into_bytes();
        let label = input
            .id
            .map_or_else(|| "-".to_string(), |id| id.to_string());
        let mut child = self
            .command(&input)
            .and_then(|mut c| c.spawn())
            .map_err(|e| {
                TaskError::Worker(
                    Error::new(
                        spawn_error_kind(&e),
                        format!("cannot start {}", self.program.display()),
                    )
                    .with_source(e),
                )
            })?;
        let mut group = ProcessGroup::new(child.id());
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        tokio::spawn(async move {
            let mut stdin = stdin;
            // A command that exits without reading its input is not an error here.
            let _ = stdin.write_all(&envelope).await;
            let _ = stdin.shutdown().await;
        });
        let out_reader = tokio::spawn(read_capped(stdout, MAX_STDOUT_BYTES));
        let err_reader = tokio::spawn(read_stderr(stderr, self.stderr_lines, label));

        let deadline = self.timeout.map(|t| (Instant::now() + t, t));
        let mut forwarded = false;
        let ending = loop {
            tokio::select! {
                status = child.wait() => {
                    let status = status.map_err(|e| TaskError::Worker(
                        Error::backend("cannot wait for the command").with_source(e),
                    ))?;
                    break Ending::Exited(status);
                }
                _ = sleep_until(deadline.map(|d| d.0)) => {
                    group.signal(libc::SIGKILL);
                    // The kill cannot be refused; wait for the reaping.
                    let _ = child.wait().await;
                    break Ending::TimedOut(deadline.expect("a deadline fired").1);
                }
                _ = input.shutdown.requested(), if !forwarded => {
                    forwarded = true;
                    group.signal(input.shutdown.signal().unwrap_or(libc::SIGTERM));
                }
            }
        };
        // Whatever the command left running in its group (background
        // processes) goes with it: a task leaves no orphan. The group id is
        // still allocated while it has members, so this names no other group.
        group.signal(libc::SIGKILL);
        group.disarm();

        let tail = match tokio::time::timeout(OUTPUT_DRAIN, err_reader).await {
            Ok(Ok(tail)) => tail,
            _ => StderrTail::default(),
        };
        let stdout = tokio::time::timeout(OUTPUT_DRAIN, out_reader).await;
        let status = match ending {
            Ending::TimedOut(after) => {
                return Err(failure(
                    format!("command timed out after {after:?} and was killed"),
                    &tail,
                ));
            }
            Ending::Exited(status) => status,
        };
        if !status.success() {
            let what = match (status.code(), status.signal()) {
                (Some(code), _) => format!("command exited with code {code}"),
                (None, Some(signal)) => format!("command was killed by signal {signal}"),
                (None, None) => format!("command failed: {status}"),
            };
            return Err(failure(what, &tail));
        }
        match stdout {
            Ok(Ok(Ok((_, true)))) => Err(failure(
                format!("command wrote more than {MAX_STDOUT_BYTES} bytes on stdout"),
                &tail,
            )),
            Ok(Ok(Ok((bytes, false)))) => serde_json::from_slice(&bytes).map_err(|e| {
                failure(
                    format!("command exited 0 but its stdout is not one JSON value: {e}"),
                    &tail,
                )
            }),
            Ok(Ok(Err(e))) => Err(failure(
                format!("cannot read the command's stdout: {e}"),
                &tail,
            )),
            Ok(Err(e)) => Err(failure(format!("stdout reader failed: {e}"), &tail)),
            Err(_) => Err(failure(
                "command exited but its stdout stayed open (a background process holds it)"
                    .to_string(),
                &tail,
            )),
        }
    }
}

fn failure(what: String, tail: &StderrTail) -> TaskError {
    TaskError::Failed(format!("{what}{}", tail.section()))
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn spawn_error_kind(e: &std::io::Error) -> ErrorKind {
    match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
            ErrorKind::InvalidInput
        }
        _ => ErrorKind::Backend,
    }
}

/// Find `program`: a path (containing `/`) is checked as is; a bare name is
/// looked up in `PATH`.
fn resolve_program(program: &OsStr) -> Result<PathBuf, Error> {
    let path = Path::new(program);
    if program.is_empty() {
        return Err(Error::invalid_input("the worker command is empty"));
    }
    if path.components().count() > 1 {
        return if is_executable(path) {
            Ok(path.to_path_buf())
        } else {
            Err(Error::invalid_input(format!(
                "{} is not an executable file",
                path.display()
            )))
        };
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(path))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| {
            Error::invalid_input(format!("command {} not found in PATH", path.display()))
        })
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_rejects_missing_programs() {
        let e = CommandTask::new("taskpool-no-such-program", ["x"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = CommandTask::new("/nonexistent/dir/prog", Vec::<String>::new()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = CommandTask::new("", Vec::<String>::new()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn new_finds_programs_in_path() {
        let task = CommandTask::new("cat", Vec::<String>::new()).unwrap();
        assert!(task.program().is_absolute());
    }
}
