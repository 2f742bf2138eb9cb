//! [`RecordStore`] for [`MemoryStore`]: records and artifacts in maps behind
//! one mutex, every rule applied through the [`record`](crate::record) functions.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry as MapEntry;
use std::sync::MutexGuard;

use async_trait::async_trait;

use crate::backend::RecordBackend;
use crate::error::{Error, ErrorKind, Result};
use crate::memory::MemoryStore;
use crate::record::{ArtifactInfo, NewRecord, Record, RecordFilter, RecordId, UpdateRecord};

/// The records of every experiment, by experiment name then id.
#[derive(Debug, Default)]
pub(crate) struct Experiments(BTreeMap<String, BTreeMap<RecordId, Entry>>);

#[derive(Debug)]
struct Entry {
    record: Record,
    artifacts: BTreeMap<String, Vec<u8>>,
}

impl MemoryStore {
    fn lock_records(&self) -> MutexGuard<'_, Experiments> {
        // Every change is applied to one entry in one step, so the data stays
        // usable after a panic poisoned the lock.
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run `f` on record `id` of `experiment`, if it exists.
    fn with_entry<R>(
        &self,
        experiment: &str,
        id: RecordId,
        f: impl FnOnce(&mut Entry) -> Result<R>,
    ) -> Result<R> {
        let mut records = self.lock_records();
        let entry = records
            .0
            .get_mut(experiment)
            .and_then(|e| e.get_mut(&id))
            .ok_or_else(|| record_not_found(experiment, id))?;
        f(entry)
    }
}

fn record_not_found(experiment: &str, id: RecordId) -> Error {
    Error::not_found(format!("no record {id} in experiment {experiment:?}"))
}

#[async_trait]
impl RecordBackend for MemoryStore {
    async fn create_record(&self, experiment: &str, params: NewRecord) -> Result<Record> {
        let record = params.into_record(experiment, self.clock.now())?;
        let mut records = self.lock_records();
        let exp = records.0.entry(experiment.to_string()).or_default();
        match exp.entry(record.id) {
            MapEntry::Occupied(_) => Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "record {} already exists in experiment {experiment:?}",
                    record.id
                ),
            )),
            MapEntry::Vacant(slot) => {
                slot.insert(Entry {
                    record: record.clone(),
                    artifacts: BTreeMap::new(),
                });
                Ok(record)
            }
        }
    }

    async fn update_record(&self, experiment: &str, params: UpdateRecord) -> Result<Record> {
        let now = self.clock.now();
        self.with_entry(experiment, params.id, |entry| {
            params.apply(&mut entry.record, now)?;
            Ok(entry.record.clone())
        })
    }

    async fn get_record(&self, experiment: &str, id: RecordId) -> Result<Record> {
        self.with_entry(experiment, id, |entry| Ok(entry.record.clone()))
    }

    async fn list_records(&self, experiment: &str, filter: &RecordFilter) -> Result<Vec<Record>> {
        let records = self.lock_records();
        Ok(records
            .0
            .get(experiment)
            .into_iter()
            .flat_map(|exp| exp.values())
            .filter(|e| filter.matches(&e.record))
            .map(|e| e.record.clone())
            .collect())
    }

    async fn delete_record(&self, experiment: &str, id: RecordId) -> Result<bool> {
        let mut records = self.lock_records();
        let Some(exp) = records.0.get_mut(experiment) else {
            return Ok(false);
        };
        let existed = exp.remove(&id).is_some();
        if exp.is_empty() {
            records.0.remove(experiment);
        }
        Ok(existed)
    }

    async fn experiments(&self) -> Result<Vec<String>> {
        Ok(self.lock_records().0.keys().cloned().collect())
    }

    async fn put_artifact(
        &self,
        experiment: &str,
        id: RecordId,
        name: &str,
        data: Vec<u8>,
    ) -> Result<()> {
        self.with_entry(experiment, id, |entry| {
            entry.artifacts.insert(name.to_string(), data);
            Ok(())
        })
    }

    async fn get_artifact(&self, experiment: &str, id: RecordId, name: &str) -> Result<Vec<u8>> {
        self.with_entry(experiment, id, |entry| {
            entry.artifacts.get(name).cloned().ok_or_else(|| {
                Error::not_found(format!(
                    "no artifact {name:?} in record {id} of experiment {experiment:?}"
                ))
            })
        })
    }

    async fn list_artifacts(&self, experiment: &str, id: RecordId) -> Result<Vec<ArtifactInfo>> {
        self.with_entry(experiment, id, |entry| {
            Ok(entry
                .artifacts
                .iter()
                .map(|(name, data)| ArtifactInfo {
                    name: name.clone(),
                    len: data.len() as u64,
                })
                .collect())
        })
    }

    async fn delete_artifact(&self, experiment: &str, id: RecordId, name: &str) -> Result<bool> {
        self.with_entry(experiment, id, |entry| {
            Ok(entry.artifacts.remove(name).is_some())
        })
    }
}
