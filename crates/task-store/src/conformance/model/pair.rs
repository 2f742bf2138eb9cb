//! One sequence run against the backend and the model side by side.
//!
//! Ids and lease tokens differ between the two stores. Tasks are paired by
//! creation (both stores report a new task for the same input), tokens by
//! the claim that produced them and records by their creation; what the
//! backend returns is translated into the model's ids and tokens before it
//! is compared. The record and artifact steps are in [`records`](super::records).

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

use super::step::{Sel, Step, def, queries};
use crate::error::{ErrorKind, Result};
use crate::id::TaskId;
use crate::memory::MemoryStore;
use crate::params::{
    ClaimParams, CommitParams, CreateParams, Created, HeartbeatParams, NewTask, QueryParams,
    ReplaceParams, ResetParams, ReturnParams,
};
use crate::query::Query;
use crate::record::RecordId;
use crate::store::{Store, TaskStore};
use crate::task::Task;
use crate::time::{Clock, ManualClock};

/// The outcome of a step's check: a failure message, or a rejected sequence.
pub type Check = std::result::Result<(), TestCaseError>;

const OWNERS: [&str; 3] = ["w0", "w1", "w2"];
const FORGED_TOKEN: &str = "forged-token-never-issued";

/// A lease handed out by both stores for the same claim.
struct Issued {
    ids: (TaskId, TaskId),
    tokens: (String, String),
}

/// The backend and the model, with what pairs their ids and tokens.
pub struct Pair<'a> {
    pub(super) real: &'a dyn Store,
    real_clock: &'a ManualClock,
    pub(super) model: MemoryStore,
    model_clock: ManualClock,
    pub(super) pool: String,
    handles: Vec<(TaskId, TaskId)>,
    pub(super) ids: HashMap<TaskId, TaskId>,
    leases: Vec<Issued>,
    tokens: HashMap<String, String>,
    newest: Option<(TaskId, TaskId)>,
    /// Records created: (experiment index, backend id, model id).
    pub(super) records: Vec<(usize, RecordId, RecordId)>,
    pub(super) record_ids: HashMap<RecordId, RecordId>,
    pub(super) newest_record: Option<(RecordId, RecordId)>,
}

pub(super) fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

pub(super) fn same<T: PartialEq + Debug>(what: &str, real: T, model: T) -> Check {
    if real == model {
        Ok(())
    } else {
        Err(fail(format!(
            "{what}: backend gave {real:?}, model gave {model:?}"
        )))
    }
}

