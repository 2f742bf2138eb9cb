//! One claimed task: run the function, heartbeat the lease, then commit or
//! give the task back.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use task_store::{
    CommitParams, Error, ErrorKind, HeartbeatParams, NewRecord, Record, RecordStore, ReturnParams,
    Status, Task, TaskId, TaskStore,
};

use super::artifacts::{
    RecordPlan, discard_record, experiment_of, metrics_of, store_record, warn_discarded,
};
use super::config::Backoff;
use super::input::{Phase, TaskError, TaskInput};
use super::report::Outcome;
use super::shutdown::Shutdown;
use super::task_fn::{TaskFn, run_caught};

/// The pauses between tries of a commit the store could not take
/// (unavailable): doubling from 200 ms up to 5 s, for up to one lease length.
const COMMIT_BACKOFF: Backoff = Backoff {
    initial: Duration::from_millis(200),
    max: Duration::from_secs(5),
};

/// What every attempt of one worker shares.
pub(crate) struct AttemptContext {
    pub store: Arc<dyn TaskStore>,
    /// Where artifact directories become records; `None`: files are discarded.
    pub records: Option<Arc<dyn RecordStore>>,
    pub pool: String,
    pub worker: String,
    pub phase: Phase,
    pub after_status: Status,
    pub lease: Duration,
    pub heartbeat_every: Duration,
    pub task_fn: Arc<dyn TaskFn>,
    /// The caller's shutdown switch (forwarded to task functions).
    pub shutdown: Shutdown,
    /// Pulled by the worker when the grace period is over: hand tasks back now.
    pub hand_back: Shutdown,
}

/// The lease held on one task.
struct Held {
    id: TaskId,
    token: String,
}

/// Run one claimed task to its end. Returns how it ended and, if the worker
/// cannot go on (a command that cannot start…), the error that stops it.
pub(crate) async fn run_attempt(ctx: Arc<AttemptContext>, task: Task) -> (Outcome, Option<Error>) {
    let Some(lease) = task.lease.as_ref() else {
        tracing::error!(task = %task.id, "claimed task has no lease; leaving it to expire");
        return (Outcome::StoreError, None);
    };
    let held = Held {
        id: task.id,
        token: lease.token.clone(),
    };
    let payload = match ctx.phase {
        Phase::First => task.def.clone(),
        Phase::Second => match &task.res {
            Some(res) => res.clone(),
            None => {
                let message = "task is part_done but has no first-phase result to start the second phase from";
                return (
                    give_back(&ctx, &held, Some(message.to_string())).await,
                    None,
                );
            }
        },
    };
    let artifact_dir = match tempfile::Builder::new().prefix("taskpool-").tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            let error = Error::backend("cannot create an artifact directory").with_source(e);
            return (give_back(&ctx, &held, None).await, Some(error));
        }
    };
    tracing::info!(task = %task.id, attempt = task.attempts, phase = %ctx.phase, "running task");
    let input = TaskInput {
        id: Some(task.id),
        pool: Some(ctx.pool.clone()),
        attempt: task.attempts,
        phase: ctx.phase,
        payload,
        artifact_dir: artifact_dir.path().to_path_buf(),
        shutdown: ctx.shutdown.clone(),
    };

    let result = tokio::select! {
        biased;
        result = run_caught(Arc::clone(&ctx.task_fn), input) => result,
        lost = heartbeat_until_lost(&ctx, &held) => {
            tracing::warn!(
                task = %held.id, worker = %ctx.worker,
                "lease lost while running ({lost}); abandoning the task, its result will not be written"
            );
            return (Outcome::LeaseLost, None);
        }
        _ = ctx.hand_back.requested() => {
            tracing::info!(task = %held.id, "grace period over: handing the task back");
            return (give_back(&ctx, &held, None).await, None);
        }
    };

    match result {
        Ok(value) => (
            finish(&ctx, &held, &task, artifact_dir.path(), value).await,
            None,
        ),
        Err(TaskError::Failed(message)) if ctx.shutdown.is_requested() => {
            tracing::info!(
                task = %held.id,
                "task failed during shutdown; handing it back without counting the attempt: {message}"
            );
            (give_back(&ctx, &held, None).await, None)
        }
        Err(TaskError::Failed(message)) => {
            tracing::warn!(task = %held.id, attempt = task.attempts, "task failed: {message}");
            (give_back(&ctx, &held, Some(message)).await, None)
        }
        Err(TaskError::Worker(error)) => {
            tracing::error!(task = %held.id, "worker cannot run tasks: {error}");
            (give_back(&ctx, &held, None).await, Some(error))
        }
    }
}

