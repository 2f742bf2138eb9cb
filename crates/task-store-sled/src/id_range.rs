//! The range of ids a query confines its matches to, so that a read walks
//! only that part of a pool's records instead of the whole pool.
//!
//! Task records are keyed by pool · id, and an id's 24-hex text (lowercase,
//! as the query parser normalizes `_id` operands) sorts like its 12 bytes, so
//! `_id` comparisons are key ranges. Conditions on `_id` at the top level of
//! the query, or inside a top-level AND (at any depth of ANDs), narrow the
//! range; anything else leaves it whole. The query is still evaluated on
//! every record in the range: the range only has to contain every match.

use std::cmp::Reverse;
use std::ops::Bound;

use task_store::TaskId;
use task_store::query::{Field, Op, Query, Scalar};

/// The ids a query can match: every match lies within `lower..upper`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdRange {
    /// The smallest id that can match.
    pub(crate) lower: Bound<TaskId>,
    /// The largest id that can match.
    pub(crate) upper: Bound<TaskId>,
    /// Whether every task in the range matches (the query says nothing but
    /// the range), so records need not be decoded to be counted or skipped.
    pub(crate) exact: bool,
}

impl IdRange {
    /// Every id: the range of a query that does not bound `_id`.
    const WHOLE: IdRange = IdRange {
        lower: Bound::Unbounded,
        upper: Bound::Unbounded,
        exact: false,
    };

    /// No id at all: the range of `_id: {"$in": []}`.
    fn nothing() -> IdRange {
        let zero = TaskId::from_bytes([0; 12]);
        IdRange {
            lower: Bound::Excluded(zero),
            upper: Bound::Excluded(zero),
            exact: true,
        }
    }

    /// The range of `query`.
    pub(crate) fn of(query: &Query) -> IdRange {
        match query {
            Query::All => IdRange {
                exact: true,
                ..IdRange::WHOLE
            },
            Query::And(parts) => parts
                .iter()
                .map(IdRange::of)
                .fold(IdRange::of(&Query::All), IdRange::intersect),
            Query::Cond(Field::Id, op) => IdRange::of_condition(op).unwrap_or(IdRange::WHOLE),
            Query::Or(_) | Query::Cond(..) => IdRange::WHOLE,
        }
    }

    /// Whether no id lies in the range.
    pub(crate) fn is_empty(&self) -> bool {
        match (&self.lower, &self.upper) {
            (Bound::Included(lo), Bound::Included(hi)) => lo > hi,
            (Bound::Included(lo) | Bound::Excluded(lo), Bound::Excluded(hi))
            | (Bound::Excluded(lo), Bound::Included(hi)) => lo >= hi,
            _ => false,
        }
    }

    /// The range of one condition on `_id`; `None` when it does not bound
    /// the ids (`$ne`, `$nin`, `$exists`) or an operand is not an id's text.
    fn of_condition(op: &Op) -> Option<IdRange> {
        let exact = |lower, upper| IdRange {
            lower,
            upper,
            exact: true,
        };
        Some(match op {
            Op::Gt(s) => exact(Bound::Excluded(id_of(s)?), Bound::Unbounded),
            Op::Gte(s) => exact(Bound::Included(id_of(s)?), Bound::Unbounded),
            Op::Lt(s) => exact(Bound::Unbounded, Bound::Excluded(id_of(s)?)),
            Op::Lte(s) => exact(Bound::Unbounded, Bound::Included(id_of(s)?)),
            Op::Eq(s) => {
                let id = id_of(s)?;
                exact(Bound::Included(id), Bound::Included(id))
            }
            Op::In(list) => {
                let ids = list.iter().map(id_of).collect::<Option<Vec<_>>>()?;
                match (ids.iter().min(), ids.iter().max()) {
                    (Some(&lo), Some(&hi)) => IdRange {
                        lower: Bound::Included(lo),
                        upper: Bound::Included(hi),
                        exact: lo == hi,
                    },
                    // An empty list matches nothing.
                    _ => IdRange::nothing(),
                }
            }
            Op::Ne(_) | Op::Nin(_) | Op::Exists(_) => return None,
        })
    }

    /// The ids in both ranges.
    fn intersect(self, other: IdRange) -> IdRange {
        // A lower bound is tighter the further up it starts (`> x` above
        // `>= x`); an upper bound the further down it ends (`< x` below
        // `<= x`). `None` (unbounded) orders below every bound.
        let lower = |b: &Bound<TaskId>| position(b);
        let upper = |b: &Bound<TaskId>| position(b).map(|(id, excluded)| Reverse((id, !excluded)));
        IdRange {
            lower: std::cmp::max_by_key(self.lower, other.lower, lower),
            upper: std::cmp::max_by_key(self.upper, other.upper, upper),
            exact: self.exact && other.exact,
        }
    }
}

