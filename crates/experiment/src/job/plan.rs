//! [`JobPlan`]: a checked configuration, ready to generate tasks.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::civil::Date;
use serde::Serialize;
use serde_json::{Value, json};
use task_store::record::validate_experiment_name;
use task_store::validate_pool_name;
use taskpool_pipeline::calendar::Calendar;
use taskpool_pipeline::error_chain;
use taskpool_pipeline::generate::{
    GenError, JsonPath, ParamSweep, RollingGen, Step, TaskGen, task_generator,
};
use taskpool_pipeline::time_adjust::RollType;
use taskpool_pipeline::worker::{CommandTask, MIN_LEASE};

use super::config::{
    EnsembleKind, JobConfig, ModelConfig, SegmentBounds, StepValue, TrainerMode, parse_duration,
};
use super::error::JobError;
use super::market::DataSpec;
use super::task_def::{COMMAND, RIDGE, RidgeKwargs, TaskDef};

/// The fewest instruments the synthetic dataset may have (a daily IC needs two).
const MIN_INSTRUMENTS: usize = 2;
/// The fewest synthetic trading days: the feature warm-up plus a few windows.
const MIN_DAYS: usize = 60;

/// The fewest test dates with a known label (the next day's return) a
/// rolling window needs to be evaluated: one day gives a single IC and no
/// spread (no ICIR), and the data's last date has no label at all.
pub const MIN_LABELLED_DAYS: usize = 2;

/// A rolling window `taskpool run` leaves out: its test segment has too few
/// labelled dates to give an IC value, so training it would only report
/// dashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedWindow {
    /// The models whose task for this window was left out.
    pub models: Vec<String>,
    /// The window's first test day.
    pub test_start: Date,
    /// Its last test day (`None`: open, to the end of the data).
    pub test_end: Option<Date>,
    /// Test dates with a known label.
    pub labelled_days: usize,
}

impl SkippedWindow {
    /// Why the window was left out, in one line.
    pub fn reason(&self) -> String {
        format!(
            "{} labelled test day(s) (the label is the next day's return, so the data's last day has none); an IC needs at least {MIN_LABELLED_DAYS}: not trained",
            self.labelled_days
        )
    }
}

/// The tasks of a job and the windows left out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedTasks {
    /// The task definitions, in generation order.
    pub tasks: Vec<Value>,
    /// The windows left out, by test start.
    pub skipped: Vec<SkippedWindow>,
}

/// How tasks are trained, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainerPlan {
    /// Worker processes or in-process workers.
    pub mode: TrainerMode,
    /// How many.
    pub workers: usize,
    /// The lease of running tasks.
    pub lease: Duration,
    /// Attempts before a task fails for good.
    pub max_attempts: u32,
    /// How long to wait for the tasks at most.
    pub timeout: Option<Duration>,
    /// On a shutdown (SIGINT/SIGTERM), how long running tasks may still
    /// finish before they are handed back.
    pub grace: Duration,
}

/// A checked configuration.
#[derive(Debug)]
pub struct JobPlan {
    /// The store URL.
    pub store: String,
    /// The task pool.
    pub pool: String,
    /// The experiment of the records.
    pub experiment: String,
    /// The data.
    pub data: DataSpec,
    /// How tasks are trained.
    pub trainer: TrainerPlan,
    /// The cross-model ensemble.
    pub ensemble: EnsembleKind,
    /// The report directory.
    pub report_dir: PathBuf,
    /// Whether to draw the plot.
    pub plot: bool,
    templates: Vec<Value>,
    sweep: Vec<(JsonPath, Vec<Value>)>,
    rolling: RollingGen,
}

