//! One version of a record as a MongoDB document.
//!
//! ```text
//! {_id: ObjectId, experiment, record: ObjectId, version: Int64, live: true,
//!  pool?, task_id?: ObjectId, task, params: {name: value}, metrics: {name: Double},
//!  tags: {name: String}, status, created_at: Date, updated_at: Date, finished_at?: Date,
//!  artifacts: [{name, file: ObjectId, len: Int64}]}
//! ```
//!
//! A deleted record's last version is a tombstone:
//! `{_id, experiment, record, version, live: false}`. A superseded version
//! is emptied to the same form (see the `versions` module for why it is
//! kept).
//!
//! `_id` is fresh for every version; `(experiment, record, version)` is the
//! unique identity. `record` and `task_id` are the ids' 12 bytes as
//! ObjectIds, times are BSON dates, `task` and parameter values are converted
//! by the value codec (`crate::codec::value`), and the names in `params`, `metrics` and `tags` are
//! escaped like the keys of a task definition (they may hold dots). Artifacts
//! are a list sorted by name (names hold `/` and `.`), each pointing at a
//! GridFS file.

use std::collections::BTreeMap;

use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, Document, doc};
use task_store::{Record, RecordId, Result, TaskId};

use crate::codec::value::{escape_key, from_bson, to_bson, unescape_key};
use crate::codec::{Fields, Owner, date};

/// An artifact of a record: a name and the GridFS file holding its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArtifactRef {
    /// The artifact's name.
    pub(crate) name: String,
    /// The `_id` of its file in the artifact bucket.
    pub(crate) file: ObjectId,
    /// Its length in bytes.
    pub(crate) len: u64,
}

/// What a live version holds: the record and its artifacts (sorted by name).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    /// The record as the API returns it.
    pub(crate) record: Record,
    /// Its artifacts, sorted by name, names unique.
    pub(crate) artifacts: Vec<ArtifactRef>,
}

impl State {
    /// A new record without artifacts.
    pub(crate) fn new(record: Record) -> State {
        State {
            record,
            artifacts: Vec::new(),
        }
    }

    /// The artifact called `name`, if any.
    pub(crate) fn artifact(&self, name: &str) -> Option<&ArtifactRef> {
        self.artifacts
            .binary_search_by(|a| a.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.artifacts[i])
    }

    /// Set artifact `new.name` to `new`; returns the one it replaces.
    pub(crate) fn put_artifact(&mut self, new: ArtifactRef) -> Option<ArtifactRef> {
        match self
            .artifacts
            .binary_search_by(|a| a.name.as_str().cmp(&new.name))
        {
            Ok(i) => Some(std::mem::replace(&mut self.artifacts[i], new)),
            Err(i) => {
                self.artifacts.insert(i, new);
                None
            }
        }
    }

    /// Remove artifact `name`; returns it.
    pub(crate) fn remove_artifact(&mut self, name: &str) -> Option<ArtifactRef> {
        self.artifacts
            .binary_search_by(|a| a.name.as_str().cmp(name))
            .ok()
            .map(|i| self.artifacts.remove(i))
    }
}

/// A stored version: its number, and its state (`None`: a tombstone).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Version {
    /// The version number (0 for a record's first version).
    pub(crate) number: i64,
    /// The record, or `None` if this version deleted it.
    pub(crate) state: Option<State>,
}

/// A record id as stored.
pub(crate) fn record_oid(id: RecordId) -> ObjectId {
    ObjectId::from_bytes(id.bytes())
}

/// The filter selecting every version of one record.
pub(crate) fn record_filter(experiment: &str, id: RecordId) -> Document {
    doc! {"experiment": experiment, "record": record_oid(id)}
}

