//! The `taskpool run` configuration file: its schema and its parsing.
//!
//! The file is YAML (JSON is YAML too). It is read into a
//! `serde_json::Value` first and then into [`JobConfig`] with every unknown
//! key rejected, so every error names the key it is about (`rolling.step`,
//! `segments.train[0]`). The meaning of each key is documented on the
//! fields below and in `docs/run-config.md`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::JobError;

/// A whole `taskpool run` configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    /// Store URL for tasks and records (default
    /// [`taskpool::DEFAULT_STORE_URL`]); the
    /// CLI's `--store` overrides it.
    #[serde(default)]
    pub store: Option<String>,
    /// The task pool (default `rolling`); the CLI's `-t/--pool` overrides it.
    #[serde(default = "default_pool")]
    pub pool: String,
    /// The experiment the records go to (default: the pool's name).
    #[serde(default)]
    pub experiment: Option<String>,
    /// The market data (default: the embedded synthetic dataset).
    #[serde(default)]
    pub data: DataConfig,
    /// The models: one task template each (at least one).
    pub models: Vec<ModelConfig>,
    /// The template's segments: `train`, `valid` and `test`.
    pub segments: SegmentsConfig,
    /// How test windows roll.
    #[serde(default)]
    pub rolling: RollingConfig,
    /// A hyper-parameter sweep: dotted path under `model.kwargs.` → values.
    /// Every model is trained with every combination (paths combined in
    /// alphabetical order, the first one outermost).
    #[serde(default)]
    pub sweep: BTreeMap<String, Vec<Value>>,
    /// How tasks are trained.
    #[serde(default)]
    pub trainer: TrainerConfig,
    /// How results are combined.
    #[serde(default)]
    pub collect: CollectConfig,
    /// Where the report goes.
    #[serde(default)]
    pub report: ReportConfig,
}

fn default_pool() -> String {
    "rolling".to_string()
}

/// Where the bars come from: a CSV file, or the synthetic dataset.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// A `date,instrument,open,high,low,close,volume` CSV file, relative to
    /// the config file's directory.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// The synthetic dataset's parameters (used when there is no `file`).
    #[serde(default)]
    pub synthetic: Option<SyntheticConfig>,
}

/// Parameters of the embedded synthetic dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticConfig {
    /// Number of instruments (default 300).
    #[serde(default = "default_instruments")]
    pub instruments: usize,
    /// Number of trading days (weekdays; default 1300, about five years).
    #[serde(default = "default_days")]
    pub days: usize,
    /// First calendar day (default 2019-01-01).
    #[serde(default = "default_start")]
    pub start: Date,
    /// Random seed (default 7).
    #[serde(default = "default_seed")]
    pub seed: u64,
}

impl Default for SyntheticConfig {
    fn default() -> SyntheticConfig {
        SyntheticConfig {
            instruments: default_instruments(),
            days: default_days(),
            start: default_start(),
            seed: default_seed(),
        }
    }
}

fn default_instruments() -> usize {
    300
}
fn default_days() -> usize {
    1300
}
fn default_start() -> Date {
    jiff::civil::date(2019, 1, 1)
}
fn default_seed() -> u64 {
    7
}

/// One model: a task template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Its name in the report (unique; letters, digits, `_ - .`).
    pub name: String,
    /// The model class: `ridge` (built in) or `command` (a program).
    pub class: String,
    /// The class's parameters (`ridge`: `alpha`, default 1.0; `command`:
    /// anything, passed to the program in the task definition).
    #[serde(default = "empty_object")]
    pub kwargs: Value,
    /// `class: command` only: the program and its arguments, run once per
    /// task through the worker protocol, without a shell
    /// (`[python3, examples/models/numpy_ridge.py]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// A segment: `[start, end]`, each a date or `null` (open).
pub type SegmentBounds = [Option<Date>; 2];

/// The template's segments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentsConfig {
    /// Training rows (`null` start: from the first day).
    pub train: SegmentBounds,
    /// Validation rows (metrics only).
    pub valid: SegmentBounds,
    /// The first test window starts here; `null` end: roll to the data's end.
    pub test: SegmentBounds,
}

/// How test windows roll (Qlib's `RollingGen`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollingConfig {
    /// Distance between window starts: `N` or `Nd` trading days, `Nw`
    /// weeks, `Nm` months (default 40).
    #[serde(default = "default_step")]
    pub step: StepValue,
    /// `expanding` (train start fixed, default) or `sliding`.
    #[serde(rename = "type", default = "default_rtype")]
    pub rtype: String,
    /// Trading days left between train/valid and each test start.
    #[serde(default)]
    pub trunc_days: Option<usize>,
    /// Test window length in trading days (default: until the next start).
    #[serde(default)]
    pub test_len: Option<usize>,
}

impl Default for RollingConfig {
    fn default() -> RollingConfig {
        RollingConfig {
            step: default_step(),
            rtype: default_rtype(),
            trunc_days: None,
            test_len: None,
        }
    }
}

fn default_step() -> StepValue {
    StepValue::Days(40)
}
fn default_rtype() -> String {
    "expanding".to_string()
}

/// A step as written: a number of trading days, or a string (`40d`, `2w`, `1m`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StepValue {
    /// Trading days.
    Days(u64),
    /// `N`, `Nd`, `Nw` or `Nm`.
    Text(String),
}

/// How tasks are trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainerConfig {
    /// `workers` (default): N worker processes through the store;
    /// `in_process`: N concurrent tasks in this process.
    #[serde(default)]
    pub mode: TrainerMode,
    /// N (default 2).
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// Lease of a running task; workers heartbeat every third (default `30s`).
    #[serde(default = "default_lease")]
    pub lease: String,
    /// Attempts before a task is `failed` (default 3).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Give up waiting after this long (default: never).
    #[serde(default)]
    pub timeout: Option<String>,
    /// On SIGINT/SIGTERM, how long running tasks may still finish before
    /// they are handed back (default `10s`).
    #[serde(default = "default_grace")]
    pub grace: String,
}

