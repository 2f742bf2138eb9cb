//! One routine (and the first one, `init`): the steps of the
//! [module docs](super), and the record it leaves.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use task_store::{NewRecord, RecordId, RecordStatus, RecordStore, UpdateRecord};
use taskpool_pipeline::calendar::Calendar;
use taskpool_pipeline::frame::Frame;
use taskpool_pipeline::trainer::Trainer;

use super::lock::RoutineLock;
use super::manager::OnlineManager;
use super::predict;
use super::signals;
use super::state::{
    KIND_ROUTINE, ModelRecord, OFFLINE, ONLINE, OnlineState, PARAM_ROUTINE, SIGNALS, TAG_AS_OF,
    TAG_KIND, TAG_ONLINE, TAG_PRED_END,
};
use super::trainer::{model_work_seconds, union_seconds};
use super::windows::Windows;
use crate::job::market::{self, DataSpec, Fingerprint, MarketData};
use crate::job::ridge_task::ModelWork;
use crate::job::{JobError, JobEvent};

/// A model in a routine's summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRef {
    /// Its strategy (the model's name).
    pub strategy: String,
    /// Its window's first test day.
    pub test_start: Date,
    /// Its record.
    pub record: String,
}

/// One model's prediction update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PredUpdate {
    /// The model.
    pub model: ModelRef,
    /// The first date predicted.
    pub from: Date,
    /// The last date predicted.
    pub to: Date,
    /// Prediction rows added.
    pub rows: usize,
}

/// What a routine did (stored in its routine record, printed by `--json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutineSummary {
    /// The last date of data the routine saw.
    pub as_of: Date,
    /// Whether it changed anything: `false` when the state was already at
    /// or past `as_of` (nothing trained, nothing written).
    pub ran: bool,
    /// Why it did not run, when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Windows trained by this routine.
    pub trained: Vec<ModelRef>,
    /// The online model of each strategy afterwards.
    pub online: Vec<ModelRef>,
    /// Models this routine took offline.
    pub taken_offline: Vec<ModelRef>,
    /// Prediction updates.
    pub updated: Vec<PredUpdate>,
    /// The first date of the signal rows it wrote.
    pub signal_start: Option<Date>,
    /// The last date of the signal rows it wrote (the signal's end).
    pub signal_end: Option<Date>,
    /// Signal rows written.
    pub signal_rows: usize,
    /// Whether it rewrote the whole signal instead of appending new dates.
    pub overwrite: bool,
    /// The data file as this routine read it (`null` for synthetic data).
    pub data: Option<Fingerprint>,
    /// Seconds of model work: the tasks fitting and predicting (the union
    /// of their intervals, so side-by-side tasks count once), without
    /// creating, claiming, loading data, storing or waiting.
    pub train_seconds: f64,
    /// Seconds of the training step as a whole: creating the tasks, waiting
    /// for the workers, the model work, storing the records.
    #[serde(default)]
    pub train_phase_seconds: f64,
    /// Seconds of model work in the prediction updates: the models
    /// predicting the new dates (the built-in model's `predict` and its
    /// prediction frame, or the program's run; the union of their
    /// intervals), without reading or storing.
    #[serde(default)]
    pub predict_seconds: f64,
    /// Seconds the routine took.
    pub total_seconds: f64,
}

impl RoutineSummary {
    /// The summary of a routine with nothing to do.
    pub(crate) fn nothing(as_of: Date, note: String, state: &OnlineState) -> RoutineSummary {
        RoutineSummary {
            as_of,
            ran: false,
            note: Some(note),
            trained: Vec::new(),
            online: state
                .models
                .iter()
                .filter(|m| m.is_online())
                .map(ModelRecord::reference)
                .collect(),
            taken_offline: Vec::new(),
            updated: Vec::new(),
            signal_start: None,
            signal_end: None,
            signal_rows: 0,
            overwrite: false,
            data: None,
            train_seconds: 0.0,
            train_phase_seconds: 0.0,
            predict_seconds: 0.0,
            total_seconds: 0.0,
        }
    }
}

