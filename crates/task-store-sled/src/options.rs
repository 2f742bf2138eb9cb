//! Opening options and the `sled://PATH[?cache_mb=N]` URL.

use std::path::PathBuf;

use task_store::Result;

use crate::error::SledError;

/// The default capacity of sled's page cache, in MiB.
///
/// sled 0.34 defaults to 1 GiB and keeps every page it reads until the cache
/// is full, so a process that walks a large database (a whole-pool query, an
/// upgrade count) keeps hundreds of MB resident. 64 MiB keeps an idle worker
/// and one-shot commands small; claims and commits touch a few pages each
/// and did not get slower with it (see `BENCHMARKS.md`).
pub const DEFAULT_CACHE_MB: u64 = 64;

/// How [`SledStore::open_with`](crate::SledStore::open_with) opens a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SledOptions {
    /// The capacity of sled's page cache, in bytes (default
    /// [`DEFAULT_CACHE_MB`] MiB; the URL parameter `cache_mb` sets it in MiB).
    pub cache_capacity: u64,
}

impl Default for SledOptions {
    fn default() -> SledOptions {
        SledOptions {
            cache_capacity: DEFAULT_CACHE_MB << 20,
        }
    }
}

/// The directory and options of a `sled://PATH[?cache_mb=N]` URL. A path
/// cannot contain `?`: everything after the first `?` is parameters.
pub(crate) fn parse_url(url: &str) -> Result<(PathBuf, SledOptions)> {
    let rest = url
        .strip_prefix("sled://")
        .ok_or_else(|| SledError::Url(format!("not a sled URL: {url} (expected sled://PATH)")))?;
    let (path, params) = match rest.split_once('?') {
        Some((path, params)) => (path, Some(params)),
        None => (rest, None),
    };
    if path.is_empty() {
        return Err(SledError::Url(format!("the sled URL {url} names no directory")).into());
    }
    let mut options = SledOptions::default();
    for param in params.into_iter().flat_map(|p| p.split('&')) {
        match param.split_once('=') {
            Some(("cache_mb", mb)) => {
                options.cache_capacity = mb
                    .parse::<u64>()
                    .ok()
                    .filter(|&mb| mb > 0)
                    .and_then(|mb| mb.checked_mul(1 << 20))
                    .ok_or_else(|| {
                        SledError::Url(format!(
                            "cache_mb in the sled URL {url} must be a positive number of MiB, got {mb:?}"
                        ))
                    })?;
            }
            _ => {
                return Err(SledError::Url(format!(
                    "unknown parameter {param:?} in the sled URL {url} (known: cache_mb=N)"
                ))
                .into());
            }
        }
    }
    Ok((PathBuf::from(path), options))
}

#[cfg(test)]
mod tests {
    use task_store::ErrorKind;

    use super::*;

    #[test]
    fn parse_url_paths_and_defaults() {
        assert_eq!(
            parse_url("sled:///tmp/x").unwrap(),
            (PathBuf::from("/tmp/x"), SledOptions::default())
        );
        assert_eq!(
            parse_url("sled://rel/db").unwrap().0,
            PathBuf::from("rel/db")
        );
    }

    #[test]
    fn parse_url_reads_cache_mb() {
        let (path, options) = parse_url("sled:///tmp/x?cache_mb=256").unwrap();
        assert_eq!(path, PathBuf::from("/tmp/x"));
        assert_eq!(options.cache_capacity, 256 << 20);
    }

    #[test]
    fn parse_url_rejects_bad_urls_and_parameters() {
        for bad in [
            "sled://",
            "sqlite://x",
            "/tmp/x",
            "sled://?cache_mb=1",
            "sled:///x?cache_mb=0",
            "sled:///x?cache_mb=-1",
            "sled:///x?cache_mb=lots",
            "sled:///x?cache_mb=99999999999999999",
            "sled:///x?cache=1",
            "sled:///x?",
        ] {
            assert_eq!(
                parse_url(bad).unwrap_err().kind(),
                ErrorKind::Config,
                "{bad}"
            );
        }
    }
}
