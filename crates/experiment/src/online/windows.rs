//! [`Windows`]: the rolling windows of the configuration on the calendar a
//! routine sees, by strategy, and the tasks of those not trained yet.

use jiff::civil::Date;
use serde_json::Value;
use taskpool_pipeline::calendar::Calendar;

use super::strategy::RollingStrategy;
use crate::job::market::DataSpec;
use crate::job::task_def::TaskDef;
use crate::job::{JobError, JobPlan};

/// The windows a routine works with: every window of the configuration on
/// the calendar it sees, and the strategies (models) they belong to.
pub(crate) struct Windows {
    /// One strategy per model, in the configuration's order.
    pub strategies: Vec<RollingStrategy>,
    /// Every window, parsed and as the task definition it is created from.
    generated: Vec<(TaskDef, Value)>,
}

impl Windows {
    /// Every window of `job` on `calendar` (a routine's), each task reading
    /// the data of `spec` (the routine's: dates after its as-of hidden).
    ///
    /// # Errors
    /// [`JobError::Config`] for a window that does not generate.
    pub(crate) fn generate(
        job: &JobPlan,
        spec: &DataSpec,
        calendar: &Calendar,
    ) -> Result<Windows, JobError> {
        let spec = serde_json::to_value(spec)
            .map_err(|e| JobError::Collect(format!("encoding the data spec: {e}")))?;
        let mut generated = Vec::new();
        let mut strategies: Vec<RollingStrategy> = Vec::new();
        for mut task in job.generate(calendar)? {
            task["dataset"]["kwargs"]["data"] = spec.clone();
            let def = TaskDef::from_value(&task).map_err(|e| JobError::config("models", e))?;
            if !strategies.iter().any(|s| s.name() == def.model.name) {
                strategies.push(RollingStrategy::new(def.model.name.clone()));
            }
            generated.push((def, task));
        }
        Ok(Windows {
            strategies,
            generated,
        })
    }

    /// The test starts of the windows of `strategy`.
    pub(crate) fn test_starts(&self, strategy: &str) -> Vec<Date> {
        self.generated
            .iter()
            .filter(|(def, _)| def.model.name == strategy)
            .filter_map(|(def, _)| def.dataset.kwargs.segments.test[0])
            .collect()
    }

    /// The tasks of each strategy's windows not trained yet: `trained`
    /// gives the test starts of a strategy's trained windows.
    pub(crate) fn new_tasks(&self, trained: impl Fn(&str) -> Vec<Date>) -> Vec<Value> {
        self.strategies
            .iter()
            .flat_map(|s| s.prepare_tasks(&self.generated, &trained(s.name())))
            .collect()
    }
}
