//! Opening a store by URL: the scheme picks the backend.

use std::sync::Arc;

use task_store::{
    Error, MemoryStore, Result, SharedClock, Store, SystemClock, TaskStore, redact_url,
};

/// The store every application opens when none is given (`--store`,
/// `TASKPOOL_STORE`, a config's `store:`): a SQLite file in the current
/// directory.
pub const DEFAULT_STORE_URL: &str = "sqlite://taskpool.db";

/// Every URL scheme this build accepts.
pub const URL_SCHEMES: &[&str] = &[
    "memory",
    #[cfg(feature = "sqlite")]
    "sqlite",
    #[cfg(feature = "sled")]
    "sled",
    #[cfg(feature = "mongo")]
    "mongodb",
    #[cfg(feature = "mongo")]
    "mongodb+srv",
];

/// Open the store at `url` on the system clock: tasks, records and artifacts
/// behind one URL.
///
/// # Errors
/// [`ErrorKind::Config`](task_store::ErrorKind::Config) for an unknown scheme
/// (the message lists the accepted ones) or a malformed URL; whatever the
/// backend reports when opening.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    open_with_clock(url, Arc::new(SystemClock)).await
}

/// [`open`], reading time from `clock`.
///
/// # Errors
/// As [`open`].
pub async fn open_with_clock(url: &str, clock: SharedClock) -> Result<Arc<dyn Store>> {
    match scheme(url) {
        "memory" => Ok(Arc::new(MemoryStore::with_clock(clock))),
        #[cfg(feature = "sqlite")]
        s if task_store_sqlite::URL_SCHEMES.contains(&s) => Ok(Arc::new(
            task_store_sqlite::SqliteStore::open(url, clock, Default::default()).await?,
        )),
        #[cfg(feature = "sled")]
        s if task_store_sled::URL_SCHEMES.contains(&s) => Ok(Arc::new(
            task_store_sled::SledStore::open(url, clock, Default::default()).await?,
        )),
        #[cfg(feature = "mongo")]
        s if task_store_mongo::URL_SCHEMES.contains(&s) => Ok(Arc::new(
            task_store_mongo::MongoStore::open(url, clock, Default::default()).await?,
        )),
        _ => Err(unknown_scheme(url)),
    }
}

/// Open the store at `url` on the system clock, seen as a task store only.
///
/// # Errors
/// As [`open`].
pub async fn open_store(url: &str) -> Result<Arc<dyn TaskStore>> {
    open_store_with_clock(url, Arc::new(SystemClock)).await
}

/// [`open_store`], reading time from `clock`.
///
/// # Errors
/// As [`open_store`].
pub async fn open_store_with_clock(url: &str, clock: SharedClock) -> Result<Arc<dyn TaskStore>> {
    Ok(open_with_clock(url, clock).await?)
}

fn scheme(url: &str) -> &str {
    url.split_once("://").map(|(s, _)| s).unwrap_or("")
}

fn unknown_scheme(url: &str) -> Error {
    Error::config(format!(
        "unsupported store URL {}: the scheme must be one of {}",
        redact_url(url),
        URL_SCHEMES
            .iter()
            .map(|s| format!("{s}://"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}
