//! The `taskpool` command-line tool.
//!
//! `main.rs` only calls [`main`]; parsing lives in [`cli`], each command in
//! [`commands`], exit-code mapping in [`exit`], the `--json` shapes in
//! [`json`].

pub mod cli;
pub mod commands;
pub mod context;
pub mod exit;
pub mod json;
pub mod output;
pub mod signals;
pub mod unreachable;
pub mod worker_view;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::FromArgMatches;

/// Parse the command line, run the command, and turn the outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = match cli::command()
        .try_get_matches()
        .and_then(|m| cli::Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => return exit::clap_error(e),
    };
    init_tracing(&cli.global);
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => exit::report(&e),
    }
}

/// Whether stderr may carry colour: a terminal, and `NO_COLOR` unset or empty.
pub fn stderr_colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn init_tracing(global: &cli::GlobalArgs) {
    let default = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TASKPOOL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(stderr_colour())
        .with_target(false);
    // Warnings alone read as sentences; with -v, times order the events.
    if global.verbose == 0 {
        builder.without_time().init();
    } else {
        builder.init();
    }
}
