//! Reads: get, query, stat and pools. They take no lock: each record is read
//! whole, and sled applies a transaction's writes under its own lock.

use task_store::query::Query;
use task_store::{QueryParams, Result, Stat, Task, TaskId};

use crate::counts;
use crate::error::{SledError, sled_error};
use crate::id_range::IdRange;
use crate::layout;
use crate::ops::update::not_found;
use crate::record;
use crate::store::Inner;

impl Inner {
    /// [`TaskStore::get`](task_store::TaskStore::get).
    pub(crate) fn get(&self, pool: &str, id: TaskId) -> Result<Task> {
        self.load(&layout::pool_prefix(pool), id)?
            .ok_or_else(|| not_found(pool, id))
    }

    /// [`TaskStore::query`](task_store::TaskStore::query): walks only the
    /// records in the query's id range (see [`IdRange`]), so a page of a
    /// keyset pagination (`_id > last`) costs the page, not its position.
    /// When the range says everything about the query, skipped records are
    /// stepped over without being decoded.
    pub(crate) fn query(&self, pool: &str, params: &QueryParams) -> Result<Vec<Task>> {
        let mut out = Vec::new();
        let limit = params.limit.unwrap_or(usize::MAX);
        if limit == 0 {
            return Ok(out);
        }
        let range = IdRange::of(&params.query);
        let prefix = layout::pool_prefix(pool);
        let mut records = self.scan_records(&prefix, &range);
        let mut skip = params.skip;
        if range.exact {
            for skipped in records.by_ref().take(skip) {
                skipped?;
            }
            skip = 0;
        }
        for bytes in records {
            let task = record::decode(&bytes?)?;
            if !params.query.matches(&task) {
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

    /// [`TaskStore::stat`](task_store::TaskStore::stat): for the whole pool,
    /// or a query on status alone, read from the pool's counts (one read,
    /// whatever the pool's size); otherwise by decoding the records in the
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
                let key = key.map_err(sled_error)?;
                String::from_utf8(key.to_vec())
                    .map_err(|_| SledError::Corrupt("a pool name is not UTF-8".into()).into())
            })
            .collect()
    }
}