impl Default for TrainerConfig {
    fn default() -> TrainerConfig {
        TrainerConfig {
            mode: TrainerMode::default(),
            workers: default_workers(),
            lease: default_lease(),
            max_attempts: default_max_attempts(),
            timeout: None,
            grace: default_grace(),
        }
    }
}

fn default_workers() -> usize {
    2
}
fn default_lease() -> String {
    "30s".to_string()
}
fn default_grace() -> String {
    "10s".to_string()
}
fn default_max_attempts() -> u32 {
    3
}

/// Where tasks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainerMode {
    /// Local worker processes claiming from the store.
    #[default]
    Workers,
    /// Worker tasks inside the `taskpool run` process.
    InProcess,
}

/// How results are combined after `RollingGroup` + `RollingEnsemble` per model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectConfig {
    /// `average` (default): `AverageEnsemble` across models; `none`.
    #[serde(default)]
    pub ensemble: EnsembleKind,
}

/// The cross-model ensemble.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnsembleKind {
    /// Per-date z-scores averaged across models.
    #[default]
    Average,
    /// No cross-model ensemble.
    None,
}

/// Where the report goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// The report directory (default `taskpool-report/<experiment>`),
    /// relative to the working directory.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Whether to draw `ic.png` (default true).
    #[serde(default = "default_plot")]
    pub plot: bool,
}

impl Default for ReportConfig {
    fn default() -> ReportConfig {
        ReportConfig {
            dir: None,
            plot: default_plot(),
        }
    }
}

fn default_plot() -> bool {
    true
}

impl JobConfig {
    /// Parse a YAML (or JSON) configuration.
    ///
    /// # Errors
    /// [`JobError::Syntax`] for text that is not YAML; [`JobError::Config`]
    /// naming the key for an unknown key, a missing one or a value of the
    /// wrong type (a bad date, say).
    pub fn from_yaml(text: &str) -> Result<JobConfig, JobError> {
        let value: Value = serde_saphyr::from_str(text)
            .map_err(|e| JobError::Syntax(first_line(&e.to_string())))?;
        if !value.is_object() {
            return Err(JobError::Syntax(
                "expected a mapping of keys (store, pool, data, models, segments…)".to_string(),
            ));
        }
        serde_path_to_error::deserialize(value).map_err(|e| {
            let key = e.path().to_string();
            let message = e.into_inner().to_string();
            JobError::config(if key == "." { String::new() } else { key }, message)
        })
    }
}

/// The first non-empty line of a (possibly multi-line) message, without a
/// leading `error:`.
fn first_line(message: &str) -> String {
    let line = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("malformed YAML");
    format!(
        "malformed YAML: {}",
        line.strip_prefix("error:").unwrap_or(line).trim()
    )
}

/// Parse a duration such as `500ms`, `30s`, `5m` or `2h`.
///
/// # Errors
/// [`JobError::Config`] naming `key`.
pub fn parse_duration(key: &str, text: &str) -> Result<Duration, JobError> {
    let bad = || {
        JobError::config(
            key,
            format!("`{text}` is not a duration (expected e.g. 500ms, 30s, 5m, 2h)"),
        )
    };
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let millis = match unit {
        "ms" => Some(n),
        "s" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => None,
    }
    .ok_or_else(bad)?;
    Ok(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "
models: [{name: ridge, class: ridge}]
segments:
  train: [null, 2020-06-30]
  valid: [2020-07-01, 2020-12-31]
  test: [2021-01-01, null]
";

    #[test]
    fn from_yaml_fills_defaults() {
        let c = JobConfig::from_yaml(MINIMAL).unwrap();
        assert_eq!(c.pool, "rolling");
        assert_eq!(c.rolling.step, StepValue::Days(40));
        assert_eq!(c.trainer.mode, TrainerMode::Workers);
        assert_eq!(c.segments.test, [Some(jiff::civil::date(2021, 1, 1)), None]);
        assert_eq!(c.models[0].kwargs, serde_json::json!({}));
    }

    #[test]
    fn from_yaml_names_the_unknown_key() {
        let err = JobConfig::from_yaml(&format!("{MINIMAL}rolling: {{stepp: 3}}\n")).unwrap_err();
        match err {
            JobError::Config { key, message } => {
                assert_eq!(key, "rolling.stepp");
                assert!(message.contains("unknown field"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn from_yaml_names_the_bad_date() {
        let text = MINIMAL.replace("2020-07-01", "2020-13-01");
        match JobConfig::from_yaml(&text).unwrap_err() {
            JobError::Config { key, .. } => assert_eq!(key, "segments.valid[0]"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn from_yaml_rejects_non_yaml_and_non_mappings() {
        assert!(matches!(
            JobConfig::from_yaml("a: [1, 2"),
            Err(JobError::Syntax(_))
        ));
        assert!(matches!(
            JobConfig::from_yaml("- 1\n- 2\n"),
            Err(JobError::Syntax(_))
        ));
    }

    #[test]
    fn parse_duration_accepts_units() {
        assert_eq!(
            parse_duration("k", "500ms").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(parse_duration("k", "2m").unwrap(), Duration::from_secs(120));
        for bad in ["", "5", "s", "1.5s", "3d"] {
            assert!(matches!(
                parse_duration("trainer.lease", bad),
                Err(JobError::Config { .. })
            ));
        }
    }
}
