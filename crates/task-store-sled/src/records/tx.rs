//! Transactions over the record, artifact-directory and chunk trees.
//!
//! Every record and artifact write, and every artifact read, is one sled
//! transaction over these three trees. sled 0.34 runs a transaction under a
//! process-wide write lock and seals its writes as one batch in the log, so
//! a reader inside a transaction sees one state (never an artifact half
//! replaced), concurrent updates of one record each re-read it, and a crash
//! recovers an artifact's chunks together with its directory entry or not at
//! all: there are no partially written artifacts to hide or clean up.

use sled::Transactional;
use sled::transaction::TransactionalTree;
use task_store::{Record, RecordId, Result};

use crate::codec::{self, Directory};
use crate::error::SledError;
use crate::layout;
use crate::store::Inner;
use crate::tx::{self, TxResult, abort};

/// The transactional view of the record trees of one experiment.
pub(crate) struct RecordTx<'a> {
    records: &'a TransactionalTree,
    artifacts: &'a TransactionalTree,
    pub(crate) chunks: &'a TransactionalTree,
    experiment: &'a str,
    prefix: &'a [u8],
}

impl Inner {
    /// Run `body` as one sled transaction over the record trees of `experiment`.
    pub(crate) fn transact_records<T>(
        &self,
        experiment: &str,
        body: impl Fn(&RecordTx<'_>) -> TxResult<T>,
    ) -> Result<T> {
        let prefix = layout::experiment_prefix(experiment);
        let t = &self.trees;
        tx::finish((&t.records, &t.artifacts, &t.chunks).transaction(
            |(records, artifacts, chunks)| {
                body(&RecordTx {
                    records,
                    artifacts,
                    chunks,
                    experiment,
                    prefix: &prefix,
                })
            },
        ))
    }
}

impl RecordTx<'_> {
    /// The record `id`, if any.
    pub(crate) fn record(&self, id: RecordId) -> TxResult<Option<Record>> {
        match self.records.get(layout::record_key(self.prefix, id))? {
            Some(bytes) => match codec::decode_record(self.experiment, &bytes) {
                Ok(record) => Ok(Some(record)),
                Err(e) => abort(e),
            },
            None => Ok(None),
        }
    }

    /// The record `id`; aborts with `NotFound` if there is none.
    pub(crate) fn require(&self, id: RecordId) -> TxResult<Record> {
        match self.record(id)? {
            Some(record) => Ok(record),
            None => abort(SledError::RecordNotFound {
                experiment: self.experiment.to_string(),
                id,
            }),
        }
    }

    /// Write `record` under its id.
    pub(crate) fn put_record(&self, record: &Record) -> TxResult<()> {
        let bytes = match codec::encode_record(record) {
            Ok(bytes) => bytes,
            Err(e) => return abort(e),
        };
        self.records
            .insert(layout::record_key(self.prefix, record.id), bytes)?;
        Ok(())
    }

    /// Delete record `id` (its artifacts must be gone already).
    pub(crate) fn remove_record(&self, id: RecordId) -> TxResult<()> {
        self.records.remove(layout::record_key(self.prefix, id))?;
        Ok(())
    }

    /// The artifact directory of record `id` (empty if it has no artifacts).
    pub(crate) fn directory(&self, id: RecordId) -> TxResult<Directory> {
        match self.artifacts.get(layout::record_key(self.prefix, id))? {
            Some(bytes) => match codec::decode_directory(&bytes) {
                Ok(directory) => Ok(directory),
                Err(e) => abort(e),
            },
            None => Ok(Directory::new()),
        }
    }

    /// Write the artifact directory of record `id`; an empty one is removed.
    pub(crate) fn put_directory(&self, id: RecordId, directory: &Directory) -> TxResult<()> {
        let key = layout::record_key(self.prefix, id);
        if directory.is_empty() {
            self.artifacts.remove(key)?;
            return Ok(());
        }
        let bytes = match codec::encode_directory(directory) {
            Ok(bytes) => bytes,
            Err(e) => return abort(e),
        };
        self.artifacts.insert(key, bytes)?;
        Ok(())
    }

    /// The key of chunk `index` of artifact `name` of record `id`.
    pub(crate) fn chunk_key(&self, id: RecordId, name: &str, index: u32) -> Vec<u8> {
        layout::chunk_key(self.prefix, id, name, index)
    }

    /// Delete chunks `from..to` of artifact `name` of record `id`.
    pub(crate) fn remove_chunks(
        &self,
        id: RecordId,
        name: &str,
        from: u32,
        to: u32,
    ) -> TxResult<()> {
        for index in from..to {
            self.chunks.remove(self.chunk_key(id, name, index))?;
        }
        Ok(())
    }
}
