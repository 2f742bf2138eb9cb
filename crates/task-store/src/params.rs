//! One parameter struct per [`TaskStore`](crate::TaskStore) operation, and the
//! validation every backend applies before touching storage.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::id::TaskId;
use crate::int_range::check_int_range;
use crate::limits::{MAX_OWNER_BYTES, check_field_size};
use crate::order::{Cursor, Order};
use crate::query::Query;
use crate::task::{DEFAULT_MAX_ATTEMPTS, Status};

/// One task to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    /// The definition.
    pub def: Value,
    /// The queryable copy; `None` stores `def` again.
    pub filter: Option<Value>,
    /// Overrides [`CreateParams::priority`] for this task.
    pub priority: Option<i64>,
    /// Overrides [`CreateParams::max_attempts`] for this task.
    pub max_attempts: Option<u32>,
}

impl From<Value> for NewTask {
    fn from(def: Value) -> NewTask {
        NewTask {
            def,
            filter: None,
            priority: None,
            max_attempts: None,
        }
    }
}

/// Parameters of [`TaskStore::create`](crate::TaskStore::create).
#[derive(Debug, Clone, PartialEq)]
pub struct CreateParams {
    /// The batch, in order.
    pub tasks: Vec<NewTask>,
    /// Priority of new tasks that set none (default 0).
    pub priority: i64,
    /// Attempt limit of new tasks that set none (default [`DEFAULT_MAX_ATTEMPTS`]).
    pub max_attempts: u32,
    /// Report what would happen without writing anything.
    pub dry_run: bool,
}

impl CreateParams {
    /// A batch with default priority and attempt limit.
    pub fn new(tasks: impl IntoIterator<Item = impl Into<NewTask>>) -> CreateParams {
        CreateParams {
            tasks: tasks.into_iter().map(Into::into).collect(),
            priority: 0,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            dry_run: false,
        }
    }

    /// Checks the attempt limits and the documents.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if any
    /// attempt limit is 0, or a definition or filter holds an integer beyond
    /// `i64::MAX` (no backend stores it; the message names its path, e.g.
    /// `tasks[2].def.seed`).
    pub fn validate(&self) -> Result<()> {
        if self.max_attempts == 0 || self.tasks.iter().any(|t| t.max_attempts == Some(0)) {
            return Err(Error::invalid_input("max_attempts must be at least 1"));
        }
        for (i, task) in self.tasks.iter().enumerate() {
            check_int_range(&format!("tasks[{i}].def"), &task.def)?;
            check_field_size(&format!("tasks[{i}].def"), &task.def)?;
            if let Some(filter) = &task.filter {
                check_int_range(&format!("tasks[{i}].filter"), filter)?;
                check_field_size(&format!("tasks[{i}].filter"), filter)?;
            }
        }
        Ok(())
    }
}

/// What [`TaskStore::create`](crate::TaskStore::create) did with one input task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// The task's id (the existing task's id for a duplicate).
    #[serde(rename = "_id")]
    pub id: TaskId,
    /// The content key.
    pub key: String,
    /// True if this input created the task (false for an existing key or a
    /// repeat within the batch).
    pub new: bool,
    /// The task's status (`waiting` for a new task).
    pub status: Status,
}

/// Parameters of [`TaskStore::claim`](crate::TaskStore::claim).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimParams {
    /// Claim tasks in this status: `waiting` (first phase) or `part_done` (second phase).
    pub from: Status,
    /// Claim at most this many.
    pub n: usize,
    /// Who claims (recorded in the lease and in error entries).
    pub owner: String,
    /// How long the lease lasts without a heartbeat.
    pub lease: Duration,
    /// Only tasks matching this query (which may not mention `status`).
    pub query: Query,
}

impl ClaimParams {
    /// Claim one `waiting` task for `owner` with a lease of `lease`.
    pub fn new(owner: impl Into<String>, lease: Duration) -> ClaimParams {
        ClaimParams {
            from: Status::Waiting,
            n: 1,
            owner: owner.into(),
            lease,
            query: Query::All,
        }
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a `from`
    /// other than waiting/part_done, an empty owner, or a lease under 1 ms;
    /// [`ErrorKind::InvalidQuery`](crate::ErrorKind::InvalidQuery) if the query mentions `status`.
    pub fn validate(&self) -> Result<()> {
        if !self.from.is_claimable() {
            return Err(Error::invalid_input(format!(
                "cannot claim from status {}: claim from waiting or part_done",
                self.from
            )));
        }
        if self.owner.is_empty() {
            return Err(Error::invalid_input("claim owner must not be empty"));
        }
        if self.owner.len() > MAX_OWNER_BYTES {
            return Err(Error::invalid_input(format!(
                "claim owner is {} bytes, over the limit of {MAX_OWNER_BYTES}",
                self.owner.len()
            )));
        }
        validate_lease(self.lease)?;
        if self.query.mentions_status() {
            return Err(Error::invalid_query(
                "a claim query may not mention status: the claim's `from` status selects it",
            ));
        }
        Ok(())
    }
}

/// Parameters of [`TaskStore::heartbeat`](crate::TaskStore::heartbeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatParams {
    /// The task.
    pub id: TaskId,
    /// The lease token from the claim.
    pub token: String,
    /// The new lease length, counted from now.
    pub lease: Duration,
}

