//! # task-store-sqlite: the SQLite backend of taskpool
//!
//! [`SqliteStore`] keeps task pools in one SQLite file (bundled SQLite, WAL
//! mode), shared safely by many processes on one machine. It implements
//! [`task_store::TaskStore`] and [`task_store::RecordStore`] with exactly the
//! MemoryStore's semantics, checked by the shared conformance suites.
//!
//! ## URLs
//!
//! `sqlite://PATH` opens (creating if needed) a file: `sqlite://taskpool.db`
//! is relative to the working directory, `sqlite:///var/lib/tp.db` absolute.
//! The path is taken literally (no percent-decoding, no query string).
//! `sqlite://:memory:` is a private in-memory database, one per store and gone
//! with it (for tests). [`SqliteStore::open`]`(url, clock, options)` is the
//! one way to open a store; it is `async` and never blocks the caller.
//!
//! ## Layout
//!
//! The same concern has the same file name in every taskpool backend:
//! `options.rs` ([`SqliteOptions`]), `open.rs` (URL parsing and opening),
//! `store.rs` (the store and its [`task_store::TaskBackend`] impl, which
//! dispatches to `create.rs`, `claim.rs`, `lease.rs` (heartbeat, commit,
//! return), `read.rs` (get, query, stat, pools) and `admin.rs` (remove,
//! reset_status, prioritize, replace, drop_pool)), `records.rs` (the
//! [`task_store::RecordBackend`] impl) and `artifacts.rs`, `codec.rs` (task
//! and record rows), `translate/` (the core `Query` as SQL) and `error.rs`
//! (the private error and its one conversion into `task_store::Error`).
//! SQLite's own: `schema.rs` (migrations) and `connection.rs` (the
//! connection thread).
//!
//! ## Design
//!
//! *Threading.* A `rusqlite::Connection` is `Send` but not `Sync`, so each
//! store owns one connection behind a mutex, and a dedicated connection
//! thread. A short write (claim, heartbeat, commit, return, replace, a
//! create of at most 64 tasks, record create and update) runs on the
//! caller's thread when nothing is queued for the thread, the mutex is free
//! and so is SQLite's write lock, as a raw rusqlite call would: one worker
//! committing one task at a time pays no cross-thread wake-up. The short
//! writes in flight at the same time (pending) usually run together, as one
//! group (after a long run of lone writes a caller stops yielding to wait
//! for others, and one write in 16 probes for them again: see
//! `connection`),
//! on whichever caller finds the connection free, or on the connection
//! thread when it holds the connection or another connection holds the
//! write lock. Reads and large or bulk writes run on the connection thread;
//! async callers waiting for another thread await a oneshot reply. A
//! caller's thread never waits for a lock, only for a group of short SQL. Processes (or several
//! stores in one process) coordinate through SQLite's file locks: every
//! multi-statement write is a `BEGIN IMMEDIATE` transaction, and on the
//! connection thread a busy database is retried for the busy timeout (5 s by
//! default, [`SqliteOptions`]) before failing with `Unavailable`.
//!
//! *Group commit.* The short writes pending together, or queued together on
//! the connection thread (with large creates), up to 64, share one
//! `BEGIN IMMEDIATE` transaction, each under its own `SAVEPOINT`: a write
//! that fails (or panics) is rolled back alone, the others commit. Callers
//! are answered only after `COMMIT` returns; if it fails, every write of the
//! group gets its error and none is written. Concurrent commits of many
//! tasks thus cost one transaction (one WAL append) instead of one each,
//! whichever thread runs them. Reads and large or bulk writes (artifacts,
//! record and pool deletion, remove, reset_status, prioritize) run alone on
//! the connection thread.
//!
//! *Schema.* Versioned migrations (`PRAGMA user_version`, with
//! `PRAGMA application_id` marking the file as a taskpool store). A `pools`
//! table records pools from their first create until `drop_pool`; a `tasks`
//! table has a column per indexed or updated field (times in milliseconds)
//! and JSON text for `def`, `filter`, `res` and `errors`. A unique index on
//! `(pool, key)` makes create race-free; `(pool, status, priority DESC, id)`
//! serves claims, `(pool, status, lease_expires_at)` expired leases. A
//! `task_counts` table (schema version 3) holds each pool's number of tasks
//! per status, kept by triggers on `tasks` in the same statement as every
//! insert, delete and status change, so `stat` of a whole pool reads at most
//! five rows; `stat` with a query counts with a `GROUP BY`.
//!
//! *Statements.* Create inserts a batch (all or nothing) with
//! `INSERT … ON CONFLICT (pool, key) DO NOTHING`. Claim is one
//! `UPDATE … WHERE rowid IN (SELECT … ORDER BY priority DESC, id LIMIT n)
//! RETURNING …` with a fresh `randomblob` token per row. Heartbeat, commit
//! and return are single updates guarded by the lease token. Queries are
//! compiled to SQL over `json_type`/`json_extract` with bound parameters
//! (see the `translate` module for how each rule of the query language
//! maps). All statements go through the prepared-statement cache.
//!
//! *Refusing bad files.* Before writing anything, opening checks that the
//! path is a writable file in a writable directory, that the file is a
//! SQLite database that is empty or a taskpool store, and that its schema
//! is not newer than this build; otherwise it fails with `Config` and leaves
//! the file as it was.
//!
//! ## Records and artifacts
//!
//! [`SqliteStore`] is also a [`task_store::RecordStore`], in the same file as
//! the tasks (since schema version 2; older files are upgraded in place
//! when opened). A `records` table is unique by `(experiment, id)` and has columns
//! for what a `RecordFilter` selects on (status, task id, an index on
//! `(experiment, task_id, id)`; required tags are matched exactly with
//! `json_each` over the tags object) and JSON text for the definition,
//! parameters, metrics and tags. Artifacts have a row each in `artifacts`
//! (record, name, length) and their bytes in `artifact_chunks` rows of at
//! most 1 MiB, so an artifact of any size up to the core's limit is stored
//! without one row or statement holding all of it. A put writes all chunks in
//! one transaction; deleting a record deletes its artifacts in the same
//! transaction; updates read, apply the core's rule and write back inside one
//! `BEGIN IMMEDIATE` transaction, so concurrent updates from any process are
//! never lost. Checkpoints (every 1000 WAL pages, as SQLite's automatic one)
//! run on a thread of the store's own, so no commit waits for one. The WAL
//! file is truncated back to 8 MiB after a checkpoint
//! (`journal_size_limit`), so a large artifact does not leave a WAL of its
//! size beside the database; pages freed by deleted artifacts are reused by
//! later writes (the file itself does not shrink without `VACUUM`).

mod admin;
mod artifacts;
mod checkpoint;
mod claim;
mod codec;
mod connection;
mod create;
mod error;
mod lease;
mod open;
mod options;
#[cfg(test)]
mod query_plan;
mod read;
mod records;
mod schema;
mod store;
mod translate;

pub use open::{MEMORY_URL, URL_SCHEMES};
pub use options::{Durability, SqliteOptions};
pub use store::SqliteStore;
