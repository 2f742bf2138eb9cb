//! Collecting a job's results from the record store and measuring them:
//! per-window metrics from the records, `RollingGroup` + `RollingEnsemble`
//! per model, `AverageEnsemble` across models, and the IC of each combined
//! prediction series against the labels.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use jiff::civil::Date;
use serde::Serialize;
use task_store::{Record, RecordFilter, RecordStatus, RecordStore, TaskId};
use taskpool_pipeline::collect::{Collector, Key, RecorderCollector};
use taskpool_pipeline::ensemble::{AverageEnsemble, RollingGroup};
use taskpool_pipeline::frame::Frame;

use super::config::EnsembleKind;
use super::error::JobError;
use super::market::Labels;
use super::ridge_task::{PRED, SCORE, TAG_MODEL, TAG_TEST_END, TAG_TEST_START};
use crate::metrics::evaluate;

/// The name of the cross-model ensemble in results and reports.
pub const ENSEMBLE: &str = "ensemble";

/// One model's result on one test window, from its record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowResult {
    /// The model.
    pub model: String,
    /// The window's first day.
    pub test_start: Date,
    /// Its last day (`None`: open, up to the end of the data).
    pub test_end: Option<Date>,
    /// The record.
    pub record: String,
    /// The task.
    pub task: String,
    /// The record's metrics (`test_ic`, `test_rank_ic`, `valid_ic`…).
    pub metrics: BTreeMap<String, f64>,
}

/// IC statistics of one prediction series over its dates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesResult {
    /// The model's name, or [`ENSEMBLE`].
    pub name: String,
    /// Mean daily IC (`None` when no day has one).
    pub ic: Option<f64>,
    /// Mean daily rank IC.
    pub rank_ic: Option<f64>,
    /// IC / standard deviation of the daily IC.
    pub icir: Option<f64>,
    /// Days with an IC.
    pub days: usize,
    /// The daily `(date, IC, rank IC)`.
    #[serde(skip)]
    pub daily: Vec<(Date, f64, f64)>,
}

impl SeriesResult {
    /// Mean IC and rank IC over the days from `start` to `end` (inclusive,
    /// `None` = to the end).
    pub fn window(&self, start: Date, end: Option<Date>) -> (Option<f64>, Option<f64>) {
        let days: Vec<&(Date, f64, f64)> = self
            .daily
            .iter()
            .filter(|(d, _, _)| *d >= start && end.is_none_or(|e| *d <= e))
            .collect();
        if days.is_empty() {
            return (None, None);
        }
        let n = days.len() as f64;
        (
            finite(days.iter().map(|d| d.1).sum::<f64>() / n),
            finite(days.iter().map(|d| d.2).sum::<f64>() / n),
        )
    }
}

/// Everything measured about a job.
#[derive(Debug, Clone, PartialEq)]
pub struct Results {
    /// The models, in configuration order.
    pub models: Vec<String>,
    /// One entry per task, by model then test start.
    pub windows: Vec<WindowResult>,
    /// Each model's rolling-ensembled predictions, in model order.
    pub series: Vec<SeriesResult>,
    /// The cross-model ensemble (`None` with `collect.ensemble: none`).
    pub ensemble: Option<SeriesResult>,
    /// The job's signal (see [`combine_models`]).
    pub signal: Option<Frame>,
}

impl Results {
    /// The distinct test windows `(start, end)`, by start.
    pub fn test_windows(&self) -> Vec<(Date, Option<Date>)> {
        let mut windows: Vec<(Date, Option<Date>)> = self
            .windows
            .iter()
            .map(|w| (w.test_start, w.test_end))
            .collect();
        windows.sort();
        windows.dedup();
        windows
    }
}

