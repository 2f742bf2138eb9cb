//! Opening a store by URL: the scheme picks the backend.

use std::sync::Arc;

use task_store::{Error, MemoryStore, Result, SharedClock, Store, SystemClock, TaskStore};

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
            task_store_sqlite::SqliteStore::from_url(url, clock).await?,
        )),
        #[cfg(feature = "sled")]
        s if task_store_sled::URL_SCHEMES.contains(&s) => Ok(Arc::new(
            task_store_sled::SledStore::from_url(url, clock).await?,
        )),
        #[cfg(feature = "mongo")]
        s if task_store_mongo::URL_SCHEMES.contains(&s) => Ok(Arc::new(
            task_store_mongo::MongoStore::from_url(url, clock).await?,
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

/// `url` with any password replaced by `***` (`mongodb://user:***@host`).
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{tail}")
            } else {
                format!("{scheme}://{user}@{host}{tail}")
            }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_passwords() {
        assert_eq!(
            redact_url("mongodb://alice:s3cret@db:27017/x?authSource=admin"),
            "mongodb://alice:***@db:27017/x?authSource=admin"
        );
        assert_eq!(redact_url("mongodb://db/x"), "mongodb://db/x");
        assert_eq!(redact_url("sqlite://taskpool.db"), "sqlite://taskpool.db");
        assert!(!redact_url("mongodb://a:p@ss:w@rd@h/").contains("ss:w"));
    }
}
