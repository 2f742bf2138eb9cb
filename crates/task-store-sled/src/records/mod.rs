//! [`RecordStore`] for [`SledStore`]: records and their artifacts in three
//! more trees of the same database as the tasks (see [`crate::layout`]).
//!
//! Each operation validates its arguments in the MemoryStore's order (so it
//! fails with the same kind), then runs on a blocking thread. Writes go
//! through one transaction over the record trees ([`tx`]) and are
//! acknowledged after the same flush and `fdatasync` as task writes.

mod artifacts;
mod codec;
mod integrity;
mod ops;
mod tx;

use async_trait::async_trait;
use task_store::RecordBackend;
use task_store::{ArtifactInfo, NewRecord, Record, RecordFilter, RecordId, Result, UpdateRecord};

use crate::store::SledStore;

#[async_trait]
impl RecordBackend for SledStore {
    async fn create_record(&self, experiment: &str, params: NewRecord) -> Result<Record> {
        let experiment = experiment.to_string();
        self.blocking(move |s| s.create_record(&experiment, params))
            .await
    }

    async fn update_record(&self, experiment: &str, params: UpdateRecord) -> Result<Record> {
        let experiment = experiment.to_string();
        self.blocking(move |s| s.update_record(&experiment, &params))
            .await
    }

    async fn get_record(&self, experiment: &str, id: RecordId) -> Result<Record> {
        let experiment = experiment.to_string();
        self.blocking(move |s| s.get_record(&experiment, id)).await
    }

    async fn list_records(&self, experiment: &str, filter: &RecordFilter) -> Result<Vec<Record>> {
        let (experiment, filter) = (experiment.to_string(), filter.clone());
        self.blocking(move |s| s.list_records(&experiment, &filter))
            .await
    }

    async fn delete_record(&self, experiment: &str, id: RecordId) -> Result<bool> {
        let experiment = experiment.to_string();
        self.blocking(move |s| s.delete_record(&experiment, id))
            .await
    }

    async fn experiments(&self) -> Result<Vec<String>> {
        self.blocking(|s| s.experiments()).await
    }

    async fn put_artifact(
        &self,
        experiment: &str,
        id: RecordId,
        name: &str,
        data: Vec<u8>,
    ) -> Result<()> {
        let (experiment, name) = (experiment.to_string(), name.to_string());
        self.blocking(move |s| s.put_artifact(&experiment, id, &name, &data))
            .await
    }

    async fn get_artifact(&self, experiment: &str, id: RecordId, name: &str) -> Result<Vec<u8>> {
        let (experiment, name) = (experiment.to_string(), name.to_string());
        self.blocking(move |s| s.get_artifact(&experiment, id, &name))
            .await
    }

    async fn list_artifacts(&self, experiment: &str, id: RecordId) -> Result<Vec<ArtifactInfo>> {
        let experiment = experiment.to_string();
        self.blocking(move |s| s.list_artifacts(&experiment, id))
            .await
    }

    async fn delete_artifact(&self, experiment: &str, id: RecordId, name: &str) -> Result<bool> {
        let (experiment, name) = (experiment.to_string(), name.to_string());
        self.blocking(move |s| s.delete_artifact(&experiment, id, &name))
            .await
    }
}
