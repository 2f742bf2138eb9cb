//! [`OnlineManager`]: Qlib's `OnlineManager` on the store (init, routine,
//! simulate, status), and [`OnlinePlan`], the configuration it runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use task_store::record::validate_experiment_name;
use task_store::{Query, RecordStore, Store, TaskStore, validate_pool_name};
use taskpool_pipeline::calendar::Calendar;
use taskpool_pipeline::frame::Frame;
use taskpool_pipeline::trainer::Trainer;
use taskpool_pipeline::worker::Shutdown;

use super::ahead;
use super::lock::RoutineLock;
use super::routine::{self, Ran, RoutineSummary, Visible};
use super::signals;
use super::state::{OnlineState, OnlineStatus};
use super::trainer::{PoolTrainer, union_seconds};
use crate::job::config::{EnsembleKind, JobConfig};
use crate::job::market::{self, DataSpec, check_growth};
use crate::job::ridge_task::ModelWork;
use crate::job::runner::launch_for;
use crate::job::task_def::TaskDef;
use crate::job::train;
use crate::job::{Events, JobError, JobEvent, JobPlan, Launch, WorkerCommand};

/// The suffix of the online pool and experiment names.
const ONLINE_SUFFIX: &str = ".online";
/// The suffix of the lock pool's name (after [`ONLINE_SUFFIX`]).
const LOCK_SUFFIX: &str = ".lock";

/// A configuration checked for online serving.
#[derive(Debug)]
pub struct OnlinePlan {
    /// The job the routines train: the configuration's models, segments and
    /// rolling, on pool `<pool>.online` and experiment `<experiment>.online`.
    pub job: Arc<JobPlan>,
    /// The pool of the routine lock: `<pool>.online.lock`.
    pub lock_pool: String,
    /// Where the online report goes: `<report dir>/online`.
    pub report_dir: PathBuf,
}

impl OnlinePlan {
    /// Check `config` (as [`JobPlan::new`]) for online serving.
    ///
    /// # Errors
    /// [`JobError::Config`] as [`JobPlan::new`], and for
    /// `collect.ensemble: none` with more than one model (a signal needs
    /// one series).
    pub fn new(config: &JobConfig, base_dir: Option<&Path>) -> Result<OnlinePlan, JobError> {
        let offline = JobPlan::new(config, base_dir)?;
        let mut online = config.clone();
        online.pool = format!("{}{ONLINE_SUFFIX}", offline.pool);
        online.experiment = Some(format!("{}{ONLINE_SUFFIX}", offline.experiment));
        validate_pool_name(&online.pool)
            .map_err(|e| JobError::config("pool", format!("online pool: {e}")))?;
        if let Some(experiment) = &online.experiment {
            validate_experiment_name(experiment)
                .map_err(|e| JobError::config("experiment", format!("online experiment: {e}")))?;
        }
        let lock_pool = format!("{}{LOCK_SUFFIX}", online.pool);
        validate_pool_name(&lock_pool)
            .map_err(|e| JobError::config("pool", format!("online lock pool: {e}")))?;
        let series = config.models.len() * config.sweep.values().map(Vec::len).product::<usize>();
        if offline.ensemble == EnsembleKind::None && series > 1 {
            return Err(JobError::config(
                "collect.ensemble",
                "online serving makes one signal: use `average` with several models",
            ));
        }
        let job = JobPlan::new(&online, base_dir)?;
        Ok(OnlinePlan {
            job: Arc::new(job),
            lock_pool,
            report_dir: offline.report_dir.join("online"),
        })
    }
}

/// How the routines run, beyond the configuration.
pub struct OnlineOptions {
    /// How worker processes are started (`trainer.mode: workers`); `None`
    /// trains in this process.
    pub worker_command: Option<WorkerCommand>,
    /// Where progress goes.
    pub events: Events,
    /// Stops training (SIGINT/SIGTERM).
    pub shutdown: Shutdown,
}

