//! [`MemoryStore`]: the reference implementation of [`TaskStore`].
//!
//! Plain maps behind one mutex, every rule applied through
//! [`transition`](crate::transition). It is the oracle of the conformance
//! suite, so it favours obviousness over speed: claims scan the pool.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use crate::backend::{Capabilities, TaskBackend};
use crate::error::{Error, Result};
use crate::id::TaskId;
use crate::params::{
    ClaimParams, CommitParams, CreateParams, Created, HeartbeatParams, QueryParams, ReplaceParams,
    ResetParams, ReturnParams,
};
use crate::query::Query;
use crate::task::{Stat, Status, Task};
use crate::time::{SharedClock, SystemClock, Timestamp};
use crate::transition::{self, PreparedBatch};

/// The URL schemes [`MemoryStore`] answers to (`memory://`).
pub const URL_SCHEMES: &[&str] = &["memory"];

#[derive(Debug, Default)]
struct Pool {
    tasks: BTreeMap<TaskId, Task>,
    keys: HashMap<String, TaskId>,
}

impl Pool {
    fn matching_mut<'a>(&'a mut self, query: &'a Query) -> impl Iterator<Item = &'a mut Task> {
        self.tasks.values_mut().filter(move |t| query.matches(t))
    }
}

/// An in-process store holding everything in memory.
pub struct MemoryStore {
    pools: Mutex<BTreeMap<String, Pool>>,
    pub(crate) clock: SharedClock,
    pub(crate) records: Mutex<crate::memory_records::Experiments>,
}

impl MemoryStore {
    /// An empty store on the system clock.
    pub fn new() -> MemoryStore {
        MemoryStore::with_clock(Arc::new(SystemClock))
    }

