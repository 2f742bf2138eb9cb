//! The [`RecordBackend`] impl of [`MongoStore`] and the record operations:
//! records as versioned documents in one collection; the artifact operations
//! are in the `artifacts` module (bytes in GridFS).
//!
//! ## Layout
//!
//! - All experiments share the collection [`RECORD_COLLECTION`]; a record is
//!   identified by `(experiment, record)`, and each change of it is a new
//!   document `(experiment, record, version)` (see the `document` module for
//!   the fields). A unique index on those three fields makes each change a
//!   compare-and-swap that FerretDB honours too (see the `versions` module);
//!   a second index `{live: 1, experiment: 1}` answers
//!   [`RecordStore::experiments`](task_store::RecordStore::experiments).
//! - The versions a change supersedes are emptied to about 100 bytes but
//!   kept, so their numbers stay taken; deleting a record writes an empty
//!   version (a tombstone) on top. A record created again with the same id
//!   continues after it.
//! - Artifact bytes are GridFS files in the bucket [`ARTIFACT_BUCKET`]; the
//!   record's version lists each artifact's name, file id and length.
//!
//! ## Artifacts are never seen half-written
//!
//! `put_artifact` uploads a new file, then writes a record version pointing
//! at it, then deletes the file it replaced. A reader follows the file id of
//! the version it read; if that file is deleted under it (replaced or
//! deleted meanwhile), it reads the record again and follows the new id. A
//! process that dies mid-way leaves at most an unreferenced file, never a
//! reference to a partial one. Deleting a record deletes the files of its
//! last version.
//!
//! ## Listing
//!
//! `list_records` reads the experiment's versions, keeps each record's
//! latest and applies [`RecordFilter::matches`] (the MemoryStore's oracle)
//! to it: the filter is never translated, so it cannot disagree.

pub(crate) mod document;
mod versions;

use async_trait::async_trait;
use task_store::RecordBackend;
use task_store::{
    ArtifactInfo, Error, ErrorKind, NewRecord, Record, RecordFilter, RecordId, Result, UpdateRecord,
};

use crate::artifacts::ARTIFACT_BUCKET;
use crate::store::MongoStore;
use document::{ArtifactRef, State};
use versions::{Change, record_not_found};

/// The collection holding every experiment's records.
pub const RECORD_COLLECTION: &str = "records";

/// How many times `get_artifact` follows a replaced artifact to its new file
/// before giving up.
const MAX_READS: usize = 16;

fn artifact_not_found(experiment: &str, id: RecordId, name: &str) -> Error {
    Error::not_found(format!(
        "no artifact {name:?} in record {id} of experiment {experiment:?}"
    ))
}

#[async_trait]
impl RecordBackend for MongoStore {
    async fn create_record(&self, experiment: &str, params: NewRecord) -> Result<Record> {
        let record = params.into_record(experiment, self.clock.now())?;
        let id = record.id;
        self.change_record(experiment, id, |state| match state {
            Some(_) => Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("record {id} already exists in experiment {experiment:?}"),
            )),
            None => Ok(Change::Write(
                Some(Box::new(State::new(record.clone()))),
                (),
            )),
        })
        .await?;
        Ok(record)
    }

    async fn update_record(&self, experiment: &str, params: UpdateRecord) -> Result<Record> {
        let now = self.clock.now();
        self.change_record(experiment, params.id, |state| {
            let mut next = state
                .cloned()
                .ok_or_else(|| record_not_found(experiment, params.id))?;
            params.apply(&mut next.record, now)?;
            let record = next.record.clone();
            Ok(Change::Write(Some(Box::new(next)), record))
        })
        .await
    }

    async fn get_record(&self, experiment: &str, id: RecordId) -> Result<Record> {
        Ok(self.current(experiment, id).await?.record)
    }

    async fn list_records(&self, experiment: &str, filter: &RecordFilter) -> Result<Vec<Record>> {
        let mut records = self.live_records(experiment).await?;
        records.retain(|r| filter.matches(r));
        Ok(records)
    }

    async fn delete_record(&self, experiment: &str, id: RecordId) -> Result<bool> {
        let deleted = self
            .change_record(experiment, id, |state| {
                Ok(match state {
                    None => Change::Keep(None),
                    Some(s) => Change::Write(None, Some(s.artifacts.clone())),
                })
            })
            .await?;
        let Some(artifacts) = deleted else {
            return Ok(false);
        };
        for artifact in artifacts {
            self.delete_file(artifact.file).await;
        }
        Ok(true)
    }

    async fn experiments(&self) -> Result<Vec<String>> {
        self.live_experiments().await
    }

    async fn put_artifact(
        &self,
        experiment: &str,
        id: RecordId,
        name: &str,
        data: Vec<u8>,
    ) -> Result<()> {
        // Fail before uploading anything when the record does not exist.
        self.current(experiment, id).await?;
        let file = self.upload_file(experiment, id, name, &data).await?;
        let new = ArtifactRef {
            name: name.to_string(),
            file,
            len: data.len() as u64,
        };
        let replaced = self
            .change_record(experiment, id, |state| {
                let mut next = state
                    .cloned()
                    .ok_or_else(|| record_not_found(experiment, id))?;
                let replaced = next.put_artifact(new.clone());
                Ok(Change::Write(Some(Box::new(next)), replaced))
            })
            .await;
        match replaced {
            Ok(replaced) => {
                if let Some(old) = replaced {
                    self.delete_file(old.file).await;
                }
                Ok(())
            }
            Err(e) => {
                self.delete_file(file).await;
                Err(e)
            }
        }
    }

    async fn get_artifact(&self, experiment: &str, id: RecordId, name: &str) -> Result<Vec<u8>> {
        let mut tried = None;
        for _ in 0..MAX_READS {
            let state = self.current(experiment, id).await?;
            let artifact = state
                .artifact(name)
                .ok_or_else(|| artifact_not_found(experiment, id, name))?;
            if tried == Some(artifact.file) {
                return Err(Error::backend(format!(
                    "artifact {name:?} of record {id} in experiment {experiment:?} points at \
                     GridFS file {} of bucket {ARTIFACT_BUCKET:?}, which is missing or incomplete",
                    artifact.file.to_hex()
                )));
            }
            if let Some(bytes) = self.download_file(artifact.file, artifact.len).await? {
                return Ok(bytes);
            }
            tried = Some(artifact.file);
        }
        Err(Error::backend(format!(
            "artifact {name:?} of record {id} in experiment {experiment:?} was replaced \
             {MAX_READS} times while being read; retry"
        )))
    }

    async fn list_artifacts(&self, experiment: &str, id: RecordId) -> Result<Vec<ArtifactInfo>> {
        let state = self.current(experiment, id).await?;
        Ok(state
            .artifacts
            .into_iter()
            .map(|a| ArtifactInfo {
                name: a.name,
                len: a.len,
            })
            .collect())
    }

    async fn delete_artifact(&self, experiment: &str, id: RecordId, name: &str) -> Result<bool> {
        let removed = self
            .change_record(experiment, id, |state| {
                let mut next = state
                    .cloned()
                    .ok_or_else(|| record_not_found(experiment, id))?;
                Ok(match next.remove_artifact(name) {
                    None => Change::Keep(None),
                    Some(removed) => Change::Write(Some(Box::new(next)), Some(removed)),
                })
            })
            .await?;
        let Some(removed) = removed else {
            return Ok(false);
        };
        self.delete_file(removed.file).await;
        Ok(true)
    }
}
