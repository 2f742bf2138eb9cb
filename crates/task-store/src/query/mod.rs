//! The query language: a documented subset of MongoDB query syntax.
//!
//! A query is a JSON object such as
//! `{"filter.model.class": "LGB", "status": {"$in": ["waiting", "running"]}}`.
//! [`Query::parse`] turns it into a typed tree; [`Query::matches`] evaluates it
//! against a task and is the oracle every backend must agree with. Anything that
//! could be answered differently by some backend is rejected at parse time with
//! [`ErrorKind::InvalidQuery`](crate::ErrorKind::InvalidQuery) and a message
//! naming the offending key.
//!
//! # Fields
//!
//! | path | value |
//! |---|---|
//! | `_id` | the task id, a 24-hex string (operands must be valid ids) |
//! | `status` | a status name (operands must be valid names; `$eq $ne $in $nin` only) |
//! | `priority`, `attempts` | integers (operands must be numbers) |
//! | `filter.<a>.<b>…` | a value inside the task's `filter` document |
//!
//! A `filter.` path descends through objects only: segments may not be empty,
//! all digits (array indexes) or start with `$`. If a segment is missing or an
//! intermediate value is not an object (an array, say), the field is *missing*.
//!
//! # Operators
//!
//! `{path: v}` is `{path: {"$eq": v}}`; several operators on one path are
//! combined with AND; top-level keys are combined with AND; `{}` matches
//! every task. `$and` and `$or` take a non-empty array of queries.
//!
//! Operands are scalars: `null`, booleans, numbers and strings. Arrays and
//! documents as operands are rejected (no whole-document or array equality).
//!
//! | operator | matches when |
//! |---|---|
//! | `$eq: null` | the field is missing or `null` |
//! | `$eq: v` | the field is a scalar of the same kind as `v` and equal to it |
//! | `$ne: v` | `$eq: v` does not match (so a missing field matches `$ne: 1`) |
//! | `$in: [v…]` | `$eq` matches for some element (an empty list matches nothing) |
//! | `$nin: [v…]` | `$in` does not match |
//! | `$gt $gte $lt $lte: v` | `v` is a number or a string, and the field is of the same kind and compares so |
//! | `$exists: b` | the field is present (even as `null`) iff `b` |
//!
//! # Kinds and comparisons
//!
//! - Numbers compare numerically whatever their spelling: `1 == 1.0`. An
//!   integer and a float compare exactly, never by rounding the integer to a
//!   float (`2^53 + 1` is greater than the float `2^53`, `i64::MAX` is less
//!   than the float `2^63`), as in MongoDB and SQLite.
//! - Booleans are not numbers: `{f: true}` never matches `1`. Booleans and
//!   `null` take no ordering operators.
//! - Strings compare by bytes of their UTF-8 encoding (code point order).
//! - Comparing different kinds never matches (`{f: {"$gt": 5}}` skips `"abc"`).
//! - Arrays and documents stored in `filter` match only `$exists` and the
//!   negations (`$ne`, `$nin`); there is no matching of array elements.

mod eval;
#[cfg(test)]
mod fuzz;
mod parse;

use crate::id::TaskId;
use crate::task::Status;

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Query {
    /// Every task (`{}`).
    #[default]
    All,
    /// Every sub-query matches.
    And(Vec<Query>),
    /// Some sub-query matches.
    Or(Vec<Query>),
    /// A condition on one field.
    Cond(Field, Op),
}

/// A queryable field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Field {
    /// `_id`.
    Id,
    /// `status`.
    Status,
    /// `priority`.
    Priority,
    /// `attempts`.
    Attempts,
    /// `filter.<segments>`; never empty.
    Filter(Vec<String>),
}

impl Field {
    /// The dotted path as written in queries (`filter.model.class`).
    pub fn path(&self) -> String {
        match self {
            Field::Id => "_id".into(),
            Field::Status => "status".into(),
            Field::Priority => "priority".into(),
            Field::Attempts => "attempts".into(),
            Field::Filter(segments) => format!("filter.{}", segments.join(".")),
        }
    }
}

/// A scalar operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string.
    String(String),
}

/// An operator with its operand(s).
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `$eq`.
    Eq(Scalar),
    /// `$ne`.
    Ne(Scalar),
    /// `$in`.
    In(Vec<Scalar>),
    /// `$nin`.
    Nin(Vec<Scalar>),
    /// `$gt` (number or string operand).
    Gt(Scalar),
    /// `$gte` (number or string operand).
    Gte(Scalar),
    /// `$lt` (number or string operand).
    Lt(Scalar),
    /// `$lte` (number or string operand).
    Lte(Scalar),
    /// `$exists`.
    Exists(bool),
}

impl Query {
    /// Tasks with this id.
    pub fn id(id: TaskId) -> Query {
        Query::Cond(Field::Id, Op::Eq(Scalar::String(id.to_string())))
    }

    /// Tasks with any of these ids.
    pub fn ids(ids: &[TaskId]) -> Query {
        Query::Cond(
            Field::Id,
            Op::In(
                ids.iter()
                    .map(|id| Scalar::String(id.to_string()))
                    .collect(),
            ),
        )
    }

    /// Tasks in this status.
    pub fn status(status: Status) -> Query {
        Query::Cond(
            Field::Status,
            Op::Eq(Scalar::String(status.as_str().into())),
        )
    }

    /// Tasks in any of these statuses.
    pub fn statuses(statuses: &[Status]) -> Query {
        Query::Cond(
            Field::Status,
            Op::In(
                statuses
                    .iter()
                    .map(|s| Scalar::String(s.as_str().into()))
                    .collect(),
            ),
        )
    }

    /// Both `self` and `other` (flattening `All`).
    pub fn and(self, other: Query) -> Query {
        match (self, other) {
            (Query::All, q) | (q, Query::All) => q,
            (Query::And(mut a), Query::And(b)) => {
                a.extend(b);
                Query::And(a)
            }
            (Query::And(mut a), q) => {
                a.push(q);
                Query::And(a)
            }
            (q, Query::And(mut b)) => {
                b.insert(0, q);
                Query::And(b)
            }
            (a, b) => Query::And(vec![a, b]),
        }
    }

    /// Whether any condition of the query is on `status`.
    pub fn mentions_status(&self) -> bool {
        match self {
            Query::All => false,
            Query::And(qs) | Query::Or(qs) => qs.iter().any(Query::mentions_status),
            Query::Cond(field, _) => *field == Field::Status,
        }
    }
}
