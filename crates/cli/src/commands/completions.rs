//! `taskpool completions SHELL`: a shell completion script on stdout.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::output::Output;

/// Arguments of `completions`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  taskpool completions bash > ~/.local/share/bash-completion/completions/taskpool
  taskpool completions zsh > ~/.zfunc/_taskpool
  taskpool completions fish > ~/.config/fish/completions/taskpool.fish")]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: Shell,
}

/// Write the completion script for the shell to stdout.
///
/// # Errors
/// When stdout fails.
pub fn run(args: &CompletionsArgs) -> anyhow::Result<()> {
    let mut command = Cli::command();
    let name = command.get_name().to_string();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    Output::new(false).raw(&String::from_utf8_lossy(&script))
}
