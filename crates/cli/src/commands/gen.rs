//! `taskpool gen`: generate rolling tasks from a template over a trading
//! calendar and print them as a JSON array.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::Value;
use taskpool::pipeline::calendar::{Calendar, CalendarError};
use taskpool::pipeline::error_chain;
use taskpool::pipeline::generate::{
    MultiHorizonGen, ParamSweep, RollingGen, Step, TaskGen, task_generator,
};
use taskpool::pipeline::time_adjust::RollType;

use crate::cli::GlobalArgs;
use crate::exit::bad_input;
use crate::output::Output;

const GEN_HELP: &str = "\
Examples:
  taskpool gen --template examples/gen/template.yaml --calendar examples/gen/day.txt --step 20 --rtype sliding
  taskpool gen --template examples/gen/template.json --calendar examples/gen/day.txt --every 1m --trunc-days 2
  taskpool gen --template t.yaml --calendar day.txt --sweep 'model.kwargs.loss=[\"mse\",\"huber\"]'

The template is one task (or a list of tasks) whose dataset.kwargs.segments hold
[start, end] pairs of \"YYYY-MM-DD\" or null. The calendar has one YYYY-MM-DD per
line (Qlib's calendars/day.txt). Output: a JSON array of tasks on stdout (with --json:
one task per line); `taskpool create -` reads either.
Exit codes: 0 ok, 2 bad input (message on stderr, nothing on stdout).";

/// Arguments of `taskpool gen`.
#[derive(Debug, Args)]
#[command(after_help = GEN_HELP)]
pub struct GenArgs {
    /// Task template: JSON (.json) or YAML (.yaml, .yml); one task or a list.
    #[arg(long, value_name = "FILE")]
    pub template: PathBuf,
    /// Trading calendar: one YYYY-MM-DD per line, sorted, no duplicates.
    #[arg(long, value_name = "FILE")]
    pub calendar: PathBuf,
    /// Future trading days after the calendar's end (Qlib day_future.txt):
    /// test windows may end on them; rolling still stops at the data end.
    #[arg(long, value_name = "FILE")]
    pub future_calendar: Option<PathBuf>,
    /// Trading days between test window starts (= test window length).
    #[arg(long, value_name = "N", default_value_t = 40)]
    pub step: usize,
    /// Start a test window on the first trading day of every N weeks (Nw) or
    /// months (Nm), e.g. 1m, 2w, instead of --step.
    #[arg(long, value_name = "PERIOD", conflicts_with = "step")]
    pub every: Option<String>,
    /// Test window length in trading days, if different from the step.
    #[arg(long, value_name = "N")]
    pub test_len: Option<usize>,
    /// Rolling type: expanding (train start fixed) or sliding.
    #[arg(long, value_name = "TYPE", default_value = "expanding")]
    pub rtype: String,
    /// Leave N trading days between every other segment and the test start.
    #[arg(long, value_name = "N")]
    pub trunc_days: Option<usize>,
    /// The segment that expands under --rtype expanding ("" = none: all slide).
    #[arg(long, value_name = "NAME", default_value = "train")]
    pub train_key: String,
    /// The segment that rolls as the test window.
    #[arg(long, value_name = "NAME", default_value = "test")]
    pub test_key: String,
    /// Do not extend dataset.kwargs.handler.kwargs.end_time to each test end.
    #[arg(long)]
    pub no_handler_mod: bool,
    /// Parameter sweep before rolling: PATH=JSON_LIST, e.g.
    /// 'model.kwargs.alpha=[0.1,1,10]'; repeat for a cartesian product.
    #[arg(long, value_name = "PATH=LIST")]
    pub sweep: Vec<String>,
    /// After rolling, one task per label horizon (comma-separated), written
    /// at --horizon-path, with other segments truncated before the test.
    #[arg(
        long,
        value_name = "H,H,…",
        value_delimiter = ',',
        requires = "horizon_path"
    )]
    pub horizons: Vec<u32>,
    /// Where to write the horizon, e.g. dataset.kwargs.handler.kwargs.label_horizon.
    #[arg(long, value_name = "PATH", requires = "horizons")]
    pub horizon_path: Option<String>,
    /// Extra gap in trading days beyond the horizon (with --horizons).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub label_leak_n: u32,
}

/// Generate the tasks and print them as one JSON array (one task per line
/// with `--json`).
///
/// # Errors
/// Any bad input (exit code 2, nothing printed on stdout): unreadable or
/// malformed template or calendar, bad parameters, segments that do not fit.
pub fn run(global: &GlobalArgs, args: &GenArgs) -> anyhow::Result<()> {
    let templates = read_template(&args.template)?;
    let calendar = read_calendars(&args.calendar, args.future_calendar.as_deref())?;
    let generators = generators(args)?;
    let tasks = task_generator(templates, &generators, &calendar).map_err(|e| {
        bad_input(format!(
            "{}: {}",
            args.template.display(),
            one_line(&error_chain(&e))
        ))
    })?;
    tracing::info!(tasks = tasks.len(), "generated");
    if global.json {
        return Output::new(true, global.quiet).json_lines(&tasks);
    }
    let text = serde_json::to_string_pretty(&tasks)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")?;
    Ok(())
}