/// Version `number` of record `id` of `experiment`, holding `state` (`None`:
/// a tombstone).
///
/// # Errors
/// `InvalidInput` for a JSON value BSON cannot hold exactly.
pub(crate) fn version_doc(
    experiment: &str,
    id: RecordId,
    number: i64,
    state: Option<&State>,
) -> Result<Document> {
    let mut d = doc! {
        "_id": ObjectId::new(),
        "experiment": experiment,
        "record": record_oid(id),
        "version": number,
        "live": state.is_some(),
    };
    let Some(state) = state else {
        return Ok(d);
    };
    let r = &state.record;
    if let Some(pool) = &r.pool {
        d.insert("pool", pool);
    }
    if let Some(task_id) = r.task_id {
        d.insert("task_id", ObjectId::from_bytes(task_id.bytes()));
    }
    d.insert("task", to_bson(&r.task)?);
    let mut params = Document::new();
    for (name, value) in &r.params {
        params.insert(escape_key(name), to_bson(value)?);
    }
    d.insert("params", params);
    let metrics: Document = r
        .metrics
        .iter()
        .map(|(name, value)| (escape_key(name), Bson::Double(*value)))
        .collect();
    d.insert("metrics", metrics);
    let tags: Document = r
        .tags
        .iter()
        .map(|(name, value)| (escape_key(name), Bson::String(value.clone())))
        .collect();
    d.insert("tags", tags);
    d.insert("status", r.status.as_str());
    d.insert("created_at", date(r.created_at));
    d.insert("updated_at", date(r.updated_at));
    if let Some(t) = r.finished_at {
        d.insert("finished_at", date(t));
    }
    let artifacts: Vec<Bson> = state
        .artifacts
        .iter()
        .map(|a| {
            Bson::Document(doc! {
                "name": &a.name,
                "file": a.file,
                "len": i64::try_from(a.len).unwrap_or(i64::MAX),
            })
        })
        .collect();
    d.insert("artifacts", artifacts);
    Ok(d)
}

/// The fields of a live version beyond its identity and `live`.
const STATE_FIELDS: [&str; 11] = [
    "pool",
    "task_id",
    "task",
    "params",
    "metrics",
    "tags",
    "status",
    "created_at",
    "updated_at",
    "finished_at",
    "artifacts",
];

/// The update that empties a superseded version into the tombstone form.
pub(crate) fn emptied_update() -> Document {
    let unset: Document = STATE_FIELDS
        .iter()
        .map(|f| (f.to_string(), Bson::from("")))
        .collect();
    doc! {"$set": {"live": false}, "$unset": unset}
}

/// A stored version back.
///
/// # Errors
/// `Backend` naming the field when the document is not a record version.
pub(crate) fn version_from_doc(d: &Document) -> Result<Version> {
    let f = Fields::new(d, Owner::record_of(d));
    let experiment = f.string("experiment")?;
    let id = RecordId::from_bytes(f.object_id("record")?.bytes());
    let number = f.int("version")?;
    if !f.boolean("live")? {
        return Ok(Version {
            number,
            state: None,
        });
    }
    let record = Record {
        id,
        experiment,
        pool: f.optional_string("pool")?,
        task_id: f
            .optional_object_id("task_id")?
            .map(|oid| TaskId::from_bytes(oid.bytes())),
        task: from_bson(f.get("task")?)?,
        params: named(&f, "params", |v| from_bson(v).ok())?,
        metrics: named(&f, "metrics", |v| match v {
            Bson::Double(v) => Some(*v),
            _ => None,
        })?,
        tags: named(&f, "tags", |v| match v {
            Bson::String(v) => Some(v.clone()),
            _ => None,
        })?,
        status: f.parsed("status")?,
        created_at: f.time("created_at")?,
        updated_at: f.time("updated_at")?,
        finished_at: f.optional_time("finished_at")?,
    };
    let artifacts = f.documents("artifacts", |a| {
        Ok(ArtifactRef {
            name: a.string("name")?,
            file: a.object_id("file")?,
            len: u64::try_from(a.int("len")?).map_err(|_| a.error("len"))?,
        })
    })?;
    Ok(Version {
        number,
        state: Some(State { record, artifacts }),
    })
}

