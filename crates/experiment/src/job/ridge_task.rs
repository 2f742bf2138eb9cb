//! The built-in task function of `taskpool run`: fit ridge regression on a
//! task's train segment, measure it on valid and test, and store a record
//! with the metrics and the test predictions.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use task_store::record::flatten_params;
use task_store::{NewRecord, RecordStatus, RecordStore, UpdateRecord};
use taskpool_pipeline::frame::Frame;
use taskpool_pipeline::worker::{TaskFn, TaskInput, from_async};

use super::command_model;
use super::market::{self, MarketData};
use super::task_def::{COMMAND, RIDGE, RidgeKwargs, TaskDef};
use crate::data::{FEATURE_NAMES, Rows};
use crate::metrics::evaluate;
use crate::model::{Ridge, RidgeModel};

/// The name of the prediction artifact (a binary [`Frame`] with one column,
/// [`SCORE`]).
pub const PRED: &str = "pred";
/// The name of the fitted model's artifact (a built-in ridge model as JSON:
/// `{"weights": […], "intercept": …}`): online serving predicts new dates
/// with it.
pub const MODEL: &str = "model";
/// The prediction column.
pub const SCORE: &str = "score";
/// The record tag holding the model's name.
pub const TAG_MODEL: &str = "model";
/// The record tag holding the test window's first day.
pub const TAG_TEST_START: &str = "test_start";
/// The record tag holding the test window's last day (absent when open).
pub const TAG_TEST_END: &str = "test_end";
/// The key of a task's result holding its [`ModelWork`].
pub const RES_MODEL_WORK: &str = "model_work";

/// When a task fitted and predicted (the built-in ridge or the model's
/// program), in its result under [`RES_MODEL_WORK`]: loading the data and
/// storing the record are not part of it. Online routines measure their
/// training time with it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelWork {
    /// When the fit began (the clock of the worker's machine).
    pub start: Timestamp,
    /// How long fitting and predicting took.
    pub seconds: f64,
}

impl ModelWork {
    /// The model work in the result `res` of a task, if it has one.
    pub fn of(res: &Value) -> Option<ModelWork> {
        serde_json::from_value(res.get(RES_MODEL_WORK)?.clone()).ok()
    }
}

/// What training one task produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Trained {
    /// `train_rows`, and `ic`, `rank_ic`, `icir`, `mse`, `days` for `valid_`
    /// and `test_` (metrics that are undefined, e.g. on a window without
    /// labels, are left out).
    pub metrics: BTreeMap<String, f64>,
    /// The test predictions: one row per (date, instrument) of the test
    /// window, column [`SCORE`].
    pub pred: Frame,
    /// The fitted model, for a built-in class (stored as artifact [`MODEL`]).
    pub model: Option<RidgeModel>,
}

/// Fit and evaluate the task `def` on `data` (pure: no store).
///
/// The model is fitted on the train rows against the cross-sectionally
/// normalised label; IC and rank IC compare predictions with the raw label
/// (the next return) per date; MSE is against the normalised label.
///
/// # Errors
/// A message for an unknown model class, bad parameters, no usable train
/// rows or an empty test window.
pub fn train(def: &TaskDef, data: &MarketData) -> Result<Trained, String> {
    if def.model.class != RIDGE {
        return Err(format!(
            "model class {:?} is not the built-in {RIDGE:?}",
            def.model.class
        ));
    }
    let kwargs = RidgeKwargs::parse(&def.model.kwargs)?;
    let segments = &def.dataset.kwargs.segments;
    let rows = |[start, end]: [Option<jiff::civil::Date>; 2]| data.dataset.rows(start, end);
    let train_rows = rows(segments.train);
    let model = Ridge {
        alpha: kwargs.alpha,
    }
    .fit(
        train_rows.features,
        FEATURE_NAMES.len(),
        &train_rows.norm_labels,
    )
    .map_err(|e| format!("fitting on the train segment: {e}"))?;
    let mut metrics = BTreeMap::new();
    metrics.insert("train_rows".to_string(), train_rows.len() as f64);
    let valid_rows = rows(segments.valid);
    let test_rows = rows(segments.test);
    if test_rows.is_empty() {
        return Err("the test segment has no rows".to_string());
    }
    let mut test_pred = Vec::new();
    for (prefix, part) in [("valid", &valid_rows), ("test", &test_rows)] {
        let pred = model.predict(part.features);
        add_metrics(&mut metrics, prefix, part, &pred);
        if prefix == "test" {
            test_pred = pred;
        }
    }
    let pred = score_frame(data, &test_rows, test_pred)?;
    Ok(Trained {
        metrics,
        pred,
        model: Some(model),
    })
}

/// The predictions `scores` of `rows` as a frame with the column [`SCORE`].
///
/// # Errors
/// A message if `scores` does not have one value per row.
pub(crate) fn score_frame(
    data: &MarketData,
    rows: &Rows<'_>,
    scores: Vec<f64>,
) -> Result<Frame, String> {
    // One allocation per instrument, shared by its rows.
    let shared: Vec<Arc<str>> = data
        .dataset
        .instruments
        .iter()
        .map(|name| Arc::from(name.as_str()))
        .collect();
    let names = rows
        .instruments
        .iter()
        .map(|&i| Arc::clone(&shared[i as usize]))
        .collect();
    Frame::from_columns(rows.dates.to_vec(), names, [(SCORE.to_string(), scores)])
        .map_err(|e| e.to_string())
}

