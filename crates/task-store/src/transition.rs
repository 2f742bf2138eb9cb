//! The lifecycle rules as pure functions on [`Task`].
//!
//! These are the semantics of record: the MemoryStore and sled apply them
//! directly; SQL and MongoDB backends translate them into statements and the
//! conformance suite checks they agree.

use std::collections::hash_map::Entry;
use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::id::TaskId;
use crate::key::content_key;
use crate::params::{CommitParams, CreateParams, Created, HeartbeatParams, ReturnParams};
use crate::task::{ErrorEntry, Lease, MAX_ERROR_MESSAGE_BYTES, MAX_ERRORS, Status, Task};
use crate::time::Timestamp;

/// A create batch made ready for storage: unique tasks plus, for each input,
/// which unique task it is.
#[derive(Debug, Clone)]
pub struct PreparedBatch {
    /// One new task record per distinct key, in first-occurrence order.
    pub tasks: Vec<Task>,
    /// For each input, the index into `tasks`.
    pub slots: Vec<usize>,
}

impl PreparedBatch {
    /// Build records (ids, keys, timestamps) for a batch the caller has
    /// already validated ([`TaskStore::create`](crate::TaskStore::create)
    /// does). Takes the batch by value: each definition moves into its record
    /// (a repeat within the batch is dropped), and only a definition without
    /// its own filter is copied, into the filter.
    pub fn new(params: CreateParams, now: Timestamp) -> PreparedBatch {
        let CreateParams {
            tasks: inputs,
            priority,
            max_attempts,
            dry_run: _,
        } = params;
        let mut tasks: Vec<Task> = Vec::with_capacity(inputs.len());
        let mut slots = Vec::with_capacity(inputs.len());
        let mut seen = std::collections::HashMap::with_capacity(inputs.len());
        for new in inputs {
            let key = content_key(&new.def);
            let slot = match seen.entry(key) {
                Entry::Occupied(slot) => *slot.get(),
                Entry::Vacant(slot) => {
                    let key = slot.key().clone();
                    tasks.push(Task {
                        id: TaskId::generate(now),
                        filter: new.filter.unwrap_or_else(|| new.def.clone()),
                        def: new.def,
                        key,
                        status: Status::Waiting,
                        priority: new.priority.unwrap_or(priority),
                        res: None,
                        attempts: 0,
                        max_attempts: new.max_attempts.unwrap_or(max_attempts),
                        lease: None,
                        errors: Vec::new(),
                        created_at: now,
                        updated_at: now,
                        started_at: None,
                        finished_at: None,
                    });
                    *slot.insert(tasks.len() - 1)
                }
            };
            slots.push(slot);
        }
        PreparedBatch { tasks, slots }
    }

    /// The per-input report, given for each unique task the `(id, status)` of
    /// the task that already held its key (`None` if this batch created it).
    pub fn report(&self, existing: &[Option<(TaskId, Status)>]) -> Vec<Created> {
        let mut first = vec![true; self.tasks.len()];
        self.slots
            .iter()
            .map(|&slot| {
                let task = &self.tasks[slot];
                let is_first = std::mem::replace(&mut first[slot], false);
                match existing[slot] {
                    Some((id, status)) => Created {
                        id,
                        key: task.key.clone(),
                        new: false,
                        status,
                    },
                    None => Created {
                        id: task.id,
                        key: task.key.clone(),
                        new: is_first,
                        status: Status::Waiting,
                    },
                }
            })
            .collect()
    }
}

/// A fresh fencing token (32 random hex digits).
pub fn new_lease_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Whether a claim from `from` may take `task` at `now`: it is in `from`, or it
/// is `running` with an expired lease taken from `from`.
pub fn is_claimable(task: &Task, from: Status, now: Timestamp) -> bool {
    match (&task.status, &task.lease) {
        (Status::Running, Some(lease)) => lease.expires_at <= now && lease.from_status == from,
        (status, _) => *status == from,
    }
}

/// Whether `task` is `running` with an expired lease and no attempts left:
/// the next claim marks it `failed` instead of running it again.
pub fn is_expired_and_exhausted(task: &Task, now: Timestamp) -> bool {
    task.status == Status::Running
        && task.lease.as_ref().is_some_and(|l| l.expires_at <= now)
        && task.attempts >= task.max_attempts
}

/// The message recorded when a lease runs out.
pub const LEASE_EXPIRED_MESSAGE: &str = "lease expired: the worker stopped heartbeating";

/// Claim: `running` under a new lease, one more attempt.
pub fn claim(task: &mut Task, owner: &str, token: String, lease: Duration, now: Timestamp) {
    let from_status = match (&task.status, &task.lease) {
        (Status::Running, Some(l)) => l.from_status,
        (status, _) => *status,
    };
    task.status = Status::Running;
    task.attempts += 1;
    task.lease = Some(Lease {
        owner: owner.to_string(),
        token,
        expires_at: now + lease,
        from_status,
    });
    task.started_at = Some(now);
    task.updated_at = now;
}

/// Mark an expired, exhausted task `failed`, recording the lost lease.
pub fn expire(task: &mut Task, now: Timestamp) {
    let owner = task.lease.take().map(|l| l.owner).unwrap_or_default();
    push_error(task, owner, LEASE_EXPIRED_MESSAGE, now);
    task.status = Status::Failed;
    task.finished_at = Some(now);
    task.updated_at = now;
}

