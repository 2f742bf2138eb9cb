//! Record versions: reading the latest, writing the next one as a
//! compare-and-swap, and emptying the versions a write supersedes.
//!
//! Every change of a record inserts version `n + 1` after reading version
//! `n`, the highest. The unique index on `(experiment, record, version)`
//! lets exactly one of two concurrent writers insert `n + 1`; the other gets
//! a duplicate-key error, reads again and re-applies its change to the newer
//! version. An insert is the one write FerretDB v1 makes atomic (its updates
//! are read-modify-write without a lock, and it has no transactions), so
//! this holds on FerretDB and MongoDB alike.
//!
//! A superseded version is emptied (its fields removed, `live: false`), not
//! deleted: its number must stay taken, or a writer that read an older
//! version long ago could insert that number again and succeed without
//! seeing the changes made since (its version would never be the highest,
//! so its change would be lost without an error). An emptied version is
//! about 100 bytes; a record keeps one per change it ever had. Until a
//! superseded version is emptied (or forever, if the process dies first),
//! readers simply take the highest version.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{Bson, Document, RawDocumentBuf, doc};
use task_store::{Error, Record, RecordId, Result};

use super::document::{
    State, Version, emptied_update, record_filter, version_doc, version_from_doc,
};
use crate::codec::encode_checked;
use crate::error::{DUPLICATE_KEY, server_code};
use crate::store::MongoStore;

/// How many times one change is re-applied to a newer version before giving
/// up: only reached if other writers win every round.
const MAX_ROUNDS: usize = 1000;

/// What a change decides after seeing the record's current state.
pub(crate) enum Change<T> {
    /// Write this state (`None`: delete the record) and return the value.
    Write(Option<Box<State>>, T),
    /// Write nothing and return the value.
    Keep(T),
}

/// The error for a record that does not exist.
pub(crate) fn record_not_found(experiment: &str, id: RecordId) -> Error {
    Error::not_found(format!("no record {id} in experiment {experiment:?}"))
}

impl MongoStore {
    /// The latest version of record `id`, if it ever existed (a tombstone
    /// if it was deleted).
    pub(crate) async fn latest_version(
        &self,
        experiment: &str,
        id: RecordId,
    ) -> Result<Option<Version>> {
        self.records_collection()
            .find_one(record_filter(experiment, id))
            .sort(doc! {"version": -1})
            .await
            .map_err(self.err("reading a record"))?
            .as_ref()
            .map(version_from_doc)
            .transpose()
    }

    /// The current state of record `id`.
    ///
    /// # Errors
    /// `NotFound` if it does not exist.
    pub(crate) async fn current(&self, experiment: &str, id: RecordId) -> Result<State> {
        self.latest_version(experiment, id)
            .await?
            .and_then(|v| v.state)
            .ok_or_else(|| record_not_found(experiment, id))
    }

    /// Apply `change` to record `id` (its current state, `None` if it does
    /// not exist) and write what it decides as the next version; repeat on
    /// the newer state while other writers win the race.
    ///
    /// # Errors
    /// What `change` returns; `InvalidInput` for a record over 16 MiB;
    /// `Backend` if other writers won [`MAX_ROUNDS`] times in a row; driver errors.
    pub(crate) async fn change_record<T>(
        &self,
        experiment: &str,
        id: RecordId,
        mut change: impl FnMut(Option<&State>) -> Result<Change<T>>,
    ) -> Result<T> {
        self.ensure_records().await?;
        for _ in 0..MAX_ROUNDS {
            let latest = self.latest_version(experiment, id).await?;
            let (number, state) = match latest {
                Some(v) => (v.number, v.state),
                None => (-1, None),
            };
            let (next, out) = match change(state.as_ref())? {
                Change::Keep(out) => return Ok(out),
                Change::Write(next, out) => (next, out),
            };
            let number = number + 1;
            let doc = version_doc(experiment, id, number, next.as_deref())?;
            let raw = encode_checked(&doc, &format!("record {id}"))?;
            if self.insert_version(&raw).await? {
                // A failure here is only logged: the write took effect, and
                // readers always take the newest version.
                if number > 0
                    && let Err(e) = self.empty_versions_below(experiment, id, number).await
                {
                    tracing::warn!(experiment, record = %id, error = %e, "old record versions left in place");
                }
                return Ok(out);
            }
            tracing::debug!(experiment, record = %id, "record changed concurrently; applying the change again");
        }
        Err(Error::backend(format!(
            "record {id} of experiment {experiment:?} was changed by other writers {MAX_ROUNDS} times \
             while this change was being applied; retry it"
        )))
    }

