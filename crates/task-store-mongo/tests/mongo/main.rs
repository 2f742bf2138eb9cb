//! The MongoDB backend's tests, in one binary: the shared conformance suites
//! (tasks and records), the batch claim, closing a store, the storage layout,
//! `explain` of the hot queries, GridFS artifacts, record versions, errors
//! and secrets, and the randomised query translation, each test in its own
//! database on the server `support` finds.

mod artifacts;
mod batch_claim;
mod closing;
mod conformance;
mod errors;
mod explain;
mod record_versions;
mod records;
mod server_clock;
mod storage;
mod support;
mod translation_fuzz;
