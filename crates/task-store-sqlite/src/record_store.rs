//! [`RecordStore`] for [`SqliteStore`]: records and artifacts in the same
//! database file as the tasks (names and sizes were checked by the core).
//!
//! Creating and updating a record are grouped writes (committed together
//! with the other short writes queued at the same time, see the `worker`
//! module); reads, record deletion and every artifact operation run alone
//! (an artifact may be 512 MiB: it never shares, or holds up, a group).

use async_trait::async_trait;
use task_store::RecordBackend;
use task_store::{ArtifactInfo, NewRecord, Record, RecordFilter, RecordId, Result, UpdateRecord};

use crate::store::SqliteStore;
use crate::worker::JobKind;
use crate::{artifacts, records};

#[async_trait]
impl RecordBackend for SqliteStore {
    async fn create_record(&self, experiment: &str, params: NewRecord) -> Result<Record> {
        let experiment = experiment.to_string();
        self.run(JobKind::Grouped, move |conn, now| {
            let record = params.into_record(&experiment, now)?;
            records::create(conn, &record)?;
            Ok(record)
        })
        .await
    }

    async fn update_record(&self, experiment: &str, params: UpdateRecord) -> Result<Record> {
        let experiment = experiment.to_string();
        self.run(JobKind::Grouped, move |conn, now| {
            records::update(conn, &experiment, &params, now)
        })
        .await
    }

    async fn get_record(&self, experiment: &str, id: RecordId) -> Result<Record> {
        let experiment = experiment.to_string();
        self.run(JobKind::Alone, move |conn, _| {
            records::get(conn, &experiment, id)
        })
        .await
    }

    async fn list_records(&self, experiment: &str, filter: &RecordFilter) -> Result<Vec<Record>> {
        let experiment = experiment.to_string();
        let filter = filter.clone();
        self.run(JobKind::Alone, move |conn, _| {
            records::list(conn, &experiment, &filter)
        })
        .await
    }

    async fn delete_record(&self, experiment: &str, id: RecordId) -> Result<bool> {
        let experiment = experiment.to_string();
        self.run(JobKind::Alone, move |conn, _| {
            records::delete(conn, &experiment, id)
        })
        .await
    }

    async fn experiments(&self) -> Result<Vec<String>> {
        self.run(JobKind::Alone, |conn, _| records::experiments(conn))
            .await
    }

    async fn put_artifact(
        &self,
        experiment: &str,
        id: RecordId,
        name: &str,
        data: Vec<u8>,
    ) -> Result<()> {
        let (experiment, name) = (experiment.to_string(), name.to_string());
        self.run(JobKind::Alone, move |conn, _| {
            artifacts::put(conn, &experiment, id, &name, &data)
        })
        .await
    }

    async fn get_artifact(&self, experiment: &str, id: RecordId, name: &str) -> Result<Vec<u8>> {
        let (experiment, name) = (experiment.to_string(), name.to_string());
        self.run(JobKind::Alone, move |conn, _| {
            artifacts::get(conn, &experiment, id, &name)
        })
        .await
    }

    async fn list_artifacts(&self, experiment: &str, id: RecordId) -> Result<Vec<ArtifactInfo>> {
        let experiment = experiment.to_string();
        self.run(JobKind::Alone, move |conn, _| {
            artifacts::list(conn, &experiment, id)
        })
        .await
    }

    async fn delete_artifact(&self, experiment: &str, id: RecordId, name: &str) -> Result<bool> {
        let (experiment, name) = (experiment.to_string(), name.to_string());
        self.run(JobKind::Alone, move |conn, _| {
            artifacts::delete(conn, &experiment, id, &name)
        })
        .await
    }
}
