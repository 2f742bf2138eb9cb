//! `taskpool run [CONFIG]`: the main job — a rolling-retrain experiment from
//! a YAML configuration to a report (see `docs/run-config.md`).
//!
//! With no CONFIG it runs the built-in example (`examples/rolling.yaml`,
//! embedded in the binary). Worker processes are this executable started as
//! `taskpool run-worker --query -` (see [`super::run_worker`]).

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use clap::parser::ValueSource;
use clap::{Args, CommandFactory};
use indicatif::{ProgressBar, ProgressStyle};
use taskpool::pipeline::worker::Shutdown;
use taskpool_experiment::job::config::TrainerMode;
use taskpool_experiment::job::report::terminal_table;
use taskpool_experiment::job::{
    Events, JobConfig, JobError, JobEvent, JobPlan, JobSummary, RunOptions, WorkerCommand,
    open_store, run_job,
};

use crate::cli::{Cli, GlobalArgs};
use crate::context::{Context, NewStoreNotice};
use crate::exit::bad_input;
use crate::output::Output;
use crate::signals::{Stop, StopSignals, signal_name};

/// The built-in example configuration.
pub const BUILTIN_CONFIG: &str = include_str!("../../../../examples/rolling.yaml");

const RUN_HELP: &str = "\
Examples:
  taskpool run                                  # the built-in example (synthetic data)
  taskpool run examples/rolling.yaml --fresh    # start over: drop the pool and the records
  taskpool --store sqlite://exp.db run my.yaml --workers 4
  taskpool run --print-config > my.yaml         # start from the built-in example

Steps: generate rolling tasks (models × sweep × windows) → create them in the pool
(a task already done is reused, not trained again) → train with worker processes or
in process → collect the records → RollingEnsemble per model, AverageEnsemble across
models → report (table, report.md, ic.png, summary.json in the report directory).
SIGINT/SIGTERM: claim nothing more, let running tasks finish within trainer.grace
(worker processes get the signal forwarded), hand the rest back without counting
the attempt, exit 130; a second signal hands them back at once. Running again
continues: done tasks are reused, handed-back ones trained.
--store and -t/--pool (or TASKPOOL_STORE / TASKPOOL_POOL) override the config's
store and pool. The config schema: docs/run-config.md.";

/// Arguments of `run`.
#[derive(Debug, Args)]
#[command(after_help = RUN_HELP)]
pub struct RunArgs {
    /// The configuration (YAML); default: the built-in example.
    pub config: Option<PathBuf>,
    /// Start over: drop the pool and delete the experiment's records first.
    #[arg(long)]
    pub fresh: bool,
    /// Number of workers (overrides trainer.workers).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Train in this process (overrides trainer.mode).
    #[arg(long)]
    pub in_process: bool,
    /// Write the report here (overrides report.dir).
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    /// Print the built-in example configuration and exit.
    #[arg(long, conflicts_with_all = ["config", "fresh"])]
    pub print_config: bool,
}

/// Run the job and print its report.
///
/// # Errors
/// A bad configuration or data file (exit code 2), an unusable store, failed
/// tasks or worker processes (exit code 1), a SIGINT/SIGTERM (exit code 130,
/// see [`crate::exit::INTERRUPTED`]).
pub fn run(global: &GlobalArgs, args: &RunArgs) -> anyhow::Result<()> {
    if args.print_config {
        print!("{BUILTIN_CONFIG}");
        return Ok(());
    }
    let ctx = Context::new(global)?;
    let Loaded {
        source,
        config,
        base_dir,
        origin,
    } = load_config(
        global,
        args.config.as_deref(),
        &Overrides {
            workers: args.workers,
            in_process: args.in_process,
            report_dir: args.report_dir.clone(),
        },
    )?;
    let to_anyhow = |e| job_error(&origin, e);
    let plan = JobPlan::new(&config, base_dir.as_deref()).map_err(to_anyhow)?;
    let human = !ctx.out.is_json();
    let view = Arc::new(View::new(ctx.out, global.quiet, show_bar(global)));
    view.say(format!("taskpool run: {source}"));
    let shutdown = Shutdown::new();
    let options = RunOptions {
        fresh: args.fresh,
        worker_command: (plan.trainer.mode == TrainerMode::Workers)
            .then(|| worker_command(&plan))
            .transpose()?,
        events: view.events(),
        shutdown: shutdown.clone(),
    };
    let summary = ctx.block_on(async {
        // Listen before the first claim, so a signal never kills the run
        // while it holds tasks.
        let signals = view.obey_stops(shutdown)?;
        let notice = NewStoreNotice::before_open(&plan.store);
        let summary = match open_store(&plan).await {
            Ok(store) => {
                notice.opened(&*store);
                ctx.close_at_exit(&store);
                view.say(format!(
                    "store     {store}   pool {}   experiment {}",
                    plan.pool, plan.experiment
                ));
                run_job(&plan, store, options).await.map_err(to_anyhow)
            }
            Err(e) => Err(to_anyhow(e)),
        };
        signals.abort();
        summary
    });
    view.finish();
    let summary = summary?;
    if human {
        print_human(&ctx, &summary)
    } else {
        ctx.out.json(&summary)
    }
}

