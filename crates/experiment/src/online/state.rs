//! The online state, read from the store: the model records of the online
//! experiment (tagged `online`/`offline`) and its routine records.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use serde::Serialize;
use serde_json::Value;
use task_store::{Record, RecordFilter, RecordId, RecordStatus, RecordStore};

use super::routine::{ModelRef, RoutineSummary};
use crate::job::JobError;
use crate::job::market::DataSpec;
use crate::job::ridge_task::{TAG_MODEL, TAG_TEST_END, TAG_TEST_START};

/// The record tag saying whether a model is online (Qlib's `online_status`).
pub const TAG_ONLINE: &str = "online_status";
/// [`TAG_ONLINE`] of a model serving now.
pub const ONLINE: &str = "online";
/// [`TAG_ONLINE`] of a model that served before (a model without the tag
/// never served).
pub const OFFLINE: &str = "offline";
/// The record tag holding the last date a model has predicted.
pub const TAG_PRED_END: &str = "pred_end";
/// The record tag naming what a record of the online experiment is.
pub const TAG_KIND: &str = "kind";
/// [`TAG_KIND`] of a routine record.
pub const KIND_ROUTINE: &str = "routine";
/// The record tag holding a routine's as-of date.
pub const TAG_AS_OF: &str = "as_of";
/// The artifact of a routine record holding the signal rows it added (all
/// of the signal when it overwrote it).
pub const SIGNALS: &str = "signals";
/// The routine record's parameter holding its [`RoutineSummary`].
pub(crate) const PARAM_ROUTINE: &str = "routine";

/// One trained model of the online experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRecord {
    /// The record.
    pub id: RecordId,
    /// Its strategy (the model's name).
    pub strategy: String,
    /// Its window's first test day.
    pub test_start: Date,
    /// Its window's last test day, as known when it was trained.
    pub test_end: Option<Date>,
    /// Its `online_status` tag (`None`: never online).
    pub status: Option<String>,
    /// The last date it predicted.
    pub pred_end: Option<Date>,
    /// The last date of data its task could see (the as-of of the routine
    /// that trained it; `None` for a task that saw all the data).
    pub data_until: Option<Date>,
    /// The task definition it was trained from.
    pub task: Value,
}

impl ModelRecord {
    /// Whether it is online.
    pub fn is_online(&self) -> bool {
        self.status.as_deref() == Some(ONLINE)
    }

    /// Its reference in summaries.
    pub fn reference(&self) -> ModelRef {
        ModelRef {
            strategy: self.strategy.clone(),
            test_start: self.test_start,
            record: self.id.to_string(),
        }
    }
}

/// One routine record.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutineRecord {
    /// The record.
    pub id: RecordId,
    /// What the routine did.
    pub summary: RoutineSummary,
}

/// Everything the store holds about an online experiment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OnlineState {
    /// The finished model records (the newest per strategy and test start),
    /// by strategy then test start.
    pub models: Vec<ModelRecord>,
    /// The routine records, by as-of date.
    pub routines: Vec<RoutineRecord>,
}

impl OnlineState {
    /// Read the state of `experiment`.
    ///
    /// # Errors
    /// [`JobError::Collect`] for a record whose tags or summary do not
    /// parse; store errors.
    pub async fn load(
        records: &dyn RecordStore,
        experiment: &str,
    ) -> Result<OnlineState, JobError> {
        let finished = records
            .list_records(
                experiment,
                &RecordFilter::all().status([RecordStatus::Finished]),
            )
            .await?;
        let mut models: HashMap<(String, Date), (Record, ModelRecord)> = HashMap::new();
        let mut routines = Vec::new();
        for record in finished {
            if record.tags.get(TAG_KIND).map(String::as_str) == Some(KIND_ROUTINE) {
                let summary = record
                    .params
                    .get(PARAM_ROUTINE)
                    .cloned()
                    .and_then(|v| serde_json::from_value(v).ok())
                    .ok_or_else(|| {
                        JobError::Collect(format!(
                            "routine record {} has no readable summary",
                            record.id
                        ))
                    })?;
                routines.push(RoutineRecord {
                    id: record.id,
                    summary,
                });
                continue;
            }
            let Some(model) = model_record(&record)? else {
                continue;
            };
            let key = (model.strategy.clone(), model.test_start);
            let newer = models
                .get(&key)
                .is_none_or(|(r, _)| (r.created_at, r.id) < (record.created_at, record.id));
            if newer {
                models.insert(key, (record, model));
            }
        }
        let mut models: Vec<ModelRecord> = models.into_values().map(|(_, m)| m).collect();
        models.sort_by(|a, b| (&a.strategy, a.test_start).cmp(&(&b.strategy, b.test_start)));
        routines.sort_by_key(|r: &RoutineRecord| (r.summary.as_of, r.id));
        Ok(OnlineState { models, routines })
    }