/// Measure `pred` on `rows`: `<prefix>_ic`, `_rank_ic`, `_icir`, `_mse`,
/// `_days` (undefined ones left out).
pub(crate) fn add_metrics(
    out: &mut BTreeMap<String, f64>,
    prefix: &str,
    rows: &Rows<'_>,
    pred: &[f64],
) {
    let (_, m) = evaluate(rows.dates, pred, &rows.labels, &rows.norm_labels);
    for (name, value) in [
        ("ic", m.ic),
        ("rank_ic", m.rank_ic),
        ("icir", m.icir),
        ("mse", m.mse),
        ("days", m.days as f64),
    ] {
        if value.is_finite() {
            out.insert(format!("{prefix}_{name}"), value);
        }
    }
}

/// Run one task: load its data (cached per process), [`train`] (or run the
/// model's program: [`command_model`]), and store a record in the task's
/// experiment: the definition's flattened parameters, tags [`TAG_MODEL`],
/// [`TAG_TEST_START`], [`TAG_TEST_END`], metrics, the predictions as
/// artifact [`PRED`] and a built-in model as artifact [`MODEL`]. The record
/// is created `running` while the model works (deleted again if the
/// attempt fails) and becomes `finished`, with its metrics, once its
/// artifacts are written, so a crash in between never leaves a finished
/// record without predictions.
///
/// Returns the task's result: `{"record", "experiment", "metrics",
/// "model_work"}` ([`ModelWork`]).
///
/// # Errors
/// A message (the task's error) for a bad definition, unloadable data, a
/// failed fit or a store error.
pub async fn run_task(records: &dyn RecordStore, input: TaskInput) -> Result<Value, String> {
    let def = TaskDef::from_value(&input.payload)?;
    let segments = def.dataset.kwargs.segments;
    let mut tags = BTreeMap::from([(TAG_MODEL.to_string(), def.model.name.clone())]);
    for (tag, date) in [
        (TAG_TEST_START, segments.test[0]),
        (TAG_TEST_END, segments.test[1]),
    ] {
        if let Some(date) = date {
            tags.insert(tag.to_string(), date.to_string());
        }
    }
    let new = NewRecord {
        pool: input.pool.clone(),
        task_id: input.id,
        params: flatten_params(&input.payload),
        task: input.payload.clone(),
        tags,
        ..NewRecord::default()
    };
    let store_err = |e: task_store::Error| format!("storing the record: {e}");
    // The record (`running`: its definition, parameters and tags are known
    // now) is created while the model works; its metrics and artifacts
    // follow.
    let (record, trained) = tokio::join!(
        records.create_record(&def.experiment, new),
        work(&def, &input)
    );
    let record = record.map_err(store_err)?;
    let (trained, work) = match trained {
        Ok(trained) => trained,
        Err(e) => {
            // A failed attempt leaves no record.
            if let Err(gone) = records.delete_record(&def.experiment, record.id).await {
                tracing::warn!("deleting the record of a failed attempt: {gone}");
            }
            return Err(e);
        }
    };
    // The two artifacts side by side (a store may write them in one
    // transaction); the record is finished only once both are written.
    let model = match &trained.model {
        Some(model) => {
            Some(serde_json::to_vec(model).map_err(|e| format!("encoding the model: {e}"))?)
        }
        None => None,
    };
    let put_model = async {
        match model {
            Some(json) => {
                records
                    .put_artifact(&def.experiment, record.id, MODEL, json)
                    .await
            }
            None => Ok(()),
        }
    };
    futures::try_join!(
        records.put_artifact(&def.experiment, record.id, PRED, trained.pred.encode()),
        put_model
    )
    .map_err(store_err)?;
    let mut finished = UpdateRecord::new(record.id).status(RecordStatus::Finished);
    finished.metrics = trained.metrics.clone();
    records
        .update_record(&def.experiment, finished)
        .await
        .map_err(store_err)?;
    Ok(json!({
        "record": record.id.to_string(),
        "experiment": def.experiment,
        "metrics": trained.metrics,
        RES_MODEL_WORK: work,
    }))
}

/// Load the data of `def` (cached per process) and train it: [`train`], or
/// the model's program ([`command_model`]); with when the model worked.
async fn work(def: &TaskDef, input: &TaskInput) -> Result<(Trained, ModelWork), String> {
    let spec = def.dataset.kwargs.data.clone();
    let data = tokio::task::spawn_blocking(move || market::load(&spec))
        .await
        .map_err(|e| format!("loading the data stopped: {e}"))?
        .map_err(|e| e.to_string())?;
    let start = Timestamp::now();
    let began = Instant::now();
    let trained = if def.model.class == COMMAND {
        command_model::train(def, data, input).await?
    } else {
        let for_training = def.clone();
        tokio::task::spawn_blocking(move || train(&for_training, &data))
            .await
            .map_err(|e| format!("training stopped: {e}"))??
    };
    let work = ModelWork {
        start,
        seconds: began.elapsed().as_secs_f64(),
    };
    Ok((trained, work))
}

/// [`run_task`] as a worker's task function, writing records to `records`.
pub fn task_fn(records: Arc<dyn RecordStore>) -> Arc<dyn TaskFn> {
    from_async(move |input: TaskInput| {
        let records = Arc::clone(&records);
        async move { run_task(&*records, input).await }
    })
}
