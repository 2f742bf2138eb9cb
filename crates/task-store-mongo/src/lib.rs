//! # task-store-mongo: the MongoDB backend of taskpool
//!
//! [`MongoStore`] keeps task pools, records and artifacts in a MongoDB
//! database so that workers on many machines share them and a cluster needs
//! nothing but MongoDB. It implements [`task_store::TaskBackend`] and
//! [`task_store::RecordBackend`] (so it is a [`task_store::TaskStore`] and a
//! [`task_store::RecordStore`], whose blanket impls validate every argument) with exactly the semantics of the reference
//! [`MemoryStore`](task_store::MemoryStore) (the shared conformance suites
//! check this against a real MongoDB-wire server).
//!
//! ```no_run
//! # async fn demo() -> task_store::Result<()> {
//! use std::sync::Arc;
//! let store = task_store_mongo::MongoStore::open(
//!     "mongodb://alice:secret@db1,db2/research?replicaSet=rs0",
//!     Arc::new(task_store::SystemClock),
//!     task_store_mongo::MongoOptions::default(),
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
//!   ([`POOL_COLLECTION_PREFIX`]); records and artifacts use other names in
//!   the same database (below), so listing pools never confuses them.
//! - A task is one document (see the `codec` module): `_id` is the task
//!   id as an ObjectId (ids are made client-side, so `_id` order is creation
//!   order), times are BSON dates in milliseconds, and `def`/`filter`/`res` are
//!   BSON converted exactly from JSON (integers as `Int64`, floats as
//!   `Double`; keys MongoDB refuses are escaped, nested arrays wrapped: see
//!   the `codec::value` module). `filter` is stored only when it differs
//!   from `def` (Qlib stored every task twice); a query on `filter.<path>`
//!   reads `def` for a task without one.
//! - Every create into a pool first creates the pool's indexes that are
//!   missing (`{status: 1, priority: -1, _id: 1}` for claims, unique
//!   `{key: 1}` for race-free create, `{"lease.expires_at": 1}` for expired
//!   leases, and one per query order): `listIndexes`, then `createIndexes`
//!   for what is missing. It checks at every create, not once, because
//!   another process may have dropped the pool since, and a re-created
//!   collection without the unique key would silently stop dedupe. A store
//!   checks one collection at a time (FerretDB v1 drops the connection when
//!   one command names several existing indexes; see the `indexes` module).
//! - Records of every experiment live in the collection [`RECORD_COLLECTION`],
//!   one document per version of a record; artifact bytes are GridFS files
//!   in the bucket [`ARTIFACT_BUCKET`] (`artifacts.files`,
//!   `artifacts.chunks`), so an artifact may be far larger than 16 MiB. See
//!   the `records` module.
//!
//! ## Operations
//!
//! - `create`: one unordered `insert_many` per batch; keys that already exist
//!   fail with a duplicate-key error and are resolved to the existing tasks
//!   with one `find`. The unique index makes concurrent creators race-free.
//! - `claim`: the ids of the best claimable tasks (sorted by priority then
//!   `_id`) are read once per [`MongoOptions::claim_batch`] tasks, and each
//!   is claimed by one `find_one_and_update` on its `_id` whose filter
//!   re-checks everything the claim requires (status or an expired lease from
//!   the claim's status, the query), so a candidate another process took is
//!   skipped. Another process's new tasks and priority changes are seen up to
//!   [`MongoOptions::claim_batch_max_age`] (default 1 s) late; this store's
//!   own at once. Expired tasks with no attempts left are failed by a sweep
//!   each store runs at most every [`MongoOptions::sweep_interval`] per pool.
//!   A worker's steady state is two round trips per task (the claim and the
//!   commit) plus one read per batch. See the `claim` and `candidates`
//!   modules.
//! - Optional lookup indexes ([`MongoOptions::lookup_indexes`], URL
//!   `lookupIndexes=true`, off by default): unique `{_id, status}` and
//!   `{_id, status, lease.token}`, whose keys are exactly those of the claim
//!   of a free candidate and of the lease-fenced writes. mongo-java-server
//!   uses an index only for such an exact match, so with them it looks those
//!   tasks up instead of scanning the pool; MongoDB serves the same filters
//!   from the `_id` index and would only pay their writes. See the `indexes`
//!   module.
//! - Lease times are on the server's clock: the store measures the offset of
//!   its clock from the server's and callers still see their own clock (see
//!   the `server_time` module and the crate README for the tolerance).
//! - `heartbeat`, `commit`, `return_task`: writes filtered on `_id`,
//!   `status: running` and `lease.token`, so a stale worker changes nothing.
//! - `stat`: one `aggregate` (`$match`, `$group` by status).
//! - record changes (create, update, delete, artifact references): each
//!   inserts the record's next version under a unique index, a
//!   compare-and-swap that needs neither transactions nor atomic updates,
//!   so concurrent updates are never lost, on FerretDB too. Superseded
//!   versions are emptied, not deleted, so their numbers stay taken.
//! - artifacts: the new file is written first, then the record version that
//!   points at it, then the replaced file is deleted; a reader whose file
//!   vanishes re-reads the record, so no one sees a half-written artifact.
//! - `query`, `remove`, `reset_status`, `prioritize`: the query is translated
//!   to a MongoDB filter that matches exactly what
//!   [`Query::matches`](task_store::Query::matches) matches (MongoDB reaches
//!   into arrays and treats null and missing fields differently; the `translate`
//!   module explains how the translation closes each gap).
//!
//! ## Errors and secrets
//!
//! No server within the timeout ([`DEFAULT_TIMEOUT`], or the URL's
//! `serverSelectionTimeoutMS`, or [`MongoOptions::timeout`]) is
//! [`ErrorKind::Unavailable`](task_store::ErrorKind::Unavailable); a bad URL,
//! database or pool name is `Config`; a document over 16 MiB
//! ([`MAX_DOCUMENT_BYTES`]) is `InvalidInput` with its size. `Display`,
//! `Debug`, error messages and logs show the URL with its password replaced
//! by `***`, and driver messages are scrubbed of the password.
//!
//! ## Closing
//!
//! The driver's client is bound to the tokio runtime that opened the store:
//! its monitoring and connection-pool tasks run there. Call
//! [`TaskStore::close`](task_store::TaskStore::close) before that runtime
//! stops (at the end of the `block_on` or `main` that used the store): it
//! ends the client's server sessions and stops its tasks while the runtime
//! still runs them. A store dropped unclosed leaves this to the driver's
//! background task, which a multi-thread runtime's shutdown right after the
//! drop can cut short, and the driver then prints a panic from it (the
//! tests close every store for this reason; a store dropped while its
//! runtime keeps running is cleaned up fine).
//!
//! ## Test server
//!
//! CI runs the whole suite twice: against FerretDB v1 (SQLite handler, built
//! by `ci/ferretdb/start.sh`) and against mongo-java-server (in memory, atomic
//! per document, `ci/mongo-java-server/start.sh`).
//! `TASKPOOL_TEST_MONGODB_SERVER` names the server, and the cases a server
//! cannot run because it deviates from MongoDB's documented behaviour are
//! gated on that server only (listed with the rule and the behaviour in the
//! crate README): on FerretDB, whose `findAndModify` is not atomic, the
//! concurrency cases.

