//! The [`RecordStore`] trait every backend implements.

use std::fmt::{Debug, Display};
use std::sync::Arc;

use async_trait::async_trait;

use super::params::{NewRecord, RecordFilter, UpdateRecord};
use super::types::{ArtifactInfo, Record, RecordId};
use crate::error::Result;

/// A store of records and their artifacts, grouped by experiment.
///
/// Every operation takes the experiment first; an invalid experiment name
/// fails with [`ErrorKind::Config`](crate::ErrorKind::Config) before anything
/// else (see [`validate_experiment_name`](super::validate_experiment_name)).
/// An experiment exists while it has records. Times come from the store's
/// [`Clock`](crate::Clock).
///
/// The trait is object safe (`Arc<dyn RecordStore>`). Backends implement
/// [`RecordBackend`](crate::backend::RecordBackend); the blanket impl in
/// [`backend`](crate::backend) validates every argument with the module's
/// pure functions first. Backends apply changes with
/// [`NewRecord::into_record`] and [`UpdateRecord::apply`], so every backend
/// stores exactly what the [`MemoryStore`](crate::MemoryStore) stores.
#[async_trait]
pub trait RecordStore: Debug + Display + Send + Sync + 'static {
    /// Create a record; returns it as stored.
    ///
    /// # Behavior
    /// - The record is [`NewRecord::into_record`] at the store's now: a fresh
    ///   id unless one is given, `created_at` = `updated_at` = now,
    ///   `finished_at` = now if the status is final.
    /// - Ids made by one store sort by creation.
    ///
    /// # Errors
    /// `AlreadyExists` if the experiment already has a record with the given
    /// id (nothing changes); `InvalidInput`/`Config` as `into_record`.
    async fn create_record(&self, experiment: &str, params: NewRecord) -> Result<Record>;

    /// Change a record; returns it as stored after the change.
    ///
    /// # Behavior
    /// - [`UpdateRecord::apply`] at the store's now.
    /// - Atomic: concurrent updates of one record each take effect; none is lost.
    ///
    /// # Errors
    /// `NotFound` if the experiment has no such record; `InvalidInput` as
    /// [`UpdateRecord::validate`] (nothing changes).
    async fn update_record(&self, experiment: &str, params: UpdateRecord) -> Result<Record>;

    /// One record by id.
    ///
    /// # Behavior
    /// - Returns the record as the last write left it, metrics bit for bit.
    ///
    /// # Errors
    /// `NotFound` if the experiment has no such record.
    async fn get_record(&self, experiment: &str, id: RecordId) -> Result<Record>;

    /// The records of an experiment passing `filter`, sorted by id.
    ///
    /// # Behavior
    /// - Exactly the records for which [`RecordFilter::matches`] is true.
    /// - An unknown experiment has no records.
    ///
    /// # Errors
    /// `Config` for a bad experiment name.
    async fn list_records(&self, experiment: &str, filter: &RecordFilter) -> Result<Vec<Record>>;

    /// Delete a record and all its artifacts; returns whether it existed.
    ///
    /// # Behavior
    /// - Afterwards `get_record` and every artifact operation on it fail with
    ///   `NotFound`.
    ///
    /// # Errors
    /// `Config` for a bad experiment name.
    async fn delete_record(&self, experiment: &str, id: RecordId) -> Result<bool>;

    /// The experiments having at least one record, sorted by name.
    ///
    /// # Behavior
    /// - An experiment appears with its first record and disappears with its last.
    ///
    /// # Errors
    /// `Unavailable`/`Backend` when the store cannot be read.
    async fn experiments(&self) -> Result<Vec<String>>;

    /// Store an artifact of a record, replacing one of the same name.
    ///
    /// # Behavior
    /// - Any length up to [`MAX_ARTIFACT_LEN`](super::MAX_ARTIFACT_LEN),
    ///   including 0 and more than 16 MB; `get_artifact` returns the same bytes.
    /// - The record's fields (including `updated_at`) do not change.
    ///
    /// # Errors
    /// `NotFound` if the record does not exist; `InvalidInput` for a bad name
    /// or an artifact over the limit (nothing is written).
    async fn put_artifact(
        &self,
        experiment: &str,
        id: RecordId,
        name: &str,
        data: Vec<u8>,
    ) -> Result<()>;

    /// The bytes of an artifact.
    ///
    /// # Errors
    /// `NotFound` if the record or the artifact does not exist; `InvalidInput`
    /// for a bad name.
    async fn get_artifact(&self, experiment: &str, id: RecordId, name: &str) -> Result<Vec<u8>>;

    /// The artifacts of a record, sorted by name.
    ///
    /// # Errors
    /// `NotFound` if the record does not exist.
    async fn list_artifacts(&self, experiment: &str, id: RecordId) -> Result<Vec<ArtifactInfo>>;

    /// Delete an artifact; returns whether it existed.
    ///
    /// # Errors
    /// `NotFound` if the record does not exist; `InvalidInput` for a bad name.
    async fn delete_artifact(&self, experiment: &str, id: RecordId, name: &str) -> Result<bool>;
}

macro_rules! forward_record_store {
    ($ty:ty) => {
        #[async_trait]
        impl<T: RecordStore + ?Sized> RecordStore for $ty {
            async fn create_record(&self, experiment: &str, params: NewRecord) -> Result<Record> {
                (**self).create_record(experiment, params).await
            }
            async fn update_record(
                &self,
                experiment: &str,
                params: UpdateRecord,
            ) -> Result<Record> {
                (**self).update_record(experiment, params).await
            }
            async fn get_record(&self, experiment: &str, id: RecordId) -> Result<Record> {
                (**self).get_record(experiment, id).await
            }
            async fn list_records(
                &self,
                experiment: &str,
                filter: &RecordFilter,
            ) -> Result<Vec<Record>> {
                (**self).list_records(experiment, filter).await
            }
            async fn delete_record(&self, experiment: &str, id: RecordId) -> Result<bool> {
                (**self).delete_record(experiment, id).await
            }
            async fn experiments(&self) -> Result<Vec<String>> {
                (**self).experiments().await
            }
            async fn put_artifact(
                &self,
                experiment: &str,
                id: RecordId,
                name: &str,
                data: Vec<u8>,
            ) -> Result<()> {
                (**self).put_artifact(experiment, id, name, data).await
            }
            async fn get_artifact(
                &self,
                experiment: &str,
                id: RecordId,
                name: &str,
            ) -> Result<Vec<u8>> {
                (**self).get_artifact(experiment, id, name).await
            }
            async fn list_artifacts(
                &self,
                experiment: &str,
                id: RecordId,
            ) -> Result<Vec<ArtifactInfo>> {
                (**self).list_artifacts(experiment, id).await
            }
            async fn delete_artifact(
                &self,
                experiment: &str,
                id: RecordId,
                name: &str,
            ) -> Result<bool> {
                (**self).delete_artifact(experiment, id, name).await
            }
        }
    };
}

forward_record_store!(Arc<T>);
