//! [`MongoOptions`]: what [`MongoStore::open`](crate::MongoStore::open) takes
//! beyond the URL.
//!
//! The URL's own options (`serverSelectionTimeoutMS`, `replicaSet`,
//! `w`, `authSource`, …) are MongoDB's connection-string options, parsed by
//! the driver; taskpool's own (`claimBatch`, `claimBatchMaxAgeMS`,
//! `lookupIndexes`) are taken out of the URL before it reaches the driver. A field set here overrides
//! the URL.

use std::time::Duration;

/// The database used when the URL names none (`mongodb://host/`).
pub const DEFAULT_DATABASE: &str = "taskpool";

/// How long to look for a reachable server (and to connect) unless the URL
/// (`serverSelectionTimeoutMS`, `connectTimeoutMS`) or [`MongoOptions`] say otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Options of [`MongoStore::open`](crate::MongoStore::open) beyond the URL.
/// `MongoOptions::default()` takes everything from the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MongoOptions {
    /// Server selection and connect timeout; overrides the URL's. `None`:
    /// the URL's, or [`DEFAULT_TIMEOUT`] where the URL sets none.
    pub timeout: Option<Duration>,
    /// The database; overrides the URL's path. `None`: the URL's, or
    /// [`DEFAULT_DATABASE`].
    pub database: Option<String>,
    /// How often (real time) to re-measure the offset from the server's
    /// clock, on which lease times are computed; `None`: only when opening.
    /// Default [`DEFAULT_CLOCK_REFRESH`].
    pub clock_refresh: Option<Duration>,
    /// How often, at most, a claim sweeps its pool for expired tasks with no
    /// attempts left (on the store's clock). Default
    /// [`DEFAULT_SWEEP_INTERVAL`](crate::DEFAULT_SWEEP_INTERVAL).
    pub sweep_interval: Duration,
    /// How many candidates a claim reads at once (the batch claim: one
    /// sorted read per this many tasks, then one conditional claim by `_id`
    /// per task); `1`: every claim is one sorted `findAndModify`, exact order
    /// across processes. `None`: the URL's `claimBatch`, else
    /// [`DEFAULT_CLAIM_BATCH`]. See the `claim` module.
    pub claim_batch: Option<usize>,
    /// How long a list of candidates is used at most (on the store's
    /// clock): another process's new task or priority change is seen by
    /// this store's claims up to this late. `None`: the URL's
    /// `claimBatchMaxAgeMS`, else [`DEFAULT_CLAIM_BATCH_MAX_AGE`]; at least
    /// 1 ms (a list is read and used within one claim call).
    pub claim_batch_max_age: Option<Duration>,
    /// Whether each pool gets the lookup indexes: unique compound indexes
    /// led by `_id` whose keys are exactly those of the claim by `_id` and
    /// of the lease-fenced writes (see the `indexes` module). Only servers
    /// that use an index for nothing but an exact match of a unique index's
    /// keys need them (mongo-java-server: without them every claim and
    /// commit scans the pool); on MongoDB they add index writes to every
    /// create, claim and commit and serve no read. `None`: the URL's
    /// `lookupIndexes` (`true`/`false`), else off.
    pub lookup_indexes: Option<bool>,
}

/// How many candidates a claim reads at once unless [`MongoOptions`] or the
/// URL (`claimBatch`) say otherwise.
pub const DEFAULT_CLAIM_BATCH: usize = 32;

/// How long a claim's candidate list is used at most unless
/// [`MongoOptions`] or the URL (`claimBatchMaxAgeMS`) say otherwise.
pub const DEFAULT_CLAIM_BATCH_MAX_AGE: Duration = Duration::from_secs(1);

/// How often a store re-measures the server's clock unless
/// [`MongoOptions::clock_refresh`] says otherwise.
pub const DEFAULT_CLOCK_REFRESH: Duration = Duration::from_secs(60);

impl Default for MongoOptions {
    fn default() -> MongoOptions {
        MongoOptions {
            timeout: None,
            database: None,
            clock_refresh: Some(DEFAULT_CLOCK_REFRESH),
            sweep_interval: crate::DEFAULT_SWEEP_INTERVAL,
            claim_batch: None,
            claim_batch_max_age: None,
            lookup_indexes: None,
        }
    }
}

impl MongoOptions {
    /// These options with `timeout` set.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> MongoOptions {
        self.timeout = Some(timeout);
        self
    }

    /// These options with `clock_refresh` set (`None`: measure the server's
    /// clock only when opening).
    #[must_use]
    pub fn clock_refresh(mut self, refresh: Option<Duration>) -> MongoOptions {
        self.clock_refresh = refresh;
        self
    }

    /// These options with `sweep_interval` set.
    #[must_use]
    pub fn sweep_interval(mut self, interval: Duration) -> MongoOptions {
        self.sweep_interval = interval;
        self
    }

    /// These options with `claim_batch` set (at least 1; `1` turns the
    /// batch claim off).
    #[must_use]
    pub fn claim_batch(mut self, batch: usize) -> MongoOptions {
        self.claim_batch = Some(batch.max(1));
        self
    }

    /// These options with `claim_batch_max_age` set.
    #[must_use]
    pub fn claim_batch_max_age(mut self, max_age: Duration) -> MongoOptions {
        self.claim_batch_max_age = Some(max_age);
        self
    }

    /// These options with `lookup_indexes` set.
    #[must_use]
    pub fn lookup_indexes(mut self, on: bool) -> MongoOptions {
        self.lookup_indexes = Some(on);
        self
    }

    /// These options with `database` set.
    #[must_use]
    pub fn database(mut self, database: impl Into<String>) -> MongoOptions {
        self.database = Some(database.into());
        self
    }
}
