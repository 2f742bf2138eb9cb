//! [`ServerTime`]: lease times on the server's clock.
//!
//! Workers on many machines share a pool, and their clocks disagree. A lease
//! that expired by one worker's clock may be live by another's; a worker
//! whose clock runs five minutes ahead would reclaim every live task. So
//! every time this backend writes into a task or compares with one (lease
//! expiry, reclaim, `started_at`, `finished_at`, the id's creation time) is
//! on one clock for every worker: the server's.
//!
//! Neither test server evaluates `$$NOW` in a filter (FerretDB v1 has no
//! `$expr`), so the store measures the offset between its own clock (the
//! injected [`Clock`](task_store::Clock)) and the server's: it reads the
//! server's `localTime` from `isMaster` (or `hello`), takes the middle of
//! the round trip as the local instant the server answered at, and from then
//! on adds the offset to its clock. The offset is measured when the store
//! opens and again every [`MongoOptions::clock_refresh`](crate::MongoOptions)
//! of real time (default 60 s), so a worker clock stepped by NTP is caught up
//! with. A failed re-measurement keeps the last offset (and is logged).
//!
//! What callers see stays on their own clock: times read from a task are
//! shifted back by the offset, so `now + lease` computed by a caller and the
//! `expires_at` it reads agree, and the injected clock of the tests still
//! drives expiry.
//!
//! The remaining tolerance between two workers is the sum of their
//! measurement errors, each at most half the round trip of the measuring
//! `isMaster` (plus the server's millisecond resolution), plus whatever their
//! clocks drift apart between two measurements (ordinary clocks drift
//! milliseconds per minute), plus up to 1 s: an offset under 1 s is taken as
//! 0, so that processes whose clocks agree (one machine, NTP) read stored
//! times back identically rather than each with its own measurement noise.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use mongodb::Database;
use mongodb::bson::{Bson, doc};
use task_store::redact::Secrets;
use task_store::{Result, SharedClock, Task, Timestamp};

use crate::error::MongoError;

/// The store's clock, shifted onto the server's.
#[derive(Debug)]
pub(crate) struct ServerTime {
    clock: SharedClock,
    /// Server time minus local time, in milliseconds.
    offset_ms: AtomicI64,
    /// When (real time) the offset was last measured, and how often to.
    refresh: Option<Duration>,
    measured: Mutex<Instant>,
}

impl ServerTime {
    /// Measure the offset of `clock` from the server of `db`.
    ///
    /// # Errors
    /// The driver's error when the server does not answer, or `Backend` when
    /// its answer has no `localTime`.
    pub(crate) async fn measure(
        db: &Database,
        clock: SharedClock,
        refresh: Option<Duration>,
        secrets: &Secrets,
    ) -> Result<ServerTime> {
        let offset = offset(db, &clock, secrets).await?;
        tracing::debug!(offset_ms = offset, "measured the server's clock");
        Ok(ServerTime {
            clock,
            offset_ms: AtomicI64::new(offset),
            refresh,
            measured: Mutex::new(Instant::now()),
        })
    }

    /// The current time on the server's clock, re-measuring the offset
    /// first when it is due.
    pub(crate) async fn now(&self, db: &Database, secrets: &Secrets) -> Timestamp {
        if self.due() {
            match offset(db, &self.clock, secrets).await {
                Ok(offset) => {
                    let old = self.offset_ms.swap(offset, Ordering::Relaxed);
                    if (old - offset).abs() > 1_000 {
                        tracing::info!(
                            old_ms = old,
                            new_ms = offset,
                            "the offset from the server's clock changed by more than 1 s"
                        );
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not re-measure the server's clock; keeping the last offset");
                }
            }
        }
        self.server(self.clock.now())
    }

    /// Whether the offset is due for a re-measurement (and if so, marks it
    /// measured, so concurrent callers measure once).
    fn due(&self) -> bool {
        let Some(refresh) = self.refresh else {
            return false;
        };
        let mut measured = self.measured.lock().unwrap_or_else(|e| e.into_inner());
        if measured.elapsed() < refresh {
            return false;
        }
        *measured = Instant::now();
        true
    }

    /// A local time on the server's clock.
    pub(crate) fn server(&self, local: Timestamp) -> Timestamp {
        Timestamp::from_millis(local.as_millis() + self.offset_ms.load(Ordering::Relaxed))
    }

    /// A server time on the local clock.
    pub(crate) fn local(&self, server: Timestamp) -> Timestamp {
        Timestamp::from_millis(server.as_millis() - self.offset_ms.load(Ordering::Relaxed))
    }

    /// A task read from the server, its times on the local clock.
    pub(crate) fn localize(&self, mut task: Task) -> Task {
        let local = |t: Timestamp| self.local(t);
        task.created_at = local(task.created_at);
        task.updated_at = local(task.updated_at);
        task.started_at = task.started_at.map(local);
        task.finished_at = task.finished_at.map(local);
        if let Some(lease) = &mut task.lease {
            lease.expires_at = local(lease.expires_at);
        }
        for error in &mut task.errors {
            error.at = local(error.at);
        }
        task
    }
}

/// Server time minus `clock`'s time, in milliseconds, corrected by half the
/// round trip.
async fn offset(db: &Database, clock: &SharedClock, secrets: &Secrets) -> Result<i64> {
    let before = clock.now().as_millis();
    let started = Instant::now();
    let reply = match db.run_command(doc! {"isMaster": 1}).await {
        Ok(reply) => reply,
        Err(_) => db
            .run_command(doc! {"hello": 1})
            .await
            .map_err(|e| MongoError::driver(e, "reading the server's clock", secrets))?,
    };
    let round_trip = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let server = match reply.get("localTime") {
        Some(Bson::DateTime(t)) => t.timestamp_millis(),
        _ => {
            return Err(MongoError::Unexpected(
                "the server's isMaster/hello reply has no localTime: its clock cannot be read"
                    .to_string(),
            )
            .into());
        }
    };
    // The injected clock may not move with real time (tests): take the
    // middle of the round trip on it only if it did.
    let after = clock.now().as_millis();
    let local = if after > before {
        before + (after - before) / 2
    } else {
        before + round_trip / 2
    };
    Ok(agreed(server - local))
}

/// Clocks that differ by less than this are taken to agree (offset 0), so
/// that processes on one machine, or on NTP-synchronized machines, read the
/// same stored time back identically instead of each with its own
/// millisecond-level measurement noise. The tolerance of lease decisions is
/// therefore this plus half a round trip.
const AGREE_MS: i64 = 1_000;

fn agreed(offset_ms: i64) -> i64 {
    if offset_ms.abs() < AGREE_MS {
        0
    } else {
        offset_ms
    }
}