fn generators(args: &GenArgs) -> anyhow::Result<Vec<Box<dyn TaskGen>>> {
    let mut generators: Vec<Box<dyn TaskGen>> = Vec::new();
    if !args.sweep.is_empty() {
        generators.push(Box::new(sweep(&args.sweep)?));
    }
    let rolling = rolling(args)?;
    rolling
        .validate()
        .map_err(|e| bad_input(one_line(&error_chain(&e))))?;
    generators.push(Box::new(rolling));
    if let Some(path) = &args.horizon_path {
        let horizons = MultiHorizonGen::at_path(args.horizons.iter().copied(), path)
            .map_err(|e| bad_input(format!("--horizon-path: {}", one_line(&error_chain(&e)))))?
            .label_leak_n(args.label_leak_n)
            .test_key(args.test_key.clone());
        generators.push(Box::new(horizons));
    }
    Ok(generators)
}

fn rolling(args: &GenArgs) -> anyhow::Result<RollingGen> {
    let rtype: RollType = args
        .rtype
        .parse()
        .map_err(|e| bad_input(format!("--rtype: {e}")))?;
    let step = match &args.every {
        None => Step::TradingDays(args.step),
        Some(text) => match text.parse::<Step>() {
            Ok(step @ (Step::Weeks(_) | Step::Months(_))) => step,
            Ok(Step::TradingDays(_)) => {
                return Err(bad_input(format!(
                    "--every: `{text}` needs a unit w (weeks) or m (months); use --step for trading days"
                )));
            }
            Err(e) => return Err(bad_input(format!("--every: {e}"))),
        },
    };
    let train_key = Some(args.train_key.clone()).filter(|k| !k.is_empty());
    Ok(RollingGen::default()
        .step(step)
        .rtype(rtype)
        .test_key(args.test_key.clone())
        .train_key(train_key)
        .trunc_days(args.trunc_days)
        .test_len(args.test_len)
        .handler_mod(!args.no_handler_mod))
}

fn sweep(specs: &[String]) -> anyhow::Result<ParamSweep> {
    let mut sweep = ParamSweep::new();
    for spec in specs {
        let (path, list) = spec.split_once('=').ok_or_else(|| {
            bad_input(format!(
                "--sweep: `{spec}` is not PATH=LIST (e.g. model.kwargs.alpha=[0.1,1])"
            ))
        })?;
        let values = match serde_json::from_str::<Value>(list) {
            Ok(Value::Array(values)) => values,
            Ok(_) | Err(_) => {
                return Err(bad_input(format!(
                    "--sweep {path}: `{list}` is not a JSON list (e.g. [\"mse\",\"huber\"])"
                )));
            }
        };
        sweep = sweep
            .axis(path, values)
            .map_err(|e| bad_input(format!("--sweep: {}", one_line(&error_chain(&e)))))?;
    }
    Ok(sweep)
}

/// The template file as a list of tasks.
fn read_template(path: &Path) -> anyhow::Result<Vec<Value>> {
    let name = path.display().to_string();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input(format!("cannot read template {name}: {e}")))?;
    parse_template(&name, ext.as_deref(), &text).map_err(bad_input)
}

/// A template's text as a list of tasks (objects): JSON for the extension
/// `json`, YAML for `yaml`/`yml`; one task or a non-empty list.
///
/// # Errors
/// A one-line message naming the template `name` and the problem.
pub(crate) fn parse_template(
    name: &str,
    ext: Option<&str>,
    text: &str,
) -> Result<Vec<Value>, String> {
    let value: Value = match ext {
        Some("json") => serde_json::from_str(text)
            .map_err(|e| format!("template {name}: malformed JSON: {e}"))?,
        Some("yaml" | "yml") => serde_saphyr::from_str(text).map_err(|e| {
            format!(
                "template {name}: malformed YAML: {}",
                yaml_summary(&e.to_string())
            )
        })?,
        _ => {
            return Err(format!(
                "template {name}: unknown extension (use .json, .yaml or .yml)"
            ));
        }
    };
    let tasks = match value {
        Value::Object(_) => vec![value],
        Value::Array(items) => items,
        _ => {
            return Err(format!(
                "template {name}: expected a task (an object) or a list of tasks"
            ));
        }
    };
    if let Some(i) = tasks.iter().position(|t| !t.is_object()) {
        return Err(format!(
            "template {name}: item {} is not a task (an object)",
            i + 1
        ));
    }
    if tasks.is_empty() {
        return Err(format!("template {name}: the list is empty"));
    }
    Ok(tasks)
}

fn read_calendars(path: &Path, future: Option<&Path>) -> anyhow::Result<Calendar> {
    let load = |path: &Path| {
        Calendar::load(path).map_err(|e| match e {
            CalendarError::Io { .. } => bad_input(one_line(&error_chain(&e))),
            _ => bad_input(format!(
                "calendar {}: {}",
                path.display(),
                one_line(&error_chain(&e))
            )),
        })
    };
    let calendar = load(path)?;
    Ok(match future {
        Some(future) => calendar.with_future(&load(future)?),
        None => calendar,
    })
}

/// The first line of a YAML error (the rest is a source snippet).
fn yaml_summary(text: &str) -> String {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or(text);
    one_line(first.trim().trim_start_matches("error: "))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
