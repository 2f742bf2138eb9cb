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
use taskpool_pipeline::worker::Shutdown;

use super::routine::{self, Windows};
use super::state::OnlineState;
use crate::job::runner;
use crate::job::task_def::TaskDef;
use crate::job::train::{self, AheadWorker};
use crate::job::{JobError, JobPlan, Launch};

/// The training tasks the routines at `dates` (in order) will ask for,
/// starting from `state` (the store's, every model in it): for each
/// routine after the state's last one, the windows on its calendar that
/// neither a model trained on earlier data nor an earlier routine of the
/// list covers.
///
/// # Errors
/// Data and configuration errors, as the routines would meet them.
pub(crate) async fn plan(
    job: &JobPlan,
    dates: &[Date],
    state: &OnlineState,
) -> Result<Vec<Value>, JobError> {
    let last = state.last_routine().map(|r| r.summary.as_of);
    let mut planned: Vec<(String, Date)> = Vec::new();
    let mut tasks = Vec::new();
    for &date in dates {
        if last.is_some_and(|last| last >= date) {
            continue;
        }
        let seen = routine::visible(&job.data, date).await?;
        let before = state.clone().before(seen.as_of);
        let new = Windows::generate(job, &seen)?.new_tasks(|strategy| {
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
                planned.push((def.model.name, start));
            }
        }
        tasks.extend(new);
    }
    Ok(tasks)
}

/// Create `tasks` in the plan's pool (one batch, deduplicated) and start
/// the worker training them; the [`Launch`] makes routines wait for it.
/// `None` when there is nothing to train.
///
/// # Errors
/// Store errors.
pub(crate) async fn start(
    store: &Arc<dyn Store>,
    job: &JobPlan,
    tasks: Vec<Value>,
    shutdown: &Shutdown,
) -> Result<Option<(Launch, AheadWorker)>, JobError> {
    if tasks.is_empty() {
        return Ok(None);
    }
    let (ids, _) = runner::create(store, job, tasks).await?;
    let (ahead, worker) =
        train::train_ahead(Arc::clone(store), &job.pool, &ids, &job.trainer, shutdown)?;
    Ok(Some((Launch::Ahead(ahead), worker)))
}