impl JobPlan {
    /// Check `config` and resolve it: relative data paths are taken from
    /// `base_dir` (the config file's directory; the working directory when
    /// `None`), a data file is hashed.
    ///
    /// # Errors
    /// [`JobError::Config`] naming the first offending key.
    pub fn new(config: &JobConfig, base_dir: Option<&Path>) -> Result<JobPlan, JobError> {
        validate_pool_name(&config.pool).map_err(|e| JobError::config("pool", e.to_string()))?;
        let experiment = config
            .experiment
            .clone()
            .unwrap_or_else(|| config.pool.clone());
        validate_experiment_name(&experiment)
            .map_err(|e| JobError::config("experiment", e.to_string()))?;
        let data = data_spec(config, base_dir)?;
        let templates = config
            .models
            .iter()
            .enumerate()
            .map(|(i, model)| template(config, &experiment, &data, i, model))
            .collect::<Result<Vec<_>, _>>()?;
        if templates.is_empty() {
            return Err(JobError::config("models", "give at least one model"));
        }
        check_segments(config)?;
        let sweep = sweep_axes(config)?;
        let plan = JobPlan {
            store: config
                .store
                .clone()
                .unwrap_or_else(|| taskpool::DEFAULT_STORE_URL.to_string()),
            pool: config.pool.clone(),
            experiment,
            data,
            trainer: trainer_plan(config)?,
            ensemble: config.collect.ensemble,
            report_dir: config.report.dir.clone().unwrap_or_else(|| {
                Path::new("taskpool-report").join(
                    config
                        .experiment
                        .clone()
                        .unwrap_or_else(|| config.pool.clone()),
                )
            }),
            plot: config.report.plot,
            templates,
            sweep,
            rolling: rolling_gen(config)?,
        };
        plan.check_sweep_values()?;
        Ok(plan)
    }

    /// The job's tasks: [`JobPlan::generate`] without the windows whose
    /// test segment has fewer than [`MIN_LABELLED_DAYS`] labelled dates
    /// (listed in [`PlannedTasks::skipped`]).
    ///
    /// # Errors
    /// As [`JobPlan::generate`].
    pub fn tasks(&self, calendar: &Calendar) -> Result<PlannedTasks, JobError> {
        let mut tasks = Vec::new();
        let mut skipped: Vec<SkippedWindow> = Vec::new();
        for task in self.generate(calendar)? {
            let def = TaskDef::from_value(&task).map_err(|e| JobError::config("models", e))?;
            let [start, end] = def.dataset.kwargs.segments.test;
            let Some(start) = start else {
                tasks.push(task);
                continue;
            };
            let labelled = labelled_days(calendar, start, end);
            if labelled >= MIN_LABELLED_DAYS {
                tasks.push(task);
                continue;
            }
            match skipped
                .iter_mut()
                .find(|w| (w.test_start, w.test_end) == (start, end))
            {
                Some(window) => window.models.push(def.model.name),
                None => skipped.push(SkippedWindow {
                    models: vec![def.model.name],
                    test_start: start,
                    test_end: end,
                    labelled_days: labelled,
                }),
            }
        }
        skipped.sort_by_key(|w| (w.test_start, w.test_end));
        for window in &skipped {
            tracing::warn!(
                test_start = %window.test_start,
                "rolling window skipped: {}",
                window.reason()
            );
        }
        Ok(PlannedTasks { tasks, skipped })
    }

    /// Every task: models × sweep combinations × rolling windows, in that
    /// nesting order (each model's tasks together, windows innermost).
    ///
    /// # Errors
    /// [`JobError::Config`] (key `segments`) when the segments do not fit
    /// the data's calendar.
    pub fn generate(&self, calendar: &Calendar) -> Result<Vec<Value>, JobError> {
        let mut sweep = ParamSweep::new();
        for (path, values) in &self.sweep {
            sweep = sweep
                .axis(&path.to_string(), values.iter().cloned())
                .map_err(|e| JobError::config(format!("sweep.{path}"), e.to_string()))?;
        }
        let axes: Vec<JsonPath> = self.sweep.iter().map(|(p, _)| p.clone()).collect();
        let label = move |task: &Value, _: &Calendar| -> Result<Vec<Value>, GenError> {
            Ok(vec![with_sweep_label(task, &axes)])
        };
        let rolling = |task: &Value, calendar: &Calendar| self.rolling.generate(task, calendar);
        let generators: Vec<Box<dyn TaskGen + '_>> =
            vec![Box::new(sweep), Box::new(label), Box::new(rolling)];
        task_generator(self.templates.clone(), &generators, calendar)
            .map_err(|e| JobError::config("segments", error_chain(&e)))
    }

