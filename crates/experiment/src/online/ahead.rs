//! Training ahead in `simulate`: the dates of its routines are known before
//! the first one runs, and so is what each will train (the windows whose
//! test start no earlier routine covers, each on the data up to its own
//! as-of). So `simulate` creates all those tasks at once, in routine order,
//! and an in-process worker trains them back to back while the routines do
//! everything else (prediction updates, signals, records); each routine
//! then asks the pool for its windows as it always does (the store
//! deduplicates them onto the tasks created ahead) and waits for them.
//!
//! Nothing a routine sees changes: a task trained ahead reads only the data
//! up to its routine's as-of (its definition says so), and its model record
//! is invisible to earlier routines ([`OnlineState::before`] and
//! [`OnlineState::up_to`] hide models trained on later data). What the
//! worker does not cover, a routine trains itself.

use std::sync::Arc;

use jiff::civil::Date;
use serde_json::Value;
use task_store::Store;
use taskpool_pipeline::calendar::Calendar;
use taskpool_pipeline::worker::Shutdown;

use super::state::OnlineState;
use super::windows::Windows;
use crate::job::market::{self, DataSpec};
use crate::job::runner;
use crate::job::task_def::TaskDef;
use crate::job::train::{self, AheadWorker};
use crate::job::{JobError, JobPlan, Launch};

/// What the routines of a `simulate` will train, routine by routine.
struct Planner<'a> {
    job: &'a JobPlan,
    state: &'a OnlineState,
    /// The as-of dates of the routines not planned yet.
    dates: std::vec::IntoIter<Date>,
    /// The data spec the routines' tasks carry (with their as-of).
    spec: DataSpec,
    /// The calendar of all the data.
    full: Calendar,
    /// The windows planned so far: (strategy, test start).
    planned: Vec<(String, Date)>,
}

impl<'a> Planner<'a> {
    /// The plan of routines at `dates` (in order) starting from `state`
    /// (the store's, every model in it): those after the state's last
    /// routine; `None` when there is none.
    ///
    /// # Errors
    /// Data errors, as the routines would meet them.
    async fn new(
        job: &'a JobPlan,
        dates: &[Date],
        state: &'a OnlineState,
    ) -> Result<Option<Planner<'a>>, JobError> {
        let last = state.last_routine().map(|r| r.summary.as_of);
        let dates: Vec<Date> = dates
            .iter()
            .copied()
            .filter(|date| last.is_none_or(|last| last < *date))
            .collect();
        let Some(&first) = dates.first() else {
            return Ok(None);
        };
        // What each routine will see (`routine::visible`), without cutting
        // the data for each: the spec (a file hashed once) with its as-of,
        // and the calendar up to it.
        let (spec, _) = job.data.visible(first)?;
        let unbounded = job.data.unbounded();
        let full = tokio::task::spawn_blocking(move || market::load(&unbounded))
            .await
            .map_err(|e| JobError::Workers(format!("loading the data stopped: {e}")))??;
        Ok(Some(Planner {
            job,
            state,
            dates: dates.into_iter(),
            spec,
            full: full.calendar.clone(),
            planned: Vec::new(),
        }))
    }

    /// The training tasks the next routine will ask for: the windows on
    /// its calendar that neither a model trained on earlier data nor an
    /// earlier routine of the plan covers. `None` after the last routine.
    fn next_routine(&mut self) -> Option<Result<Vec<Value>, JobError>> {
        let date = self.dates.next()?;
        Some(self.tasks_at(date))
    }

    fn tasks_at(&mut self, date: Date) -> Result<Vec<Value>, JobError> {
        let calendar = market::calendar_up_to(&self.full, &self.spec.describe(), date)?;
        let before = self.state.clone().before(date);
        let windows = Windows::generate(self.job, &self.spec.with_until(date), &calendar)?;
        let planned = &self.planned;
        let new = windows.new_tasks(|strategy| {
            before
                .models_of(strategy)
                .map(|m| m.test_start)
                .chain(
                    planned
                        .iter()
                        .filter(|(name, _)| name == strategy)
                        .map(|(_, start)| *start),
                )
                .collect()
        });
        for task in &new {
            let def = TaskDef::from_value(task).map_err(|e| JobError::config("models", e))?;
            if let Some(start) = def.dataset.kwargs.segments.test[0] {
                self.planned.push((def.model.name, start));
            }
        }
        Ok(new)
    }
}