/// A configuration read and overridden by the command line.
pub(crate) struct Loaded {
    /// Where it came from, for the first status line.
    pub source: String,
    /// The configuration.
    pub config: JobConfig,
    /// The directory relative data paths are taken from.
    pub base_dir: Option<PathBuf>,
    /// The name errors about it start with (its path, or `built-in example`).
    pub origin: String,
}

/// Read the configuration at `path` (the built-in example without one)
/// and apply the command line's overrides.
///
/// # Errors
/// An unreadable or invalid file (exit code 2).
pub(crate) fn load_config(
    global: &GlobalArgs,
    path: Option<&Path>,
    overrides: &Overrides,
) -> anyhow::Result<Loaded> {
    let (source, mut config, base_dir) = read_config(path)?;
    apply_overrides(global, overrides, &mut config);
    Ok(Loaded {
        source,
        config,
        base_dir,
        origin: path.map_or_else(
            || "built-in example".to_string(),
            |p| p.display().to_string(),
        ),
    })
}

/// The configuration text's origin, the parsed configuration and the
/// directory relative data paths are taken from.
fn read_config(path: Option<&Path>) -> anyhow::Result<(String, JobConfig, Option<PathBuf>)> {
    let Some(path) = path else {
        let config =
            JobConfig::from_yaml(BUILTIN_CONFIG).map_err(|e| job_error("built-in example", e))?;
        return Ok((
            "built-in example (examples/rolling.yaml; see --print-config)".to_string(),
            config,
            None,
        ));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input(format!("cannot read config {}: {e}", path.display())))?;
    let config =
        JobConfig::from_yaml(&text).map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
    let base = path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .map(Path::to_path_buf);
    Ok((path.display().to_string(), config, base))
}

/// The command-line options that override a configuration's values.
pub(crate) struct Overrides {
    /// `--workers N`.
    pub workers: Option<usize>,
    /// `--in-process`.
    pub in_process: bool,
    /// `--report-dir DIR`.
    pub report_dir: Option<PathBuf>,
}

/// `--store`/`TASKPOOL_STORE` and `-t`/`TASKPOOL_POOL` when given, then the
/// command's own options, win over the file.
fn apply_overrides(global: &GlobalArgs, options: &Overrides, config: &mut JobConfig) {
    if store_given() {
        config.store = Some(global.store.clone());
    }
    if let Some(pool) = &global.pool {
        config.pool = pool.clone();
    }
    if let Some(n) = options.workers {
        config.trainer.workers = n;
    }
    if options.in_process {
        config.trainer.mode = TrainerMode::InProcess;
    }
    if let Some(dir) = &options.report_dir {
        config.report.dir = Some(dir.clone());
    }
}

/// Whether `--store` came from the command line or the environment rather
/// than its default (the parsed arguments do not tell, so they are parsed
/// again for their sources).
fn store_given() -> bool {
    Cli::command()
        .try_get_matches_from(std::env::args_os())
        .ok()
        .and_then(|m| m.value_source("store"))
        .is_some_and(|source| source != ValueSource::DefaultValue)
}

