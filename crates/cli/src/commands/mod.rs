//! One module per command; [`run`] dispatches.

pub mod completions;
pub mod create;
pub mod drop_pool;
pub mod ensemble;
#[cfg(test)]
mod fuzz;
pub mod r#gen;
pub mod get;
pub mod import_qlib;
mod list;
pub mod lost;
pub mod online;
pub mod prioritize;
pub mod prune;
pub mod query;
pub mod records;
pub mod remove;
pub mod reset_status;
pub mod reset_waiting;
pub mod run;
pub mod run_worker;
pub mod stat;
mod task_file;
pub mod ui;
pub mod wait;
pub mod worker;

use crate::cli::{Cli, Command};

/// Run the parsed command.
///
/// # Errors
/// Whatever the command reports; [`crate::exit::code_for`] maps it to an exit code.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::List => list::run(&cli.global),
        Command::Stat(args) => stat::run(&cli.global, &args),
        Command::Query(args) => query::run(&cli.global, &args),
        Command::Get(args) => get::run(&cli.global, &args),
        Command::ResetWaiting(args) => reset_waiting::run(&cli.global, &args),
        Command::ResetStatus(args) => reset_status::run(&cli.global, &args),
        Command::Remove(args) => remove::run(&cli.global, &args),
        Command::Prioritize(args) => prioritize::run(&cli.global, &args),
        Command::Create(args) => create::run(&cli.global, &args),
        Command::Lost(args) => lost::run(&cli.global, &args),
        Command::Prune(args) => prune::run(&cli.global, &args),
        Command::DropPool(args) => drop_pool::run(&cli.global, &args),
        Command::Completions(args) => completions::run(&cli.global, &args),
        Command::ImportQlib(args) => import_qlib::run(&cli.global, &args),
        Command::Gen(args) => r#gen::run(&cli.global, &args),
        Command::Worker(args) => worker::run(&cli.global, &args),
        Command::Wait(args) => wait::run(&cli.global, &args),
        Command::Records(args) => records::run(&cli.global, &args),
        Command::Ensemble(args) => ensemble::run(&cli.global, &args),
        Command::Run(args) => run::run(&cli.global, &args),
        Command::Online(args) => online::run(&cli.global, &args),
        Command::RunWorker(args) => run_worker::run(&cli.global, &args),
        Command::Ui(args) => ui::run(&cli.global, &args),
    }
}
