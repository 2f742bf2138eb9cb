//! The query language ([`Query`]) as MongoDB filters, with the oracle's meaning.
//!
//! MongoDB differs from [`Query::matches`] on arrays and on null and missing
//! fields; the translation closes each gap with conditions every
//! MongoDB-wire server answers alike (each rule is checked against FerretDB by
//! the conformance suite), and relies on MongoDB where both already agree:
//!
//! 1. **Arrays.** MongoDB reaches through arrays (`{a: 1}` matches `a: [1, 2]`;
//!    `a.b` reaches into arrays of documents); the oracle never does. So every
//!    positive condition on `filter.<path>` requires that no proper prefix of
//!    the path (`filter`, `filter.a`, …) is an array, and that the value itself
//!    is not an array: `{prefix: {$not: {$type: "array"}}}`.
//! 2. **Negation and missing fields.** `$ne`, `$nin` and `$exists: false` are
//!    written as `$nor` of the translated positive condition, so they match
//!    exactly the tasks the positive form does not (a field under an array
//!    counts as missing). `{path: null}` becomes "some prefix is an array, or
//!    the value is missing or null and not an array".
//! 3. **Kinds** (no gap). Both compare numbers exactly whatever their type (`1 ==
//!    1.0`, 2^53 + 1 > 2^53 as a double), never equate booleans with numbers,
//!    and order only within a kind (MongoDB's type bracketing); ordering
//!    operators with a `null` or boolean operand, which the parser rejects,
//!    match nothing as in the oracle.
//!
//! `_id` operands are task ids (stored as ObjectIds); `status`, `priority` and
//! `attempts` are always present scalars, so they translate directly.
//!
//! A task whose filter is its definition stores it once, as `def` (see the
//! `codec` module): a condition on `filter.<path>` is evaluated on the stored
//! `filter` when there is one, else on `def`
//! (`{$or: [{filter: {$exists: true}, …filter.<path>…}, {filter: {$exists:
//! false}, …def.<path>…}]}`). Each branch is the whole condition on its own
//! document, so the negations above stay exact complements.

use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, Document, doc};
use task_store::query::{Field, Op, Scalar};
use task_store::{Error, Query, Result, TaskId};

use crate::codec::value::escape_key;

/// A translated condition; the constants let callers skip a round trip.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    /// Every task.
    Always,
    /// No task.
    Never,
    /// The tasks matching this MongoDB filter.
    Doc(Document),
}

impl Filter {
    /// Every part holds.
    pub(crate) fn all(parts: impl IntoIterator<Item = Filter>) -> Filter {
        let mut docs = Vec::new();
        for part in parts {
            match part {
                Filter::Always => {}
                Filter::Never => return Filter::Never,
                Filter::Doc(d) => flatten_into(&mut docs, d, "$and"),
            }
        }
        match docs.len() {
            0 => Filter::Always,
            1 => Filter::Doc(unwrap_doc(docs.pop())),
            _ => Filter::Doc(doc! {"$and": docs}),
        }
    }

    /// At least one part holds.
    pub(crate) fn any(parts: impl IntoIterator<Item = Filter>) -> Filter {
        let mut docs = Vec::new();
        for part in parts {
            match part {
                Filter::Always => return Filter::Always,
                Filter::Never => {}
                Filter::Doc(d) => flatten_into(&mut docs, d, "$or"),
            }
        }
        match docs.len() {
            0 => Filter::Never,
            1 => Filter::Doc(unwrap_doc(docs.pop())),
            _ => Filter::Doc(doc! {"$or": docs}),
        }
    }

    /// The complement.
    pub(crate) fn negate(self) -> Filter {
        match self {
            Filter::Always => Filter::Never,
            Filter::Never => Filter::Always,
            Filter::Doc(d) => Filter::Doc(doc! {"$nor": [d]}),
        }
    }

