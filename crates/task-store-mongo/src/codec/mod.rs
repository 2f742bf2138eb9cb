//! The codec of task documents: a task as a MongoDB document and back.
//!
//! ```text
//! {_id: ObjectId, def, filter?, key, status, priority: Int64, res?,
//!  attempts: Int64, max_attempts: Int64,
//!  lease?: {owner, token, expires_at: Date, from_status},
//!  errors: [{attempt: Int64, at: Date, owner, message}],
//!  created_at: Date, updated_at: Date, started_at?: Date, finished_at?: Date}
//! ```
//!
//! `_id` is the task id's 12 bytes as an ObjectId, so `_id` order is
//! [`TaskId`] order. Times are BSON dates (milliseconds, as [`Timestamp`]).
//! `def`, `filter` and `res` are converted by the [`value`] codec (JSON ⇄
//! BSON); [`Fields`] reads the typed fields of every stored document. An absent
//! optional field is not stored at all (`res: null` is a stored JSON null).
//!
//! `filter` is stored only when it differs from `def`. A task's filter
//! defaults to its definition, and Qlib's layout (both, always) doubled
//! every task document (reference §9 B): twice the bytes on the wire, in
//! the server's memory and in each create, for nothing. A document without
//! `filter` reads back with `filter` equal to `def`, and a query on
//! `filter.<path>` looks at `def` for such a task (see the `translate`
//! module). Documents written with both (by builds before this layout, or
//! imported) read and match as before. A build that predates the layout
//! refuses to read a task without `filter` (it reports the missing field
//! instead of guessing): upgrade every process that shares a pool.

use mongodb::bson::oid::ObjectId;
use mongodb::bson::raw::{RawBson, cstr};
use mongodb::bson::{Bson, DateTime, Document, RawDocumentBuf, doc};
use serde_json::Value;
use task_store::{ErrorEntry, Lease, Result, Status, Task, TaskId, Timestamp};

use crate::error::MongoError;

mod fields;
pub(crate) mod value;

pub(crate) use fields::{Fields, Owner};
use value::{Encoded, from_bson};

/// The largest document a MongoDB server stores (16 MiB).
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// An id as the stored `_id`.
pub(crate) fn oid(id: TaskId) -> ObjectId {
    ObjectId::from_bytes(id.bytes())
}

/// A timestamp as a BSON date.
pub(crate) fn date(t: Timestamp) -> Bson {
    Bson::DateTime(raw_date(t))
}

/// A status as stored.
pub(crate) fn status(s: Status) -> Bson {
    Bson::String(s.as_str().to_string())
}

/// An unsigned counter as stored.
pub(crate) fn count(n: u32) -> Bson {
    Bson::Int64(i64::from(n))
}

/// The stored form of a lease.
pub(crate) fn lease_doc(lease: &Lease) -> Document {
    doc! {
        "owner": &lease.owner,
        "token": &lease.token,
        "expires_at": date(lease.expires_at),
        "from_status": status(lease.from_status),
    }
}

/// The stored form of an error history.
pub(crate) fn errors_array(errors: &[ErrorEntry]) -> Bson {
    Bson::Array(
        errors
            .iter()
            .map(|e| {
                Bson::Document(doc! {
                    "attempt": count(e.attempt),
                    "at": date(e.at),
                    "owner": &e.owner,
                    "message": &e.message,
                })
            })
            .collect(),
    )
}

/// A whole task as a document, encoded straight to BSON bytes (the JSON
/// fields without a `Bson` tree in between: `create` encodes thousands).
///
/// # Errors
/// `InvalidInput` for a JSON value BSON cannot hold exactly, or a document
/// over [`MAX_DOCUMENT_BYTES`].
pub(crate) fn task_raw(task: &Task) -> Result<RawDocumentBuf> {
    let mut d = RawDocumentBuf::new();
    d.append(cstr!("_id"), oid(task.id));
    Encoded::new(&task.def)?.append_to(&mut d, cstr!("def"));
    // A filter that is the definition is not stored twice (see the module
    // docs).
    if task.filter != task.def {
        Encoded::new(&task.filter)?.append_to(&mut d, cstr!("filter"));
    }
    d.append(cstr!("key"), task.key.as_str());
    d.append(cstr!("status"), task.status.as_str());
    d.append(cstr!("priority"), task.priority);
    if let Some(res) = &task.res {
        Encoded::new(res)?.append_to(&mut d, cstr!("res"));
    }
    d.append(cstr!("attempts"), i64::from(task.attempts));
    d.append(cstr!("max_attempts"), i64::from(task.max_attempts));
    if let Some(lease) = &task.lease {
        d.append(cstr!("lease"), raw_bson(Bson::Document(lease_doc(lease)))?);
    }
    d.append(cstr!("errors"), raw_bson(errors_array(&task.errors))?);
    d.append(cstr!("created_at"), raw_date(task.created_at));
    d.append(cstr!("updated_at"), raw_date(task.updated_at));
    if let Some(t) = task.started_at {
        d.append(cstr!("started_at"), raw_date(t));
    }
    if let Some(t) = task.finished_at {
        d.append(cstr!("finished_at"), raw_date(t));
    }
    check_size(d.as_bytes().len(), &format!("task {}", task.id))?;
    Ok(d)
}

fn raw_date(t: Timestamp) -> DateTime {
    DateTime::from_millis(t.as_millis())
}