    /// Every sweep combination must give parameters the model accepts.
    fn check_sweep_values(&self) -> Result<(), JobError> {
        for (path, values) in &self.sweep {
            for template in &self.templates {
                for value in values {
                    let mut task = template.clone();
                    path.set(&mut task, value.clone())
                        .map_err(|e| JobError::config(format!("sweep.{path}"), e.to_string()))?;
                    let def = TaskDef::from_value(&task)
                        .map_err(|e| JobError::config(format!("sweep.{path}"), e))?;
                    if def.model.class == RIDGE {
                        RidgeKwargs::parse(&def.model.kwargs).map_err(|e| {
                            JobError::config(format!("sweep.{path}"), format!("value {value}: {e}"))
                        })?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The dates of `calendar` from `start` to `end` (`None`: its last date)
/// that have a label: every date but the calendar's last.
fn labelled_days(calendar: &Calendar, start: Date, end: Option<Date>) -> usize {
    let Some(last_labelled) = calendar.len().checked_sub(2) else {
        return 0;
    };
    let hi = match end {
        None => last_labelled,
        Some(end) => match calendar.index_on_or_before(end) {
            Some(i) => i.min(last_labelled),
            None => return 0,
        },
    };
    (hi + 1).saturating_sub(calendar.index_on_or_after(start))
}

/// `model.name` followed by the swept values: `ridge[alpha=10]`.
fn with_sweep_label(task: &Value, axes: &[JsonPath]) -> Value {
    let mut task = task.clone();
    if axes.is_empty() {
        return task;
    }
    let parts: Vec<String> = axes
        .iter()
        .map(|path| {
            let text = path.to_string();
            let short = text.rsplit('.').next().unwrap_or(&text).to_string();
            let value = path.get(&task).map_or("null".to_string(), compact);
            format!("{short}={value}")
        })
        .collect();
    if let Some(name) = task.pointer_mut("/model/name")
        && let Some(base) = name.as_str()
    {
        *name = Value::String(format!("{base}[{}]", parts.join(",")));
    }
    task
}

fn compact(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn data_spec(config: &JobConfig, base_dir: Option<&Path>) -> Result<DataSpec, JobError> {
    match (&config.data.file, &config.data.synthetic) {
        (Some(_), Some(_)) => Err(JobError::config(
            "data",
            "give either `file` or `synthetic`, not both",
        )),
        (Some(file), None) => {
            let path = match base_dir {
                Some(dir) if file.is_relative() => dir.join(file),
                _ => file.clone(),
            };
            let path = std::path::absolute(&path).unwrap_or(path);
            if !path.is_file() {
                return Err(JobError::config(
                    "data.file",
                    format!("{} is not a readable file", path.display()),
                ));
            }
            DataSpec::file(&path).map_err(|e| JobError::config("data.file", e.to_string()))
        }
        (None, synthetic) => {
            let s = synthetic.clone().unwrap_or_default();
            if s.instruments < MIN_INSTRUMENTS {
                return Err(JobError::config(
                    "data.synthetic.instruments",
                    format!("{} is fewer than {MIN_INSTRUMENTS}", s.instruments),
                ));
            }
            if s.days < MIN_DAYS {
                return Err(JobError::config(
                    "data.synthetic.days",
                    format!("{} is fewer than {MIN_DAYS}", s.days),
                ));
            }
            if i64::try_from(s.seed).is_err() {
                return Err(JobError::config(
                    "data.synthetic.seed",
                    format!(
                        "{} is beyond {}: task definitions hold 64-bit signed integers (every store's limit)",
                        s.seed,
                        i64::MAX
                    ),
                ));
            }
            Ok(DataSpec::Synthetic {
                instruments: s.instruments,
                days: s.days,
                start: s.start,
                seed: s.seed,
                until: None,
            })
        }
    }
}

fn template(
    config: &JobConfig,
    experiment: &str,
    data: &DataSpec,
    index: usize,
    model: &ModelConfig,
) -> Result<Value, JobError> {
    let key = |field: &str| format!("models[{index}].{field}");
    let name_ok = !model.name.is_empty()
        && model
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !name_ok {
        return Err(JobError::config(
            key("name"),
            format!(
                "{:?}: use letters, digits, `_`, `-` and `.` only",
                model.name
            ),
        ));
    }
    if config.models[..index].iter().any(|m| m.name == model.name) {
        return Err(JobError::config(
            key("name"),
            format!("{:?} names two models", model.name),
        ));
    }
    match (model.class.as_str(), &model.command) {
        (RIDGE, None) => {
            RidgeKwargs::parse(&model.kwargs).map_err(|e| JobError::config(key("kwargs"), e))?;
        }
        (RIDGE, Some(_)) => {
            return Err(JobError::config(
                key("command"),
                format!("only a model of class {COMMAND:?} runs a command"),
            ));
        }
        (COMMAND, command) => {
            let Some((program, args)) = command.as_deref().and_then(<[String]>::split_first) else {
                return Err(JobError::config(
                    key("command"),
                    "a model of class \"command\" needs `command: [PROGRAM, ARGS…]`",
                ));
            };
            CommandTask::new(program, args)
                .map_err(|e| JobError::config(key("command"), e.message()))?;
        }
        (other, _) => {
            return Err(JobError::config(
                key("class"),
                format!(
                    "unknown model class {other:?}: use {RIDGE:?} (built in) or {COMMAND:?} (a program)"
                ),
            ));
        }
    }
    let s = &config.segments;
    Ok(json!({
        "experiment": experiment,
        "model": model_json(model),
        "dataset": {"kwargs": {
            "data": data,
            "segments": {"train": s.train, "valid": s.valid, "test": s.test},
        }},
    }))
}

/// The `model` of a task definition (`command` only when there is one, so
/// that ridge tasks keep their content key).
fn model_json(model: &ModelConfig) -> Value {
    let mut json = json!({"class": model.class, "name": model.name, "kwargs": model.kwargs});
    if let Some(command) = &model.command {
        json["command"] = json!(command);
    }
    json
}

fn check_segments(config: &JobConfig) -> Result<(), JobError> {
    let s = &config.segments;
    let named: [(&str, SegmentBounds); 3] =
        [("train", s.train), ("valid", s.valid), ("test", s.test)];
    for (name, [start, end]) in named {
        if let (Some(start), Some(end)) = (start, end)
            && start > end
        {
            return Err(JobError::config(
                format!("segments.{name}"),
                format!("starts on {start}, after its end {end}"),
            ));
        }
    }
    let Some(test_start) = s.test[0] else {
        return Err(JobError::config(
            "segments.test[0]",
            "the test segment needs a start date (the first window starts there)",
        ));
    };
    for (name, [_, end]) in &named[..2] {
        match end {
            Some(end) if *end < test_start => {}
            _ => {
                return Err(JobError::config(
                    format!("segments.{name}[1]"),
                    format!("must be a date before the test start {test_start}"),
                ));
            }
        }
    }
    Ok(())
}

fn sweep_axes(config: &JobConfig) -> Result<Vec<(JsonPath, Vec<Value>)>, JobError> {
    let mut axes = Vec::new();
    for (path, values) in &config.sweep {
        let key = format!("sweep.{path}");
        if !path.starts_with("model.kwargs.") {
            return Err(JobError::config(
                key,
                "only model parameters (model.kwargs.NAME) can be swept",
            ));
        }
        let parsed = JsonPath::parse(path).map_err(|e| JobError::config(&key, e.to_string()))?;
        if values.is_empty() {
            return Err(JobError::config(key, "give at least one value"));
        }
        let mut seen = HashSet::new();
        if let Some(dup) = values.iter().find(|v| !seen.insert(v.to_string())) {
            return Err(JobError::config(key, format!("{dup} appears twice")));
        }
        axes.push((parsed, values.clone()));
    }
    Ok(axes)
}

fn rolling_gen(config: &JobConfig) -> Result<RollingGen, JobError> {
    let r = &config.rolling;
    let step: Step = match &r.step {
        StepValue::Days(n) => Step::TradingDays(usize::try_from(*n).unwrap_or(usize::MAX)),
        StepValue::Text(text) => {
            text.parse()
                .map_err(|e: taskpool_pipeline::generate::BadStep| {
                    JobError::config("rolling.step", e.to_string())
                })?
        }
    };
    if !step.is_positive() {
        return Err(JobError::config(
            "rolling.step",
            format!("{step} is not at least 1"),
        ));
    }
    let rtype: RollType =
        r.rtype
            .parse()
            .map_err(|e: taskpool_pipeline::time_adjust::UnknownRollType| {
                JobError::config("rolling.type", e.to_string())
            })?;
    if r.test_len == Some(0) {
        return Err(JobError::config("rolling.test_len", "0 is not at least 1"));
    }
    let rolling = RollingGen::default()
        .step(step)
        .rtype(rtype)
        .trunc_days(r.trunc_days)
        .test_len(r.test_len)
        .handler_mod(false);
    rolling
        .validate()
        .map_err(|e| JobError::config("rolling", e.to_string()))?;
    Ok(rolling)
}

fn trainer_plan(config: &JobConfig) -> Result<TrainerPlan, JobError> {
    let t = &config.trainer;
    if t.workers == 0 {
        return Err(JobError::config("trainer.workers", "0 is not at least 1"));
    }
    if t.max_attempts == 0 {
        return Err(JobError::config(
            "trainer.max_attempts",
            "0 is not at least 1",
        ));
    }
    let lease = parse_duration("trainer.lease", &t.lease)?;
    if lease < MIN_LEASE.max(Duration::from_secs(1)) {
        return Err(JobError::config(
            "trainer.lease",
            "a lease must last at least 1s",
        ));
    }
    let timeout = t
        .timeout
        .as_deref()
        .map(|text| parse_duration("trainer.timeout", text))
        .transpose()?;
    let grace = parse_duration("trainer.grace", &t.grace)?;
    Ok(TrainerPlan {
        mode: t.mode,
        workers: t.workers,
        lease,
        max_attempts: t.max_attempts,
        timeout,
        grace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "
models: [{name: ridge, class: ridge}]
segments:
  train: [null, 2019-06-28]
  valid: [2019-07-01, 2019-08-30]
  test: [2019-09-02, null]
data: {synthetic: {instruments: 4, days: 200, start: 2019-01-01}}
";

    fn plan(extra: &str) -> Result<JobPlan, JobError> {
        JobPlan::new(&JobConfig::from_yaml(&format!("{BASE}{extra}"))?, None)
    }

    fn key_of(extra: &str) -> String {
        match plan(extra) {
            Err(JobError::Config { key, .. }) => key,
            other => panic!("expected a config error for {extra:?}, got {other:?}"),
        }
    }

    #[test]
    fn new_names_the_offending_key() {
        for (extra, key) in [
            ("rolling: {step: 0}\n", "rolling.step"),
            ("rolling: {step: 0w}\n", "rolling.step"),
            ("rolling: {type: rolling}\n", "rolling.type"),
            ("rolling: {test_len: 0}\n", "rolling.test_len"),
            ("trainer: {workers: 0}\n", "trainer.workers"),
            ("trainer: {lease: 10}\n", "trainer.lease"),
            ("trainer: {lease: 10ms}\n", "trainer.lease"),
            ("trainer: {max_attempts: 0}\n", "trainer.max_attempts"),
            ("trainer: {timeout: soon}\n", "trainer.timeout"),
            ("trainer: {grace: 10}\n", "trainer.grace"),
            ("pool: 'bad name'\n", "pool"),
            ("experiment: ''\n", "experiment"),
            ("sweep: {data.seed: [1, 2]}\n", "sweep.data.seed"),
            (
                "sweep: {model.kwargs.alpha: []}\n",
                "sweep.model.kwargs.alpha",
            ),
            (
                "sweep: {model.kwargs.alpha: [1, 1]}\n",
                "sweep.model.kwargs.alpha",
            ),
            (
                "sweep: {model.kwargs.alpha: [1, -1]}\n",
                "sweep.model.kwargs.alpha",
            ),
            (
                "sweep: {model.kwargs.beta: [1]}\n",
                "sweep.model.kwargs.beta",
            ),
        ] {
            assert_eq!(key_of(extra), key, "{extra}");
        }
    }

    #[test]
    fn new_checks_models_segments_and_data() {
        let with = |from: &str, to: &str| {
            let text = BASE.replace(from, to);
            match JobPlan::new(&JobConfig::from_yaml(&text).unwrap(), None) {
                Err(JobError::Config { key, .. }) => key,
                other => panic!("{to}: {other:?}"),
            }
        };
        assert_eq!(with("class: ridge", "class: lgbm"), "models[0].class");
        assert_eq!(
            with(
                "{name: ridge, class: ridge}",
                "{name: r, class: ridge}, {name: r, class: ridge}"
            ),
            "models[1].name"
        );
        assert_eq!(with("name: ridge", "name: 'a b'"), "models[0].name");
        assert_eq!(with("[{name: ridge, class: ridge}]", "[]"), "models");
        assert_eq!(
            with("class: ridge}", "class: ridge, kwargs: {alpha: -2}}"),
            "models[0].kwargs"
        );
        assert_eq!(with("2019-08-30", "2019-09-03"), "segments.valid[1]");
        assert_eq!(
            with("[2019-09-02, null]", "[null, null]"),
            "segments.test[0]"
        );
        assert_eq!(
            with("[2019-07-01, 2019-08-30]", "[2019-08-30, 2019-07-01]"),
            "segments.valid"
        );
        assert_eq!(
            with("instruments: 4", "instruments: 1"),
            "data.synthetic.instruments"
        );
        assert_eq!(with("days: 200", "days: 20"), "data.synthetic.days");
        assert_eq!(
            with("days: 200", "days: 200, seed: 9223372036854775808"),
            "data.synthetic.seed"
        );
        assert_eq!(
            with("data: {synthetic: {", "data: {file: x.csv, synthetic: {"),
            "data"
        );
        assert_eq!(
            with(
                "data: {synthetic: {instruments: 4, days: 200, start: 2019-01-01}}",
                "data: {file: /no/such.csv}"
            ),
            "data.file"
        );
    }

    #[test]
    fn tasks_roll_windows_for_every_sweep_value() {
        let plan = plan("rolling: {step: 10}\nsweep: {model.kwargs.alpha: [1, 100]}\n").unwrap();
        let data = super::super::market::load(&plan.data).unwrap();
        let planned = plan.tasks(&data.calendar).unwrap();
        assert!(planned.skipped.is_empty());
        let tasks = planned.tasks;
        let defs: Vec<TaskDef> = tasks
            .iter()
            .map(|t| TaskDef::from_value(t).unwrap())
            .collect();
        let per_model = defs
            .iter()
            .filter(|d| d.model.name == "ridge[alpha=1]")
            .count();
        assert!(per_model >= 3);
        assert_eq!(defs.len(), 2 * per_model);
        assert_eq!(defs[per_model].model.name, "ridge[alpha=100]");
        assert_eq!(defs[per_model].model.kwargs, json!({"alpha": 100}));
        let starts: Vec<_> = defs[..per_model]
            .iter()
            .map(|d| d.dataset.kwargs.segments.test[0].unwrap())
            .collect();
        assert!(starts.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(starts[0], jiff::civil::date(2019, 9, 2));
    }

    #[test]
    fn tasks_reject_segments_outside_the_calendar() {
        let plan = JobPlan::new(
            &JobConfig::from_yaml(&BASE.replace("[2019-09-02, null]", "[2031-01-01, null]"))
                .unwrap(),
            None,
        )
        .unwrap();
        let data = super::super::market::load(&plan.data).unwrap();
        assert!(matches!(
            plan.tasks(&data.calendar),
            Err(JobError::Config { ref key, .. }) if key == "segments"
        ));
    }

    #[test]
    fn tasks_skip_a_last_window_without_two_labelled_days() {
        let days = {
            let plan = plan("").unwrap();
            super::super::market::load(&plan.data)
                .unwrap()
                .calendar
                .days()
                .to_vec()
        };
        let n = days.len();
        // Windows of 2 trading days from the fourth-to-last day: the last
        // window holds the data's last day (no label) and one before it.
        let text = BASE.replace("[2019-09-02, null]", &format!("[{}, null]", days[n - 4]));
        let config = JobConfig::from_yaml(&format!(
            "{text}rolling: {{step: 2}}\nsweep: {{model.kwargs.alpha: [1, 2]}}\n"
        ))
        .unwrap();
        let plan = JobPlan::new(&config, None).unwrap();
        let planned = plan
            .tasks(&super::super::market::load(&plan.data).unwrap().calendar)
            .unwrap();
        assert_eq!(planned.tasks.len(), 2, "one window per model is kept");
        assert_eq!(planned.skipped.len(), 1, "{:?}", planned.skipped);
        let skipped = &planned.skipped[0];
        assert_eq!(skipped.models, ["ridge[alpha=1]", "ridge[alpha=2]"]);
        assert_eq!(skipped.test_start, days[n - 2]);
        assert_eq!(skipped.labelled_days, 1);
        assert!(planned.skipped[0].reason().contains("at least 2"));
        let all = plan
            .generate(&super::super::market::load(&plan.data).unwrap().calendar)
            .unwrap();
        assert_eq!(all.len(), 4);
    }

    #[test]
    fn labelled_days_leave_out_the_last_date() {
        let calendar =
            Calendar::from_dates((1..=5).map(|d| jiff::civil::date(2020, 1, d + 5))).unwrap();
        let day = |d: i8| jiff::civil::date(2020, 1, d);
        assert_eq!(labelled_days(&calendar, day(6), None), 4);
        assert_eq!(labelled_days(&calendar, day(9), None), 1);
        assert_eq!(labelled_days(&calendar, day(10), None), 0);
        assert_eq!(labelled_days(&calendar, day(6), Some(day(7))), 2);
        assert_eq!(labelled_days(&calendar, day(1), Some(day(2))), 0);
    }
}
