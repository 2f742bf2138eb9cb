//! `taskpool online init|routine|simulate|status [CONFIG]`: online serving
//! of a `taskpool run` configuration (see `docs/online.md`).

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};
use jiff::civil::Date;
use taskpool::pipeline::worker::Shutdown;
use taskpool_experiment::job::config::TrainerMode;
use taskpool_experiment::job::{JobError, open_store};
use taskpool_experiment::online::{
    OnlineManager, OnlineOptions, OnlinePlan, OnlineStatus, RoutineSummary, SimulateSummary, report,
};

use super::run::{Overrides, View, job_error, load_config, show_bar, worker_command};
use crate::cli::GlobalArgs;
use crate::context::Context;
use crate::json::{OnlineRoutineJson, OnlineSimulateJson};

const ONLINE_HELP: &str = "\
Examples:
  taskpool online init --as-of 2021-01-01        # first training, models of the latest window online
  taskpool online routine --as-of 2021-04-01     # after the data grew: new windows, predictions, signal
  taskpool online simulate --start 2021-01-01 --end 2023-12-25
  taskpool online status

CONFIG is a `taskpool run` configuration (default: the built-in example). Models
train in pool <pool>.online, records go to experiment <experiment>.online, and the
report (report.md, signals.csv) to <report dir>/online. All state is in the store:
any machine with the store URL runs the next routine; two routines at once run one
after the other. The guide: docs/online.md.";

/// Arguments of `online`.
#[derive(Debug, Args)]
#[command(after_help = ONLINE_HELP)]
pub struct OnlineArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: OnlineCommand,
}

/// The `online` subcommands.
#[derive(Debug, Subcommand)]
pub enum OnlineCommand {
    /// First training up to --as-of: every window, the latest window's models online, the signal.
    Init(RoutineArgs),
    /// A routine after the data grew: train the new windows, update predictions, append signals.
    Routine(RoutineArgs),
    /// Routines over history: init at --start, then at each window's test start, then at --end.
    Simulate(SimulateArgs),
    /// Online models per strategy, the signal's range, the routines so far.
    Status(ConfigArgs),
}

/// The configuration and the options overriding it.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The configuration (YAML); default: the built-in example.
    pub config: Option<PathBuf>,
    /// Number of workers (overrides trainer.workers).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Train in this process (overrides trainer.mode).
    #[arg(long)]
    pub in_process: bool,
    /// The report directory of the configuration (overrides report.dir; the online page goes to DIR/online).
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
}

impl From<&ConfigArgs> for Overrides {
    fn from(args: &ConfigArgs) -> Overrides {
        Overrides {
            workers: args.workers,
            in_process: args.in_process,
            report_dir: args.report_dir.clone(),
        }
    }
}

/// Arguments of `online init` and `online routine`.
#[derive(Debug, Args)]
pub struct RoutineArgs {
    /// The configuration and its overrides.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The last date of data the routine sees (default: the data's last date).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<Date>,
    /// Rewrite the whole signal instead of appending the new dates (`routine` only).
    #[arg(long)]
    pub overwrite: bool,
}

/// Arguments of `online simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The configuration and its overrides.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The first routine's as-of date.
    #[arg(long, value_name = "DATE")]
    pub start: Date,
    /// The last routine's as-of date (default: the data's last date).
    #[arg(long, value_name = "DATE")]
    pub end: Option<Date>,
}

/// Run an `online` subcommand.
///
/// # Errors
/// A bad configuration, data or state (exit code 2), failed training or
/// an unusable store (1 or 4), a SIGINT/SIGTERM (130).
pub fn run(global: &GlobalArgs, args: &OnlineArgs) -> anyhow::Result<()> {
    let config_args = match &args.command {
        OnlineCommand::Init(a) | OnlineCommand::Routine(a) => &a.config,
        OnlineCommand::Simulate(a) => &a.config,
        OnlineCommand::Status(a) => a,
    };
    let ctx = Context::new(global)?;
    let loaded = load_config(global, config_args.config.as_deref(), &config_args.into())?;
    let (source, config, base_dir, origin) =
        (loaded.source, loaded.config, loaded.base_dir, loaded.origin);
    let to_anyhow = |e| job_error(&origin, e);
    let plan = OnlinePlan::new(&config, base_dir.as_deref()).map_err(to_anyhow)?;
    let view = Arc::new(View::new(ctx.out, global.quiet, show_bar(global)));
    let reads_only = matches!(args.command, OnlineCommand::Status(_));
    if !reads_only {
        view.say(format!("taskpool online: {source}"));
    }
    let shutdown = Shutdown::new();
    let worker = (plan.job.trainer.mode == TrainerMode::Workers)
        .then(|| worker_command(&plan.job))
        .transpose()?;
    let options = OnlineOptions {
        worker_command: worker,
        events: view.events(),
        shutdown: shutdown.clone(),
    };
    let outcome = ctx.block_on(async {
        let signals = view.obey_stops(shutdown)?;
        let outcome = async {
            let store = open_store(&plan.job).await?;
            ctx.close_at_exit(&store);
            if !reads_only {
                view.say(format!(
                    "store     {store}   pool {}   experiment {}",
                    plan.job.pool, plan.job.experiment
                ));
            }
            let manager = OnlineManager::new(plan, store, options)?;
            let done = match &args.command {
                OnlineCommand::Init(a) => Done::Routine(manager.init(a.as_of).await?),
                OnlineCommand::Routine(a) => {
                    Done::Routine(manager.routine(a.as_of, a.overwrite).await?)
                }
                OnlineCommand::Simulate(a) => {
                    let end = match a.end {
                        Some(end) => end,
                        None => Date::MAX,
                    };
                    Done::Simulate(manager.simulate(a.start, end).await?)
                }
                OnlineCommand::Status(_) => return Ok(Done::Status(manager.status().await?)),
            };
            let (dir, files) = report::write(&manager).await?;
            Ok::<_, JobError>(done.with_report(dir, files))
        }
        .await
        .map_err(to_anyhow);
        signals.abort();
        outcome
    });
    view.finish();
    print(&ctx, outcome?)
}