/// The data a routine sees.
pub(crate) struct Visible {
    /// The spec its tasks carry (dates after `as_of` hidden).
    pub spec: DataSpec,
    /// The data file's fingerprint.
    pub fingerprint: Option<Fingerprint>,
    /// The data itself.
    pub data: Arc<MarketData>,
    /// The last visible date.
    pub as_of: Date,
}

/// Load the data as of `as_of` (the calendar is read from it, every routine).
pub(crate) async fn visible(base: &DataSpec, as_of: Date) -> Result<Visible, JobError> {
    let (spec, fingerprint) = base.visible(as_of)?;
    let for_load = spec.clone();
    let data = tokio::task::spawn_blocking(move || market::load(&for_load))
        .await
        .map_err(|e| JobError::Workers(format!("loading the data stopped: {e}")))??;
    let as_of = data.calendar.last();
    Ok(Visible {
        spec,
        fingerprint,
        data,
        as_of,
    })
}

/// A routine that ran: what it did, and when models worked in it.
pub(crate) struct Ran {
    /// What it did.
    pub summary: RoutineSummary,
    /// The model work of the training tasks it got back (from their
    /// results; tasks trained ahead may have worked before the routine).
    pub training: Vec<ModelWork>,
    /// The model work of its prediction updates.
    pub predicting: Vec<ModelWork>,
}

impl Ran {
    /// A routine with nothing to do.
    pub(crate) fn nothing(summary: RoutineSummary) -> Ran {
        Ran {
            summary,
            training: Vec::new(),
            predicting: Vec::new(),
        }
    }
}

