//! # task-store-mongo: the MongoDB backend of taskpool
//!
//! [`MongoStore`] keeps task pools in a MongoDB database so that workers on
//! many machines share one pool. It implements [`task_store::TaskStore`] with
//! exactly the semantics of the reference [`MemoryStore`](task_store::MemoryStore)
//! (the shared conformance suite checks this against a real MongoDB-wire
//! server).
//!
//! ```no_run
//! # async fn demo() -> task_store::Result<()> {
//! use std::sync::Arc;
//! let store = task_store_mongo::MongoStore::from_url(
//!     "mongodb://alice:secret@db1,db2/research?replicaSet=rs0",
//!     Arc::new(task_store::SystemClock),
//! )
//! .await?;
//! assert_eq!(store.to_string(), "mongodb://alice:***@db1,db2/research?replicaSet=rs0");
//! # Ok(()) }
//! ```
//!
//! ## Layout
//!
//! - The database is the URL's path (`mongodb://host/research`), or
//!   [`DEFAULT_DATABASE`]. Pool `P` is the collection `tasks.P`
//!   ([`POOL_COLLECTION_PREFIX`]); other kinds of data (records, artifacts,
//!   GridFS buckets) get other prefixes in the same database.
//! - A task is one document (see the `record` module): `_id` is the task
//!   id as an ObjectId (ids are made client-side, so `_id` order is creation
//!   order), times are BSON dates in milliseconds, and `def`/`filter`/`res` are
//!   BSON converted exactly from JSON (integers as `Int64`, floats as
//!   `Double`; keys MongoDB refuses are escaped, nested arrays wrapped: see
//!   the `json` module).
//! - Opening a pool for writing creates, once per pool per process, the
//!   indexes `{status: 1, priority: -1, _id: 1}` (claim), unique `{key: 1}`
//!   (create) and `{"lease.expires_at": 1}` (expired leases).
//!
//! ## Operations
//!
//! - `create`: one unordered `insert_many` per batch; keys that already exist
//!   fail with a duplicate-key error and are resolved to the existing tasks
//!   with one `find`. The unique index makes concurrent creators race-free.
//! - `claim`: expired leases with no attempts left are failed first, then one
//!   `find_one_and_update` per task (sorted by priority then `_id`, returning
//!   the updated document); see the `claim` module for the bounded loop.
//! - `heartbeat`, `commit`, `return_task`: writes filtered on `_id`,
//!   `status: running` and `lease.token`, so a stale worker changes nothing.
//! - `stat`: one `aggregate` (`$match`, `$group` by status).
//! - `query`, `remove`, `reset_status`, `prioritize`: the query is translated
//!   to a MongoDB filter that matches exactly what
//!   [`Query::matches`](task_store::Query::matches) matches (MongoDB reaches
//!   into arrays and treats null and missing fields differently; the `translate`
//!   module explains how the translation closes each gap).
//!
//! ## Errors and secrets
//!
//! No server within the timeout ([`DEFAULT_TIMEOUT`], or the URL's
//! `serverSelectionTimeoutMS`, or [`OpenOptions::timeout`]) is
//! [`ErrorKind::Unavailable`](task_store::ErrorKind::Unavailable); a bad URL,
//! database or pool name is `Config`; a document over 16 MiB
//! ([`MAX_DOCUMENT_BYTES`]) is `InvalidInput` with its size. `Display`,
//! `Debug`, error messages and logs show the URL with its password replaced
//! by `***`, and driver messages are scrubbed of the password.
//!
//! ## Test server
//!
//! CI runs the conformance suite against FerretDB v1 (SQLite handler), built
//! by `ci/ferretdb/start.sh`. FerretDB's `findAndModify` is not atomic under
//! concurrent writers, so the concurrency cases run only when
//! `TASKPOOL_TEST_MONGODB_REAL=1` says the server is a real MongoDB.

mod claim;
mod create;
mod error;
mod json;
mod lease;
mod manage;
mod open;
pub mod qlib_import;
mod record;
mod redact;
mod store;
mod task_store_impl;
mod translate;

pub use open::{DEFAULT_DATABASE, DEFAULT_TIMEOUT, OpenOptions, URL_SCHEMES};
pub use record::MAX_DOCUMENT_BYTES;
pub use redact::redact_url;
pub use store::{MongoStore, POOL_COLLECTION_PREFIX};
