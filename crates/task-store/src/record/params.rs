//! Parameters of the [`RecordStore`](super::RecordStore) operations and the
//! pure rules that apply them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::flatten::flatten_params;
use super::types::{Record, RecordId, RecordStatus};
use super::validate::{validate_experiment_name, validate_field_name};
use crate::error::{Error, Result};
use crate::id::TaskId;
use crate::int_range::check_int_range;
use crate::limits::{check_field_size, check_map_size, check_metrics_size, check_tags_size};
use crate::pool::validate_pool_name;
use crate::task::Task;
use crate::time::Timestamp;

/// A record to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecord {
    /// The id; `None` lets the store make one from its clock. A caller that
    /// sets it can retry a create safely (the retry fails with `AlreadyExists`).
    pub id: Option<RecordId>,
    /// The pool of the task that produced the record.
    pub pool: Option<String>,
    /// The task that produced the record.
    pub task_id: Option<TaskId>,
    /// The task definition.
    pub task: Value,
    /// Flattened parameters.
    pub params: BTreeMap<String, Value>,
    /// Metrics (finite numbers).
    pub metrics: BTreeMap<String, f64>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Initial status (default `running`).
    pub status: RecordStatus,
}

impl Default for NewRecord {
    fn default() -> NewRecord {
        NewRecord {
            id: None,
            pool: None,
            task_id: None,
            task: Value::Null,
            params: BTreeMap::new(),
            metrics: BTreeMap::new(),
            tags: BTreeMap::new(),
            status: RecordStatus::Running,
        }
    }
}

impl NewRecord {
    /// A `running` record for `task` of `pool`: its id, definition and the
    /// definition's [flattened parameters](flatten_params).
    pub fn for_task(pool: &str, task: &Task) -> NewRecord {
        NewRecord {
            pool: Some(pool.to_string()),
            task_id: Some(task.id),
            task: task.def.clone(),
            params: flatten_params(&task.def),
            ..NewRecord::default()
        }
    }

    /// Checks names and values, then builds the stored record of
    /// `experiment` at `now` (a fresh id if none was given).
    ///
    /// # Errors
    /// `Config` for a bad experiment or pool name; `InvalidInput` for an
    /// empty or overlong parameter/metric/tag name, a non-finite metric, or
    /// an integer beyond `i64::MAX` in `task` or a parameter.
    pub fn into_record(self, experiment: &str, now: Timestamp) -> Result<Record> {
        validate_experiment_name(experiment)?;
        if let Some(pool) = &self.pool {
            validate_pool_name(pool)?;
        }
        validate_maps(&self.params, &self.metrics, &self.tags)?;
        check_int_range("task", &self.task)?;
        check_field_size("task", &self.task)?;
        Ok(Record {
            id: self.id.unwrap_or_else(|| RecordId::generate(now)),
            experiment: experiment.to_string(),
            pool: self.pool,
            task_id: self.task_id,
            task: self.task,
            params: self.params,
            metrics: self.metrics,
            tags: self.tags,
            status: self.status,
            created_at: now,
            updated_at: now,
            finished_at: self.status.is_final().then_some(now),
        })
    }
}

/// Changes to one record: entries are merged into its maps (a name already
/// present takes the new value), the status is set if given.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateRecord {
    /// The record to change.
    pub id: RecordId,
    /// The new status.
    pub status: Option<RecordStatus>,
    /// Parameters to set.
    pub params: BTreeMap<String, Value>,
    /// Metrics to set (finite numbers).
    pub metrics: BTreeMap<String, f64>,
    /// Tags to set.
    pub tags: BTreeMap<String, String>,
}

impl UpdateRecord {
    /// An update of record `id` that changes nothing yet.
    pub fn new(id: RecordId) -> UpdateRecord {
        UpdateRecord {
            id,
            status: None,
            params: BTreeMap::new(),
            metrics: BTreeMap::new(),
            tags: BTreeMap::new(),
        }
    }