/// Run the routine on `seen` from `before` (the state read under the lock
/// `lock`, [`OnlineState::before`] its as-of), training with `trainer`.
///
/// # Errors
/// Training, prediction, store and data errors.
pub(crate) async fn run(
    manager: &OnlineManager,
    trainer: &dyn Trainer,
    seen: &Visible,
    before: &OnlineState,
    overwrite: bool,
    started: Instant,
    lock: &RoutineLock,
) -> Result<Ran, JobError> {
    let plan = manager.plan();
    let records = manager.records();
    let experiment = plan.job.experiment.as_str();
    let calendar: &Calendar = &seen.data.calendar;
    let events = manager.events();

    // 1. Tasks: each strategy's windows not trained yet.
    let windows = Windows::generate(&plan.job, &seen.spec, calendar)?;
    let strategies = &windows.strategies;
    let new_tasks =
        windows.new_tasks(|strategy| before.models_of(strategy).map(|m| m.test_start).collect());

    // 2. Training (a delayed trainer's second phase included), and beside
    // it the prediction updates of the models trained before: each serves
    // up to the day before the next window's start, known from the
    // windows, whether that window is trained yet or not.
    let starts: HashMap<&str, Vec<Date>> = strategies
        .iter()
        .map(|s| {
            let mut starts = windows.test_starts(s.name());
            starts.extend(before.models_of(s.name()).map(|m| m.test_start));
            (s.name(), starts)
        })
        .collect();
    let training = Instant::now();
    let phase_start = Timestamp::now();
    let asked_for_nothing = new_tasks.is_empty();
    let (trained, early) = tokio::join!(
        async {
            match trainer.train(new_tasks).await {
                Ok(trained) => trainer.end_train(trained).await,
                Err(e) => Err(e),
            }
        },
        predict::update_behind(&*records, experiment, strategies, &starts, before, seen)
    );
    // A stop makes the trainer fail (its workers hand their tasks back):
    // that is an interruption, not a failed training. After a stop nothing
    // more is written: the windows trained so far are kept, and the next
    // routine goes on from them.
    manager.check_shutdown().await?;
    let trained = trained.map_err(train_error)?;
    let mut updated = early?;
    let train_phase_seconds = training.elapsed().as_secs_f64();
    let train_seconds = model_work_seconds(&trained, phase_start, Timestamp::now());
    let training_work: Vec<ModelWork> = trained
        .iter()
        .filter_map(|t| ModelWork::of(&t.res))
        .collect();

    // The tasks wrote the new model records; with no task, nothing was
    // written and the state is the one the routine started from. From here
    // on the routine keeps `state` as it writes it (no reading back).
    let mut state = if asked_for_nothing {
        before.clone()
    } else {
        OnlineState::load(&*records, experiment)
            .await?
            .up_to(seen.as_of)
    };
    let moved = |state: &mut OnlineState, updated: &[(RecordId, predict::Updated)]| {
        for (id, done) in updated {
            if let Some(model) = state.models.iter_mut().find(|m| m.id == *id) {
                model.pred_end = Some(done.update.to);
            }
        }
    };
    moved(&mut state, &updated);
    // New models predicted their test rows up to the end of their data when
    // trained. Their tags are written with the online marking (one write a
    // model).
    let mut tags = Tags::default();
    let mut trained_refs = Vec::new();
    for model in state.models.iter_mut().filter(|m| m.pred_end.is_none()) {
        let last = [model.test_end, model.data_until]
            .into_iter()
            .flatten()
            .fold(seen.as_of, Date::min);
        let end = calendar
            .index_on_or_before(last)
            .and_then(|i| calendar.get(i))
            .filter(|d| *d >= model.test_start);
        if let Some(end) = end {
            tags.set(model.id, TAG_PRED_END, end.to_string());
            model.pred_end = Some(end);
        }
        trained_refs.push(model.reference());
    }

    // 3. Prediction updates of whatever is still behind (the new models
    // predicted up to the end of their data when trained: usually nothing).
    let late =
        predict::update_behind(&*records, experiment, strategies, &starts, &state, seen).await?;
    moved(&mut state, &late);
    for (id, done) in &late {
        // The update moved the tag; the one set above must not move it back.
        tags.set(*id, TAG_PRED_END, done.update.to.to_string());
    }
    updated.extend(late);
    let mut preds: HashMap<RecordId, Frame> = HashMap::new();
    let mut predicting = Vec::new();
    let mut updates = Vec::new();
    for (id, done) in updated {
        preds.insert(id, done.pred);
        predicting.push(done.work);
        updates.push((id, done.update));
    }
    let predict_seconds = union_seconds(predicting.iter().copied(), phase_start, Timestamp::now());
    let updated = updates;
    let updated: Vec<PredUpdate> = updated.into_iter().map(|(_, u)| u).collect();
    if !updated.is_empty() {
        events(JobEvent::PredictionsUpdated {
            models: updated.len(),
            rows: updated.iter().map(|u| u.rows).sum(),
        });
    }

    // 4. Online marking: the latest window of each strategy.
    let mut online = Vec::new();
    let mut taken_offline = Vec::new();
    let mut marked = Vec::new();
    for strategy in strategies {
        let models: Vec<&ModelRecord> = state.models_of(strategy.name()).collect();
        let chosen = strategy.online_model(&models).map(|m| m.id);
        for model in models {
            let (wanted, changed) = if Some(model.id) == chosen {
                online.push(model.reference());
                (ONLINE, !model.is_online())
            } else {
                if model.is_online() {
                    taken_offline.push(model.reference());
                }
                (OFFLINE, model.is_online())
            };
            if changed {
                tags.set(model.id, TAG_ONLINE, wanted.to_string());
                marked.push((model.id, wanted));
            }
        }
    }
    tags.write(&*records, experiment).await?;
    for (id, wanted) in marked {
        if let Some(model) = state.models.iter_mut().find(|m| m.id == id) {
            model.status = Some(wanted.to_string());
        }
    }

    // 5. Signals: the new dates (every date when overwriting).
    let since = if overwrite { None } else { state.signal_end() };
    let signal = signals::compute(
        &*records,
        experiment,
        strategies,
        &state,
        since,
        plan.job.ensemble,
        &preds,
    )
    .await?;

    // 6. The routine record.
    let mut summary = RoutineSummary {
        as_of: seen.as_of,
        ran: true,
        note: None,
        trained: trained_refs,
        online,
        taken_offline,
        updated,
        signal_start: signal.as_ref().and_then(|s| s.datetimes().first().copied()),
        signal_end: signal
            .as_ref()
            .and_then(|s| s.datetimes().last().copied())
            .or(since),
        signal_rows: signal.as_ref().map_or(0, |s| s.len()),
        overwrite,
        data: seen.fingerprint.clone(),
        train_seconds,
        train_phase_seconds,
        predict_seconds,
        total_seconds: 0.0,
    };
    if lock.is_lost() {
        return Err(JobError::Collect(
            "the routine lock was lost (the lease expired while the routine ran): its results were not written; run the routine again".to_string(),
        ));
    }
    summary.total_seconds = started.elapsed().as_secs_f64();
    write_record(manager, &summary, signal).await?;
    Ok(Ran {
        summary,
        training: training_work,
        predicting,
    })
}

