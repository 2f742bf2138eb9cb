//! [`PoolTrainer`]: the `taskpool run` way of training (the job's pool,
//! worker processes or in process, progress events) as a pipeline
//! [`Trainer`], the default trainer of online routines.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::Value;
use task_store::{Query, Store, TaskStoreExt};
use taskpool_pipeline::trainer::{TrainError, TrainedTask, Trainer};
use taskpool_pipeline::worker::Shutdown;

use crate::job::ridge_task::ModelWork;
use crate::job::runner::{create_and_train, model_names};
use crate::job::{Events, JobError, JobPlan, Launch};

/// Trains task definitions as `taskpool run` does: created in the plan's
/// pool (deduplicated by content, so a window already trained by anyone is
/// reused), trained by worker processes or in process, one result per
/// definition.
pub struct PoolTrainer {
    store: Arc<dyn Store>,
    plan: Arc<JobPlan>,
    launch: Launch,
    events: Events,
    shutdown: Shutdown,
}

impl PoolTrainer {
    /// A trainer on the pool of `plan`.
    pub fn new(
        store: Arc<dyn Store>,
        plan: Arc<JobPlan>,
        launch: Launch,
        events: Events,
        shutdown: Shutdown,
    ) -> PoolTrainer {
        PoolTrainer {
            store,
            plan,
            launch,
            events,
            shutdown,
        }
    }
}

/// Seconds of model work of `trained` ([`ModelWork`] in their results)
/// between `from` and `to`: the union of their intervals, so that tasks
/// trained side by side count once, and work before `from` (a window
/// trained earlier by another routine) does not count.
pub(crate) fn model_work_seconds(trained: &[TrainedTask], from: Timestamp, to: Timestamp) -> f64 {
    union_seconds(
        trained.iter().filter_map(|t| ModelWork::of(&t.res)),
        from,
        to,
    )
}

/// Seconds covered by the intervals of `work` between `from` and `to`
/// (overlapping intervals count once).
pub(crate) fn union_seconds(
    work: impl IntoIterator<Item = ModelWork>,
    from: Timestamp,
    to: Timestamp,
) -> f64 {
    let mut spans: Vec<(f64, f64)> = work
        .into_iter()
        .map(|w| {
            let start = w.start.as_duration().as_secs_f64();
            (start, start + w.seconds)
        })
        .collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (from, to) = (
        from.as_duration().as_secs_f64(),
        to.as_duration().as_secs_f64(),
    );
    let mut total = 0.0;
    let mut covered = from;
    for (start, end) in spans {
        let (start, end) = (start.max(covered), end.min(to));
        if end > start {
            total += end - start;
            covered = end;
        }
    }
    total
}

fn train_error(e: JobError) -> TrainError {
    match e {
        JobError::Store(e) => TrainError::Store(e),
        other => TrainError::Store(task_store::Error::backend(other.to_string())),
    }
}

#[async_trait]
impl Trainer for PoolTrainer {
    async fn train(&self, tasks: Vec<Value>) -> Result<Vec<TrainedTask>, TrainError> {
        if tasks.is_empty() {
            return Ok(Vec::new());
        }
        let models = model_names(&tasks).map_err(train_error)?.len();
        let trained = create_and_train(
            &self.store,
            &self.plan,
            tasks,
            models,
            &self.launch,
            &self.events,
            &self.shutdown,
        )
        .await
        .map_err(train_error)?;
        let mut found: HashMap<_, _> = self
            .store
            .query_all(&self.plan.pool, Query::ids(&trained.ids))
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
        Ok(trained
            .ids
            .iter()
            .filter_map(|id| found.remove(id))
            .map(|t| TrainedTask {
                id: Some(t.id),
                def: t.def,
                status: t.status,
                res: t.res.unwrap_or(Value::Null),
            })
            .collect())
    }

    async fn end_train(&self, tasks: Vec<TrainedTask>) -> Result<Vec<TrainedTask>, TrainError> {
        Ok(tasks)
    }

    fn is_delay(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use jiff::{SignedDuration, Timestamp};
    use serde_json::json;
    use task_store::Status;
    use taskpool_pipeline::trainer::TrainedTask;

    use super::model_work_seconds;
    use crate::job::ridge_task::{ModelWork, RES_MODEL_WORK};

    fn at(seconds: f64) -> Timestamp {
        Timestamp::UNIX_EPOCH + SignedDuration::from_secs_f64(seconds)
    }

    fn task(start: f64, seconds: f64) -> TrainedTask {
        let work = ModelWork {
            start: at(start),
            seconds,
        };
        TrainedTask {
            id: None,
            def: json!({}),
            status: Status::Done,
            res: json!({ RES_MODEL_WORK: work }),
        }
    }

    #[test]
    fn overlapping_tasks_count_once_and_work_outside_the_phase_not_at_all() {
        let trained = [
            task(10.0, 2.0),
            task(11.0, 2.0), // overlaps the first: 12 → 13 is new
            task(20.0, 1.0),
            task(1.0, 2.0), // before the phase
            TrainedTask {
                res: json!({"record": "r"}), // no model work recorded
                ..task(0.0, 0.0)
            },
        ];
        let seconds = model_work_seconds(&trained, at(5.0), at(20.5));
        assert!((seconds - 3.5).abs() < 1e-6, "{seconds}");
        assert_eq!(model_work_seconds(&[], at(0.0), at(1.0)), 0.0);
    }
}
