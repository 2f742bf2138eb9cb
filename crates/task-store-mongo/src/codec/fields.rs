//! [`Fields`]: typed reads of the fields of a stored document (a task, a
//! record version, or a part of one), each failure naming the document and
//! the field.

use std::fmt;
use std::str::FromStr;

use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, Document};
use task_store::{Result, TaskId, Timestamp};

use crate::error::MongoError;

/// The stored document a field belongs to, as error messages name it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Owner {
    /// A task (its `_id`, if it has a valid one).
    Task(Option<TaskId>),
    /// A version of a record (its record id, if it has a valid one).
    Record(Option<ObjectId>),
}

impl Owner {
    /// The owner of a task document, read from its `_id`.
    pub(crate) fn task_of(d: &Document) -> Owner {
        Owner::Task(match d.get("_id") {
            Some(Bson::ObjectId(oid)) => Some(TaskId::from_bytes(oid.bytes())),
            _ => None,
        })
    }

    /// The owner of a record version, read from its `record`.
    pub(crate) fn record_of(d: &Document) -> Owner {
        Owner::Record(match d.get("record") {
            Some(Bson::ObjectId(oid)) => Some(*oid),
            _ => None,
        })
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Task(Some(id)) => write!(f, "task {id}"),
            Owner::Task(None) => f.write_str("task without a valid _id"),
            Owner::Record(Some(id)) => write!(f, "record {}", id.to_hex()),
            Owner::Record(None) => f.write_str("record without a valid id"),
        }
    }
}

/// Typed access to the fields of one (sub)document of `owner`.
#[derive(Clone, Copy)]
pub(crate) struct Fields<'a> {
    d: &'a Document,
    owner: Owner,
}

impl<'a> Fields<'a> {
    /// The fields of `d`, a part of `owner`.
    pub(crate) fn new(d: &'a Document, owner: Owner) -> Fields<'a> {
        Fields { d, owner }
    }

    /// The same owner's subdocument `d`.
    pub(crate) fn nested<'b>(&self, d: &'b Document) -> Fields<'b> {
        Fields::new(d, self.owner)
    }

    /// The error for a missing or mistyped `field`.
    pub(crate) fn error(&self, field: &str) -> task_store::Error {
        MongoError::Malformed {
            what: self.owner.to_string(),
            field: field.to_string(),
        }
        .into()
    }

    /// The raw value of a field that must be present.
    pub(crate) fn get(&self, field: &str) -> Result<&'a Bson> {
        self.d.get(field).ok_or_else(|| self.error(field))
    }

    /// Whether `field` is absent or null.
    fn absent(&self, field: &str) -> bool {
        matches!(self.d.get(field), None | Some(Bson::Null))
    }

    /// A string field.
    pub(crate) fn string(&self, field: &str) -> Result<String> {
        match self.get(field)? {
            Bson::String(s) => Ok(s.clone()),
            _ => Err(self.error(field)),
        }
    }

    /// A string field that may be absent or null.
    pub(crate) fn optional_string(&self, field: &str) -> Result<Option<String>> {
        if self.absent(field) {
            return Ok(None);
        }
        self.string(field).map(Some)
    }

    /// A string field parsed as `T` (a status).
    pub(crate) fn parsed<T: FromStr>(&self, field: &str) -> Result<T> {
        match self.get(field)? {
            Bson::String(s) => s.parse().map_err(|_| self.error(field)),
            _ => Err(self.error(field)),
        }
    }

    /// An integer field (`Int64` or `Int32`).
    pub(crate) fn int(&self, field: &str) -> Result<i64> {
        match self.get(field)? {
            Bson::Int64(i) => Ok(*i),
            Bson::Int32(i) => Ok(i64::from(*i)),
            _ => Err(self.error(field)),
        }
    }

    /// A non-negative counter that fits `u32`.
    pub(crate) fn counter(&self, field: &str) -> Result<u32> {
        u32::try_from(self.int(field)?).map_err(|_| self.error(field))
    }

    /// An ObjectId field.
    pub(crate) fn object_id(&self, field: &str) -> Result<ObjectId> {
        match self.get(field)? {
            Bson::ObjectId(oid) => Ok(*oid),
            _ => Err(self.error(field)),
        }
    }

    /// An ObjectId field that may be absent or null.
    pub(crate) fn optional_object_id(&self, field: &str) -> Result<Option<ObjectId>> {
        if self.absent(field) {
            return Ok(None);
        }
        self.object_id(field).map(Some)
    }

    /// A date field.
    pub(crate) fn time(&self, field: &str) -> Result<Timestamp> {
        match self.get(field)? {
            Bson::DateTime(t) => Ok(Timestamp::from_millis(t.timestamp_millis())),
            _ => Err(self.error(field)),
        }
    }

    /// A date field that may be absent or null.
    pub(crate) fn optional_time(&self, field: &str) -> Result<Option<Timestamp>> {
        if self.absent(field) {
            return Ok(None);
        }
        self.time(field).map(Some)
    }

    /// A boolean field.
    pub(crate) fn boolean(&self, field: &str) -> Result<bool> {
        match self.get(field)? {
            Bson::Boolean(b) => Ok(*b),
            _ => Err(self.error(field)),
        }
    }

    /// A subdocument field.
    pub(crate) fn document(&self, field: &str) -> Result<&'a Document> {
        match self.get(field)? {
            Bson::Document(m) => Ok(m),
            _ => Err(self.error(field)),
        }
    }

    /// A subdocument field that may be absent or null.
    pub(crate) fn optional_document(&self, field: &str) -> Result<Option<&'a Document>> {
        if self.absent(field) {
            return Ok(None);
        }
        self.document(field).map(Some)
    }

    /// An array of subdocuments, each read by `item`.
    pub(crate) fn documents<T>(
        &self,
        field: &str,
        mut item: impl FnMut(Fields<'a>) -> Result<T>,
    ) -> Result<Vec<T>> {
        match self.get(field)? {
            Bson::Array(items) => items
                .iter()
                .map(|e| match e {
                    Bson::Document(e) => item(self.nested(e)).map_err(|_| self.error(field)),
                    _ => Err(self.error(field)),
                })
                .collect(),
            _ => Err(self.error(field)),
        }
    }
}