/// `taskpool online simulate`: the routines it ran and where the time went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulateSummary {
    /// The first routine's as-of date.
    pub start: Date,
    /// The last routine's as-of date.
    pub end: Date,
    /// Every routine, in order (the first is `init` on an empty state).
    pub routines: Vec<RoutineSummary>,
    /// Windows trained in all.
    pub trained: usize,
    /// Seconds the simulation took.
    pub wall_seconds: f64,
    /// Seconds of model work during the simulation: the union of the
    /// intervals in which a training task or a prediction update had its
    /// model fitting or predicting (work side by side counts once).
    pub model_work_seconds: f64,
    /// Seconds of model work in training: the union of the training tasks'
    /// intervals (with training ahead, most of it runs beside the
    /// routines' other steps).
    pub train_seconds: f64,
    /// Seconds of model work in the prediction updates: the union of their
    /// intervals (part of it may overlap training ahead).
    pub predict_seconds: f64,
    /// Seconds of the routines' training steps as a whole
    /// ([`RoutineSummary::train_phase_seconds`]): the model work plus
    /// creating, claiming and waiting for the tasks and storing their
    /// records.
    pub train_phase_seconds: f64,
    /// The wall time not covered by model work (`wall_seconds -
    /// model_work_seconds`): the training steps' overhead, data, reading
    /// and storing the prediction updates, signals, the state in the store,
    /// the lock — whatever of it did not run beside model work.
    pub orchestration_seconds: f64,
    /// Whether the routines' windows were trained ahead (see
    /// [`OnlineManager::train_ahead`]).
    pub trained_ahead: bool,
}

impl SimulateSummary {
    /// One line: routines, windows trained, and the time split.
    pub fn describe(&self) -> String {
        format!(
            "{} routine(s) {} … {}: {} window(s) trained{}; {:.2}s ({:.3}s model work: {:.3}s training, {:.3}s prediction updates; {:.3}s orchestration = {:.1}%; the routines waited {:.3}s in their training steps)",
            self.routines.len(),
            self.start,
            self.end,
            self.trained,
            if self.trained_ahead { " ahead" } else { "" },
            self.wall_seconds,
            self.model_work_seconds,
            self.train_seconds,
            self.predict_seconds,
            self.orchestration_seconds,
            100.0 * self.orchestration_seconds / self.wall_seconds.max(1e-9),
            self.train_phase_seconds
        )
    }
}

/// Init or routine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Init,
    Routine,
}

/// Qlib's `OnlineManager` with one [`RollingStrategy`](super::RollingStrategy)
/// per model of the configuration; all its state is in the store.
pub struct OnlineManager {
    plan: OnlinePlan,
    store: Arc<dyn Store>,
    trainer: Arc<dyn Trainer>,
    /// Where the default trainer trains.
    launch: Launch,
    /// Whether `trainer` was given ([`OnlineManager::with_trainer`]).
    custom_trainer: bool,
    /// Whether `simulate` trains ahead (the default trainer, in process).
    ahead: bool,
    events: Events,
    shutdown: Shutdown,
}

impl OnlineManager {
    /// A manager of `plan` on `store`, training with a [`PoolTrainer`].
    ///
    /// # Errors
    /// [`JobError::Config`] for worker processes on a store that processes
    /// cannot share.
    pub fn new(
        plan: OnlinePlan,
        store: Arc<dyn Store>,
        options: OnlineOptions,
    ) -> Result<OnlineManager, JobError> {
        let launch = launch_for(options.worker_command.as_ref(), &plan.job, &*store)?;
        let trainer = Arc::new(PoolTrainer::new(
            Arc::clone(&store),
            Arc::clone(&plan.job),
            launch.clone(),
            Arc::clone(&options.events),
            options.shutdown.clone(),
        ));
        Ok(OnlineManager {
            plan,
            store,
            trainer,
            ahead: matches!(launch, Launch::InProcess),
            launch,
            custom_trainer: false,
            events: options.events,
            shutdown: options.shutdown,
        })
    }

    /// Train with `trainer` instead (say a
    /// [`DelayTrainerRM`](taskpool_pipeline::trainer::DelayTrainerRM) on
    /// the plan's pool); `simulate` then trains routine by routine.
    pub fn with_trainer(mut self, trainer: Arc<dyn Trainer>) -> OnlineManager {
        self.trainer = trainer;
        self.custom_trainer = true;
        self.ahead = false;
        self
    }

    /// Whether [`simulate`](OnlineManager::simulate) trains ahead (the
    /// default when training in process with the default trainer): it
    /// creates the training tasks of all its routines at once, each on the
    /// data up to its own as-of, and an in-process worker trains them while
    /// the routines do their other steps (see the `ahead` module). `false`:
    /// each routine trains its windows itself, one routine after the other.
    /// Training ahead needs the default trainer in process: with another
    /// trainer or worker processes `simulate` trains routine by routine
    /// whatever this says.
    pub fn train_ahead(mut self, ahead: bool) -> OnlineManager {
        self.ahead = ahead && !self.custom_trainer && matches!(self.launch, Launch::InProcess);
        self
    }