    /// Insert a version; `false` if another writer already holds its number.
    async fn insert_version(&self, raw: &RawDocumentBuf) -> Result<bool> {
        let coll: Collection<RawDocumentBuf> = self.records_collection().clone_with_type();
        match coll.insert_one(raw).await {
            Ok(_) => Ok(true),
            Err(e) if server_code(&e) == Some(DUPLICATE_KEY) => Ok(false),
            Err(e) => Err(self.err("writing a record")(e)),
        }
    }

    /// Empty the live versions of record `id` below `number`.
    async fn empty_versions_below(
        &self,
        experiment: &str,
        id: RecordId,
        number: i64,
    ) -> Result<()> {
        let mut filter = record_filter(experiment, id);
        filter.insert("version", doc! {"$lt": number});
        filter.insert("live", true);
        self.records_collection()
            .update_many(filter, emptied_update())
            .await
            .map_err(self.err("emptying old record versions"))?;
        Ok(())
    }

    /// The records of `experiment` (latest live versions), by id.
    pub(crate) async fn live_records(&self, experiment: &str) -> Result<Vec<Record>> {
        let what = "listing records";
        let docs: Vec<Document> = self
            .records_collection()
            .find(doc! {"experiment": experiment})
            .await
            .map_err(self.err(what))?
            .try_collect()
            .await
            .map_err(self.err(what))?;
        let mut latest: BTreeMap<RecordId, Version> = BTreeMap::new();
        for d in &docs {
            let id = match d.get("record") {
                Some(Bson::ObjectId(oid)) => RecordId::from_bytes(oid.bytes()),
                _ => return Err(malformed_listing()),
            };
            let number = d.get_i64("version").map_err(|_| malformed_listing())?;
            if latest.get(&id).is_none_or(|v| v.number < number) {
                latest.insert(id, version_from_doc(d)?);
            }
        }
        Ok(latest
            .into_values()
            .filter_map(|v| v.state.map(|s| s.record))
            .collect())
    }

    /// The experiments having a live record, sorted.
    ///
    /// Candidates are the experiments with a live version. Normally a live
    /// version is its record's latest; one left behind by a delete that
    /// died before emptying it is emptied here (the tombstone above it
    /// already decides the record is gone).
    pub(crate) async fn live_experiments(&self) -> Result<Vec<String>> {
        let what = "listing experiments";
        let candidates = self
            .records_collection()
            .distinct("experiment", doc! {"live": true})
            .await
            .map_err(self.err(what))?;
        let mut names = Vec::new();
        for candidate in candidates {
            let Bson::String(name) = candidate else {
                return Err(Error::backend(format!(
                    "a stored record has the experiment {candidate}, not a name"
                )));
            };
            if self.has_live_record(&name).await? {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Whether `experiment` has a record, emptying live versions that a
    /// tombstone superseded on the way.
    async fn has_live_record(&self, experiment: &str) -> Result<bool> {
        let what = "listing experiments";
        loop {
            let Some(live) = self
                .records_collection()
                .find_one(doc! {"experiment": experiment, "live": true})
                .await
                .map_err(self.err(what))?
            else {
                return Ok(false);
            };
            let id = match version_from_doc(&live)? {
                Version { state: Some(s), .. } => s.record.id,
                Version { state: None, .. } => return Err(malformed_listing()),
            };
            match self.latest_version(experiment, id).await? {
                Some(Version { state: Some(_), .. }) => return Ok(true),
                Some(Version {
                    number,
                    state: None,
                }) => {
                    tracing::info!(experiment, record = %id, "emptying versions of a deleted record left by an interrupted delete");
                    self.empty_versions_below(experiment, id, number).await?;
                }
                None => {}
            }
        }
    }
}

fn malformed_listing() -> Error {
    Error::backend("a stored record has no valid record id or version number")
}