//! ## Files
//!
//! `options` ([`MongoOptions`]), `open` (URL parsing, connecting,
//! [`MongoStore::open`]), `store` (the struct and the `TaskBackend` impl),
//! `create`, `claim`, `candidates` (the batch claim's candidate lists),
//! `lease` (heartbeat, commit, return), `read` (get,
//! query, stat, pools), `admin` (remove, reset, prioritize, replace, drop),
//! `records` (the `RecordBackend` impl), `artifacts`, `codec` (the task
//! document, the JSON ⇄ BSON value codec, the typed field reader),
//! `translate` (the query as a filter), `error` (`MongoError`), `indexes`,
//! `server_time` (lease times on the server's clock),
//! and the public [`qlib_import`] (reading a Qlib pool).

mod admin;
mod artifacts;
mod candidates;
mod claim;
mod codec;
mod create;
mod error;
mod indexes;
mod lease;
mod open;
mod options;
pub mod qlib_import;
mod read;
mod records;
mod server_time;
mod store;
mod translate;

pub use artifacts::ARTIFACT_BUCKET;
pub use claim::DEFAULT_SWEEP_INTERVAL;
pub use codec::MAX_DOCUMENT_BYTES;
pub use open::URL_SCHEMES;
pub use options::{
    DEFAULT_CLAIM_BATCH, DEFAULT_CLAIM_BATCH_MAX_AGE, DEFAULT_CLOCK_REFRESH, DEFAULT_DATABASE,
    DEFAULT_TIMEOUT, MongoOptions,
};
pub use records::RECORD_COLLECTION;
pub use store::{MongoStore, POOL_COLLECTION_PREFIX};
pub use task_store::redact_url;