    /// An empty store reading time from `clock`.
    pub fn with_clock(clock: SharedClock) -> MemoryStore {
        MemoryStore {
            pools: Mutex::new(BTreeMap::new()),
            clock,
            records: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Pool>> {
        // A panic while holding the lock cannot leave a half-applied transition
        // (each transition is applied to a task in place in one step), so the
        // data stays usable after poisoning.
        self.pools.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run `f` on the pool's task `id`, if it exists.
    fn with_task<R>(
        &self,
        pool: &str,
        id: TaskId,
        f: impl FnOnce(&mut Task, Timestamp) -> Result<R>,
    ) -> Result<R> {
        let mut pools = self.lock();
        let task = pools
            .get_mut(pool)
            .and_then(|p| p.tasks.get_mut(&id))
            .ok_or_else(|| not_found(pool, id))?;
        f(task, self.clock.now())
    }

    /// Apply `f` to every task of the pool matching `query`; returns how many.
    fn update_matching(
        &self,
        pool: &str,
        query: &Query,
        mut f: impl FnMut(&mut Task, Timestamp),
    ) -> Result<u64> {
        let now = self.clock.now();
        let mut pools = self.lock();
        let Some(p) = pools.get_mut(pool) else {
            return Ok(0);
        };
        let mut n = 0;
        for task in p.matching_mut(query) {
            f(task, now);
            n += 1;
        }
        Ok(n)
    }
}

impl Default for MemoryStore {
    fn default() -> MemoryStore {
        MemoryStore::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl fmt::Display for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("memory://")
    }
}

fn not_found(pool: &str, id: TaskId) -> Error {
    Error::not_found(format!("no task {id} in pool {pool:?}"))
}

#[async_trait]
impl TaskBackend for MemoryStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::IN_PROCESS
    }

    async fn create(&self, pool: &str, params: CreateParams) -> Result<Vec<Created>> {
        let dry_run = params.dry_run;
        let batch = PreparedBatch::new(params, self.clock.now());
        let mut pools = self.lock();
        let existing: Vec<_> = {
            let p = pools.get(pool);
            batch
                .tasks
                .iter()
                .map(|t| {
                    let id = p.and_then(|p| p.keys.get(&t.key))?;
                    Some((*id, p?.tasks[id].status))
                })
                .collect()
        };
        if !dry_run {
            let p = pools.entry(pool.to_string()).or_default();
            for (task, old) in batch.tasks.iter().zip(&existing) {
                if old.is_none() {
                    p.keys.insert(task.key.clone(), task.id);
                    p.tasks.insert(task.id, task.clone());
                }
            }
        }
        Ok(batch.report(&existing))
    }

    async fn claim(&self, pool: &str, params: ClaimParams) -> Result<Vec<Task>> {
        let now = self.clock.now();
        let mut pools = self.lock();
        let Some(p) = pools.get_mut(pool) else {
            return Ok(Vec::new());
        };
        for task in p.tasks.values_mut() {
            if transition::is_expired_and_exhausted(task, now) {
                transition::expire(task, now);
            }
        }
        let mut candidates: Vec<(i64, TaskId)> = p
            .tasks
            .values()
            .filter(|t| transition::is_claimable(t, params.from, now) && params.query.matches(t))
            .map(|t| (t.priority, t.id))
            .collect();
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        candidates.truncate(params.n);
        Ok(candidates
            .into_iter()
            .map(|(_, id)| {
                let task = p.tasks.get_mut(&id).expect("candidate exists");
                transition::claim(
                    task,
                    &params.owner,
                    transition::new_lease_token(),
                    params.lease,
                    now,
                );
                task.clone()
            })
            .collect())
    }

    async fn heartbeat(&self, pool: &str, params: HeartbeatParams) -> Result<Timestamp> {
        self.with_task(pool, params.id, |task, now| {
            transition::heartbeat_leased(task, &params, now)
        })
    }

    async fn commit(&self, pool: &str, params: CommitParams) -> Result<()> {
        self.with_task(pool, params.id, |task, now| {
            transition::commit_leased(task, &params, now)
        })
    }

    async fn return_task(&self, pool: &str, params: ReturnParams) -> Result<Status> {
        self.with_task(pool, params.id, |task, now| {
            transition::return_leased(task, &params, now)
        })
    }

    async fn get(&self, pool: &str, id: TaskId) -> Result<Task> {
        self.with_task(pool, id, |task, _| Ok(task.clone()))
    }

    async fn query(&self, pool: &str, params: QueryParams) -> Result<Vec<Task>> {
        let pools = self.lock();
        let Some(p) = pools.get(pool) else {
            return Ok(Vec::new());
        };
        let mut tasks: Vec<&Task> = p
            .tasks
            .values()
            .filter(|t| params.query.matches(t))
            .filter(|t| params.after.is_none_or(|c| params.order.is_after(t, &c)))
            .collect();
        tasks.sort_by(|a, b| params.order.compare(a, b));
        Ok(tasks
            .into_iter()
            .skip(params.skip)
            .take(params.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect())
    }

    async fn stat(&self, pool: &str, query: &Query) -> Result<Stat> {
        let pools = self.lock();
        let mut stat = Stat::default();
        if let Some(p) = pools.get(pool) {
            for task in p.tasks.values().filter(|t| query.matches(t)) {
                stat.add(task.status, 1);
            }
        }
        Ok(stat)
    }

    async fn remove(&self, pool: &str, query: &Query) -> Result<u64> {
        let mut pools = self.lock();
        let Some(p) = pools.get_mut(pool) else {
            return Ok(0);
        };
        let doomed: Vec<(TaskId, String)> = p
            .tasks
            .values()
            .filter(|t| query.matches(t))
            .map(|t| (t.id, t.key.clone()))
            .collect();
        for (id, key) in &doomed {
            p.tasks.remove(id);
            p.keys.remove(key);
        }
        Ok(doomed.len() as u64)
    }

    async fn reset_status(&self, pool: &str, params: ResetParams) -> Result<u64> {
        self.update_matching(pool, &params.query, |task, now| {
            transition::reset_status(task, params.status, now)
        })
    }

    async fn prioritize(&self, pool: &str, query: &Query, priority: i64) -> Result<u64> {
        self.update_matching(pool, query, |task, now| {
            transition::prioritize(task, priority, now)
        })
    }

    async fn replace(&self, pool: &str, params: ReplaceParams) -> Result<Task> {
        let now = self.clock.now();
        let mut pools = self.lock();
        let p = pools
            .get_mut(pool)
            .filter(|p| p.tasks.contains_key(&params.id))
            .ok_or_else(|| not_found(pool, params.id))?;
        let new_key = crate::key::content_key(&params.def);
        if let Some(other) = p.keys.get(&new_key).filter(|other| **other != params.id) {
            return Err(Error::new(
                crate::ErrorKind::AlreadyExists,
                format!("task {other} in pool {pool:?} already has this definition"),
            ));
        }
        let task = p.tasks.get_mut(&params.id).expect("checked above");
        p.keys.remove(&task.key);
        transition::replace(task, params.def, params.filter, now);
        p.keys.insert(task.key.clone(), task.id);
        Ok(task.clone())
    }

    async fn pools(&self) -> Result<Vec<String>> {
        Ok(self.lock().keys().cloned().collect())
    }

    async fn drop_pool(&self, pool: &str) -> Result<bool> {
        Ok(self.lock().remove(pool).is_some())
    }
}
