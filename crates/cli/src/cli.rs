//! The command-line grammar (clap derive).

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::exit::EXIT_CODES_HELP;

/// Task management for research workflows: generate, store, train, collect.
#[derive(Debug, Parser)]
#[command(name = "taskpool", version, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes (shown under their own heading, and hidden
/// from the help of commands that ignore them: see [`command`]).
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Store URL: sqlite://PATH, sled://PATH, mongodb://HOST/DB, mongodb+srv://…, memory://
    #[arg(
        long,
        global = true,
        env = "TASKPOOL_STORE",
        default_value = taskpool::DEFAULT_STORE_URL
    )]
    pub store: String,
    /// Task pool name.
    #[arg(short = 't', long = "pool", global = true, env = "TASKPOOL_POOL")]
    pub pool: Option<String>,
    /// Machine-readable JSON output (docs/cli.md): one object, or one per line for listings.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr, and nothing on stdout but --json documents and file contents.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the pools of the store.
    #[command(after_help = "Example:\n  taskpool --store sqlite://taskpool.db list")]
    List,
    /// Task counts by status.
    Stat(crate::commands::stat::StatArgs),
    /// The tasks matching a query.
    Query(crate::commands::query::QueryArgs),
    /// One task by id.
    Get(crate::commands::get::GetArgs),
    /// Put running tasks back to waiting.
    ResetWaiting(crate::commands::reset_waiting::ResetWaitingArgs),
    /// Force a status on the tasks matching a query.
    ResetStatus(crate::commands::reset_status::ResetStatusArgs),
    /// Delete the tasks matching a query.
    Remove(crate::commands::remove::RemoveArgs),
    /// Set the priority of a task or of the tasks matching a query.
    Prioritize(crate::commands::prioritize::PrioritizeArgs),
    /// Create tasks from a file of definitions (JSON, JSON lines or YAML).
    Create(crate::commands::create::CreateArgs),
    /// Running tasks whose lease expired; --requeue puts them back.
    Lost(crate::commands::lost::LostArgs),
    /// Delete done or failed tasks older than a duration.
    Prune(crate::commands::prune::PruneArgs),
    /// Delete a pool and all its tasks.
    DropPool(crate::commands::drop_pool::DropPoolArgs),
    /// Print a shell completion script.
    Completions(crate::commands::completions::CompletionsArgs),
    /// Copy a Qlib task pool (MongoDB) into a pool, never loading its pickles.
    ImportQlib(crate::commands::import_qlib::ImportQlibArgs),
    /// Generate rolling tasks from a template over a trading calendar (JSON on stdout).
    Gen(crate::commands::r#gen::GenArgs),
    /// Run an external command for each claimed task (the worker protocol).
    Worker(crate::commands::worker::WorkerArgs),
    /// Block until no matching task is waiting, running or part_done.
    Wait(crate::commands::wait::WaitArgs),
    /// The records of an experiment and their artifacts; fetch an artifact into a file.
    Records(crate::commands::records::RecordsArgs),
    /// Combine prediction CSV files: rolling windows or a z-score average.
    Ensemble(crate::commands::ensemble::EnsembleArgs),
    /// Run a rolling-retrain experiment from a config (default: the built-in example).
    Run(crate::commands::run::RunArgs),
    /// Online serving of a run config: init, routine, simulate, status (docs/online.md).
    Online(crate::commands::online::OnlineArgs),
    /// Work on a `taskpool run` pool with the built-in ridge task function.
    RunWorker(crate::commands::run_worker::RunWorkerArgs),
    /// Serve the dashboard: pools, tasks, lost leases, experiments, /api/ and /metrics.
    Ui(crate::commands::ui::UiArgs),
}

/// The global options each command ignores, by command name: hidden from its
/// `--help` (still accepted, so a `TASKPOOL_STORE` in the environment or a
/// global option before the command never breaks it).
const IGNORED_GLOBALS: &[(&str, &[&str])] = &[
    ("gen", &["store", "pool"]),
    ("ensemble", &["store", "pool"]),
    ("completions", &["store", "pool", "json"]),
    ("drop-pool", &["pool"]),
    ("list", &["pool"]),
    ("ui", &["pool", "json"]),
];

/// The clap command: [`Cli`] with each command's ignored global options hidden.
pub fn command() -> clap::Command {
    let mut command = Cli::command();
    let globals: Vec<clap::Arg> = command
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    // A subcommand that has its own copy of a global option does not get the
    // propagated one: give the ignoring commands hidden copies.
    for (name, ignored) in IGNORED_GLOBALS {
        command = command.mut_subcommand(*name, |sub| {
            globals
                .iter()
                .filter(|a| ignored.contains(&a.get_id().as_str()))
                .fold(sub, |sub, a| sub.arg(a.clone().hide(true)))
        });
    }
    command
}
