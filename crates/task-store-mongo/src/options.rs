//! [`MongoOptions`]: what [`MongoStore::open`](crate::MongoStore::open) takes
//! beyond the URL.
//!
//! The URL's own options (`serverSelectionTimeoutMS`, `replicaSet`,
//! `w`, `authSource`, …) are MongoDB's connection-string options, parsed by
//! the driver; a field set here overrides the URL.

use std::time::Duration;

/// The database used when the URL names none (`mongodb://host/`).
pub const DEFAULT_DATABASE: &str = "taskpool";

/// How long to look for a reachable server (and to connect) unless the URL
/// (`serverSelectionTimeoutMS`, `connectTimeoutMS`) or [`MongoOptions`] say otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Options of [`MongoStore::open`](crate::MongoStore::open) beyond the URL.
/// `MongoOptions::default()` takes everything from the URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MongoOptions {
    /// Server selection and connect timeout; overrides the URL's. `None`:
    /// the URL's, or [`DEFAULT_TIMEOUT`] where the URL sets none.
    pub timeout: Option<Duration>,
    /// The database; overrides the URL's path. `None`: the URL's, or
    /// [`DEFAULT_DATABASE`].
    pub database: Option<String>,
}

impl MongoOptions {
    /// These options with `timeout` set.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> MongoOptions {
        self.timeout = Some(timeout);
        self
    }

    /// These options with `database` set.
    #[must_use]
    pub fn database(mut self, database: impl Into<String>) -> MongoOptions {
        self.database = Some(database.into());
        self
    }
}