    /// Also set the status.
    pub fn status(mut self, status: RecordStatus) -> UpdateRecord {
        self.status = Some(status);
        self
    }

    /// Also set a metric.
    pub fn metric(mut self, name: impl Into<String>, value: f64) -> UpdateRecord {
        self.metrics.insert(name.into(), value);
        self
    }

    /// Also set a tag.
    pub fn tag(mut self, name: impl Into<String>, value: impl Into<String>) -> UpdateRecord {
        self.tags.insert(name.into(), value.into());
        self
    }

    /// Also set a parameter.
    pub fn param(mut self, name: impl Into<String>, value: Value) -> UpdateRecord {
        self.params.insert(name.into(), value);
        self
    }

    /// Checks names and values.
    ///
    /// # Errors
    /// `InvalidInput` for an empty or overlong name, a non-finite metric, or
    /// a parameter holding an integer beyond `i64::MAX`.
    pub fn validate(&self) -> Result<()> {
        validate_maps(&self.params, &self.metrics, &self.tags)
    }

    /// Apply the update to `record` at `now`: merge the maps, set the status,
    /// `updated_at` = now; entering `finished`/`failed` sets `finished_at` =
    /// now, entering `running` clears it, keeping a final status keeps it.
    ///
    /// # Errors
    /// `InvalidInput` if a merged map would exceed
    /// [`MAX_FIELD_BYTES`](crate::MAX_FIELD_BYTES); `record` is then unchanged.
    pub fn apply(&self, record: &mut Record, now: Timestamp) -> Result<()> {
        let mut params = record.params.clone();
        params.extend(self.params.clone());
        let mut metrics = record.metrics.clone();
        metrics.extend(self.metrics.clone());
        let mut tags = record.tags.clone();
        tags.extend(self.tags.clone());
        check_record_sizes(&params, &metrics, &tags)?;
        record.params = params;
        record.metrics = metrics;
        record.tags = tags;
        if let Some(status) = self.status {
            if status != record.status {
                record.finished_at = status.is_final().then_some(now);
            }
            record.status = status;
        }
        record.updated_at = now;
        Ok(())
    }
}

/// Which records of an experiment to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFilter {
    /// Only records in one of these statuses (`None`: any status).
    pub status: Option<BTreeSet<RecordStatus>>,
    /// Only records having every one of these tags with exactly this value.
    pub tags: BTreeMap<String, String>,
    /// Only records of this task.
    pub task_id: Option<TaskId>,
}

impl RecordFilter {
    /// Records in any status, with any tags.
    pub fn all() -> RecordFilter {
        RecordFilter::default()
    }

    /// Only records in one of `statuses`.
    pub fn status(mut self, statuses: impl IntoIterator<Item = RecordStatus>) -> RecordFilter {
        self.status = Some(statuses.into_iter().collect());
        self
    }

    /// Also require tag `name` = `value`.
    pub fn tag(mut self, name: impl Into<String>, value: impl Into<String>) -> RecordFilter {
        self.tags.insert(name.into(), value.into());
        self
    }

    /// Whether `record` passes the filter: the oracle every backend agrees with.
    pub fn matches(&self, record: &Record) -> bool {
        self.status
            .as_ref()
            .is_none_or(|set| set.contains(&record.status))
            && self.tags.iter().all(|(k, v)| record.tags.get(k) == Some(v))
            && self.task_id.is_none_or(|id| record.task_id == Some(id))
    }
}

fn validate_maps(
    params: &BTreeMap<String, Value>,
    metrics: &BTreeMap<String, f64>,
    tags: &BTreeMap<String, String>,
) -> Result<()> {
    for (name, value) in params {
        validate_field_name("param", name)?;
        check_int_range(&format!("params[{}]", Value::String(name.clone())), value)?;
    }
    for (name, value) in metrics {
        validate_field_name("metric", name)?;
        if !value.is_finite() {
            return Err(Error::invalid_input(format!(
                "metric {name:?} is {value}: metrics must be finite (leave an undefined metric out)"
            )));
        }
    }
    for name in tags.keys() {
        validate_field_name("tag", name)?;
    }
    check_record_sizes(params, metrics, tags)
}