    /// The plan.
    pub fn plan(&self) -> &OnlinePlan {
        &self.plan
    }

    /// The store.
    #[cfg(test)]
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The store's records.
    pub(crate) fn records(&self) -> Arc<dyn RecordStore> {
        self.store.clone()
    }

    /// Where progress goes.
    pub(crate) fn events(&self) -> &Events {
        &self.events
    }

    /// [`JobError::Interrupted`] once a shutdown was requested.
    pub(crate) async fn check_shutdown(&self) -> Result<(), JobError> {
        if self.shutdown.is_requested() {
            return Err(self.interrupted().await);
        }
        Ok(())
    }

    /// [`JobError::Interrupted`] with the counts of the online pool's tasks
    /// (every window trained so far, and the ones handed back).
    pub(crate) async fn interrupted(&self) -> JobError {
        let tasks: Arc<dyn TaskStore> = self.store.clone();
        train::interrupted(&*tasks, &self.plan.job.pool, &Query::All, &self.shutdown).await
    }

    /// First training (Qlib's `first_train`): every window up to `as_of`
    /// (default: the data's last date), the latest window's models online,
    /// the signal up to `as_of`.
    ///
    /// # Errors
    /// [`JobError::Online`] when routines ran already (an `init` at or
    /// before the last routine's as-of does nothing); as
    /// [`OnlineManager::routine`].
    pub async fn init(&self, as_of: Option<Date>) -> Result<RoutineSummary, JobError> {
        let ran = self.step(Step::Init, as_of, false, &*self.trainer).await?;
        Ok(ran.summary)
    }

    /// A routine at `as_of` (default: the data's last date): train the new
    /// windows, update predictions, switch the online models, append the
    /// new dates to the signal (rewrite all of it with `overwrite`). At or
    /// before the last routine's as-of it does nothing.
    ///
    /// # Errors
    /// [`JobError::Online`] before `init`; [`JobError::Config`] for an
    /// as-of before the data; [`JobError::Data`] for a data file whose
    /// rows changed since the last routine; training, store errors.
    pub async fn routine(
        &self,
        as_of: Option<Date>,
        overwrite: bool,
    ) -> Result<RoutineSummary, JobError> {
        let ran = self
            .step(Step::Routine, as_of, overwrite, &*self.trainer)
            .await?;
        Ok(ran.summary)
    }

    /// Qlib's `simulate`: `init` at `start` (a routine if the state exists)
    /// and a routine at every rolling window's test start up to `end`, then
    /// at `end`; each sees only the data up to its as-of.
    ///
    /// # Errors
    /// [`JobError::Config`] for `start` after `end`; as the routines.
    pub async fn simulate(&self, start: Date, end: Date) -> Result<SimulateSummary, JobError> {
        if start > end {
            return Err(JobError::config(
                "--start",
                format!("{start} is after --end {end}"),
            ));
        }
        let began = Instant::now();
        let dates = self.simulate_dates(start, end).await?;
        let (start, end) = (dates[0], dates[dates.len() - 1]);
        let from = Timestamp::now();
        let (ran, trained_ahead) = self.routines_of_simulate(&dates).await?;
        let to = Timestamp::now();
        let wall_seconds = began.elapsed().as_secs_f64();
        let training: Vec<ModelWork> = ran.iter().flat_map(|r| r.training.clone()).collect();
        let predicting: Vec<ModelWork> = ran.iter().flat_map(|r| r.predicting.clone()).collect();
        let model_work_seconds =
            union_seconds(training.iter().chain(&predicting).copied(), from, to);
        let routines: Vec<RoutineSummary> = ran.into_iter().map(|r| r.summary).collect();
        Ok(SimulateSummary {
            start,
            end,
            trained: routines.iter().map(|r| r.trained.len()).sum(),
            wall_seconds,
            model_work_seconds,
            train_seconds: union_seconds(training, from, to),
            predict_seconds: union_seconds(predicting, from, to),
            train_phase_seconds: routines.iter().map(|r| r.train_phase_seconds).sum(),
            orchestration_seconds: (wall_seconds - model_work_seconds).max(0.0),
            trained_ahead,
            routines,
        })
    }