/// Collect and measure the records of the tasks `ids`.
///
/// # Errors
/// [`JobError::Collect`] when a task has no finished record or a record
/// lacks its tags or predictions; store errors.
pub(crate) async fn collect(
    records: Arc<dyn RecordStore>,
    experiment: &str,
    ids: &[TaskId],
    models: Vec<String>,
    labels: &Labels,
    ensemble: EnsembleKind,
) -> Result<Results, JobError> {
    let wanted: HashSet<TaskId> = ids.iter().copied().collect();
    let finished = records
        .list_records(
            experiment,
            &RecordFilter::all().status([RecordStatus::Finished]),
        )
        .await?;
    let mut newest: HashMap<TaskId, Record> = HashMap::new();
    for record in finished {
        if let Some(task) = record.task_id.filter(|t| wanted.contains(t)) {
            let keep = newest
                .get(&task)
                .is_none_or(|r| (r.created_at, r.id) < (record.created_at, record.id));
            if keep {
                newest.insert(task, record);
            }
        }
    }
    if let Some(missing) = ids.iter().find(|id| !newest.contains_key(id)) {
        return Err(JobError::Collect(format!(
            "task {missing} is done but experiment {experiment:?} has no finished record of it (were its records deleted?); run again with --fresh"
        )));
    }
    let mut windows = newest
        .values()
        .map(window_result)
        .collect::<Result<Vec<_>, _>>()?;
    let rank: HashMap<&str, usize> = models
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    windows.sort_by_key(|w| (rank.get(w.model.as_str()).copied(), w.test_start));

    let collector = RecorderCollector::new(Arc::clone(&records), experiment)
        .rec_filter(move |r| r.task_id.is_some_and(|t| wanted.contains(&t)))
        .key_fn(|r| {
            let tag = |name: &str| r.tags.get(name).cloned().unwrap_or_default();
            Ok(Key::new([tag(TAG_MODEL), tag(TAG_TEST_START)]))
        })
        .process(RollingGroup::new());
    let mut collected = collector.call().await?;
    let per_model = collected
        .shift_remove(&Key::from(PRED))
        .ok_or_else(|| JobError::Collect("no prediction artifacts were collected".to_string()))?
        .into_map()?;
    let mut frames: HashMap<String, Frame> = HashMap::new();
    for (key, node) in per_model {
        let name = key.parts().first().cloned().unwrap_or_default();
        frames.insert(name, node.into_leaf()?);
    }
    let mut series = Vec::with_capacity(models.len());
    let mut ordered = Vec::with_capacity(models.len());
    for model in &models {
        let frame = frames.remove(model).ok_or_else(|| {
            JobError::Collect(format!("no predictions were collected for model {model}"))
        })?;
        series.push(measure(model, &frame, labels)?);
        ordered.push(frame);
    }
    let signal = combine_models(&ordered, ensemble)?;
    let ensemble = match (ensemble, &signal) {
        (EnsembleKind::Average, Some(combined)) => Some(measure(ENSEMBLE, combined, labels)?),
        _ => None,
    };
    Ok(Results {
        models,
        windows,
        series,
        ensemble,
        signal,
    })
}

/// The signal of per-model prediction series (each model's windows already
/// rolled together), in model order: the configured cross-model ensemble
/// (`average`: [`AverageEnsemble`]), or with `none` the one model's series
/// when there is exactly one model (`None` otherwise). `taskpool run` and
/// online serving both make their signal here.
///
/// # Errors
/// [`JobError::Store`] (`InvalidInput`) for frames the ensemble refuses.
pub(crate) fn combine_models(
    frames: &[Frame],
    ensemble: EnsembleKind,
) -> Result<Option<Frame>, JobError> {
    Ok(match (ensemble, frames) {
        (_, []) => None,
        (EnsembleKind::Average, frames) => Some(AverageEnsemble.combine(frames)?),
        (EnsembleKind::None, [one]) => Some(one.clone()),
        (EnsembleKind::None, _) => None,
    })
}

fn window_result(record: &Record) -> Result<WindowResult, JobError> {
    let bad = |what: &str| {
        JobError::Collect(format!(
            "record {} of task {:?} {what}",
            record.id,
            record.task_id.map(|t| t.to_string())
        ))
    };
    let model = record
        .tags
        .get(TAG_MODEL)
        .ok_or_else(|| bad("has no model tag"))?;
    let date = |tag: &str| {
        record
            .tags
            .get(tag)
            .map(|text| {
                text.parse::<Date>()
                    .map_err(|_| bad("has a malformed date tag"))
            })
            .transpose()
    };
    Ok(WindowResult {
        model: model.clone(),
        test_start: date(TAG_TEST_START)?.ok_or_else(|| bad("has no test_start tag"))?,
        test_end: date(TAG_TEST_END)?,
        record: record.id.to_string(),
        task: record.task_id.map(|t| t.to_string()).unwrap_or_default(),
        metrics: record.metrics.clone(),
    })
}

/// The IC statistics of the predictions in `frame` (sorted by date) against
/// `labels`.
pub(crate) fn measure(
    name: &str,
    frame: &Frame,
    labels: &Labels,
) -> Result<SeriesResult, JobError> {
    let score = frame.column(SCORE).ok_or_else(|| {
        JobError::Collect(format!(
            "the predictions of {name} have no {SCORE:?} column"
        ))
    })?;
    let truth: Vec<f64> = frame
        .datetimes()
        .iter()
        .zip(frame.instruments())
        .map(|(d, i)| labels.get(*d, i).unwrap_or(f64::NAN))
        .collect();
    let (daily, m) = evaluate(frame.datetimes(), score, &truth, &truth);
    Ok(SeriesResult {
        name: name.to_string(),
        ic: finite(m.ic),
        rank_ic: finite(m.rank_ic),
        icir: finite(m.icir),
        days: m.days,
        daily,
    })
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}
