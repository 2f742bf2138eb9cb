//! [`PoolTrainer`]: the `taskpool run` way of training (the job's pool,
//! worker processes or in process, progress events) as a pipeline
//! [`Trainer`], the default trainer of online routines.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use task_store::{Query, Store, TaskStoreExt};
use taskpool_pipeline::trainer::{TrainError, TrainedTask, Trainer};
use taskpool_pipeline::worker::Shutdown;

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
