//! The definition of one `taskpool run` task, as stored in the pool.
//!
//! ```json
//! {"experiment": "rolling",
//!  "model": {"class": "ridge", "name": "ridge", "kwargs": {"alpha": 1.0}},
//!  "dataset": {"kwargs": {
//!     "data": {"synthetic": {"instruments": 300, "days": 1300, "start": "2019-01-01", "seed": 7}},
//!     "segments": {"train": ["2019-02-01", "2020-12-29"], "valid": […], "test": […]}}}}
//! ```
//!
//! The shape follows Qlib's task dict (`model`, `dataset.kwargs.segments`),
//! so the generic generators ([`RollingGen`](taskpool_pipeline::generate::RollingGen),
//! [`ParamSweep`](taskpool_pipeline::generate::ParamSweep)) work on it unchanged. Every
//! task carries everything a worker process needs: the experiment its record
//! goes to, the data and the model.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::market::DataSpec;

/// The built-in model class.
pub const RIDGE: &str = "ridge";
/// The class of a model that is a program (see
/// [`command_model`](super::command_model)).
pub const COMMAND: &str = "command";

/// One task's definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskDef {
    /// The experiment the task's record goes to.
    pub experiment: String,
    /// The model to fit.
    pub model: ModelSpec,
    /// The data and the segments.
    pub dataset: DatasetSpec,
}

/// A model in a task definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The class ([`RIDGE`] or [`COMMAND`]).
    pub class: String,
    /// The model's name in the report: the configured name, followed by the
    /// swept parameters (`ridge[alpha=10]`).
    pub name: String,
    /// The class's parameters.
    pub kwargs: Value,
    /// [`COMMAND`] only: the program and its arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
}

/// The dataset of a task definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// Its parameters.
    pub kwargs: DatasetKwargs,
}

/// Where the rows come from and which dates each segment covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetKwargs {
    /// The bars.
    pub data: DataSpec,
    /// The segments.
    pub segments: Segments,
}

/// `[start, end]` of each segment, `None` = open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segments {
    /// Training rows.
    pub train: [Option<Date>; 2],
    /// Validation rows.
    pub valid: [Option<Date>; 2],
    /// Test rows (the rolling window).
    pub test: [Option<Date>; 2],
}

/// Parameters of the `ridge` class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RidgeKwargs {
    /// The L2 penalty (default 1.0).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
}

fn default_alpha() -> f64 {
    1.0
}

impl RidgeKwargs {
    /// Read and check `kwargs`.
    ///
    /// # Errors
    /// A message for an unknown key, a non-number or a negative alpha.
    pub fn parse(kwargs: &Value) -> Result<RidgeKwargs, String> {
        let parsed: RidgeKwargs =
            serde_json::from_value(kwargs.clone()).map_err(|e| e.to_string())?;
        if !parsed.alpha.is_finite() || parsed.alpha < 0.0 {
            return Err(format!("alpha must be a number >= 0, got {}", parsed.alpha));
        }
        Ok(parsed)
    }
}

impl TaskDef {
    /// Read a definition from its JSON.
    ///
    /// # Errors
    /// A message naming what does not fit the schema.
    pub fn from_value(def: &Value) -> Result<TaskDef, String> {
        serde_json::from_value(def.clone())
            .map_err(|e| format!("not a taskpool run task definition: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn from_value_reads_a_generated_definition() {
        let def = json!({
            "experiment": "e",
            "model": {"class": "ridge", "name": "ridge", "kwargs": {"alpha": 2.0}},
            "dataset": {"kwargs": {
                "data": {"synthetic": {"instruments": 3, "days": 40, "start": "2020-01-01", "seed": 1}},
                "segments": {"train": [null, "2020-01-20"], "valid": ["2020-01-21", "2020-01-31"],
                             "test": ["2020-02-03", null]}}}
        });
        let task = TaskDef::from_value(&def).unwrap();
        assert_eq!(task.dataset.kwargs.segments.test[1], None);
        assert_eq!(
            RidgeKwargs::parse(&task.model.kwargs).unwrap(),
            RidgeKwargs { alpha: 2.0 }
        );
        assert_eq!(serde_json::to_value(&task).unwrap(), def);
    }

    #[test]
    fn ridge_kwargs_reject_unknown_keys_and_negative_alpha() {
        assert!(RidgeKwargs::parse(&json!({"lambda": 1})).is_err());
        assert!(RidgeKwargs::parse(&json!({"alpha": -1})).is_err());
        assert_eq!(RidgeKwargs::parse(&json!({})).unwrap().alpha, 1.0);
    }
}
