//! Artifact operations (the [`RecordBackend`](task_store::RecordBackend)
//! impl in [`crate::records`] dispatches to them). An artifact is its entry in the record's directory
//! (length and chunk count) plus its bytes in chunks of at most
//! [`CHUNK_LEN`](layout::CHUNK_LEN) under (experiment, record, name, index).
//!
//! A put writes every chunk, removes the chunks of a longer artifact it
//! replaces and updates the directory in one transaction; a get reads the
//! directory and the chunks in one transaction. Both hold sled's
//! process-wide transaction lock while they copy the bytes, so other writers
//! wait for a large artifact (about a second per few hundred MiB).

use task_store::{ArtifactInfo, RecordId, Result};

use crate::codec::StoredArtifact;
use crate::error::SledError;
use crate::layout::CHUNK_LEN;
use crate::store::Inner;
use crate::tx::abort;

impl Inner {
    /// [`RecordStore::put_artifact`](task_store::RecordStore::put_artifact)
    /// with a validated name and length.
    pub(crate) fn put_artifact(
        &self,
        experiment: &str,
        id: RecordId,
        name: &str,
        data: &[u8],
    ) -> Result<()> {
        let stored = StoredArtifact {
            len: data.len() as u64,
            chunks: u32::try_from(data.len().div_ceil(CHUNK_LEN))
                .map_err(|_| SledError::ArtifactTooLong { len: data.len() })?,
        };
        let _shared = self.shared();
        self.transact_records(experiment, |tx| {
            tx.require(id)?;
            let mut directory = tx.directory(id)?;
            for (index, chunk) in (0u32..).zip(data.chunks(CHUNK_LEN)) {
                tx.chunks.insert(tx.chunk_key(id, name, index), chunk)?;
            }
            if let Some(old) = directory.get(name) {
                tx.remove_chunks(id, name, stored.chunks, old.chunks)?;
            }
            directory.insert(name.to_string(), stored);
            tx.put_directory(id, &directory)
        })?;
        self.flush()
    }

    /// [`RecordStore::get_artifact`](task_store::RecordStore::get_artifact)
    /// with a validated name.
    pub(crate) fn get_artifact(
        &self,
        experiment: &str,
        id: RecordId,
        name: &str,
    ) -> Result<Vec<u8>> {
        self.transact_records(experiment, |tx| {
            tx.require(id)?;
            let Some(stored) = tx.directory(id)?.remove(name) else {
                return abort(SledError::ArtifactNotFound {
                    experiment: experiment.to_string(),
                    id,
                    name: name.to_string(),
                });
            };
            let corrupt = |what: String| {
                SledError::Corrupt(format!(
                    "artifact {name:?} of record {id} in experiment {experiment:?}: {what}"
                ))
            };
            let mut data = Vec::new();
            let reserved = usize::try_from(stored.len)
                .ok()
                .and_then(|len| data.try_reserve_exact(len).ok());
            if reserved.is_none() {
                return abort(corrupt(format!(
                    "{} bytes do not fit in memory",
                    stored.len
                )));
            }
            for index in 0..stored.chunks {
                match tx.chunks.get(tx.chunk_key(id, name, index))? {
                    Some(chunk) => data.extend_from_slice(&chunk),
                    None => return abort(corrupt(format!("chunk {index} is missing"))),
                }
            }
            if data.len() as u64 != stored.len {
                return abort(corrupt(format!(
                    "its chunks hold {} bytes, its directory says {}",
                    data.len(),
                    stored.len
                )));
            }
            Ok(data)
        })
    }

    /// [`RecordStore::list_artifacts`](task_store::RecordStore::list_artifacts):
    /// the record's directory, already sorted by name.
    pub(crate) fn list_artifacts(
        &self,
        experiment: &str,
        id: RecordId,
    ) -> Result<Vec<ArtifactInfo>> {
        self.transact_records(experiment, |tx| {
            tx.require(id)?;
            Ok(tx
                .directory(id)?
                .into_iter()
                .map(|(name, stored)| ArtifactInfo {
                    name,
                    len: stored.len,
                })
                .collect())
        })
    }

    /// [`RecordStore::delete_artifact`](task_store::RecordStore::delete_artifact)
    /// with a validated name: its chunks and directory entry in one transaction.
    pub(crate) fn delete_artifact(
        &self,
        experiment: &str,
        id: RecordId,
        name: &str,
    ) -> Result<bool> {
        let _shared = self.shared();
        let existed = self.transact_records(experiment, |tx| {
            tx.require(id)?;
            let mut directory = tx.directory(id)?;
            let Some(stored) = directory.remove(name) else {
                return Ok(false);
            };
            tx.remove_chunks(id, name, 0, stored.chunks)?;
            tx.put_directory(id, &directory)?;
            Ok(true)
        })?;
        if existed {
            self.flush()?;
        }
        Ok(existed)
    }
}
