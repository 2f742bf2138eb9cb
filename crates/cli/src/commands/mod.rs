//! One module per command; [`run`] dispatches.

mod list;

use crate::cli::{Cli, Command};

/// Run the parsed command.
///
/// # Errors
/// Whatever the command reports; [`crate::exit::code_for`] maps it to an exit code.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::List => list::run(&cli.global),
    }
}