    /// The state a routine at `as_of` starts from: the models trained on
    /// data before `as_of`, by earlier routines. A model trained on the data
    /// of `as_of` itself is this routine's to train (it asks the pool for
    /// it, and gets it back if it was trained already: by `simulate`
    /// training ahead, or by an interrupted run of the same routine);
    /// later ones are not visible at all.
    pub fn before(mut self, as_of: Date) -> OnlineState {
        self.models
            .retain(|m| m.data_until.is_none_or(|d| d < as_of));
        self
    }

    /// The models trained on data up to `as_of` (nothing later: a routine
    /// never sees a model that `simulate` trained ahead for a later
    /// routine).
    pub fn up_to(mut self, as_of: Date) -> OnlineState {
        self.models
            .retain(|m| m.data_until.is_none_or(|d| d <= as_of));
        self
    }

    /// The last routine, if any.
    pub fn last_routine(&self) -> Option<&RoutineRecord> {
        self.routines.last()
    }

    /// The signal's last date, if there is a signal.
    pub fn signal_end(&self) -> Option<Date> {
        self.routines
            .iter()
            .filter_map(|r| r.summary.signal_end)
            .max()
    }

    /// The models of `strategy`, by test start.
    pub fn models_of<'a>(&'a self, strategy: &'a str) -> impl Iterator<Item = &'a ModelRecord> {
        self.models.iter().filter(move |m| m.strategy == strategy)
    }
}

/// The model of a training record; `None` for another kind of record.
fn model_record(record: &Record) -> Result<Option<ModelRecord>, JobError> {
    let (Some(strategy), Some(start)) =
        (record.tags.get(TAG_MODEL), record.tags.get(TAG_TEST_START))
    else {
        return Ok(None);
    };
    let date = |text: &str| {
        text.parse::<Date>().map_err(|_| {
            JobError::Collect(format!(
                "record {} has a malformed date tag {text:?}",
                record.id
            ))
        })
    };
    Ok(Some(ModelRecord {
        id: record.id,
        strategy: strategy.clone(),
        test_start: date(start)?,
        test_end: record.tags.get(TAG_TEST_END).map(|t| date(t)).transpose()?,
        status: record.tags.get(TAG_ONLINE).cloned(),
        pred_end: record.tags.get(TAG_PRED_END).map(|t| date(t)).transpose()?,
        data_until: data_until(&record.task),
        task: record.task.clone(),
    }))
}

/// The last date of data the task `task` sees (its data spec's `until`).
fn data_until(task: &Value) -> Option<Date> {
    let spec = task.pointer("/dataset/kwargs/data")?;
    serde_json::from_value::<DataSpec>(spec.clone())
        .ok()?
        .until()
}

/// `taskpool online status`: what is online and how far the signal goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OnlineStatus {
    /// The store (password redacted).
    pub store: String,
    /// The online experiment.
    pub experiment: String,
    /// Routines run so far.
    pub routines: usize,
    /// The last routine's as-of date.
    pub last_as_of: Option<Date>,
    /// The signal's first date.
    pub signal_start: Option<Date>,
    /// The signal's last date.
    pub signal_end: Option<Date>,
    /// The online model of each strategy (`null` before the first routine).
    pub online: BTreeMap<String, Option<ModelRef>>,
    /// Models trained so far.
    pub models: usize,
}

#[cfg(test)]
mod tests {
    use jiff::civil::{Date, date};
    use serde_json::Value;
    use task_store::RecordId;

    use super::{ModelRecord, OnlineState};

    fn id(n: u8) -> RecordId {
        RecordId::from_bytes([n; 12])
    }

    fn model(n: u8, test_start: Date, data_until: Date) -> ModelRecord {
        ModelRecord {
            id: id(n),
            strategy: "ridge".to_string(),
            test_start,
            test_end: None,
            status: None,
            pred_end: None,
            data_until: Some(data_until),
            task: Value::Null,
        }
    }

    #[test]
    fn a_routine_sees_models_of_earlier_data_and_its_own_after_training() {
        let (q1, q2, q3) = (date(2021, 1, 4), date(2021, 4, 1), date(2021, 7, 1));
        let state = OnlineState {
            models: vec![model(1, q1, q1), model(2, q2, q2), model(3, q3, q3)],
            routines: Vec::new(),
        };
        let ids = |s: OnlineState| s.models.iter().map(|m| m.id).collect::<Vec<_>>();
        // Before training at q2: only what earlier routines trained.
        assert_eq!(ids(state.clone().before(q2)), [id(1)]);
        // After training at q2: its own window too, never q3's (trained
        // ahead for a later routine).
        assert_eq!(ids(state.clone().up_to(q2)), [id(1), id(2)]);
        assert_eq!(ids(state.up_to(date(2021, 6, 30))).len(), 2);
    }
}