impl HeartbeatParams {
    /// Checks the lease length.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a lease under 1 ms.
    pub fn validate(&self) -> Result<()> {
        validate_lease(self.lease)
    }
}

/// Parameters of [`TaskStore::commit`](crate::TaskStore::commit).
#[derive(Debug, Clone, PartialEq)]
pub struct CommitParams {
    /// The task.
    pub id: TaskId,
    /// The lease token from the claim.
    pub token: String,
    /// The result, stored in `res`.
    pub result: Value,
    /// The new status: `done`, `part_done` (second phase follows) or `waiting` (run again).
    pub status: Status,
}

impl CommitParams {
    /// Checks the target status and the result.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a
    /// target other than done/part_done/waiting, or a result holding an
    /// integer beyond `i64::MAX` (the message names its path).
    pub fn validate(&self) -> Result<()> {
        if !matches!(
            self.status,
            Status::Done | Status::PartDone | Status::Waiting
        ) {
            return Err(Error::invalid_input(format!(
                "cannot commit to status {}: commit to done, part_done or waiting",
                self.status
            )));
        }
        check_int_range("result", &self.result)?;
        check_field_size("result", &self.result)
    }
}

/// Parameters of [`TaskStore::return_task`](crate::TaskStore::return_task).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnParams {
    /// The task.
    pub id: TaskId,
    /// The lease token from the claim.
    pub token: String,
    /// Why the attempt failed; `None` for a graceful hand-back (shutdown).
    pub error: Option<String>,
    /// Where to put the task; `None` = the status it was claimed from.
    pub status: Option<Status>,
}

impl ReturnParams {
    /// Checks the target status.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a target other than waiting/part_done/failed.
    pub fn validate(&self) -> Result<()> {
        match self.status {
            None | Some(Status::Waiting | Status::PartDone | Status::Failed) => Ok(()),
            Some(other) => Err(Error::invalid_input(format!(
                "cannot return a task to status {other}: return to waiting, part_done or failed"
            ))),
        }
    }
}

/// Parameters of [`TaskStore::query`](crate::TaskStore::query).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryParams {
    /// Which tasks.
    pub query: Query,
    /// At most this many (after `skip`).
    pub limit: Option<usize>,
    /// Skip this many first (in `order`, after `after`).
    pub skip: usize,
    /// The order of the results (default: `_id`, creation order).
    pub order: Order,
    /// Keyset pagination: only the tasks that come after this position in
    /// `order` (the [`Cursor`] of the last task of the previous page).
    pub after: Option<Cursor>,
}

impl From<Query> for QueryParams {
    fn from(query: Query) -> QueryParams {
        QueryParams {
            query,
            ..QueryParams::default()
        }
    }
}

/// Parameters of [`TaskStore::reset_status`](crate::TaskStore::reset_status).
#[derive(Debug, Clone, PartialEq)]
pub struct ResetParams {
    /// Which tasks.
    pub query: Query,
    /// The status to set (not `running`).
    pub status: Status,
}

impl ResetParams {
    /// Checks the target status.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for `running`.
    pub fn validate(&self) -> Result<()> {
        if self.status == Status::Running {
            return Err(Error::invalid_input(
                "cannot reset tasks to running: only a claim makes a task running",
            ));
        }
        Ok(())
    }
}

/// Parameters of [`TaskStore::replace`](crate::TaskStore::replace).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplaceParams {
    /// The task to replace.
    pub id: TaskId,
    /// The new definition (its key must be free in the pool).
    pub def: Value,
    /// The new queryable copy; `None` = `def`.
    pub filter: Option<Value>,
}

impl ReplaceParams {
    /// Checks the documents.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if the
    /// definition or filter holds an integer beyond `i64::MAX` (the message
    /// names its path).
    pub fn validate(&self) -> Result<()> {
        check_int_range("def", &self.def)?;
        check_field_size("def", &self.def)?;
        if let Some(filter) = &self.filter {
            check_int_range("filter", filter)?;
            check_field_size("filter", filter)?;
        }
        Ok(())
    }
}

fn validate_lease(lease: Duration) -> Result<()> {
    if lease < Duration::from_millis(1) {
        return Err(Error::invalid_input("a lease must last at least 1 ms"));
    }
    Ok(())
}
