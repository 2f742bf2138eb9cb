//! Opening only a store that already exists: read-only commands must never
//! create a database because of a typo in `--store`.
//!
//! A SQLite file or a sled directory exists or not on disk; a MongoDB
//! database is never created by reading it (the server creates databases and
//! collections on the first write only), and a `memory://` store is new and
//! empty by nature, which the caller warns about.

use std::path::Path;
use std::sync::Arc;

use task_store::{Error, Result, Store};

/// Whether the store named by `url` is a new, empty one rather than one found
/// where the URL points: `Some(path)` for a SQLite file or a sled directory
/// that does not exist (opening would create it there), `None` otherwise
/// (an existing file or directory, `sqlite://:memory:`, `memory://`, MongoDB).
pub fn missing_local_store(url: &str) -> Option<String> {
    let path = local_path(url)?;
    (!Path::new(path).exists()).then(|| path.to_string())
}

/// The file or directory of a `sqlite://PATH` or `sled://PATH` URL (without
/// URL parameters); `None` for other URLs and `sqlite://:memory:`.
fn local_path(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "sqlite" | "sled") {
        return None;
    }
    let path = rest.split_once('?').map_or(rest, |(path, _)| path);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// Open the store at `url` only if it exists: as [`open`](crate::open), but a
/// SQLite file or sled directory that is not there is an error instead of a
/// new empty store.
///
/// # Errors
/// [`ErrorKind::NotFound`](task_store::ErrorKind::NotFound) naming the path
/// when the file or directory does not exist; otherwise as
/// [`open`](crate::open).
pub async fn open_existing(url: &str) -> Result<Arc<dyn Store>> {
    if let Some(path) = missing_local_store(url) {
        return Err(Error::not_found(format!(
            "no store at {path}: {} does not exist (commands that only read never create a \
             store; check --store or TASKPOOL_STORE)",
            task_store::redact_url(url)
        )));
    }
    crate::open(url).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_local_store_names_absent_files_only() {
        let dir = std::env::temp_dir();
        let here = format!("sqlite://{}", dir.display());
        assert_eq!(missing_local_store(&here), None);
        assert_eq!(
            missing_local_store("sqlite://no/such/typo.db"),
            Some("no/such/typo.db".to_string())
        );
        assert_eq!(
            missing_local_store("sled://no/such/dir?cache_mb=8"),
            Some("no/such/dir".to_string())
        );
        for other in ["memory://", "sqlite://:memory:", "mongodb://h/db"] {
            assert_eq!(missing_local_store(other), None, "{other}");
        }
    }
}
