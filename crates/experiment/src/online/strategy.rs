//! [`RollingStrategy`]: one model of the configuration, rolled online
//! (Qlib's `RollingStrategy`).

use jiff::civil::Date;
use serde_json::Value;
use taskpool_pipeline::calendar::Calendar;

use super::state::ModelRecord;
use crate::job::task_def::TaskDef;

/// One model of the configuration (after the sweep: `ridge[alpha=10]` is a
/// strategy of its own), its windows rolled over the calendar each routine
/// sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollingStrategy {
    name: String,
}

impl RollingStrategy {
    /// The strategy of the model `name`.
    pub fn new(name: impl Into<String>) -> RollingStrategy {
        RollingStrategy { name: name.into() }
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Qlib's `prepare_tasks` (and `first_tasks` when nothing is trained):
    /// this model's windows among `generated` (every window on the routine's
    /// calendar, with their definitions) whose test start is not among
    /// `trained` (the test starts of the windows trained already). A window
    /// is known by its test start: one trained while its end was open (past
    /// the data of its routine) is not trained again once later data closes
    /// it.
    pub fn prepare_tasks(&self, generated: &[(TaskDef, Value)], trained: &[Date]) -> Vec<Value> {
        generated
            .iter()
            .filter(|(def, _)| def.model.name == self.name)
            .filter(|(def, _)| {
                let start = def.dataset.kwargs.segments.test[0];
                !trained.iter().any(|t| Some(*t) == start)
            })
            .map(|(_, task)| task.clone())
            .collect()
    }

    /// The model to put online: the one of the latest window.
    pub fn online_model<'a>(&self, models: &[&'a ModelRecord]) -> Option<&'a ModelRecord> {
        models.iter().copied().max_by_key(|m| m.test_start)
    }

    /// The last date each of `models` (this strategy's) serves on a routine
    /// at `as_of`: the trading day before the next window's start (the
    /// first of `starts`, every window's test start this routine knows,
    /// after the model's), or `as_of` for the latest window. `None` when
    /// that is before the model's first test day.
    pub fn serves_until<'a>(
        &self,
        models: &[&'a ModelRecord],
        starts: &[Date],
        as_of: Date,
        calendar: &Calendar,
    ) -> Vec<(&'a ModelRecord, Option<Date>)> {
        models
            .iter()
            .map(|model| {
                let next = starts.iter().filter(|s| **s > model.test_start).min();
                let end = match next {
                    None => Some(as_of),
                    Some(next) => calendar
                        .index_on_or_after(*next)
                        .checked_sub(1)
                        .and_then(|i| calendar.get(i))
                        .map(|d| d.min(as_of)),
                };
                (*model, end.filter(|end| *end >= model.test_start))
            })
            .collect()
    }
}