/// The map in `field` (names escaped like the keys of a task definition),
/// each value read by `value`.
fn named<T>(
    f: &Fields<'_>,
    field: &str,
    value: impl Fn(&Bson) -> Option<T>,
) -> Result<BTreeMap<String, T>> {
    f.document(field)?
        .iter()
        .map(|(name, v)| Ok((unescape_key(name)?, value(v).ok_or_else(|| f.error(field))?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use task_store::record::flatten_params;
    use task_store::{NewRecord, RecordStatus, Timestamp};

    use super::*;

    const T0: Timestamp = Timestamp::from_millis(1_767_225_600_123);

    fn sample() -> State {
        let task = json!({"model": {"kwargs": {"alpha": 0.1}}, "seg": [[1, 2]], "$x": 1});
        let mut new = NewRecord {
            pool: Some("rolling".into()),
            task_id: Some(TaskId::generate(T0)),
            params: flatten_params(&task),
            task,
            status: RecordStatus::Finished,
            ..NewRecord::default()
        };
        new.metrics.insert("ic.mean".into(), 0.1 + 0.2);
        new.metrics.insert("loss".into(), -0.0);
        new.tags.insert("50%".into(), "yes".into());
        let mut state = State::new(new.into_record("exp.v1", T0).unwrap());
        state.put_artifact(ArtifactRef {
            name: "sig_analysis/ic.bin".into(),
            file: ObjectId::new(),
            len: 17,
        });
        state.put_artifact(ArtifactRef {
            name: "pred".into(),
            file: ObjectId::new(),
            len: 0,
        });
        state
    }

    #[test]
    fn live_version_round_trips_through_its_document() {
        let state = sample();
        let id = state.record.id;
        let d = version_doc("exp.v1", id, 7, Some(&state)).unwrap();
        assert!(
            d.get_document("params")
                .unwrap()
                .contains_key("model%2Ekwargs%2Ealpha")
        );
        assert_eq!(d.get_str("status").unwrap(), "finished");
        let back = version_from_doc(&d).unwrap();
        assert_eq!(back.number, 7);
        let back = back.state.unwrap();
        assert_eq!(back, state);
        assert_eq!(back.record.metrics["loss"].to_bits(), (-0.0f64).to_bits());
        let bare = State::new(NewRecord::default().into_record("e", T0).unwrap());
        let d = version_doc("e", bare.record.id, 0, Some(&bare)).unwrap();
        assert_eq!(version_from_doc(&d).unwrap().state.unwrap(), bare);
    }

    #[test]
    fn tombstone_has_no_state() {
        let id = RecordId::generate(T0);
        let d = version_doc("e", id, 3, None).unwrap();
        assert_eq!(
            version_from_doc(&d).unwrap(),
            Version {
                number: 3,
                state: None
            }
        );
    }

    #[test]
    fn emptied_update_removes_every_state_field() {
        let state = sample();
        let live = version_doc("exp.v1", state.record.id, 1, Some(&state)).unwrap();
        let tombstone = version_doc("exp.v1", state.record.id, 1, None).unwrap();
        let extra: Vec<&str> = live
            .keys()
            .filter(|k| !tombstone.contains_key(k.as_str()))
            .map(String::as_str)
            .collect();
        assert_eq!(extra, STATE_FIELDS);
        let unset = emptied_update();
        let unset = unset.get_document("$unset").unwrap();
        assert!(STATE_FIELDS.iter().all(|f| unset.contains_key(f)));
    }

    #[test]
    fn artifacts_stay_sorted_and_unique() {
        let mut state = sample();
        let old = state.artifacts[0].clone();
        let new = ArtifactRef {
            file: ObjectId::new(),
            ..old.clone()
        };
        assert_eq!(state.put_artifact(new.clone()), Some(old));
        assert_eq!(state.artifact("pred"), Some(&new));
        let names: Vec<_> = state.artifacts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["pred", "sig_analysis/ic.bin"]);
        assert_eq!(state.remove_artifact("pred"), Some(new));
        assert_eq!(state.remove_artifact("pred"), None);
    }

    #[test]
    fn version_from_doc_rejects_foreign_documents() {
        let state = sample();
        let mut d = version_doc("exp.v1", state.record.id, 1, Some(&state)).unwrap();
        d.insert("metrics", doc! {"ic": "high"});
        assert_eq!(
            version_from_doc(&d).unwrap_err().kind(),
            task_store::ErrorKind::Backend
        );
    }
}
