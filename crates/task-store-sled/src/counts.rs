//! Per-pool task counts by status ([`layout::COUNTS_TREE`]): kept by every
//! task transaction ([`crate::tx::Tx::write_counts`]), read by `stat`,
//! created once when a database of layout 1 is opened, and compared with the
//! claim index by the integrity check.

use std::collections::BTreeMap;

use serde_json::Value;
use sled::Transactional;
use task_store::query::{Field, Query};
use task_store::{Result, Stat, Status};

use crate::error::SledError;
use crate::layout;
use crate::store::Inner;
use crate::tx;

/// Counts by pool prefix.
pub(crate) type PoolCounts = BTreeMap<Vec<u8>, Stat>;

impl Inner {
    /// Check the database's layout version, upgrading a database written
    /// before counts were kept: count its claim index, then write the counts
    /// and the version in one transaction, and flush. Runs at open, before
    /// the store is shared.
    ///
    /// # Errors
    /// `Config` for a layout this build does not know (a newer build's).
    pub(crate) fn ensure_layout(&self, meta: &sled::Tree) -> Result<()> {
        match meta
            .get(layout::LAYOUT_VERSION_KEY)
            .map_err(SledError::Sled)?
        {
            Some(version) if *version == [layout::LAYOUT_VERSION] => return Ok(()),
            Some(version) => {
                return Err(SledError::UnknownVersion {
                    what: "database layout",
                    found: version.first().copied().unwrap_or(0),
                    expected: layout::LAYOUT_VERSION,
                }
                .into());
            }
            None => {}
        }
        let (counted, malformed) = count_claim_index(&self.trees.claim)?;
        if malformed > 0 {
            tracing::warn!(
                malformed,
                "malformed claim-index keys left out of the task counts"
            );
        }
        let stale: Vec<sled::IVec> = self
            .trees
            .counts
            .iter()
            .keys()
            .collect::<sled::Result<_>>()
            .map_err(SledError::Sled)?;
        tx::finish((&self.trees.counts, meta).transaction(|(counts, meta)| {
            for key in &stale {
                counts.remove(key)?;
            }
            for (prefix, stat) in &counted {
                counts.insert(prefix.as_slice(), &layout::encode_counts(stat)[..])?;
            }
            meta.insert(layout::LAYOUT_VERSION_KEY, &[layout::LAYOUT_VERSION][..])?;
            Ok(())
        }))?;
        self.flush()?;
        tracing::info!(
            path = %self.path().display(),
            pools = counted.len(),
            "sled store upgraded to layout {}: task counts written",
            layout::LAYOUT_VERSION
        );
        Ok(())
    }

    /// The counts of the pool with prefix `prefix`, all read at one moment.
    pub(crate) fn counts(&self, prefix: &[u8]) -> Result<Stat> {
        match self.trees.counts.get(prefix).map_err(SledError::Sled)? {
            Some(bytes) => decode(&bytes),
            None => Ok(Stat::default()),
        }
    }
}

/// The counts of one counts-tree value.
///
/// # Errors
/// `Backend` for bytes that are not counts.
pub(crate) fn decode(bytes: &[u8]) -> Result<Stat> {
    layout::decode_counts(bytes).ok_or_else(|| {
        SledError::Corrupt(format!(
            "the task counts of a pool hold {} bytes instead of {}",
            bytes.len(),
            layout::COUNTS_LEN
        ))
        .into()
    })
}

/// Count the claim index (one entry per task) by pool and status; also how
/// many keys were malformed and left out.
pub(crate) fn count_claim_index(claim: &sled::Tree) -> Result<(PoolCounts, u64)> {
    let mut counted = PoolCounts::new();
    let mut malformed = 0;
    for key in claim.iter().keys() {
        let key = key.map_err(SledError::Sled)?;
        let parsed = layout::split_pool(&key)
            .and_then(|(pool, rest)| Some((pool, layout::parse_claim_suffix(rest)?)));
        match parsed {
            Some((pool, (status, _, _))) => counted
                .entry(layout::pool_prefix(pool))
                .or_default()
                .add(status, 1),
            None => malformed += 1,
        }
    }
    Ok((counted, malformed))
}

/// The statuses a query selects when it looks at nothing but `status`
/// (`{}` included); `None` when it looks at anything else.
pub(crate) fn statuses_of(query: &Query) -> Option<Vec<Status>> {
    let mut out = Vec::new();
    for status in Status::ALL {
        if selects(query, status)? {
            out.push(status);
        }
    }
    Some(out)
}

/// The statuses every task matching `query` has, when the query says so:
/// a query on status alone, or an `$and` with such a part (the
/// intersection of those parts); `None` when any status may match.
pub(crate) fn pinned_statuses(query: &Query) -> Option<Vec<Status>> {
    if let Some(statuses) = statuses_of(query) {
        return (statuses.len() < Status::ALL.len()).then_some(statuses);
    }
    let Query::And(parts) = query else {
        return None;
    };
    parts
        .iter()
        .filter_map(pinned_statuses)
        .reduce(|a, b| a.into_iter().filter(|s| b.contains(s)).collect())
}

/// Whether a task of `status` matches a query on status alone.
fn selects(query: &Query, status: Status) -> Option<bool> {
    match query {
        Query::All => Some(true),
        Query::And(parts) => parts
            .iter()
            .try_fold(true, |all, q| Some(selects(q, status)? && all)),
        Query::Or(parts) => parts
            .iter()
            .try_fold(false, |any, q| Some(selects(q, status)? || any)),
        Query::Cond(Field::Status, op) => {
            Some(op.matches(Some(&Value::String(status.as_str().into()))))
        }
        Query::Cond(..) => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn statuses(query: serde_json::Value) -> Option<Vec<Status>> {
        statuses_of(&Query::parse(&query).unwrap())
    }

    #[test]
    fn pinned_statuses_of_queries_with_a_status_part() {
        let pinned = |q| pinned_statuses(&Query::parse(&q).unwrap());
        assert_eq!(pinned(json!({})), None);
        assert_eq!(pinned(json!({"filter.x": 1})), None);
        assert_eq!(
            pinned(json!({"status": "failed"})),
            Some(vec![Status::Failed])
        );
        assert_eq!(
            pinned(json!({"filter.x": 1, "status": {"$in": ["failed", "done"]}})),
            Some(vec![Status::Done, Status::Failed])
        );
        assert_eq!(
            pinned(json!({"$and": [{"status": {"$in": ["failed", "done"]}}, {"status": "done"}]})),
            Some(vec![Status::Done])
        );
        assert_eq!(
            pinned(json!({"$or": [{"status": "done"}, {"filter.x": 1}]})),
            None
        );
    }

    #[test]
    fn statuses_of_status_queries() {
        assert_eq!(statuses(json!({})), Some(Status::ALL.to_vec()));
        assert_eq!(
            statuses(json!({"status": "done"})),
            Some(vec![Status::Done])
        );
        assert_eq!(
            statuses(json!({"$or": [{"status": "failed"}, {"status": {"$in": ["waiting"]}}]})),
            Some(vec![Status::Waiting, Status::Failed])
        );
        assert_eq!(
            statuses(
                json!({"status": {"$nin": ["waiting", "running"]}, "$and": [{"status": {"$ne": "done"}}]})
            ),
            Some(vec![Status::PartDone, Status::Failed])
        );
    }

    #[test]
    fn statuses_of_other_queries_is_none() {
        assert_eq!(statuses(json!({"status": "done", "priority": 1})), None);
        assert_eq!(
            statuses(json!({"$or": [{"status": "done"}, {"filter.a": 1}]})),
            None
        );
    }
}
