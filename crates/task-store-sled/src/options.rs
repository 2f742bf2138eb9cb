//! [`SledOptions`]: how a database is opened, from the caller and from the
//! URL's query (`sled://PATH?cache_mb=N`).

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

/// How [`SledStore::open`](crate::SledStore::open) opens a database.
///
/// Each field left `None` is taken from the URL's query, or else from its
/// default; a field set here overrides the URL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SledOptions {
    /// The capacity of sled's page cache, in bytes. `None`: the URL's
    /// `cache_mb=N` (in MiB), or [`DEFAULT_CACHE_MB`] MiB.
    pub cache_capacity: Option<u64>,
}

impl SledOptions {
    /// These options completed from `query` (the part of `url` after `?`,
    /// if any): a field set by the caller stays, a field left `None` takes
    /// the query's value.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](task_store::ErrorKind::Config) for an unknown
    /// parameter or a bad value, naming it and the URL.
    pub(crate) fn with_query(self, query: Option<&str>, url: &str) -> Result<SledOptions> {
        let mut from_url = SledOptions::default();
        for param in query.into_iter().flat_map(|q| q.split('&')) {
            match param.split_once('=') {
                Some(("cache_mb", mb)) => {
                    from_url.cache_capacity = Some(
                        mb.parse::<u64>()
                            .ok()
                            .filter(|&mb| mb > 0)
                            .and_then(|mb| mb.checked_mul(1 << 20))
                            .ok_or_else(|| {
                                SledError::Url(format!(
                                    "cache_mb in the sled URL {url} must be a positive number of MiB, got {mb:?}"
                                ))
                            })?,
                    );
                }
                _ => {
                    return Err(SledError::Url(format!(
                        "unknown parameter {param:?} in the sled URL {url} (known: cache_mb=N)"
                    ))
                    .into());
                }
            }
        }
        Ok(SledOptions {
            cache_capacity: self.cache_capacity.or(from_url.cache_capacity),
        })
    }

    /// The page cache capacity in bytes these options choose.
    pub(crate) fn cache_bytes(&self) -> u64 {
        self.cache_capacity.unwrap_or(DEFAULT_CACHE_MB << 20)
    }
}

#[cfg(test)]
mod tests {
    use task_store::ErrorKind;

    use super::*;

    fn from_query(query: &str) -> Result<SledOptions> {
        SledOptions::default().with_query(Some(query), "sled:///x")
    }

    #[test]
    fn with_query_reads_cache_mb() {
        assert_eq!(from_query("cache_mb=256").unwrap().cache_bytes(), 256 << 20);
        assert_eq!(
            SledOptions::default()
                .with_query(None, "sled:///x")
                .unwrap()
                .cache_bytes(),
            DEFAULT_CACHE_MB << 20
        );
    }

    #[test]
    fn with_query_keeps_what_the_caller_set() {
        let options = SledOptions {
            cache_capacity: Some(1 << 20),
        };
        assert_eq!(
            options
                .with_query(Some("cache_mb=256"), "sled:///x")
                .unwrap()
                .cache_bytes(),
            1 << 20
        );
    }

    #[test]
    fn with_query_rejects_bad_parameters() {
        for bad in [
            "cache_mb=0",
            "cache_mb=-1",
            "cache_mb=lots",
            "cache_mb=99999999999999999",
            "cache=1",
            "",
        ] {
            assert_eq!(
                from_query(bad).unwrap_err().kind(),
                ErrorKind::Config,
                "{bad}"
            );
        }
    }
}
