//! [`RecordBackend`] for [`SledStore`]: records and their artifacts in three
//! more trees of the same database as the tasks (see [`crate::layout`]),
//! and the record operations (create, update, get, list, delete,
//! experiments); artifact operations are in [`crate::artifacts`].
//!
//! Each operation runs on a blocking thread, on arguments the core has
//! validated. Writes go through one transaction over the record trees
//! ([`tx`]) and are acknowledged after the same flush and `fdatasync` as
//! task writes.

mod integrity;
pub(crate) mod tx;

use async_trait::async_trait;
use task_store::{
    ArtifactInfo, NewRecord, Record, RecordBackend, RecordFilter, RecordId, Result, UpdateRecord,
};

use crate::codec;
use crate::error::SledError;
use crate::layout;
use crate::store::{Inner, SledStore};
use crate::tx::abort;

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

impl Inner {
    /// [`RecordStore::create_record`](task_store::RecordStore::create_record):
    /// [`NewRecord::into_record`] at the store's now, inserted unless the id
    /// is taken.
    pub(crate) fn create_record(&self, experiment: &str, params: NewRecord) -> Result<Record> {
        let record = params.into_record(experiment, self.clock.now())?;
        let _shared = self.shared();
        self.transact_records(experiment, |tx| {
            if tx.record(record.id)?.is_some() {
                return abort(SledError::RecordExists {
                    experiment: experiment.to_string(),
                    id: record.id,
                });
            }
            tx.put_record(&record)
        })?;
        self.flush()?;
        Ok(record)
    }

    /// [`RecordStore::update_record`](task_store::RecordStore::update_record):
    /// the transaction re-reads the record, so concurrent updates each apply.
    pub(crate) fn update_record(&self, experiment: &str, params: &UpdateRecord) -> Result<Record> {
        let _shared = self.shared();
        let now = self.clock.now();
        let record = self.transact_records(experiment, |tx| {
            let mut record = tx.require(params.id)?;
            if let Err(e) = params.apply(&mut record, now) {
                return abort(e);
            }
            tx.put_record(&record)?;
            Ok(record)
        })?;
        self.flush()?;
        Ok(record)
    }

    /// [`RecordStore::get_record`](task_store::RecordStore::get_record).
    pub(crate) fn get_record(&self, experiment: &str, id: RecordId) -> Result<Record> {
        let prefix = layout::experiment_prefix(experiment);
        let bytes = self
            .trees
            .records
            .get(layout::record_key(&prefix, id))
            .map_err(SledError::Sled)?
            .ok_or_else(|| SledError::RecordNotFound {
                experiment: experiment.to_string(),
                id,
            })?;
        codec::decode_record(experiment, &bytes)
    }

    /// [`RecordStore::list_records`](task_store::RecordStore::list_records):
    /// the experiment's key range, in id order.
    pub(crate) fn list_records(
        &self,
        experiment: &str,
        filter: &RecordFilter,
    ) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        for entry in self
            .trees
            .records
            .scan_prefix(layout::experiment_prefix(experiment))
            .values()
        {
            let record = codec::decode_record(experiment, &entry.map_err(SledError::Sled)?)?;
            if filter.matches(&record) {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// [`RecordStore::delete_record`](task_store::RecordStore::delete_record):
    /// the record, its artifact directory and every chunk in one transaction.
    pub(crate) fn delete_record(&self, experiment: &str, id: RecordId) -> Result<bool> {
        let _shared = self.shared();
        let existed = self.transact_records(experiment, |tx| {
            if tx.record(id)?.is_none() {
                return Ok(false);
            }
            for (name, artifact) in tx.directory(id)? {
                tx.remove_chunks(id, &name, 0, artifact.chunks)?;
            }
            tx.put_directory(id, &codec::Directory::new())?;
            tx.remove_record(id)?;
            Ok(true)
        })?;
        if existed {
            self.flush()?;
        }
        Ok(existed)
    }

    /// [`RecordStore::experiments`](task_store::RecordStore::experiments):
    /// one seek per experiment (each jumps past the previous experiment's
    /// key range), sorted by name.
    pub(crate) fn experiments(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut from = Some(Vec::new());
        while let Some(start) = from.take() {
            let Some(entry) = self.trees.records.range(start..).keys().next() else {
                break;
            };
            let key = entry.map_err(SledError::Sled)?;
            let name = layout::split_pool(&key)
                .map(|(name, _)| name.to_string())
                .ok_or_else(|| SledError::Corrupt(format!("malformed record key {key:?}")))?;
            from = past_prefix(&layout::experiment_prefix(&name));
            names.push(name);
        }
        names.sort();
        Ok(names)
    }
}

/// The smallest key greater than every key starting with `prefix`; `None`
/// if there is none (a prefix of `0xff` bytes only).
fn past_prefix(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut key = prefix.to_vec();
    while let Some(last) = key.pop() {
        if last < u8::MAX {
            key.push(last + 1);
            return Some(key);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::past_prefix;

    #[test]
    fn past_prefix_skips_the_whole_range() {
        assert_eq!(past_prefix(&[1, b'a']), Some(vec![1, b'b']));
        assert_eq!(past_prefix(&[1, 0xff]), Some(vec![2]));
        assert_eq!(past_prefix(&[0xff, 0xff]), None);
    }
}
