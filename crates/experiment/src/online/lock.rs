//! The routine lock: one task per online experiment in the lock pool,
//! claimed with a lease (heartbeated) for the length of a routine and
//! handed back after it. The store's claim is atomic on every backend, so
//! two routines started at once (on any machines) run one after the other;
//! a holder that dies loses the lock when its lease expires.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use task_store::{
    CreateParams, ErrorKind, HeartbeatParams, Query, ResetParams, ReturnParams, Status, TaskId,
    TaskStore, TaskStoreExt,
};
use taskpool_pipeline::worker::{Shutdown, new_worker_id};
use tokio::task::JoinHandle;

use crate::job::{Events, JobError, JobEvent};

/// How often a waiting routine looks at the lock again.
const POLL: Duration = Duration::from_millis(200);

/// The lock, held.
pub(crate) struct RoutineLock {
    store: Arc<dyn TaskStore>,
    pool: String,
    id: TaskId,
    token: String,
    lost: Arc<AtomicBool>,
    heartbeat: JoinHandle<()>,
    /// The holder this process waited for before it got the lock.
    waited_for: Option<String>,
}

impl RoutineLock {
    /// Wait until this process holds the lock of `experiment` in `pool`;
    /// `None` when `shutdown` was requested first.
    ///
    /// # Errors
    /// Store errors.
    pub(crate) async fn acquire(
        store: Arc<dyn TaskStore>,
        pool: &str,
        experiment: &str,
        lease: Duration,
        events: &Events,
        shutdown: &Shutdown,
    ) -> Result<Option<RoutineLock>, JobError> {
        let def = json!({"online_lock": experiment});
        let created = store
            .create(pool, CreateParams::new([def]))
            .await?
            .pop()
            .ok_or_else(|| {
                JobError::Collect("creating the routine lock returned nothing".into())
            })?;
        let id = created.id;
        let owner = new_worker_id();
        let mut waited_for: Option<String> = None;
        loop {
            if shutdown.is_requested() {
                return Ok(None);
            }
            let claimed = store
                .claim_one(pool, Status::Waiting, &owner, lease, Query::ids(&[id]))
                .await?;
            if let Some(task) = claimed {
                let token = task
                    .lease
                    .map(|l| l.token)
                    .ok_or_else(|| JobError::Collect("a claimed lock has no lease".into()))?;
                let lost = Arc::new(AtomicBool::new(false));
                let heartbeat = tokio::spawn(heartbeat(
                    Arc::clone(&store),
                    pool.to_string(),
                    id,
                    token.clone(),
                    lease,
                    Arc::clone(&lost),
                ));
                return Ok(Some(RoutineLock {
                    store,
                    pool: pool.to_string(),
                    id,
                    token,
                    lost,
                    heartbeat,
                    waited_for,
                }));
            }
            let task = store.get(pool, id).await?;
            match task.status {
                Status::Running => {
                    if waited_for.is_none() {
                        let holder = task.lease.map(|l| l.owner).unwrap_or_default();
                        events(JobEvent::RoutineBusy {
                            owner: holder.clone(),
                        });
                        waited_for = Some(holder);
                    }
                    tokio::select! {
                        () = tokio::time::sleep(POLL) => {}
                        () = shutdown.requested() => return Ok(None),
                    }
                }
                // A lock that failed (its holders died past its attempts) or
                // was changed by hand is made claimable again.
                _ => {
                    store
                        .reset_status(
                            pool,
                            ResetParams {
                                query: Query::ids(&[id]),
                                status: Status::Waiting,
                            },
                        )
                        .await?;
                }
            }
        }
    }

    /// The holder (`host:pid:n`) this process waited for before it got the
    /// lock, if it had to wait.
    pub(crate) fn waited_for(&self) -> Option<&str> {
        self.waited_for.as_deref()
    }

    /// Whether the lease was lost (a heartbeat found it taken): the routine
    /// must not write its results.
    pub(crate) fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Hand the lock back (its attempt not counted).
    ///
    /// # Errors
    /// Store errors; a lost lease is not an error (there is nothing to hand back).
    pub(crate) async fn release(self) -> Result<(), JobError> {
        self.heartbeat.abort();
        let back = self
            .store
            .return_task(
                &self.pool,
                ReturnParams {
                    id: self.id,
                    token: self.token.clone(),
                    error: None,
                    status: None,
                },
            )
            .await;
        match back {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::LeaseLost => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

async fn heartbeat(
    store: Arc<dyn TaskStore>,
    pool: String,
    id: TaskId,
    token: String,
    lease: Duration,
    lost: Arc<AtomicBool>,
) {
    loop {
        tokio::time::sleep(lease / 3).await;
        let params = HeartbeatParams {
            id,
            token: token.clone(),
            lease,
        };
        match store.heartbeat(&pool, params).await {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::LeaseLost => {
                tracing::warn!(
                    "the routine lock was lost: this routine will not write its results"
                );
                lost.store(true, Ordering::SeqCst);
                return;
            }
            Err(e) => tracing::warn!("cannot renew the routine lock: {e}"),
        }
    }
}