fn raw_bson(value: Bson) -> Result<RawBson> {
    RawBson::try_from(value).map_err(|e| {
        MongoError::Unstorable(format!("cannot encode a task field as BSON: {e}")).into()
    })
}

/// Encode a document, refusing one larger than [`MAX_DOCUMENT_BYTES`].
///
/// # Errors
/// `InvalidInput` naming `what` and the size.
pub(crate) fn encode_checked(doc: &Document, what: &str) -> Result<RawDocumentBuf> {
    let raw = RawDocumentBuf::try_from(doc)
        .map_err(|e| MongoError::Unstorable(format!("{what} cannot be encoded as BSON: {e}")))?;
    check_size(raw.as_bytes().len(), what)?;
    Ok(raw)
}

/// Refuse a document of `bytes` bytes if it exceeds [`MAX_DOCUMENT_BYTES`].
///
/// # Errors
/// `InvalidInput` naming `what` and the size.
fn check_size(bytes: usize, what: &str) -> Result<()> {
    if bytes > MAX_DOCUMENT_BYTES {
        return Err(MongoError::Unstorable(format!(
            "{what} is {bytes} bytes as BSON, over MongoDB's limit of {MAX_DOCUMENT_BYTES} bytes per document"
        ))
        .into());
    }
    Ok(())
}

/// A stored document back as a task.
///
/// # Errors
/// `Backend` naming the field when the document is not a task record.
pub(crate) fn task_from_doc(d: &Document) -> Result<Task> {
    let owner = Owner::task_of(d);
    let Owner::Task(Some(id)) = owner else {
        return Err(Fields::new(d, owner).error("_id"));
    };
    let f = Fields::new(d, owner);
    let def: Value = from_bson(f.get("def")?)?;
    Ok(Task {
        id,
        filter: match d.get("filter") {
            Some(filter) => from_bson(filter)?,
            None => def.clone(),
        },
        def,
        key: f.string("key")?,
        status: f.parsed("status")?,
        priority: f.int("priority")?,
        res: d.get("res").map(from_bson).transpose()?,
        attempts: f.counter("attempts")?,
        max_attempts: f.counter("max_attempts")?,
        lease: f
            .optional_document("lease")?
            .map(|l| lease_from_doc(&f.nested(l)))
            .transpose()?,
        errors: f.documents("errors", |e| error_from_doc(&e))?,
        created_at: f.time("created_at")?,
        updated_at: f.time("updated_at")?,
        started_at: f.optional_time("started_at")?,
        finished_at: f.optional_time("finished_at")?,
    })
}

fn lease_from_doc(f: &Fields<'_>) -> Result<Lease> {
    Ok(Lease {
        owner: f.string("owner")?,
        token: f.string("token")?,
        expires_at: f.time("expires_at")?,
        from_status: f.parsed("from_status")?,
    })
}

fn error_from_doc(f: &Fields<'_>) -> Result<ErrorEntry> {
    Ok(ErrorEntry {
        attempt: f.counter("attempt")?,
        at: f.time("at")?,
        owner: f.string("owner")?,
        message: f.string("message")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Task {
        let now = Timestamp::from_millis(1_767_225_600_123);
        Task {
            id: TaskId::generate(now),
            def: json!({"model": {"class": "LGB", "lr": 0.1}, "seg": [[1, 2]]}),
            filter: json!({"model": "LGB"}),
            key: "k".into(),
            status: Status::Running,
            priority: -3,
            res: Some(json!(null)),
            attempts: 2,
            max_attempts: 3,
            lease: Some(Lease {
                owner: "w".into(),
                token: "t".into(),
                expires_at: now + std::time::Duration::from_secs(30),
                from_status: Status::PartDone,
            }),
            errors: vec![ErrorEntry {
                attempt: 1,
                at: now,
                owner: "w0".into(),
                message: "boom".into(),
            }],
            created_at: now,
            updated_at: now,
            started_at: Some(now),
            finished_at: None,
        }
    }

    /// A task as the store writes it, decoded.
    fn stored(task: &Task) -> Document {
        Document::try_from(task_raw(task).unwrap()).unwrap()
    }

    #[test]
    fn task_round_trips_through_its_document() {
        let task = sample();
        assert_eq!(task_from_doc(&stored(&task)).unwrap(), task);
        let bare = Task {
            res: None,
            lease: None,
            errors: vec![],
            started_at: None,
            ..sample()
        };
        assert_eq!(task_from_doc(&stored(&bare)).unwrap(), bare);
    }

    #[test]
    fn object_id_order_is_task_id_order() {
        let a = TaskId::generate(Timestamp::from_millis(1_000));
        let b = TaskId::generate(Timestamp::from_millis(2_000));
        assert!(oid(a) < oid(b));
        assert_eq!(oid(a).to_hex(), a.to_hex());
    }

    #[test]
    fn task_from_doc_rejects_foreign_documents() {
        let mut d = stored(&sample());
        d.insert("attempts", "many");
        assert_eq!(
            task_from_doc(&d).unwrap_err().kind(),
            task_store::ErrorKind::Backend
        );
    }

    #[test]
    fn check_size_rejects_documents_over_the_limit() {
        check_size(MAX_DOCUMENT_BYTES, "x").unwrap();
        let err = check_size(MAX_DOCUMENT_BYTES + 1, "x").unwrap_err();
        assert_eq!(err.kind(), task_store::ErrorKind::InvalidInput);
        assert!(
            err.message()
                .contains(&(MAX_DOCUMENT_BYTES + 1).to_string())
        );
    }
}