pub(crate) fn worker_command(plan: &JobPlan) -> anyhow::Result<WorkerCommand> {
    let program = std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot find this executable to start workers: {e}"))?;
    let lease = format!("{}ms", plan.trainer.lease.as_millis());
    let grace = format!("{}ms", plan.trainer.grace.as_millis());
    let args: Vec<OsString> = [
        "--store",
        &plan.store,
        "--pool",
        &plan.pool,
        "run-worker",
        "--lease",
        &lease,
        "--grace",
        &grace,
        "--query",
        "-",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    Ok(WorkerCommand { program, args })
}

/// A job error for the CLI: the user's input (named after `origin`, the
/// config's path) is exit code 2, a store error keeps its kind (see
/// [`crate::exit::code_for`]).
pub(crate) fn job_error(origin: &str, error: JobError) -> anyhow::Error {
    match error {
        JobError::Store(e) => anyhow::Error::new(e),
        e if e.is_bad_input() => bad_input(format!("{origin}: {e}")),
        e => anyhow::Error::new(e),
    }
}

pub(crate) fn show_bar(global: &GlobalArgs) -> bool {
    !global.json && !global.quiet && std::io::stderr().is_terminal()
}

fn print_human(ctx: &Context<'_>, summary: &JobSummary) -> anyhow::Result<()> {
    ctx.out.line("")?;
    ctx.out.line(terminal_table(summary).trim_end())?;
    ctx.out.line("")?;
    let dir = summary.report_dir.display();
    ctx.out.line(format_args!(
        "report    {dir}/report.md   ({})",
        summary
            .files
            .iter()
            .filter(|f| f.as_str() != "report.md")
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    ))?;
    ctx.out
        .line(format_args!("done in {:.1}s", summary.total_seconds))
}

/// What the user sees while the job runs: status lines on stdout (not with
/// `-q` or `--json`), a progress bar on a terminal's stderr, worker output
/// on stderr.
pub(crate) struct View {
    out: Output,
    /// `-q`: no status lines.
    quiet: bool,
    bar: Option<ProgressBar>,
    /// Tasks to train, from the `Training` event.
    pending: Mutex<usize>,
}

impl View {
    pub(crate) fn new(out: Output, quiet: bool, show_bar: bool) -> View {
        let bar = show_bar.then(|| {
            let style = ProgressStyle::with_template(
                "training  [{bar:40}] {pos}/{len} tasks  {elapsed_precise}  {msg}",
            )
            .expect("the template is valid")
            .progress_chars("=> ");
            let bar = ProgressBar::hidden().with_style(style);
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar
        });
        View {
            out,
            quiet,
            bar,
            pending: Mutex::new(0),
        }
    }

    /// A status line (stdout, above the bar).
    pub(crate) fn say(&self, line: String) {
        if self.quiet {
            return;
        }
        // A closed stdout ends the process quietly (see `Output`); any other
        // failure to print progress is not worth stopping the job for.
        let print = || {
            let _ = self.out.line(&line);
        };
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    /// Listen for SIGINT/SIGTERM (in the runtime): the first requests
    /// `shutdown`, a second forces it; each is said on the view. Abort the
    /// handle once the work is over.
    pub(crate) fn obey_stops(
        self: &Arc<Self>,
        shutdown: Shutdown,
    ) -> std::io::Result<tokio::task::JoinHandle<()>> {
        let told = Arc::clone(self);
        Ok(tokio::spawn(StopSignals::listen()?.obey(shutdown, move |stop| {
            told.say(match stop {
                Stop::Requested(signal) => format!(
                    "stopping  {}: no new tasks; running tasks get the grace period, then are handed back (a second signal hands them back now)",
                    signal_name(signal)
                ),
                Stop::Forced => {
                    "stopping  second signal: handing running tasks back now".to_string()
                }
            });
        })))
    }

    pub(crate) fn events(self: &Arc<Self>) -> Events {
        let view = Arc::clone(self);
        Arc::new(move |event| view.on(event))
    }

    fn on(&self, event: JobEvent) {
        match event {
            JobEvent::Loaded { data } => self.say(format!("data      {data}")),
            JobEvent::Dropped { records } => self.say(format!(
                "fresh     dropped the pool and {records} record(s) of the experiment"
            )),
            JobEvent::Created {
                total,
                models,
                new,
                done,
                retried,
            } => {
                let mut line = format!(
                    "tasks     {total} ({models} model(s) × {} window(s)): {new} new, {done} done before",
                    total / models.max(1)
                );
                if retried > 0 {
                    line.push_str(&format!(", {retried} failed before (retried)"));
                }
                if done == total {
                    line.push_str(" — nothing to train");
                }
                self.say(line);
            }
            JobEvent::Training {
                pending,
                workers,
                processes,
            } => {
                let how = if processes {
                    format!("{workers} worker process(es)")
                } else {
                    format!("{workers} task(s) at a time in process")
                };
                self.say(format!("training  {pending} task(s) with {how}"));
                *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = pending;
                if let Some(bar) = &self.bar {
                    bar.reset_elapsed();
                }
            }
            JobEvent::Progress {
                done,
                failed,
                running,
                total,
            } => {
                if let Some(bar) = &self.bar {
                    bar.set_length(total);
                    bar.set_position(done + failed);
                    let mut msg = format!("{running} running");
                    if failed > 0 {
                        msg.push_str(&format!(", {failed} failed"));
                    }
                    bar.set_message(msg);
                }
            }
            JobEvent::WorkerOutput { worker, line } => {
                let line = format!("worker {worker}: {line}");
                match &self.bar {
                    Some(bar) => bar.println(line),
                    None => eprintln!("{line}"),
                }
            }
            JobEvent::RoutineStarted { as_of } => {
                self.say(format!("routine   as of {as_of}"));
            }
            JobEvent::RoutineBusy { owner } => self.say(format!(
                "waiting   another routine of this experiment is running ({owner})"
            )),
            JobEvent::PredictionsUpdated { models, rows } => self.say(format!(
                "predicted {rows} new row(s) with {models} model(s)"
            )),
            JobEvent::RoutineFinished {
                as_of,
                trained,
                signal_end,
                ran,
            } => self.say(if ran {
                format!(
                    "routine   as of {as_of} done: {trained} window(s) trained, signal up to {}",
                    signal_end.map_or("–".to_string(), |d| d.to_string())
                )
            } else {
                format!("routine   as of {as_of}: nothing to do")
            }),
            JobEvent::Trained { elapsed } => {
                if let Some(bar) = &self.bar {
                    bar.finish_and_clear();
                }
                let pending = *self.pending.lock().unwrap_or_else(|e| e.into_inner());
                self.say(format!(
                    "trained   {pending} task(s) in {:.1}s",
                    elapsed.as_secs_f64()
                ));
            }
            _ => {}
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
