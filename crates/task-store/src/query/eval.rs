//! The reference evaluator: [`Query::matches`] is the oracle for every backend.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

use super::{Field, Op, Query, Scalar};
use crate::task::Task;

impl Query {
    /// Whether `task` matches the query (see the module docs for the rules).
    pub fn matches(&self, task: &Task) -> bool {
        match self {
            Query::All => true,
            Query::And(qs) => qs.iter().all(|q| q.matches(task)),
            Query::Or(qs) => qs.iter().any(|q| q.matches(task)),
            Query::Cond(field, op) => op.matches(lookup(task, field).as_deref()),
        }
    }
}

impl Op {
    /// Whether a field value (`None` = missing) satisfies the operator.
    pub fn matches(&self, value: Option<&Value>) -> bool {
        match self {
            Op::Eq(s) => equals(value, s),
            Op::Ne(s) => !equals(value, s),
            Op::In(list) => list.iter().any(|s| equals(value, s)),
            Op::Nin(list) => !list.iter().any(|s| equals(value, s)),
            Op::Gt(s) => compare(value, s) == Some(Ordering::Greater),
            Op::Gte(s) => matches!(compare(value, s), Some(Ordering::Greater | Ordering::Equal)),
            Op::Lt(s) => compare(value, s) == Some(Ordering::Less),
            Op::Lte(s) => matches!(compare(value, s), Some(Ordering::Less | Ordering::Equal)),
            Op::Exists(b) => value.is_some() == *b,
        }
    }
}

fn lookup<'a>(task: &'a Task, field: &Field) -> Option<Cow<'a, Value>> {
    match field {
        Field::Id => Some(Cow::Owned(Value::String(task.id.to_string()))),
        Field::Status => Some(Cow::Owned(Value::String(task.status.as_str().into()))),
        Field::Priority => Some(Cow::Owned(Value::from(task.priority))),
        Field::Attempts => Some(Cow::Owned(Value::from(task.attempts))),
        Field::Filter(segments) => {
            let mut current = &task.filter;
            for seg in segments {
                current = current.as_object()?.get(seg)?;
            }
            Some(Cow::Borrowed(current))
        }
    }
}

fn equals(value: Option<&Value>, s: &Scalar) -> bool {
    match (value, s) {
        (None | Some(Value::Null), Scalar::Null) => true,
        (Some(Value::Bool(a)), Scalar::Bool(b)) => a == b,
        (Some(v @ Value::Number(_)), Scalar::Int(_) | Scalar::Float(_)) => {
            compare(Some(v), s) == Some(Ordering::Equal)
        }
        (Some(Value::String(a)), Scalar::String(b)) => a == b,
        _ => false,
    }
}