    /// The filter document for `Always` and `Doc`; `None` for `Never`.
    pub(crate) fn into_document(self) -> Option<Document> {
        match self {
            Filter::Always => Some(Document::new()),
            Filter::Never => None,
            Filter::Doc(d) => Some(d),
        }
    }
}

/// Push `d`, or its parts if it is itself a lone `op` (`$and`/`$or`).
fn flatten_into(docs: &mut Vec<Bson>, mut d: Document, op: &str) {
    if d.len() == 1
        && let Some(Bson::Array(parts)) = d.get_mut(op)
    {
        docs.append(parts);
        return;
    }
    docs.push(Bson::Document(d));
}

fn unwrap_doc(b: Option<Bson>) -> Document {
    match b {
        Some(Bson::Document(d)) => d,
        _ => Document::new(),
    }
}

fn cond(path: &str, condition: Bson) -> Filter {
    let mut d = Document::new();
    d.insert(path, condition);
    Filter::Doc(d)
}

fn op_cond(path: &str, op: &str, operand: Bson) -> Filter {
    let mut inner = Document::new();
    inner.insert(op, operand);
    cond(path, Bson::Document(inner))
}

/// Translate a query.
///
/// # Errors
/// `InvalidQuery` for an ordering condition on `_id` whose operand is not a
/// task id (the parser never produces one).
pub(crate) fn translate(query: &Query) -> Result<Filter> {
    Ok(match query {
        Query::All => Filter::Always,
        Query::And(parts) => Filter::all(parts.iter().map(translate).collect::<Result<Vec<_>>>()?),
        Query::Or(parts) => Filter::any(parts.iter().map(translate).collect::<Result<Vec<_>>>()?),
        Query::Cond(Field::Id, op) => id_condition(op)?,
        Query::Cond(Field::Status, op) => plain("status", op),
        Query::Cond(Field::Priority, op) => plain("priority", op),
        Query::Cond(Field::Attempts, op) => plain("attempts", op),
        Query::Cond(Field::Filter(segments), op) => filter_condition(segments, op),
    })
}

/// A condition on `filter.<segments>`: on the stored `filter` where the task
/// has one, else on `def` (a task whose filter is its definition stores it
/// once, see the `codec` module). A condition that holds for every task or
/// for none, whatever the document, stays a constant.
fn filter_condition(segments: &[String], op: &Op) -> Filter {
    let stored = FilterPath::new("filter", segments).condition(op);
    if matches!(stored, Filter::Always | Filter::Never) {
        return stored;
    }
    let has_filter = |b: bool| op_cond("filter", "$exists", Bson::Boolean(b));
    Filter::any([
        Filter::all([has_filter(true), stored]),
        Filter::all([
            has_filter(false),
            FilterPath::new("def", segments).condition(op),
        ]),
    ])
}

/// The direct translation, exact for a field that is always present, never
/// an array, and stored with the JSON kind the oracle sees (`status`,
/// `priority`, `attempts`).
fn plain(path: &str, op: &Op) -> Filter {
    let list = |l: &[Scalar]| Bson::Array(l.iter().map(scalar).collect());
    match op {
        Op::Eq(s) => op_cond(path, "$eq", scalar(s)),
        Op::Ne(s) => op_cond(path, "$ne", scalar(s)),
        Op::In(l) => op_cond(path, "$in", list(l)),
        Op::Nin(l) => op_cond(path, "$nin", list(l)),
        Op::Gt(s) | Op::Gte(s) | Op::Lt(s) | Op::Lte(s) if !orderable(s) => Filter::Never,
        Op::Gt(s) | Op::Gte(s) | Op::Lt(s) | Op::Lte(s) => op_cond(path, op_name(op), scalar(s)),
        Op::Exists(b) => op_cond(path, "$exists", Bson::Boolean(*b)),
    }
}