/// A bound's id and whether the id itself is excluded; `None` if unbounded.
fn position(bound: &Bound<TaskId>) -> Option<(TaskId, bool)> {
    match bound {
        Bound::Included(id) => Some((*id, false)),
        Bound::Excluded(id) => Some((*id, true)),
        Bound::Unbounded => None,
    }
}

/// The id whose text is exactly `s`. Other strings compare with ids' texts in
/// ways no byte range expresses (upper case, other lengths), so they give no
/// bound.
fn id_of(s: &Scalar) -> Option<TaskId> {
    match s {
        Scalar::String(text) => text
            .parse::<TaskId>()
            .ok()
            .filter(|id| id.to_string() == *text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn id(last: u8) -> TaskId {
        let mut bytes = [0; 12];
        bytes[11] = last;
        TaskId::from_bytes(bytes)
    }

    fn range(query: serde_json::Value) -> IdRange {
        IdRange::of(&Query::parse(&query).unwrap())
    }

    #[test]
    fn id_range_of_keyset_page_starts_after_the_last_id() {
        let page = Query::parse(&json!({"status": "waiting"}))
            .unwrap()
            .and(Query::parse(&json!({"_id": {"$gt": id(7).to_string()}})).unwrap());
        let r = IdRange::of(&page);
        assert_eq!(
            (r.lower, r.upper),
            (Bound::Excluded(id(7)), Bound::Unbounded)
        );
        assert!(!r.exact);
    }

    #[test]
    fn id_range_intersects_bounds_inside_ands() {
        let r = range(json!({"$and": [
            {"_id": {"$gte": id(3).to_string(), "$lt": id(9).to_string()}},
            {"$and": [{"_id": {"$gt": id(3).to_string()}}, {"_id": {"$lte": id(9).to_string()}}]},
        ]}));
        assert_eq!(
            r,
            IdRange {
                lower: Bound::Excluded(id(3)),
                upper: Bound::Excluded(id(9)),
                exact: true
            }
        );
    }

    #[test]
    fn id_range_is_whole_for_unbounding_conditions() {
        for query in [
            json!({"$or": [{"_id": {"$gt": id(1).to_string()}}, {"status": "done"}]}),
            json!({"_id": {"$ne": id(1).to_string()}}),
            json!({"_id": {"$nin": [id(1).to_string()]}}),
            json!({"_id": {"$exists": true}}),
            json!({"priority": {"$gt": 1}}),
        ] {
            let r = range(query);
            assert_eq!(
                (r.lower, r.upper, r.exact),
                (Bound::Unbounded, Bound::Unbounded, false)
            );
        }
        assert!(range(json!({})).exact);
    }

    #[test]
    fn id_range_ignores_operands_that_are_not_id_texts() {
        let upper = Query::Cond(Field::Id, Op::Gt(Scalar::String("ZZ".into())));
        assert_eq!(IdRange::of(&upper), IdRange::WHOLE);
        let cased = Query::Cond(
            Field::Id,
            Op::Gt(Scalar::String("00000000000000000000000A".into())),
        );
        assert_eq!(IdRange::of(&cased), IdRange::WHOLE);
    }

    #[test]
    fn id_range_of_in_spans_its_ids() {
        let r = range(json!({"_id": {"$in": [id(8).to_string(), id(2).to_string()]}}));
        assert_eq!(
            (r.lower, r.upper, r.exact),
            (Bound::Included(id(2)), Bound::Included(id(8)), false)
        );
        assert!(range(json!({"_id": {"$in": []}})).is_empty());
        assert!(range(json!({"_id": {"$in": [id(4).to_string()]}})).exact);
    }

    #[test]
    fn id_range_is_empty_when_bounds_cross() {
        assert!(
            range(json!({"_id": {"$gt": id(5).to_string(), "$lt": id(5).to_string()}})).is_empty()
        );
        assert!(
            range(json!({"_id": {"$gt": id(5).to_string(), "$lte": id(5).to_string()}})).is_empty()
        );
        assert!(
            range(json!({"_id": {"$gte": id(6).to_string(), "$lte": id(5).to_string()}}))
                .is_empty()
        );
        assert!(
            !range(json!({"_id": {"$gte": id(5).to_string(), "$lte": id(5).to_string()}}))
                .is_empty()
        );
    }
}
