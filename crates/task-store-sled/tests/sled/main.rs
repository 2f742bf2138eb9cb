//! The sled backend's integration tests, in one binary (link time dominates
//! a test run): the shared conformance suites (one named test per case), and
//! the sled-specific tests: artifacts in chunks, concurrency, task counts,
//! crash safety under `SIGKILL` (the child processes are this binary again),
//! the on-disk format, the integrity check, the directory lock and query
//! ranges.

mod artifacts;
mod concurrency;
mod conformance;
mod counts;
mod crash;
mod format;
mod integrity;
mod lock;
mod query_range;
mod records;
mod support;