fn scalar(s: &Scalar) -> Bson {
    match s {
        Scalar::Null => Bson::Null,
        Scalar::Bool(b) => Bson::Boolean(*b),
        Scalar::Int(i) => Bson::Int64(*i),
        Scalar::Float(f) => Bson::Double(*f),
        Scalar::String(s) => Bson::String(s.clone()),
    }
}

/// Ordering operators match only numbers and strings (the oracle's `compare`).
fn orderable(s: &Scalar) -> bool {
    matches!(s, Scalar::Int(_) | Scalar::Float(_) | Scalar::String(_))
}

fn op_name(op: &Op) -> &'static str {
    match op {
        Op::Gt(_) => "$gt",
        Op::Gte(_) => "$gte",
        Op::Lt(_) => "$lt",
        Op::Lte(_) => "$lte",
        _ => "$eq",
    }
}

/// `_id`: operands are task ids, stored as ObjectIds.
fn id_condition(op: &Op) -> Result<Filter> {
    let id = |s: &Scalar| match s {
        Scalar::String(text) => text
            .parse::<TaskId>()
            .ok()
            .filter(|id| id.to_string() == *text)
            .map(|id| ObjectId::from_bytes(id.bytes())),
        _ => None,
    };
    let ids = |l: &[Scalar]| Bson::Array(l.iter().filter_map(id).map(Bson::ObjectId).collect());
    Ok(match op {
        Op::Eq(s) => id(s).map_or(Filter::Never, |o| op_cond("_id", "$eq", o.into())),
        Op::Ne(s) => id(s).map_or(Filter::Always, |o| op_cond("_id", "$ne", o.into())),
        Op::In(l) => op_cond("_id", "$in", ids(l)),
        Op::Nin(l) => op_cond("_id", "$nin", ids(l)),
        Op::Gt(s) | Op::Gte(s) | Op::Lt(s) | Op::Lte(s) => match (s, id(s)) {
            (_, Some(o)) => op_cond("_id", op_name(op), o.into()),
            (Scalar::String(text), None) => {
                return Err(Error::invalid_query(format!(
                    "{} on \"_id\": {text:?} is not a task id (24 lowercase hexadecimal digits)",
                    op_name(op)
                )));
            }
            _ => Filter::Never,
        },
        Op::Exists(true) => Filter::Always,
        Op::Exists(false) => Filter::Never,
    })
}

/// A `<root>.<segments>` path (`root` is `filter` or `def`) and its proper
/// prefixes, with stored key names.
struct FilterPath {
    path: String,
    prefixes: Vec<String>,
}

impl FilterPath {
    fn new(root: &str, segments: &[String]) -> FilterPath {
        let mut path = String::from(root);
        let mut prefixes = Vec::with_capacity(segments.len());
        for seg in segments {
            prefixes.push(path.clone());
            path.push('.');
            path.push_str(&escape_key(seg));
        }
        FilterPath { path, prefixes }
    }

    /// Some proper prefix is an array (the oracle then sees the field as missing).
    fn under_array(&self) -> Filter {
        Filter::any(
            self.prefixes
                .iter()
                .map(|p| op_cond(p, "$type", "array".into())),
        )
    }

    /// No proper prefix is an array: MongoDB resolves the path as the oracle does.
    fn reachable(&self) -> Filter {
        Filter::all(self.prefixes.iter().map(|p| not_array(p)))
    }

