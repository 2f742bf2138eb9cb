//! The online signal: each strategy's models rolled together (the later
//! window wins), then the configured ensemble across strategies — the same
//! combination as `taskpool run`'s ([`combine_models`]) — restricted to the
//! dates a routine adds; and the whole signal assembled from the routine
//! records.

use std::collections::HashMap;

use jiff::civil::Date;
use task_store::{RecordId, RecordStore};
use taskpool_pipeline::ensemble::RollingEnsemble;
use taskpool_pipeline::frame::Frame;

use super::state::{ModelRecord, OnlineState, SIGNALS};
use super::strategy::RollingStrategy;
use crate::job::JobError;
use crate::job::config::EnsembleKind;
use crate::job::results::combine_models;
use crate::job::ridge_task::PRED;

/// The rows of `frame` dated after `after` (all of them for `None`).
fn after(frame: &Frame, after: Option<Date>) -> Frame {
    match after {
        None => frame.clone(),
        Some(day) => {
            let rows: Vec<usize> = (0..frame.len())
                .filter(|&r| frame.datetimes()[r] > day)
                .collect();
            frame.take_rows(&rows)
        }
    }
}

/// The signal on the dates after `since` (every date for `None`), from the
/// predictions of each strategy's models in `state` (taken from `known`
/// when there, read from the store otherwise); `None` when no model
/// predicted such a date.
///
/// # Errors
/// Store errors, and predictions that do not decode.
pub(crate) async fn compute(
    records: &dyn RecordStore,
    experiment: &str,
    strategies: &[RollingStrategy],
    state: &OnlineState,
    since: Option<Date>,
    ensemble: EnsembleKind,
    known: &HashMap<RecordId, Frame>,
) -> Result<Option<Frame>, JobError> {
    let mut per_strategy = Vec::with_capacity(strategies.len());
    for strategy in strategies {
        let models: Vec<&ModelRecord> = state
            .models_of(strategy.name())
            .filter(|m| match (since, m.pred_end) {
                (Some(since), Some(end)) => end > since,
                (Some(_), None) => false,
                (None, _) => true,
            })
            .collect();
        let mut frames = Vec::with_capacity(models.len());
        for model in models {
            let new = match known.get(&model.id) {
                Some(pred) => after(pred, since),
                None => after(
                    &Frame::decode(&records.get_artifact(experiment, model.id, PRED).await?)?,
                    since,
                ),
            };
            if !new.is_empty() {
                frames.push(new);
            }
        }
        if !frames.is_empty() {
            per_strategy.push(RollingEnsemble.combine(&frames)?);
        }
    }
    Ok(combine_models(&per_strategy, ensemble)?
        .map(|signal| after(&signal, since))
        .filter(|signal| !signal.is_empty()))
}

/// The whole signal: the routine records' parts in as-of order (a routine
/// that overwrote the signal replaces what came before).
///
/// # Errors
/// Store errors, and parts that do not decode.
pub(crate) async fn assemble(
    records: &dyn RecordStore,
    experiment: &str,
    state: &OnlineState,
) -> Result<Option<Frame>, JobError> {
    let mut signal: Option<Frame> = None;
    for routine in &state.routines {
        if routine.summary.signal_rows == 0 {
            continue;
        }
        let part = Frame::decode(
            &records
                .get_artifact(experiment, routine.id, SIGNALS)
                .await?,
        )?;
        signal = Some(match signal {
            Some(before) if !routine.summary.overwrite => {
                RollingEnsemble.combine(&[before, part])?
            }
            _ => part,
        });
    }
    Ok(signal)
}
