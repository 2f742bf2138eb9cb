//! The SQLite backend's integration tests, in one binary (link time
//! dominates): the shared conformance suites, then what they cannot see
//! (files, migrations, counts, group commit, several processes).

mod artifacts;
mod conformance;
mod counts;
mod documents;
mod group_commit;
mod migration;
mod open;
mod processes;
mod records;
mod support;
