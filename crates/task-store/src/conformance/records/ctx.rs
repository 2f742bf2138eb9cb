//! The context of a record case: a fresh store, its clock, an experiment.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;

use super::super::START;
use crate::id::TaskId;
use crate::record::{NewRecord, Record, RecordStore};
use crate::store::{Store, TaskStore};
use crate::time::{ManualClock, SharedClock};

/// What a record case gets: a fresh store, its clock and an experiment name.
pub struct RecordCtx {
    /// The store under test (its records; a [`Store`] so that the case can
    /// [close](crate::TaskStore::close) it).
    pub store: Arc<dyn Store>,
    /// The store's clock.
    pub clock: ManualClock,
    /// An experiment name unique to this case.
    pub experiment: String,
}

impl RecordCtx {
    /// Build a context from a factory; `None` if the factory skips the case.
    pub async fn new<F, Fut>(factory: F, case: &'static str) -> Option<RecordCtx>
    where
        F: FnOnce(SharedClock, &'static str) -> Fut,
        Fut: std::future::Future<Output = Option<Arc<dyn Store>>>,
    {
        let clock = ManualClock::new(START);
        let store = factory(Arc::new(clock.clone()), case).await?;
        Some(RecordCtx {
            store,
            clock,
            experiment: RecordCtx::experiment_for(case),
        })
    }

    /// Close the store (see [`TaskStore::close`](crate::TaskStore::close))
    /// before the case's runtime stops.
    pub async fn close(self) {
        self.store.close().await;
    }

    /// The experiment a case works in.
    pub fn experiment_for(case: &str) -> String {
        format!("rec_{case}")
    }

    /// Create a record that the case expects to succeed.
    pub async fn create(&self, new: NewRecord) -> Record {
        self.store
            .create_record(&self.experiment, new)
            .await
            .unwrap_or_else(|e| panic!("create_record failed: {e}"))
    }
}

/// A record with every kind of field set (a task, params, metrics, a tag).
pub(crate) fn sample() -> NewRecord {
    let task = json!({"model": {"class": "LGBModel", "kwargs": {"alpha": 0.1}}});
    NewRecord {
        pool: Some("rolling_task".into()),
        task_id: Some(TaskId::generate(START)),
        params: crate::record::flatten_params(&task),
        task,
        metrics: BTreeMap::from([("ic".into(), 0.1 + 0.2), ("loss".into(), -1e-300)]),
        tags: BTreeMap::from([("online".into(), "yes".into())]),
        ..NewRecord::default()
    }
}