    /// The as-of dates of `simulate`'s routines: `start` and `end` put on
    /// the calendar, and every rolling window's test start between them.
    pub(crate) async fn simulate_dates(
        &self,
        start: Date,
        end: Date,
    ) -> Result<Vec<Date>, JobError> {
        let full = self.full_calendar().await?;
        let start = as_of_on(&full, start)?;
        let end = as_of_on(&full, end)?;
        let seen = routine::visible(&self.plan.job.data, end).await?;
        let mut dates: Vec<Date> = self
            .plan
            .job
            .generate(&seen.data.calendar)?
            .iter()
            .filter_map(|t| TaskDef::from_value(t).ok())
            .filter_map(|d| d.dataset.kwargs.segments.test[0])
            .filter(|d| *d > start && *d <= end)
            .collect();
        dates.push(start);
        dates.push(end);
        dates.sort();
        dates.dedup();
        Ok(dates)
    }

    /// The routines of `simulate` at `dates`, training ahead when the
    /// manager does (then also `true`).
    async fn routines_of_simulate(&self, dates: &[Date]) -> Result<(Vec<Ran>, bool), JobError> {
        if self.ahead {
            let state = OnlineState::load(&*self.records(), &self.plan.job.experiment).await?;
            if let Some((launch, worker)) =
                ahead::start(&self.store, &self.plan.job, dates, &state, &self.shutdown).await?
            {
                let trainer = PoolTrainer::new(
                    Arc::clone(&self.store),
                    Arc::clone(&self.plan.job),
                    launch,
                    Arc::clone(&self.events),
                    self.shutdown.clone(),
                );
                let ran = self.routines_at(dates, &trainer).await;
                let worked = worker.finish().await;
                let ran = ran?;
                worked?;
                return Ok((ran, true));
            }
        }
        Ok((self.routines_at(dates, &*self.trainer).await?, false))
    }

    /// One routine at each of `dates` (on the calendar; `init` first on an
    /// empty state), training with `trainer`, all under one hold of the
    /// routine lock.
    async fn routines_at(
        &self,
        dates: &[Date],
        trainer: &dyn Trainer,
    ) -> Result<Vec<Ran>, JobError> {
        // One lock for all the routines: they run one after the other, and
        // no routine of another process runs between them.
        let lock = self.lock().await?;
        let mut ran = Vec::with_capacity(dates.len());
        let result = async {
            for (i, &date) in dates.iter().enumerate() {
                self.check_shutdown().await?;
                let initialised = i > 0 || self.state().await?.last_routine().is_some();
                let step = if initialised {
                    Step::Routine
                } else {
                    Step::Init
                };
                let started = Instant::now();
                let one = self
                    .locked_step(step, date, false, started, &lock, trainer)
                    .await?;
                self.announce(&one);
                ran.push(one);
            }
            Ok::<_, JobError>(())
        }
        .await;
        lock.release().await?;
        result?;
        Ok(ran)
    }

    /// The state in the store.
    ///
    /// # Errors
    /// Store errors, and records that do not read.
    pub async fn state(&self) -> Result<OnlineState, JobError> {
        let state = OnlineState::load(&*self.records(), &self.plan.job.experiment).await?;
        // Models trained ahead for routines that did not run yet (an
        // interrupted `simulate`) are not part of it.
        Ok(match state.last_routine().map(|r| r.summary.as_of) {
            Some(last) => state.up_to(last),
            None => OnlineState::default(),
        })
    }

    /// `taskpool online status`.
    ///
    /// # Errors
    /// As [`OnlineManager::state`].
    pub async fn status(&self) -> Result<OnlineStatus, JobError> {
        let state = self.state().await?;
        let mut online: BTreeMap<String, Option<_>> = BTreeMap::new();
        for model in &state.models {
            let slot = online.entry(model.strategy.clone()).or_default();
            if model.is_online() {
                *slot = Some(model.reference());
            }
        }
        Ok(OnlineStatus {
            store: self.store.to_string(),
            experiment: self.plan.job.experiment.clone(),
            routines: state.routines.len(),
            last_as_of: state.last_routine().map(|r| r.summary.as_of),
            signal_start: state
                .routines
                .iter()
                .filter_map(|r| r.summary.signal_start)
                .min(),
            signal_end: state.signal_end(),
            online,
            models: state.models.len(),
        })
    }

    /// The whole signal so far.
    ///
    /// # Errors
    /// As [`OnlineManager::state`].
    pub async fn signal(&self) -> Result<Option<Frame>, JobError> {
        let state = self.state().await?;
        signals::assemble(&*self.records(), &self.plan.job.experiment, &state).await
    }