    fn condition(&self, op: &Op) -> Filter {
        match op {
            Op::Ne(s) => self.condition(&Op::Eq(s.clone())).negate(),
            Op::Nin(list) => self.condition(&Op::In(list.clone())).negate(),
            Op::Exists(false) => self.condition(&Op::Exists(true)).negate(),
            Op::Exists(true) => Filter::all([
                self.reachable(),
                op_cond(&self.path, "$exists", Bson::Boolean(true)),
            ]),
            Op::Eq(Scalar::Null) => Filter::any([
                self.under_array(),
                Filter::all([
                    not_array(&self.path),
                    op_cond(&self.path, "$eq", Bson::Null),
                ]),
            ]),
            Op::In(list) => {
                let (nulls, others): (Vec<&Scalar>, Vec<&Scalar>) =
                    list.iter().partition(|s| **s == Scalar::Null);
                let null_part = match nulls.is_empty() {
                    true => Filter::Never,
                    false => self.condition(&Op::Eq(Scalar::Null)),
                };
                let value_part = match others.is_empty() {
                    true => Filter::Never,
                    false => self.on_scalar_value(op_cond(
                        &self.path,
                        "$in",
                        Bson::Array(others.into_iter().map(scalar).collect()),
                    )),
                };
                Filter::any([null_part, value_part])
            }
            Op::Gt(s) | Op::Gte(s) | Op::Lt(s) | Op::Lte(s) if !orderable(s) => Filter::Never,
            Op::Eq(s) | Op::Gt(s) | Op::Gte(s) | Op::Lt(s) | Op::Lte(s) => {
                self.on_scalar_value(op_cond(&self.path, op_name(op), scalar(s)))
            }
        }
    }

    /// `value_condition` evaluated on a reachable, non-array value.
    fn on_scalar_value(&self, value_condition: Filter) -> Filter {
        Filter::all([self.reachable(), not_array(&self.path), value_condition])
    }
}

fn not_array(path: &str) -> Filter {
    cond(path, Bson::Document(doc! {"$not": {"$type": "array"}}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(q: serde_json::Value) -> Filter {
        translate(&Query::parse(&q).unwrap()).unwrap()
    }

    #[test]
    fn translate_guards_filter_paths_against_arrays_on_filter_or_def() {
        assert_eq!(
            t(json!({"filter.a.b": "x"})),
            Filter::Doc(doc! {"$or": [
                {"$and": [
                    {"filter": {"$exists": true}},
                    {"filter": {"$not": {"$type": "array"}}},
                    {"filter.a": {"$not": {"$type": "array"}}},
                    {"filter.a.b": {"$not": {"$type": "array"}}},
                    {"filter.a.b": {"$eq": "x"}},
                ]},
                {"$and": [
                    {"filter": {"$exists": false}},
                    {"def": {"$not": {"$type": "array"}}},
                    {"def.a": {"$not": {"$type": "array"}}},
                    {"def.a.b": {"$not": {"$type": "array"}}},
                    {"def.a.b": {"$eq": "x"}},
                ]},
            ]})
        );
    }

    #[test]
    fn translate_writes_negations_as_nor() {
        let Filter::Doc(d) = t(json!({"filter.a": {"$ne": 1}})) else {
            panic!("expected a document");
        };
        // One `$nor` per branch (stored filter, definition).
        assert_eq!(d.to_string().matches("$nor").count(), 2, "{d}");
    }

    #[test]
    fn translate_folds_constants() {
        assert_eq!(t(json!({})), Filter::Always);
        assert_eq!(t(json!({"filter.a": {"$in": []}})), Filter::Never);
        assert_eq!(t(json!({"filter.a": {"$nin": []}})), Filter::Always);
        assert_eq!(t(json!({"_id": {"$exists": false}})), Filter::Never);
    }

    #[test]
    fn translate_escapes_path_segments() {
        let q = Query::Cond(Field::Filter(vec!["50%".into()]), Op::Exists(true));
        let Filter::Doc(d) = translate(&q).unwrap() else {
            panic!("expected a document");
        };
        assert!(d.to_string().contains("filter.50%25"));
        assert!(d.to_string().contains("def.50%25"));
    }

    #[test]
    fn translate_rejects_non_id_ordering_operands() {
        let q = Query::Cond(Field::Id, Op::Gt(Scalar::String("zz".into())));
        assert_eq!(
            translate(&q).unwrap_err().kind(),
            task_store::ErrorKind::InvalidQuery
        );
    }
}
