//! [`ParamSweep`]: the cartesian product of value lists at JSON paths.

use serde_json::Value;

use super::TaskGen;
use super::error::GenError;
use super::path::JsonPath;
use crate::calendar::Calendar;

/// A parameter sweep: one task per combination of values, e.g.
/// `model.kwargs.loss: [mse, huber]` × `model.kwargs.alpha: [0.1, 1, 10]`
/// gives 6 tasks. The first axis varies slowest (its values are outermost),
/// like nested loops in axis order. A sweep without axes returns the task
/// unchanged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParamSweep {
    axes: Vec<(JsonPath, Vec<Value>)>,
}

impl ParamSweep {
    /// A sweep without axes.
    pub fn new() -> Self {
        ParamSweep::default()
    }

    /// Add an axis: the task gets each of `values` at the dotted `path`.
    ///
    /// # Errors
    /// [`GenError::BadPath`] for a malformed path, [`GenError::Config`] for an
    /// empty value list.
    pub fn axis(
        mut self,
        path: &str,
        values: impl IntoIterator<Item = Value>,
    ) -> Result<Self, GenError> {
        let path = JsonPath::parse(path)?;
        let values: Vec<Value> = values.into_iter().collect();
        if values.is_empty() {
            return Err(GenError::Config {
                param: "sweep",
                reason: format!("no values for `{path}`"),
            });
        }
        self.axes.push((path, values));
        Ok(self)
    }
}

impl TaskGen for ParamSweep {
    /// Every combination, first axis outermost.
    ///
    /// # Errors
    /// [`GenError::WrongType`] when a path runs through a scalar.
    fn generate(&self, task: &Value, _calendar: &Calendar) -> Result<Vec<Value>, GenError> {
        let mut tasks = vec![task.clone()];
        for (path, values) in &self.axes {
            let mut next = Vec::with_capacity(tasks.len() * values.len());
            for t in &tasks {
                for value in values {
                    let mut out = t.clone();
                    path.set(&mut out, value.clone())?;
                    next.push(out);
                }
            }
            tasks = next;
        }
        Ok(tasks)
    }
}