/// Order a field value against an operand of the same kind; `None` when the
/// kinds differ (or the value is missing), so no ordering operator matches.
fn compare(value: Option<&Value>, s: &Scalar) -> Option<Ordering> {
    match (value?, s) {
        (Value::Number(n), Scalar::Int(b)) => match number(n)? {
            Number::Int(a) => Some(a.cmp(&i128::from(*b))),
            Number::Float(a) => int_float(i128::from(*b), a).map(Ordering::reverse),
        },
        (Value::Number(n), Scalar::Float(b)) => match number(n)? {
            Number::Int(a) => int_float(a, *b),
            Number::Float(a) => a.partial_cmp(b),
        },
        (Value::String(a), Scalar::String(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        _ => None,
    }
}

/// A JSON number as stored: an integer (any `i64` or `u64`) or a float.
enum Number {
    Int(i128),
    Float(f64),
}

fn number(n: &serde_json::Number) -> Option<Number> {
    if let Some(i) = n.as_i64() {
        Some(Number::Int(i.into()))
    } else if let Some(u) = n.as_u64() {
        Some(Number::Int(u.into()))
    } else {
        n.as_f64().map(Number::Float)
    }
}

/// Compare an integer with a float exactly, as MongoDB and SQLite do (never
/// rounding the integer to a float: 2^53 + 1 > 2^53 as a float).
fn int_float(i: i128, f: f64) -> Option<Ordering> {
    // Every stored integer lies within ±2^64, so floats beyond ±2^100 are
    // decided by their sign alone, and smaller ones truncate exactly to i128.
    const BOUND: f64 = 1_267_650_600_228_229_401_496_703_205_376.0; // 2^100
    if f.is_nan() {
        return None;
    }
    if f >= BOUND {
        return Some(Ordering::Less);
    }
    if f <= -BOUND {
        return Some(Ordering::Greater);
    }
    let whole = f.trunc();
    Some(i.cmp(&(whole as i128)).then(if f > whole {
        Ordering::Less
    } else if f < whole {
        Ordering::Greater
    } else {
        Ordering::Equal
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::TaskId;
    use crate::task::Status;
    use crate::time::Timestamp;
    use serde_json::json;

    fn task(filter: Value) -> Task {
        let now = Timestamp::from_millis(0);
        Task {
            id: TaskId::generate(now),
            def: filter.clone(),
            filter,
            key: String::new(),
            status: Status::Waiting,
            priority: 0,
            res: None,
            attempts: 0,
            max_attempts: 3,
            lease: None,
            errors: vec![],
            created_at: now,
            updated_at: now,
            started_at: None,
            finished_at: None,
        }
    }

    fn m(q: Value, filter: Value) -> bool {
        Query::parse(&q).unwrap().matches(&task(filter))
    }

    #[test]
    fn null_matches_missing_and_null() {
        assert!(m(json!({"filter.a": null}), json!({})));
        assert!(m(json!({"filter.a": null}), json!({"a": null})));
        assert!(!m(json!({"filter.a": null}), json!({"a": 0})));
        assert!(m(
            json!({"filter.a": {"$exists": true}}),
            json!({"a": null})
        ));
        assert!(!m(json!({"filter.a": {"$exists": true}}), json!({})));
    }

    #[test]
    fn bool_is_not_number() {
        assert!(!m(json!({"filter.a": true}), json!({"a": 1})));
        assert!(!m(json!({"filter.a": 1}), json!({"a": true})));
        assert!(m(json!({"filter.a": 1}), json!({"a": 1.0})));
    }

    #[test]
    fn kinds_never_compare_across() {
        assert!(!m(json!({"filter.a": {"$gt": 5}}), json!({"a": "abc"})));
        assert!(m(json!({"filter.a": {"$gt": "ab"}}), json!({"a": "abc"})));
        assert!(m(json!({"filter.a": {"$ne": 1}}), json!({})));
    }

    #[test]
    fn integers_compare_exactly_with_floats() {
        let p53 = 1_i64 << 53;
        assert!(!m(json!({"filter.a": p53 + 1}), json!({"a": p53 as f64})));
        assert!(m(json!({"filter.a": p53}), json!({"a": p53 as f64})));
        assert!(m(
            json!({"filter.a": {"$gt": p53 as f64}}),
            json!({"a": p53 + 1})
        ));
        assert!(!m(
            json!({"filter.a": 9.223_372_036_854_776e18}),
            json!({"a": i64::MAX})
        ));
        assert!(m(
            json!({"filter.a": {"$lt": 9.223_372_036_854_776e18}}),
            json!({"a": i64::MAX})
        ));
        assert!(m(
            json!({"filter.a": {"$gt": i64::MAX}}),
            json!({"a": u64::MAX})
        ));
        assert!(m(json!({"filter.a": {"$lt": 1.5}}), json!({"a": 1})));
        assert!(m(json!({"filter.a": {"$gt": -1.5}}), json!({"a": -1})));
        assert!(m(json!({"filter.a": {"$lt": -0.5}}), json!({"a": -1})));
        assert!(m(json!({"filter.a": 0}), json!({"a": -0.0})));
        assert!(m(
            json!({"filter.a": {"$lt": 1e300}}),
            json!({"a": u64::MAX})
        ));
    }

    #[test]
    fn arrays_and_documents_are_not_traversed() {
        assert!(!m(json!({"filter.a": 1}), json!({"a": [1, 2]})));
        assert!(m(json!({"filter.a": {"$ne": 1}}), json!({"a": [1, 2]})));
        assert!(!m(json!({"filter.a.b": 1}), json!({"a": [{"b": 1}]})));
        assert!(m(json!({"filter.a.b": 1}), json!({"a": {"b": 1}})));
    }
}