/// Create the training tasks the routines at `dates` will ask for, in the
/// plan's pool (deduplicated), and start the worker training them; the
/// [`Launch`] makes routines wait for it. The first routine's tasks train
/// while the others are planned. `None` when there is nothing to train.
///
/// # Errors
/// Data and configuration errors, as the routines would meet them; store
/// errors.
pub(crate) async fn start(
    store: &Arc<dyn Store>,
    job: &JobPlan,
    dates: &[Date],
    state: &OnlineState,
    shutdown: &Shutdown,
) -> Result<Option<(Launch, AheadWorker)>, JobError> {
    let Some(mut planner) = Planner::new(job, dates, state).await? else {
        return Ok(None);
    };
    let mut first = Vec::new();
    while first.is_empty() {
        match planner.next_routine() {
            Some(tasks) => first = tasks?,
            None => return Ok(None),
        }
    }
    let (ids, _) = runner::create(store, job, first).await?;
    let (ahead, worker) =
        train::train_ahead(Arc::clone(store), &job.pool, ids, &job.trainer, shutdown);
    let mut rest = Vec::new();
    while let Some(tasks) = planner.next_routine() {
        rest.extend(tasks?);
    }
    if !rest.is_empty() {
        let (ids, _) = runner::create(store, job, rest).await?;
        worker.extend(ids);
    }
    Ok(Some((Launch::Ahead(ahead), worker)))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use jiff::civil::date;
    use task_store::{MemoryStore, Query, Store, TaskStore, TaskStoreExt};
    use taskpool_pipeline::worker::Shutdown;

    use crate::job::{JobConfig, no_events};
    use crate::online::{OnlineManager, OnlineOptions, OnlinePlan, OnlineState};

    fn manager(store: &Arc<dyn Store>, report: &std::path::Path) -> OnlineManager {
        let yaml = format!(
            "
pool: ahead_test
data: {{synthetic: {{instruments: 20, days: 660, start: 2019-01-01, seed: 5}}}}
models: [{{name: ridge, class: ridge}}, {{name: strong, class: ridge, kwargs: {{alpha: 1000.0}}}}]
segments:
  train: [null, 2020-06-30]
  valid: [2020-07-01, 2020-09-30]
  test: [2020-10-01, null]
rolling: {{step: 3m, trunc_days: 2}}
trainer: {{mode: in_process, workers: 2, max_attempts: 1}}
report: {{dir: {}, plot: false}}
",
            report.display()
        );
        let config = JobConfig::from_yaml(&yaml).unwrap();
        let options = OnlineOptions {
            worker_command: None,
            events: no_events(),
            shutdown: Shutdown::new(),
        };
        OnlineManager::new(
            OnlinePlan::new(&config, None).unwrap(),
            Arc::clone(store),
            options,
        )
        .unwrap()
    }

    /// The worst case for look-ahead: every window of every routine trained
    /// ahead (their model records all written) before the first routine
    /// runs, as an interrupted `simulate` leaves them. Each routine still
    /// puts online and predicts with models of its past only, and the
    /// signal is the one of a simulate from scratch.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn routines_after_everything_was_trained_ahead_see_only_their_past() {
        let dir = tempfile::tempdir().unwrap();
        let (start, end) = (date(2020, 10, 1), date(2021, 6, 30));
        let reference = {
            let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
            let online = manager(&store, dir.path()).train_ahead(false);
            online.simulate(start, end).await.unwrap();
            online.signal().await.unwrap().unwrap()
        };

        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let online = manager(&store, dir.path()).train_ahead(false);
        let job = &online.plan().job;
        let dates = online.simulate_dates(start, end).await.unwrap();
        let (_, worker) = super::start(
            online.store(),
            job,
            &dates,
            &OnlineState::default(),
            &Shutdown::new(),
        )
        .await
        .unwrap()
        .unwrap();
        let pool: Arc<dyn TaskStore> = store.clone();
        let tasks = pool.query_all(&job.pool, Query::All).await.unwrap();
        assert_eq!(tasks.len(), 6, "3 windows × 2 models");
        while pool.stat(&job.pool, &Query::All).await.unwrap().done < 6 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        worker.finish().await.unwrap();
        assert!(
            online.state().await.unwrap().models.is_empty(),
            "no routine yet"
        );

        let simulated = online.simulate(start, end).await.unwrap();
        let state = online.state().await.unwrap();
        let seen_until = |record: &str| {
            state
                .models
                .iter()
                .find(|m| m.id.to_string() == record)
                .and_then(|m| m.data_until)
                .unwrap()
        };
        assert_eq!(simulated.trained, 6);
        for routine in &simulated.routines {
            for model in &routine.trained {
                assert_eq!(seen_until(&model.record), routine.as_of);
            }
            for model in routine.online.iter().chain(&routine.taken_offline) {
                assert!(seen_until(&model.record) <= routine.as_of, "{routine:?}");
            }
        }
        assert_eq!(online.signal().await.unwrap().unwrap(), reference);
    }
}