/// What a subcommand produced.
enum Done {
    Routine(RoutineSummary),
    Simulate(SimulateSummary),
    Status(OnlineStatus),
    Reported(Box<Reported>),
}

/// A routine or simulation and its report.
enum Reported {
    Routine(OnlineRoutineJson),
    Simulate(OnlineSimulateJson),
}

impl Done {
    fn with_report(self, dir: PathBuf, files: Vec<String>) -> Done {
        let report_dir = dir.display().to_string();
        let reported = match self {
            Done::Routine(routine) => Reported::Routine(OnlineRoutineJson {
                routine,
                report_dir,
                files,
            }),
            Done::Simulate(simulate) => Reported::Simulate(OnlineSimulateJson {
                simulate,
                report_dir,
                files,
            }),
            other => return other,
        };
        Done::Reported(Box::new(reported))
    }
}

fn print(ctx: &Context<'_>, done: Done) -> anyhow::Result<()> {
    let out = &ctx.out;
    match done {
        Done::Status(status) if out.is_json() => out.json(&status),
        Done::Status(status) => {
            out.line(format_args!(
                "experiment {}   store {}",
                status.experiment, status.store
            ))?;
            out.line(format_args!(
                "routines   {} (last as of {})",
                status.routines,
                status.last_as_of.map_or("–".to_string(), |d| d.to_string())
            ))?;
            out.line(format_args!(
                "signal     {}",
                match (status.signal_start, status.signal_end) {
                    (Some(a), Some(b)) => format!("{a} … {b}"),
                    _ => "none yet (run `taskpool online init`)".to_string(),
                }
            ))?;
            for (strategy, model) in &status.online {
                out.line(format_args!(
                    "online     {strategy}: {}",
                    model.as_ref().map_or("none".to_string(), |m| format!(
                        "window from {} (record {})",
                        m.test_start, m.record
                    ))
                ))?;
            }
            Ok(())
        }
        Done::Reported(reported) => match *reported {
            Reported::Routine(json) if out.is_json() => out.json(&json),
            Reported::Simulate(json) if out.is_json() => out.json(&json),
            Reported::Routine(json) => {
                print_routine(ctx, &json.routine)?;
                print_report(ctx, &json.report_dir, &json.files)
            }
            Reported::Simulate(json) => {
                let s = &json.simulate;
                for routine in &s.routines {
                    print_routine(ctx, routine)?;
                }
                out.line(format_args!("simulated {}", s.describe()))?;
                print_report(ctx, &json.report_dir, &json.files)
            }
        },
        Done::Routine(_) | Done::Simulate(_) => Ok(()),
    }
}

fn print_routine(ctx: &Context<'_>, r: &RoutineSummary) -> anyhow::Result<()> {
    if !r.ran {
        return ctx.out.line(format_args!(
            "as of {}  nothing to do: {}",
            r.as_of,
            r.note.as_deref().unwrap_or("")
        ));
    }
    let online: Vec<String> = r
        .online
        .iter()
        .map(|m| format!("{}@{}", m.strategy, m.test_start))
        .collect();
    ctx.out.line(format_args!(
        "as of {}  trained {}  updated {}  online {}  signal +{} row(s) up to {}",
        r.as_of,
        r.trained.len(),
        r.updated.len(),
        online.join(", "),
        r.signal_rows,
        r.signal_end.map_or("–".to_string(), |d| d.to_string())
    ))
}

fn print_report(ctx: &Context<'_>, dir: &str, files: &[String]) -> anyhow::Result<()> {
    ctx.out.line(format_args!(
        "report    {dir}/report.md   ({})",
        files.join(", ")
    ))
}