/// Check that `token` is the task's live lease token.
///
/// # Errors
/// [`ErrorKind::LeaseLost`](crate::ErrorKind::LeaseLost) if the task is not running or the token differs.
pub fn check_lease(task: &Task, token: &str) -> Result<()> {
    match &task.lease {
        Some(lease) if task.status == Status::Running && lease.token == token => Ok(()),
        _ => Err(Error::lease_lost(format!(
            "task {} is no longer held by this lease (status {})",
            task.id, task.status
        ))),
    }
}

/// Heartbeat: the lease now ends at `now + lease`. Returns the new expiry.
pub fn heartbeat(task: &mut Task, lease: Duration, now: Timestamp) -> Timestamp {
    let expires_at = now + lease;
    if let Some(l) = task.lease.as_mut() {
        l.expires_at = expires_at;
    }
    expires_at
}

/// Commit: store the result and move to `status`. A task committed to
/// `part_done` or `waiting` starts its next phase with a fresh attempt budget.
pub fn commit(task: &mut Task, result: Value, status: Status, now: Timestamp) {
    task.res = Some(result);
    task.status = status;
    task.lease = None;
    if status != Status::Done {
        task.attempts = 0;
    }
    task.finished_at = (status == Status::Done).then_some(now);
    task.updated_at = now;
}

/// Return: give the task back. With an error, the error is recorded and the
/// task fails once its attempts are used up; without one (a graceful
/// hand-back) the attempt is not counted. Returns the new status.
pub fn return_task(
    task: &mut Task,
    error: Option<&str>,
    status: Option<Status>,
    now: Timestamp,
) -> Status {
    let lease = task.lease.take();
    let from_status = lease.as_ref().map_or(Status::Waiting, |l| l.from_status);
    let mut target = status.unwrap_or(from_status);
    match error {
        Some(message) => {
            let owner = lease.map(|l| l.owner).unwrap_or_default();
            push_error(task, owner, message, now);
            if task.attempts >= task.max_attempts {
                target = Status::Failed;
            }
        }
        None => task.attempts = task.attempts.saturating_sub(1),
    }
    task.status = target;
    task.finished_at = (target == Status::Failed).then_some(now);
    task.updated_at = now;
    target
}

/// [`heartbeat`] for the holder of `params.token`; the check and the change
/// as one step, for backends that apply the rules to a loaded task.
///
/// # Errors
/// As [`check_lease`].
pub fn heartbeat_leased(
    task: &mut Task,
    params: &HeartbeatParams,
    now: Timestamp,
) -> Result<Timestamp> {
    check_lease(task, &params.token)?;
    Ok(heartbeat(task, params.lease, now))
}

/// [`commit`] for the holder of `params.token`.
///
/// # Errors
/// As [`check_lease`].
pub fn commit_leased(task: &mut Task, params: &CommitParams, now: Timestamp) -> Result<()> {
    check_lease(task, &params.token)?;
    commit(task, params.result.clone(), params.status, now);
    Ok(())
}

/// [`return_task`] for the holder of `params.token`.
///
/// # Errors
/// As [`check_lease`].
pub fn return_leased(task: &mut Task, params: &ReturnParams, now: Timestamp) -> Result<Status> {
    check_lease(task, &params.token)?;
    Ok(return_task(
        task,
        params.error.as_deref(),
        params.status,
        now,
    ))
}

/// Reset: force `status`, dropping any lease. Tasks set to `waiting` or
/// `part_done` get a fresh attempt budget.
pub fn reset_status(task: &mut Task, status: Status, now: Timestamp) {
    task.status = status;
    task.lease = None;
    if status.is_claimable() {
        task.attempts = 0;
    }
    task.finished_at = matches!(status, Status::Done | Status::Failed).then_some(now);
    task.updated_at = now;
}

/// Prioritize: set the priority.
pub fn prioritize(task: &mut Task, priority: i64, now: Timestamp) {
    task.priority = priority;
    task.updated_at = now;
}

/// Replace: a new definition (and key) that must run from scratch: `waiting`,
/// no result, no lease, no attempts, no errors.
pub fn replace(task: &mut Task, def: Value, filter: Option<Value>, now: Timestamp) {
    task.key = content_key(&def);
    task.filter = filter.unwrap_or_else(|| def.clone());
    task.def = def;
    task.status = Status::Waiting;
    task.res = None;
    task.attempts = 0;
    task.lease = None;
    task.errors.clear();
    task.started_at = None;
    task.finished_at = None;
    task.updated_at = now;
}

/// Append an error entry, truncating the message and dropping the oldest entries.
pub fn push_error(task: &mut Task, owner: String, message: &str, now: Timestamp) {
    task.errors.push(ErrorEntry {
        attempt: task.attempts,
        at: now,
        owner,
        message: truncate_message(message),
    });
    if task.errors.len() > MAX_ERRORS {
        let excess = task.errors.len() - MAX_ERRORS;
        task.errors.drain(..excess);
    }
}

/// Keep the last [`MAX_ERROR_MESSAGE_BYTES`] bytes of a message (the end of a
/// stderr is what explains a failure), on a character boundary.
pub fn truncate_message(message: &str) -> String {
    if message.len() <= MAX_ERROR_MESSAGE_BYTES {
        return message.to_string();
    }
    let mut start = message.len() - MAX_ERROR_MESSAGE_BYTES;
    while !message.is_char_boundary(start) {
        start += 1;
    }
    format!("[…truncated] {}", &message[start..])
}