/// A successful run: store its artifact directory as a record (if the
/// worker has a record store and the directory holds files), then commit.
///
/// The record is written *before* the commit, so a committed task always
/// has it; the lease is heartbeaten meanwhile. If the lease is lost before
/// the commit, the result is abandoned and so is its record (deleted). If
/// the record cannot be stored, the attempt fails with that error.
async fn finish(
    ctx: &AttemptContext,
    held: &Held,
    task: &Task,
    dir: &std::path::Path,
    value: Value,
) -> Outcome {
    let Some(records) = ctx.records.as_deref() else {
        warn_discarded(&held.id, dir);
        return commit(ctx, held, value).await;
    };
    let experiment = experiment_of(&task.def, &ctx.pool);
    let plan = RecordPlan {
        records,
        experiment,
        record: NewRecord {
            metrics: metrics_of(&value),
            ..NewRecord::for_task(&ctx.pool, task)
        },
        phase: ctx.phase,
    };
    let storing = store_record(plan, dir);
    tokio::pin!(storing);
    let stored = tokio::select! {
        biased;
        stored = &mut storing => stored,
        lost = heartbeat_until_lost(ctx, held) => {
            tracing::warn!(
                task = %held.id, worker = %ctx.worker,
                "lease lost while storing the artifacts ({lost}); abandoning the result and its record"
            );
            if let Ok(Some(record)) = storing.await {
                discard_record(records, experiment, record.id).await;
            }
            return Outcome::LeaseLost;
        }
    };
    match stored {
        Ok(None) => commit(ctx, held, value).await,
        Ok(Some(record)) => {
            log_stored(&record);
            let outcome = commit(ctx, held, value).await;
            if matches!(outcome, Outcome::LeaseLost | Outcome::Failed(_)) {
                discard_record(records, experiment, record.id).await;
            }
            outcome
        }
        Err(e) => {
            tracing::warn!(task = %held.id, "cannot store the task's artifacts: {e}");
            let message = format!("cannot store the task's artifacts: {e}");
            give_back(ctx, held, Some(message)).await
        }
    }
}

fn log_stored(record: &Record) {
    tracing::info!(
        task = ?record.task_id, record = %record.id, experiment = %record.experiment,
        "artifacts stored"
    );
}

/// Heartbeat every `heartbeat_every` until the store says the lease is gone.
async fn heartbeat_until_lost(ctx: &AttemptContext, held: &Held) -> Error {
    loop {
        tokio::time::sleep(ctx.heartbeat_every).await;
        let params = HeartbeatParams {
            id: held.id,
            token: held.token.clone(),
            lease: ctx.lease,
        };
        match ctx.store.heartbeat(&ctx.pool, params).await {
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::LeaseLost | ErrorKind::NotFound) => return e,
            Err(e) => tracing::warn!(task = %held.id, "heartbeat failed, will retry: {e}"),
        }
    }
}

/// Commit the result. A lost lease abandons it (never retried: another
/// worker owns the task now); an unavailable store (a server restarting, an
/// election) is retried with capped exponential backoff for up to one lease
/// length, after which the lease has expired anyway; a result the store
/// refuses (`InvalidInput`) fails the attempt with that error.
async fn commit(ctx: &AttemptContext, held: &Held, result: Value) -> Outcome {
    let deadline = tokio::time::Instant::now() + ctx.lease;
    let mut tries = 0u32;
    loop {
        let params = CommitParams {
            id: held.id,
            token: held.token.clone(),
            result: result.clone(),
            status: ctx.after_status,
        };
        match ctx.store.commit(&ctx.pool, params).await {
            Ok(()) => {
                tracing::info!(task = %held.id, status = %ctx.after_status, "task committed");
                return Outcome::Committed;
            }
            Err(e) if matches!(e.kind(), ErrorKind::LeaseLost | ErrorKind::NotFound) => {
                tracing::warn!(
                    task = %held.id, worker = %ctx.worker,
                    "lease lost before the commit ({e}); the result is discarded"
                );
                return Outcome::LeaseLost;
            }
            Err(e) if e.kind() == ErrorKind::InvalidInput => {
                // The result itself is refused (an integer beyond 64 bits…):
                // committing it again can never succeed, so the attempt fails.
                tracing::warn!(task = %held.id, "the store refuses the result: {e}");
                let message = format!("the store refuses the result: {e}");
                return give_back(ctx, held, Some(message)).await;
            }
            Err(e)
                if e.kind() == ErrorKind::Unavailable && tokio::time::Instant::now() < deadline =>
            {
                let pause = COMMIT_BACKOFF
                    .delay(tries)
                    .min(deadline - tokio::time::Instant::now());
                tracing::warn!(task = %held.id, retry_in = ?pause, "commit failed, will retry: {e}");
                tokio::time::sleep(pause).await;
                tries = tries.saturating_add(1);
            }
            Err(e) => {
                tracing::error!(
                    task = %held.id,
                    "commit failed ({e}); the lease will expire and the task will run again"
                );
                return Outcome::StoreError;
            }
        }
    }
}

/// Return the task: with an error (the attempt counts) or without (handed back).
async fn give_back(ctx: &AttemptContext, held: &Held, error: Option<String>) -> Outcome {
    let counted = error.is_some();
    let params = ReturnParams {
        id: held.id,
        token: held.token.clone(),
        error,
        status: None,
    };
    match ctx.store.return_task(&ctx.pool, params).await {
        Ok(status) if counted => {
            if status == Status::Failed {
                tracing::warn!(task = %held.id, "task failed for good: no attempts left");
            }
            Outcome::Failed(status)
        }
        Ok(status) => {
            tracing::info!(task = %held.id, %status, "task handed back");
            Outcome::HandedBack
        }
        Err(e) if matches!(e.kind(), ErrorKind::LeaseLost | ErrorKind::NotFound) => {
            tracing::warn!(task = %held.id, "lease lost before the task could be returned: {e}");
            Outcome::LeaseLost
        }
        Err(e) => {
            tracing::error!(
                task = %held.id,
                "cannot return the task ({e}); it becomes claimable when its lease expires"
            );
            Outcome::StoreError
        }
    }
}
