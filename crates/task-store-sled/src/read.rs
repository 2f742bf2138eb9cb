//! Reads: get, query, stat and pools. They take no lock: each task is read
//! whole, and sled applies a transaction's writes under its own lock.

use std::ops::Bound;

use task_store::query::{Field, Op, Query, Scalar};
use task_store::{Order, QueryParams, Result, Stat, Status, Task, TaskId};

use crate::codec;
use crate::counts;
use crate::error::SledError;
use crate::id_range::IdRange;
use crate::layout;
use crate::store::Inner;

impl Inner {
    /// [`TaskStore::get`](task_store::TaskStore::get).
    pub(crate) fn get(&self, pool: &str, id: TaskId) -> Result<Task> {
        self.load(&layout::pool_prefix(pool), id)?.ok_or_else(|| {
            SledError::TaskNotFound {
                pool: pool.to_string(),
                id,
            }
            .into()
        })
    }

    /// [`TaskStore::query`](task_store::TaskStore::query): walks only the
    /// tasks in the query's id range (see [`IdRange`]), so a page of a
    /// keyset pagination (`_id > last`) costs the page, not its position.
    /// When the range says everything about the query, skipped tasks are
    /// stepped over without being decoded.
    ///
    /// A query that pins statuses holding at most a quarter of the pool
    /// (the dashboard's "failed tasks" page) reads them from the claim
    /// index instead of walking the pool. The orders other than `_id` have
    /// no index here: the matching tasks (in the query's id range, or of
    /// the pinned statuses) are read, sorted and cut, so their pages cost
    /// the matching tasks, not the page (an embedded, one-process store;
    /// SQLite and MongoDB keep an index per order).
    pub(crate) fn query(&self, pool: &str, params: &QueryParams) -> Result<Vec<Task>> {
        let mut out = Vec::new();
        let limit = params.limit.unwrap_or(usize::MAX);
        if limit == 0 {
            return Ok(out);
        }
        let prefix = layout::pool_prefix(pool);
        if let Some(statuses) = self.minority_statuses(&prefix, &params.query)? {
            return self.query_by_status(&prefix, params, &statuses, limit);
        }
        if params.order != Order::Created {
            return self.query_sorted(&prefix, params, limit);
        }
        let query = match &params.after {
            Some(cursor) => params.query.clone().and(Query::Cond(
                Field::Id,
                Op::Gt(Scalar::String(cursor.id.to_hex())),
            )),
            None => params.query.clone(),
        };
        let range = IdRange::of(&query);
        let mut encoded = self.scan_encoded(&prefix, &range);
        let mut skip = params.skip;
        if range.exact {
            for skipped in encoded.by_ref().take(skip) {
                skipped?;
            }
            skip = 0;
        }
        for bytes in encoded {
            let task = codec::decode_task(&bytes?)?;
            if !query.matches(&task) {
                continue;
            }
            if skip > 0 {
                skip -= 1;
                continue;
            }
            out.push(task);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// A query in an order other than `_id`: every matching task after the
    /// cursor, sorted, then `skip` and `limit`.
    fn query_sorted(&self, prefix: &[u8], params: &QueryParams, limit: usize) -> Result<Vec<Task>> {
        let tasks = self.scan_tasks(prefix, &IdRange::of(&params.query));
        sorted_page(tasks, params, limit)
    }

    /// The statuses `query` pins (see [`counts::pinned_statuses`]) when the
    /// pool's counts say they hold at most a quarter of its tasks: then the
    /// claim index (keys only) finds them faster than a walk of the pool.
    fn minority_statuses(&self, prefix: &[u8], query: &Query) -> Result<Option<Vec<Status>>> {
        let Some(statuses) = counts::pinned_statuses(query) else {
            return Ok(None);
        };
        let counts = self.counts(prefix)?;
        let pinned: u64 = statuses.iter().map(|&s| counts.get(s)).sum();
        Ok((pinned.saturating_mul(4) <= counts.total()).then_some(statuses))
    }

    /// A query whose matches all have one of `statuses`: their ids from the
    /// claim index under `pool · status` (keys only), each task loaded and
    /// matched, then ordered and cut.
    fn query_by_status(
        &self,
        prefix: &[u8],
        params: &QueryParams,
        statuses: &[Status],
        limit: usize,
    ) -> Result<Vec<Task>> {
        let mut ids = Vec::new();
        for &status in statuses {
            for key in self
                .trees
                .claim
                .scan_prefix(layout::claim_prefix(prefix, status))
                .keys()
            {
                let key = key.map_err(SledError::Sled)?;
                let (_, _, id) = layout::parse_claim_suffix(&key[prefix.len()..])
                    .ok_or_else(|| SledError::Corrupt("a malformed claim-index key".into()))?;
                ids.push(id);
            }
        }
        let tasks = ids
            .into_iter()
            .filter_map(|id| self.load(prefix, id).transpose());
        sorted_page(tasks, params, limit)
    }

    /// [`TaskStore::stat`](task_store::TaskStore::stat): for the whole pool,
    /// or a query on status alone, read from the pool's counts (one read,
    /// whatever the pool's size); otherwise by decoding the tasks in the
    /// query's id range.
    pub(crate) fn stat(&self, pool: &str, query: &Query) -> Result<Stat> {
        let prefix = layout::pool_prefix(pool);
        let mut stat = Stat::default();
        if let Some(statuses) = counts::statuses_of(query) {
            let counts = self.counts(&prefix)?;
            for status in statuses {
                stat.add(status, counts.get(status));
            }
            return Ok(stat);
        }
        for task in self.scan_tasks(&prefix, &IdRange::of(query)) {
            let task = task?;
            if query.matches(&task) {
                stat.add(task.status, 1);
            }
        }
        Ok(stat)
    }

    /// [`TaskStore::pools`](task_store::TaskStore::pools).
    pub(crate) fn pools(&self) -> Result<Vec<String>> {
        self.trees
            .pools
            .iter()
            .keys()
            .map(|key| {
                let key = key.map_err(SledError::Sled)?;
                String::from_utf8(key.to_vec())
                    .map_err(|_| SledError::Corrupt("a pool name is not UTF-8".into()).into())
            })
            .collect()
    }

    /// The task `id` of the pool with prefix `prefix`, read outside a transaction.
    pub(crate) fn load(&self, prefix: &[u8], id: TaskId) -> Result<Option<Task>> {
        self.trees
            .tasks
            .get(layout::task_key(prefix, id))
            .map_err(SledError::Sled)?
            .map(|bytes| codec::decode_task(&bytes))
            .transpose()
    }

    /// The stored tasks of the pool with prefix `prefix` whose ids lie in
    /// `range`, in id order, undecoded. The walk starts at the range's lower
    /// bound and stops at its upper bound: its cost grows with the tasks in
    /// the range, not with the pool.
    pub(crate) fn scan_encoded(
        &self,
        prefix: &[u8],
        range: &IdRange,
    ) -> impl Iterator<Item = Result<sled::IVec>> + '_ {
        let key = |id: &TaskId| layout::task_key(prefix, *id);
        let lower = match &range.lower {
            Bound::Included(id) => Bound::Included(key(id)),
            Bound::Excluded(id) => Bound::Excluded(key(id)),
            Bound::Unbounded => Bound::Included(prefix.to_vec()),
        };
        let upper = match &range.upper {
            Bound::Included(id) => Bound::Included(key(id)),
            Bound::Excluded(id) => Bound::Excluded(key(id)),
            // Every task key of the pool is the prefix and 12 id bytes.
            Bound::Unbounded => Bound::Included(key(&TaskId::from_bytes([0xff; layout::ID_LEN]))),
        };
        let walk = (!range.is_empty()).then(|| self.trees.tasks.range((lower, upper)));
        walk.into_iter()
            .flatten()
            .map(|entry| Ok(entry.map_err(SledError::Sled)?.1))
    }

    /// The tasks of the pool with prefix `prefix` whose ids lie in `range`,
    /// in id order (see [`Inner::scan_encoded`]).
    pub(crate) fn scan_tasks(
        &self,
        prefix: &[u8],
        range: &IdRange,
    ) -> impl Iterator<Item = Result<Task>> + '_ {
        self.scan_encoded(prefix, range)
            .map(|bytes| codec::decode_task(&bytes?))
    }
}

/// The page `params` asks for among `tasks`: the matching ones after the
/// cursor, in order, after `skip`, at most `limit`.
fn sorted_page(
    tasks: impl Iterator<Item = Result<Task>>,
    params: &QueryParams,
    limit: usize,
) -> Result<Vec<Task>> {
    let mut page = Vec::new();
    for task in tasks {
        let task = task?;
        let after = params
            .after
            .is_none_or(|c| params.order.is_after(&task, &c));
        if after && params.query.matches(&task) {
            page.push(task);
        }
    }
    page.sort_by(|a, b| params.order.compare(a, b));
    Ok(page.into_iter().skip(params.skip).take(limit).collect())
}