/// The size limits of a record's maps (see [`limits`](crate::limits)).
fn check_record_sizes(
    params: &BTreeMap<String, Value>,
    metrics: &BTreeMap<String, f64>,
    tags: &BTreeMap<String, String>,
) -> Result<()> {
    check_map_size("params", params)?;
    check_metrics_size(metrics)?;
    check_tags_size(tags)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ErrorKind;

    const T0: Timestamp = Timestamp::from_millis(1_767_225_600_000);
    const T1: Timestamp = Timestamp::from_millis(1_767_225_601_000);

    #[test]
    fn into_record_sets_timestamps_by_status() {
        let running = NewRecord::default().into_record("e", T0).unwrap();
        assert_eq!((running.created_at, running.updated_at), (T0, T0));
        assert_eq!(running.finished_at, None);
        let done = NewRecord {
            status: RecordStatus::Finished,
            ..NewRecord::default()
        }
        .into_record("e", T0)
        .unwrap();
        assert_eq!(done.finished_at, Some(T0));
    }

    #[test]
    fn into_record_rejects_non_finite_metrics() {
        for bad in [f64::NAN, f64::INFINITY] {
            let mut new = NewRecord::default();
            new.metrics.insert("ic".into(), bad);
            assert_eq!(
                new.into_record("e", T0).unwrap_err().kind(),
                ErrorKind::InvalidInput
            );
        }
    }

    #[test]
    fn apply_tracks_finished_at() {
        let mut r = NewRecord::default().into_record("e", T0).unwrap();
        UpdateRecord::new(r.id)
            .status(RecordStatus::Finished)
            .metric("ic", 0.5)
            .apply(&mut r, T1)
            .unwrap();
        assert_eq!((r.finished_at, r.updated_at), (Some(T1), T1));
        UpdateRecord::new(r.id)
            .status(RecordStatus::Finished)
            .apply(&mut r, Timestamp::from_millis(T1.as_millis() + 5))
            .unwrap();
        assert_eq!(r.finished_at, Some(T1));
        UpdateRecord::new(r.id)
            .status(RecordStatus::Running)
            .apply(&mut r, T1)
            .unwrap();
        assert_eq!(r.finished_at, None);
        assert_eq!(r.metrics["ic"], 0.5);
    }

    #[test]
    fn filter_matches_status_tags_and_task() {
        let mut r = NewRecord::default().into_record("e", T0).unwrap();
        r.tags.insert("online".into(), "yes".into());
        assert!(RecordFilter::all().matches(&r));
        assert!(
            RecordFilter::all()
                .status([RecordStatus::Running])
                .matches(&r)
        );
        assert!(
            !RecordFilter::all()
                .status([RecordStatus::Finished])
                .matches(&r)
        );
        assert!(!RecordFilter::all().status([]).matches(&r));
        assert!(RecordFilter::all().tag("online", "yes").matches(&r));
        assert!(!RecordFilter::all().tag("online", "no").matches(&r));
        assert!(!RecordFilter::all().tag("other", "yes").matches(&r));
        let with_task = RecordFilter {
            task_id: Some(TaskId::generate(T0)),
            ..RecordFilter::all()
        };
        assert!(!with_task.matches(&r));
    }

    #[test]
    fn record_round_trips_through_json() {
        let mut new = NewRecord {
            task: json!({"model": {"alpha": 0.1}}),
            ..NewRecord::default()
        };
        new.params = flatten_params(&new.task);
        new.metrics.insert("ic".into(), 0.1 + 0.2);
        let r = new.into_record("e", T0).unwrap();
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), r);
    }
}
