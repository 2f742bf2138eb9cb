//! Prediction update (Qlib's `PredUpdater`): a model predicts the dates
//! after its last prediction, and they are appended to its `pred` artifact.
//!
//! The data is the routine's (every date up to its as-of, so the features
//! of the new dates have all the history they need: 20 days of bars at
//! most); only the new dates are predicted. A built-in model predicts with
//! its stored coefficients (artifact `model`); a `class: command` model's
//! program runs again through the worker protocol with the test segment set
//! to the new dates (it refits on its unchanged train segment), and its
//! `pred.csv` is checked as in training.
//!
//! Predicting (the built-in model's `predict` and its frame, or the
//! program's run) is model work, as fitting is: its [`ModelWork`] is
//! returned with the update, and the routine counts it with the training
//! tasks' (see `RoutineSummary::predict_seconds`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use jiff::civil::Date;
use task_store::{RecordId, RecordStore, UpdateRecord};
use taskpool_pipeline::ensemble::RollingEnsemble;
use taskpool_pipeline::frame::Frame;
use taskpool_pipeline::worker::{Phase, Shutdown, TaskInput};

use super::routine::{PredUpdate, Visible};
use super::state::{ModelRecord, OnlineState, TAG_PRED_END};
use super::strategy::RollingStrategy;
use crate::job::JobError;
use crate::job::command_model;
use crate::job::market::{DataSpec, MarketData};
use crate::job::ridge_task::{MODEL, ModelWork, PRED, score_frame};
use crate::job::task_def::{COMMAND, TaskDef};
use crate::model::RidgeModel;

/// What one prediction update did.
pub(crate) struct Updated {
    /// The summary's entry.
    pub update: PredUpdate,
    /// The model's whole predictions as stored (the routine's signal step
    /// uses them instead of reading them back).
    pub pred: Frame,
    /// When and how long the model predicted.
    pub work: ModelWork,
}

/// Predict the dates of `data` after `model`'s last prediction up to `to`,
/// append them to its `pred` artifact and move its `pred_end` tag; `None`
/// when there is no such date.
///
/// # Errors
/// [`JobError::Collect`] for a model whose definition or stored model does
/// not read, or a program that fails; store errors.
pub(crate) async fn update(
    records: &dyn RecordStore,
    experiment: &str,
    model: &ModelRecord,
    spec: &DataSpec,
    data: Arc<MarketData>,
    to: Date,
) -> Result<Option<Updated>, JobError> {
    let from = match model.pred_end {
        Some(end) => end
            .tomorrow()
            .map_err(|e| JobError::Collect(format!("the day after {end}: {e}")))?,
        None => model.test_start,
    };
    if from > to {
        return Ok(None);
    }
    let rows = data.dataset.rows(Some(from), Some(to));
    let Some(&last) = rows.dates.last() else {
        return Ok(None);
    };
    let bad = |what: String| JobError::Collect(format!("model record {}: {what}", model.id));
    let mut def = TaskDef::from_value(&model.task).map_err(bad)?;
    let fitted: Option<RidgeModel> = if def.model.class == COMMAND {
        None
    } else {
        let bytes = records.get_artifact(experiment, model.id, MODEL).await?;
        Some(
            serde_json::from_slice(&bytes)
                .map_err(|e| bad(format!("artifact {MODEL:?} does not read: {e}")))?,
        )
    };
    let start = Timestamp::now();
    let began = Instant::now();
    let new = if let Some(fitted) = fitted {
        let scores = fitted.predict(rows.features);
        score_frame(&data, &rows, scores).map_err(bad)?
    } else {
        def.dataset.kwargs.data = spec.clone();
        def.dataset.kwargs.segments.test = [Some(from), Some(to)];
        let dir = tempfile::tempdir().map_err(|e| bad(format!("a temporary directory: {e}")))?;
        let input = TaskInput {
            id: None,
            pool: None,
            attempt: 1,
            phase: Phase::First,
            payload: serde_json::to_value(&def).map_err(|e| bad(e.to_string()))?,
            artifact_dir: dir.path().to_path_buf(),
            shutdown: Shutdown::new(),
        };
        command_model::train(&def, Arc::clone(&data), &input)
            .await
            .map_err(|e| bad(format!("updating its predictions: {e}")))?
            .pred
    };
    let work = ModelWork {
        start,
        seconds: began.elapsed().as_secs_f64(),
    };
    let added = new.len();
    let old = records.get_artifact(experiment, model.id, PRED).await?;
    // Decoding, joining and encoding ≈ 19 k rows is the CPU of an update:
    // on a blocking thread, so that the updates of a routine's models run
    // side by side on as many cores.
    let (combined, bytes) = tokio::task::spawn_blocking(move || {
        let combined = RollingEnsemble.combine(&[Frame::decode(&old)?, new])?;
        let bytes = combined.encode();
        Ok::<_, JobError>((combined, bytes))
    })
    .await
    .map_err(|e| bad(format!("joining its predictions stopped: {e}")))??;
    records
        .put_artifact(experiment, model.id, PRED, bytes)
        .await?;
    records
        .update_record(
            experiment,
            UpdateRecord::new(model.id).tag(TAG_PRED_END, last.to_string()),
        )
        .await?;
    Ok(Some(Updated {
        update: PredUpdate {
            model: model.reference(),
            from,
            to: last,
            rows: added,
        },
        pred: combined,
        work,
    }))
}

/// Update the predictions of `state`'s models that are behind: each up
/// to the last date it serves (`starts`: each strategy's window test
/// starts), all at once (they touch different records).
pub(crate) async fn update_behind(
    records: &dyn RecordStore,
    experiment: &str,
    strategies: &[RollingStrategy],
    starts: &HashMap<&str, Vec<Date>>,
    state: &OnlineState,
    seen: &Visible,
) -> Result<Vec<(RecordId, Updated)>, JobError> {
    let mut jobs = Vec::new();
    for strategy in strategies {
        let models: Vec<&ModelRecord> = state.models_of(strategy.name()).collect();
        let starts = starts.get(strategy.name()).map_or(&[][..], Vec::as_slice);
        for (model, until) in
            strategy.serves_until(&models, starts, seen.as_of, &seen.data.calendar)
        {
            let Some(until) = until else { continue };
            if model.pred_end.is_some_and(|end| end >= until) {
                continue;
            }
            jobs.push(async move {
                update(
                    records,
                    experiment,
                    model,
                    &seen.spec,
                    Arc::clone(&seen.data),
                    until,
                )
                .await
                .map(|u| u.map(|u| (model.id, u)))
            });
        }
    }
    Ok(futures::future::try_join_all(jobs)
        .await?
        .into_iter()
        .flatten()
        .collect())
}
