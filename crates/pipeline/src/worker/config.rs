//! [`WorkerConfig`]: what a worker claims, how many at once, and how it waits.

use std::time::Duration;

use task_store::{Error, Query, Result, Status, validate_pool_name};

use super::input::Phase;

/// The default lease: a worker that stops heartbeating loses its tasks after this.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// The default grace period given to running tasks on shutdown.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);
/// The shortest lease a worker accepts (it heartbeats every lease/3).
pub const MIN_LEASE: Duration = Duration::from_millis(30);

/// How a worker polls when nothing is claimable: capped exponential backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first pause.
    pub initial: Duration,
    /// The longest pause; pauses double up to it.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    /// The pause after `idle` consecutive empty polls (0 → `initial`).
    pub fn delay(&self, idle: u32) -> Duration {
        let factor = 1u32.checked_shl(idle.min(31)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// What a worker does.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The pool to work on.
    pub pool: String,
    /// First phase (claim `waiting`, input `def`) or second (claim `part_done`, input `res`).
    pub phase: Phase,
    /// Where a successful task goes: `done` (default), `part_done` (a second
    /// phase follows) or `waiting` (run again).
    pub after_status: Status,
    /// Only tasks matching this query (it may not mention `status`).
    pub query: Query,
    /// How many tasks run at once (≥ 1).
    pub concurrency: usize,
    /// The lease length; the worker heartbeats every third of it.
    pub lease: Duration,
    /// Stop after claiming this many tasks.
    pub max_tasks: Option<u64>,
    /// Keep polling when nothing is claimable instead of stopping.
    pub follow: bool,
    /// Pauses between polls when nothing is claimable.
    pub backoff: Backoff,
    /// On shutdown, how long running tasks may still finish before they are handed back.
    pub grace: Duration,
}

impl WorkerConfig {
    /// A first-phase worker for `pool` with the defaults: `done` after
    /// success, every task, one at a time, a 60 s lease, stop when idle.
    pub fn new(pool: impl Into<String>) -> WorkerConfig {
        WorkerConfig {
            pool: pool.into(),
            phase: Phase::First,
            after_status: Status::Done,
            query: Query::All,
            concurrency: 1,
            lease: DEFAULT_LEASE,
            max_tasks: None,
            follow: false,
            backoff: Backoff::default(),
            grace: DEFAULT_GRACE,
        }
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// `Config` for a bad pool name; `InvalidQuery` if the query mentions
    /// `status`; `InvalidInput` for a zero concurrency, a lease under
    /// [`MIN_LEASE`], a zero backoff, or an `after_status` other than
    /// done/part_done/waiting.
    pub fn validate(&self) -> Result<()> {
        validate_pool_name(&self.pool)?;
        if self.query.mentions_status() {
            return Err(Error::invalid_query(
                "a worker query may not mention status: the phase selects it",
            ));
        }
        if self.concurrency == 0 {
            return Err(Error::invalid_input("concurrency must be at least 1"));
        }
        if self.lease < MIN_LEASE {
            return Err(Error::invalid_input(format!(
                "the lease must last at least {MIN_LEASE:?}"
            )));
        }
        if self.backoff.initial.is_zero() || self.backoff.max < self.backoff.initial {
            return Err(Error::invalid_input(
                "the backoff must start above zero and its maximum may not be below its start",
            ));
        }
        if !matches!(
            self.after_status,
            Status::Done | Status::PartDone | Status::Waiting
        ) {
            return Err(Error::invalid_input(format!(
                "a worker cannot commit tasks to {}: use done, part_done or waiting",
                self.after_status
            )));
        }
        Ok(())
    }

    /// How often running tasks are heartbeaten: a third of the lease.
    pub fn heartbeat_interval(&self) -> Duration {
        self.lease / 3
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use task_store::ErrorKind;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(500),
        };
        assert_eq!(b.delay(0), Duration::from_millis(100));
        assert_eq!(b.delay(2), Duration::from_millis(400));
        assert_eq!(b.delay(3), Duration::from_millis(500));
        assert_eq!(b.delay(u32::MAX), Duration::from_millis(500));
    }

    #[test]
    fn validate_rejects_bad_settings() {
        let ok = WorkerConfig::new("p");
        assert!(ok.validate().is_ok());
        let kind = |f: fn(&mut WorkerConfig)| {
            let mut c = WorkerConfig::new("p");
            f(&mut c);
            c.validate().unwrap_err().kind()
        };
        assert_eq!(kind(|c| c.concurrency = 0), ErrorKind::InvalidInput);
        assert_eq!(
            kind(|c| c.lease = Duration::from_millis(1)),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(|c| c.after_status = Status::Failed),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(|c| c.query = Query::status(Status::Done)),
            ErrorKind::InvalidQuery
        );
        assert_eq!(kind(|c| c.pool = String::new()), ErrorKind::Config);
        assert_eq!(
            kind(|c| c.backoff.initial = Duration::ZERO),
            ErrorKind::InvalidInput
        );
    }
}
