//! Where a store lives: `sqlite://PATH`, `sqlite://:memory:` or a plain path.

use std::fmt;
use std::path::PathBuf;

use crate::error::SqliteError;

/// The URL schemes [`SqliteStore`](crate::SqliteStore) answers to.
pub const URL_SCHEMES: &[&str] = &["sqlite"];

/// The URL of a private in-memory database (one per store, gone when it is
/// dropped). A file named `:memory:` is written `sqlite://./:memory:`.
pub const MEMORY_URL: &str = "sqlite://:memory:";

const FILE_PREFIX: &str = "sqlite://";

/// A database file or a private in-memory database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// A file, as given (relative paths resolve against the working directory).
    File(PathBuf),
    /// `sqlite://:memory:`.
    Memory,
}

impl Location {
    /// Parse a `sqlite://PATH` or `sqlite://:memory:` URL.
    pub(crate) fn from_url(url: &str) -> Result<Location, SqliteError> {
        if url == MEMORY_URL {
            return Ok(Location::Memory);
        }
        let Some(path) = url.strip_prefix(FILE_PREFIX) else {
            return Err(SqliteError::BadUrl(format!(
                "{url:?} is not a SQLite store URL: use sqlite://PATH (sqlite:///abs/path.db or \
                 sqlite://relative.db) or {MEMORY_URL} for an in-memory store (accepted schemes: {})",
                URL_SCHEMES.join(", ")
            )));
        };
        Location::from_path(path)
    }

    /// A URL, or else a plain file path.
    pub(crate) fn from_url_or_path(text: &str) -> Result<Location, SqliteError> {
        if text.starts_with("sqlite:") || text.contains("://") || text == ":memory:" {
            Location::from_url(text)
        } else {
            Location::from_path(text)
        }
    }

    fn from_path(path: &str) -> Result<Location, SqliteError> {
        if path.is_empty() {
            return Err(SqliteError::BadUrl(
                "the SQLite store URL has an empty path: use sqlite://PATH".into(),
            ));
        }
        Ok(Location::File(PathBuf::from(path)))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(path) => write!(f, "{FILE_PREFIX}{}", path.display()),
            Location::Memory => f.write_str(MEMORY_URL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_url_accepts_relative_absolute_and_memory() {
        assert_eq!(
            Location::from_url("sqlite://taskpool.db").unwrap(),
            Location::File("taskpool.db".into())
        );
        assert_eq!(
            Location::from_url("sqlite:///tmp/x y.db").unwrap(),
            Location::File("/tmp/x y.db".into())
        );
        assert_eq!(
            Location::from_url("sqlite://:memory:").unwrap(),
            Location::Memory
        );
        assert_eq!(
            Location::from_url("sqlite://./:memory:").unwrap(),
            Location::File("./:memory:".into())
        );
    }

    #[test]
    fn from_url_rejects_other_forms() {
        for bad in [
            "sqlite://",
            "sqlite:x.db",
            "mongodb://host/db",
            "x.db",
            "sqlite::memory:",
            ":memory:",
        ] {
            assert!(
                matches!(Location::from_url(bad), Err(SqliteError::BadUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn from_url_or_path_takes_plain_paths() {
        assert_eq!(
            Location::from_url_or_path("dir/x.db").unwrap(),
            Location::File("dir/x.db".into())
        );
        assert_eq!(
            Location::from_url_or_path("sqlite://:memory:").unwrap(),
            Location::Memory
        );
        assert!(Location::from_url_or_path("memory://").is_err());
        assert!(Location::from_url_or_path(":memory:").is_err());
    }

    #[test]
    fn display_round_trips() {
        for url in ["sqlite://a/b.db", "sqlite:///abs.db", "sqlite://:memory:"] {
            assert_eq!(Location::from_url(url).unwrap().to_string(), url);
        }
    }
}