    /// The calendar of all the data (the `--as-of` dates are put on it).
    async fn full_calendar(&self) -> Result<Calendar, JobError> {
        let spec: DataSpec = self.plan.job.data.unbounded();
        let data = tokio::task::spawn_blocking(move || market::load(&spec))
            .await
            .map_err(|e| JobError::Workers(format!("loading the data stopped: {e}")))??;
        Ok(data.calendar.clone())
    }

    async fn step(
        &self,
        step: Step,
        as_of: Option<Date>,
        overwrite: bool,
        trainer: &dyn Trainer,
    ) -> Result<Ran, JobError> {
        let started = Instant::now();
        let full = self.full_calendar().await?;
        let as_of = as_of_on(&full, as_of.unwrap_or(full.last()))?;
        let lock = self.lock().await?;
        let result = self
            .locked_step(step, as_of, overwrite, started, &lock, trainer)
            .await;
        lock.release().await?;
        let ran = result?;
        self.announce(&ran);
        Ok(ran)
    }

    /// Wait until this process holds the experiment's routine lock.
    ///
    /// # Errors
    /// [`JobError::Interrupted`] on a shutdown first; store errors.
    async fn lock(&self) -> Result<RoutineLock, JobError> {
        let tasks: Arc<dyn TaskStore> = self.store.clone();
        let lock = RoutineLock::acquire(
            tasks,
            &self.plan.lock_pool,
            &self.plan.job.experiment,
            self.plan.job.trainer.lease.max(Duration::from_secs(3)),
            &self.events,
            &self.shutdown,
        )
        .await?;
        match lock {
            Some(lock) => Ok(lock),
            None => Err(self.interrupted().await),
        }
    }

    /// Tell the events a routine finished.
    fn announce(&self, ran: &Ran) {
        let summary = &ran.summary;
        (self.events)(JobEvent::RoutineFinished {
            as_of: summary.as_of,
            trained: summary.trained.len(),
            signal_end: summary.signal_end,
            ran: summary.ran,
        });
    }

    async fn locked_step(
        &self,
        step: Step,
        as_of: Date,
        overwrite: bool,
        started: Instant,
        lock: &RoutineLock,
        trainer: &dyn Trainer,
    ) -> Result<Ran, JobError> {
        let state = OnlineState::load(&*self.records(), &self.plan.job.experiment)
            .await?
            .up_to(as_of);
        match (step, state.last_routine()) {
            (_, Some(last)) if last.summary.as_of >= as_of => {
                let note = match lock.waited_for() {
                    Some(holder) => format!(
                        "waited for another routine of this experiment ({holder}); the last routine ran as of {}: nothing left to do as of {as_of}",
                        last.summary.as_of
                    ),
                    None => format!(
                        "the last routine ran as of {}: nothing to do as of {as_of}",
                        last.summary.as_of
                    ),
                };
                return Ok(Ran::nothing(RoutineSummary::nothing(as_of, note, &state)));
            }
            (Step::Init, Some(last)) => {
                return Err(JobError::Online(format!(
                    "experiment {} is initialised already ({} routine(s), the last as of {}): run `taskpool online routine`",
                    self.plan.job.experiment,
                    state.routines.len(),
                    last.summary.as_of
                )));
            }
            (Step::Routine, None) => {
                return Err(JobError::Online(format!(
                    "experiment {} has no online state yet: run `taskpool online init` first",
                    self.plan.job.experiment
                )));
            }
            _ => {}
        }
        if let (DataSpec::File { path, .. }, Some(before)) = (
            &self.plan.job.data,
            state
                .routines
                .iter()
                .rev()
                .find_map(|r| r.summary.data.as_ref()),
        ) {
            check_growth(path, before)?;
        }
        let seen: Visible = routine::visible(&self.plan.job.data, as_of).await?;
        (self.events)(JobEvent::RoutineStarted { as_of: seen.as_of });
        let before = state.before(as_of);
        routine::run(self, trainer, &seen, &before, overwrite, started, lock).await
    }
}

/// `date` put on `calendar`: the last trading day on or before it (the
/// data's last day when it is later).
fn as_of_on(calendar: &Calendar, date: Date) -> Result<Date, JobError> {
    calendar
        .index_on_or_before(date)
        .and_then(|i| calendar.get(i))
        .ok_or_else(|| {
            JobError::config(
                "--as-of",
                format!("{date} is before the data's first day {}", calendar.first()),
            )
        })
}