/// The fields in which two records differ, as JSON.
fn task_diff(real: &Task, model: &Task) -> String {
    let (Ok(Value::Object(r)), Ok(Value::Object(m))) =
        (serde_json::to_value(real), serde_json::to_value(model))
    else {
        return format!("backend {real:?}, model {model:?}");
    };
    r.iter()
        .filter(|(k, v)| m.get(*k) != Some(*v))
        .map(|(k, v)| {
            format!(
                "{k}: backend {v}, model {}",
                m.get(k).unwrap_or(&Value::Null)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Tasks created after `id`.
fn created_after(id: TaskId) -> Query {
    Query::parse(&json!({"_id": {"$gt": id.to_string()}})).expect("an id query parses")
}

pub(super) fn kinds<T>(result: Result<T>) -> std::result::Result<T, ErrorKind> {
    result.map_err(|e| e.kind())
}

impl<'a> Pair<'a> {
    /// A fresh pool in the backend and a fresh model at the backend's time.
    pub fn new(real: &'a dyn Store, real_clock: &'a ManualClock, pool: String) -> Pair<'a> {
        let model_clock = ManualClock::new(real_clock.now());
        Pair {
            real,
            real_clock,
            model: MemoryStore::with_clock(Arc::new(model_clock.clone())),
            model_clock,
            pool,
            handles: Vec::new(),
            ids: HashMap::new(),
            leases: Vec::new(),
            tokens: HashMap::new(),
            newest: None,
            records: Vec::new(),
            record_ids: HashMap::new(),
            newest_record: None,
        }
    }

    /// Apply one step to both stores and compare what they report, then
    /// their counts.
    pub async fn apply(&mut self, step: &Step) -> Check {
        match step {
            Step::Create {
                defs,
                priority,
                max_attempts,
                dry_run,
                own_priority,
            } => {
                let mut tasks: Vec<NewTask> = defs.iter().map(|&i| def(i).into()).collect();
                if let Some((pos, p)) = own_priority
                    && let Some(task) = tasks.get_mut(*pos)
                {
                    task.priority = Some(*p);
                }
                let params = CreateParams {
                    tasks,
                    priority: *priority,
                    max_attempts: *max_attempts,
                    dry_run: *dry_run,
                };
                self.create(params).await?;
            }
            Step::Claim {
                from,
                n,
                owner,
                lease_ms,
                sel,
            } => {
                let (rq, mq) = self.resolve(sel);
                let params = |query| ClaimParams {
                    from: *from,
                    n: *n,
                    owner: OWNERS[*owner].to_string(),
                    lease: Duration::from_millis(*lease_ms),
                    query,
                };
                self.claim(params(rq), params(mq)).await?;
            }
            Step::Heartbeat {
                lease,
                forged,
                lease_ms,
            } => {
                if let Some(((rid, mid), (rt, mt))) = self.lease(*lease, *forged) {
                    let lease = Duration::from_millis(*lease_ms);
                    let r = self.real.heartbeat(
                        &self.pool,
                        HeartbeatParams {
                            id: rid,
                            token: rt,
                            lease,
                        },
                    );
                    let m = self.model.heartbeat(
                        &self.pool,
                        HeartbeatParams {
                            id: mid,
                            token: mt,
                            lease,
                        },
                    );
                    same("heartbeat", kinds(r.await), kinds(m.await))?;
                }
            }
            Step::Commit {
                lease,
                forged,
                status,
                result,
            } => {
                if let Some(((rid, mid), (rt, mt))) = self.lease(*lease, *forged) {
                    let params = |id, token| CommitParams {
                        id,
                        token,
                        result: json!({"r": result}),
                        status: *status,
                    };
                    let r = self.real.commit(&self.pool, params(rid, rt)).await;
                    let m = self.model.commit(&self.pool, params(mid, mt)).await;
                    same("commit", kinds(r), kinds(m))?;
                }
            }
            Step::Return {
                lease,
                forged,
                error,
                status,
            } => {
                if let Some(((rid, mid), (rt, mt))) = self.lease(*lease, *forged) {
                    let params = |id, token| ReturnParams {
                        id,
                        token,
                        error: error.map(|e| format!("error {e}")),
                        status: *status,
                    };
                    let r = self.real.return_task(&self.pool, params(rid, rt)).await;
                    let m = self.model.return_task(&self.pool, params(mid, mt)).await;
                    same("return", kinds(r), kinds(m))?;
                }
            }
            Step::Prioritize { sel, priority } => {
                let (rq, mq) = self.resolve(sel);
                let r = self.real.prioritize(&self.pool, &rq, *priority).await;
                let m = self.model.prioritize(&self.pool, &mq, *priority).await;
                same("prioritize", kinds(r), kinds(m))?;
            }
            Step::Reset { sel, status } => {
                let (rq, mq) = self.resolve(sel);
                let params = |query| ResetParams {
                    query,
                    status: *status,
                };
                let r = self.real.reset_status(&self.pool, params(rq)).await;
                let m = self.model.reset_status(&self.pool, params(mq)).await;
                same("reset_status", kinds(r), kinds(m))?;
            }
            Step::Remove { sel } => {
                let (rq, mq) = self.resolve(sel);
                let r = self.real.remove(&self.pool, &rq).await;
                let m = self.model.remove(&self.pool, &mq).await;
                same("remove", kinds(r), kinds(m))?;
            }
            Step::Replace { task, def: d } => {
                if let Some((rid, mid)) = self.handle(*task) {
                    let params = |id| ReplaceParams {
                        id,
                        def: def(*d),
                        filter: None,
                    };
                    let r = self.real.replace(&self.pool, params(rid)).await;
                    let m = self.model.replace(&self.pool, params(mid)).await;
                    self.same_task("replace", kinds(r), kinds(m))?;
                }
            }
            Step::Advance { ms } => {
                self.real_clock.advance(Duration::from_millis(*ms));
                self.model_clock.advance(Duration::from_millis(*ms));
            }
            Step::Get { task } => {
                if let Some((rid, mid)) = self.handle(*task) {
                    let r = kinds(self.real.get(&self.pool, rid).await);
                    let m = kinds(self.model.get(&self.pool, mid).await);
                    self.same_task("get", r, m)?;
                }
            }
            Step::Query { sel, skip, limit } => {
                let (rq, mq) = self.resolve(sel);
                let params = |query| QueryParams {
                    query,
                    limit: *limit,
                    skip: *skip,
                    ..QueryParams::default()
                };
                let r = kinds(self.real.query(&self.pool, params(rq)).await);
                let m = kinds(self.model.query(&self.pool, params(mq)).await);
                self.same_tasks("query", r, m)?;
            }
            Step::Stat { sel } => {
                let (rq, mq) = self.resolve(sel);
                let r = self.real.stat(&self.pool, &rq).await;
                let m = self.model.stat(&self.pool, &mq).await;
                same("stat", kinds(r), kinds(m))?;
            }
            record_step => self.apply_record_step(record_step).await?,
        }
        let r = self.real.stat(&self.pool, &Query::All).await;
        let m = self.model.stat(&self.pool, &Query::All).await;
        same("stat of the pool after the step", kinds(r), kinds(m))
    }

    /// Compare the whole pool and its existence, then drop it in both
    /// stores; the same for the records and artifacts of the sequence's
    /// experiments.
    pub async fn finish(&mut self) -> Check {
        self.finish_records().await?;
        let r = kinds(self.real.query(&self.pool, QueryParams::default()).await);
        let m = kinds(self.model.query(&self.pool, QueryParams::default()).await);
        self.same_tasks("final pool contents", r, m)?;
        let r = kinds(self.real.pools().await).map(|p| p.contains(&self.pool));
        let m = kinds(self.model.pools().await).map(|p| p.contains(&self.pool));
        same("pool exists", r, m)?;
        let r = self.real.drop_pool(&self.pool).await;
        let m = self.model.drop_pool(&self.pool).await;
        same("drop_pool", kinds(r), kinds(m))
    }

    async fn create(&mut self, params: CreateParams) -> Check {
        let dry_run = params.dry_run;
        let r = kinds(self.real.create(&self.pool, params.clone()).await);
        let m = kinds(self.model.create(&self.pool, params).await);
        let (r, m) = match (r, m) {
            (Ok(r), Ok(m)) => (r, m),
            (r, m) => return same("create", r.map(|_| ()), m.map(|_| ())),
        };
        same("create report length", r.len(), m.len())?;
        let mut fresh: HashMap<TaskId, TaskId> = HashMap::new();
        for (rc, mc) in r.iter().zip(&m) {
            let strip = |c: &Created| (c.key.clone(), c.new, c.status);
            same("create report", strip(rc), strip(mc))?;
            if let Some(known) = self.ids.get(&rc.id) {
                same("create report id", *known, mc.id)?;
            } else if dry_run {
                same("dry-run id", *fresh.entry(rc.id).or_insert(mc.id), mc.id)?;
            } else if rc.new {
                self.register(rc.id, mc.id)?;
            } else {
                return Err(fail(format!(
                    "create reported an existing task {} the backend never created",
                    rc.id
                )));
            }
        }
        Ok(())
    }

    /// Pair a new task. Ids sort by creation except when the process-wide id
    /// counter wraps within one second; then the two stores may order tasks
    /// differently, so the sequence is rejected rather than failed.
    fn register(&mut self, real: TaskId, model: TaskId) -> Check {
        if let Some((r, m)) = self.newest
            && (real <= r || model <= m)
        {
            return Err(TestCaseError::reject("the task id counter wrapped"));
        }
        self.newest = Some((real, model));
        self.ids.insert(real, model);
        self.handles.push((real, model));
        Ok(())
    }

    async fn claim(&mut self, real: ClaimParams, model: ClaimParams) -> Check {
        let r = kinds(self.real.claim(&self.pool, real).await);
        let m = kinds(self.model.claim(&self.pool, model).await);
        let (r, m) = match (r, m) {
            (Ok(r), Ok(m)) => (r, m),
            (r, m) => return same("claim", r.map(|_| ()), m.map(|_| ())),
        };
        same("claimed count", r.len(), m.len())?;
        for (rt, mt) in r.iter().zip(&m) {
            let (Some(rl), Some(ml)) = (&rt.lease, &mt.lease) else {
                return Err(fail(format!("a claimed task has no lease: {rt:?}")));
            };
            if self.tokens.contains_key(&rl.token) {
                return Err(fail(format!("the backend reused lease token {}", rl.token)));
            }
            self.tokens.insert(rl.token.clone(), ml.token.clone());
            self.leases.push(Issued {
                ids: (rt.id, mt.id),
                tokens: (rl.token.clone(), ml.token.clone()),
            });
        }
        self.same_tasks("claim", Ok(r), Ok(m))
    }

    /// The ids and tokens of issued lease `i` (modulo), or of its task with a
    /// forged token; `None` before the first claim.
    #[allow(clippy::type_complexity)]
    fn lease(&self, i: usize, forged: bool) -> Option<((TaskId, TaskId), (String, String))> {
        if self.leases.is_empty() {
            return None;
        }
        let issued = &self.leases[i % self.leases.len()];
        let tokens = if forged {
            (FORGED_TOKEN.to_string(), FORGED_TOKEN.to_string())
        } else {
            issued.tokens.clone()
        };
        Some((issued.ids, tokens))
    }

    pub(super) fn handle(&self, i: usize) -> Option<(TaskId, TaskId)> {
        (!self.handles.is_empty()).then(|| self.handles[i % self.handles.len()])
    }

    /// The query for each store (ids differ between them).
    fn resolve(&self, sel: &Sel) -> (Query, Query) {
        let by_handle = |i: usize, f: fn(TaskId) -> Query| match self.handle(i) {
            Some((r, m)) => (f(r), f(m)),
            None => (Query::ids(&[]), Query::ids(&[])),
        };
        match sel {
            Sel::All => (Query::All, Query::All),
            Sel::Json(i) => {
                let q = Query::parse(&queries()[*i]).expect("the step queries parse");
                (q.clone(), q)
            }
            Sel::Id(i) => by_handle(*i, Query::id),
            Sel::After(i) => by_handle(*i, created_after),
        }
    }

    /// A backend task in the model's ids and tokens.
    fn translate(&self, mut task: Task) -> std::result::Result<Task, TestCaseError> {
        task.id = *self
            .ids
            .get(&task.id)
            .ok_or_else(|| fail(format!("the backend returned an unknown task {}", task.id)))?;
        if let Some(lease) = task.lease.as_mut() {
            lease.token = self.tokens.get(&lease.token).cloned().ok_or_else(|| {
                fail(format!(
                    "the backend returned an unknown token {}",
                    lease.token
                ))
            })?;
        }
        Ok(task)
    }

    fn same_task(
        &self,
        what: &str,
        real: std::result::Result<Task, ErrorKind>,
        model: std::result::Result<Task, ErrorKind>,
    ) -> Check {
        let real = match real {
            Ok(task) => Ok(self.translate(task)?),
            Err(kind) => Err(kind),
        };
        if let (Ok(r), Ok(m)) = (&real, &model)
            && r != m
        {
            return Err(fail(format!(
                "{what}: task {} differs: {}",
                m.id,
                task_diff(r, m)
            )));
        }
        same(what, real, model)
    }

    fn same_tasks(
        &self,
        what: &str,
        real: std::result::Result<Vec<Task>, ErrorKind>,
        model: std::result::Result<Vec<Task>, ErrorKind>,
    ) -> Check {
        let real = match real {
            Ok(tasks) => Ok(tasks
                .into_iter()
                .map(|t| self.translate(t))
                .collect::<std::result::Result<Vec<_>, _>>()?),
            Err(kind) => Err(kind),
        };
        if let (Ok(r), Ok(m)) = (&real, &model)
            && r.len() == m.len()
            && let Some((i, (rt, mt))) = r.iter().zip(m).enumerate().find(|(_, (a, b))| a != b)
        {
            return Err(fail(format!(
                "{what}: task #{i} (model id {}) differs: {}",
                mt.id,
                task_diff(rt, mt)
            )));
        }
        same(what, real, model)
    }
}
