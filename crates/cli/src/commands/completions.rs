//! `taskpool completions SHELL`: a shell completion script on stdout.

use clap::Args;
use clap_complete::Shell;

use crate::cli::GlobalArgs;
use crate::exit::bad_input;
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
/// `--json` (exit code 2), or when stdout fails.
pub fn run(global: &GlobalArgs, args: &CompletionsArgs) -> anyhow::Result<()> {
    if global.json {
        return Err(bad_input(
            "completions prints a shell script; --json does not apply",
        ));
    }
    let mut command = crate::cli::command();
    let name = command.get_name().to_string();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    Output::new(false, false).raw(&String::from_utf8_lossy(&script))
}