/// Tags to write on model records: one write a record, all at once.
#[derive(Default)]
struct Tags {
    updates: Vec<UpdateRecord>,
}

impl Tags {
    /// Set tag `name` of record `id` to `value`.
    fn set(&mut self, id: RecordId, name: &str, value: String) {
        let at = match self.updates.iter().position(|u| u.id == id) {
            Some(at) => at,
            None => {
                self.updates.push(UpdateRecord::new(id));
                self.updates.len() - 1
            }
        };
        self.updates[at].tags.insert(name.to_string(), value);
    }

    /// Write them.
    async fn write(self, records: &dyn RecordStore, experiment: &str) -> Result<(), JobError> {
        futures::future::try_join_all(
            self.updates
                .into_iter()
                .map(|update| records.update_record(experiment, update)),
        )
        .await?;
        Ok(())
    }
}

/// Store the routine record: created `running`, its signal rows written,
/// then `finished` (a crash in between leaves no finished record without
/// its signal).
async fn write_record(
    manager: &OnlineManager,
    summary: &RoutineSummary,
    signal: Option<Frame>,
) -> Result<(), JobError> {
    let records = manager.records();
    let experiment = manager.plan().job.experiment.as_str();
    let summary_json: Value = serde_json::to_value(summary)
        .map_err(|e| JobError::Collect(format!("encoding the routine summary: {e}")))?;
    let record = records
        .create_record(
            experiment,
            NewRecord {
                pool: Some(manager.plan().lock_pool.clone()),
                params: BTreeMap::from([(PARAM_ROUTINE.to_string(), summary_json)]),
                metrics: BTreeMap::from([
                    ("trained".to_string(), summary.trained.len() as f64),
                    ("signal_rows".to_string(), summary.signal_rows as f64),
                    ("train_seconds".to_string(), summary.train_seconds),
                    (
                        "train_phase_seconds".to_string(),
                        summary.train_phase_seconds,
                    ),
                    ("predict_seconds".to_string(), summary.predict_seconds),
                    ("total_seconds".to_string(), summary.total_seconds),
                ]),
                tags: BTreeMap::from([
                    (TAG_KIND.to_string(), KIND_ROUTINE.to_string()),
                    (TAG_AS_OF.to_string(), summary.as_of.to_string()),
                ]),
                ..NewRecord::default()
            },
        )
        .await?;
    if let Some(signal) = signal {
        records
            .put_artifact(experiment, record.id, SIGNALS, signal.encode())
            .await?;
    }
    records
        .update_record(
            experiment,
            UpdateRecord::new(record.id).status(RecordStatus::Finished),
        )
        .await?;
    Ok(())
}

fn train_error(e: taskpool_pipeline::trainer::TrainError) -> JobError {
    use taskpool_pipeline::trainer::TrainError;
    match e {
        TrainError::Store(e) => JobError::Store(e),
        TrainError::TasksFailed(failures) => JobError::TasksFailed {
            count: failures.len(),
            first: failures
                .first()
                .map(ToString::to_string)
                .unwrap_or_default(),
        },
        other => JobError::Workers(other.to_string()),
    }
}
