//! # task-store-sled: the sled backend of taskpool
//!
//! [`SledStore`] keeps task pools, and the records and artifacts of
//! experiments, in an embedded [sled] 0.34 database (`sled://PATH`, a
//! directory): one process, many threads. It implements
//! [`task_store::TaskBackend`] by applying the pure lifecycle functions of
//! [`task_store::transition`] to decoded tasks, and
//! [`task_store::RecordBackend`] through the pure functions of
//! [`task_store::record`], so its semantics are the MemoryStore's. The core's
//! blanket impls validate every argument before an operation gets here.
//!
//! ## Files
//!
//! The same concern has the same file name in every backend crate:
//! `options.rs` ([`SledOptions`]), `open.rs` ([`SledStore::open`], the URL,
//! [`URL_SCHEMES`]), `store.rs` (the struct and the `TaskBackend` impl, which
//! queues claims and lease writes for the batch writer and sends every other
//! operation to a blocking thread), `create.rs`, `claim.rs`,
//! `lease.rs` (heartbeat, commit, return), `read.rs` (get, query, stat,
//! pools), `admin.rs` (remove, reset_status, prioritize, replace,
//! drop_pool), `records/` (the `RecordBackend` impl and record operations),
//! `artifacts.rs`, [`codec`] (stored values), `error.rs` (the private error
//! enum and its one conversion into [`task_store::Error`]). sled-specific:
//! [`layout`] (trees and keys), `tx.rs` (transactions and index upkeep),
//! `counts.rs` (per-pool counts), `id_range.rs` (the id range of a query),
//! `integrity.rs` ([`SledStore::check_integrity`]), `lock.rs` (one process
//! per database), `batch/` (claims and lease writes applied in batches),
//! `flush.rs` (group sync).
//!
//! ## Layout
//!
//! Six trees hold the tasks (see [`layout`]): the tasks by (pool, id); a claim index by (pool, status, priority descending, id); the
//! unique content-key index (pool, key) → id; an expiry index (pool, lease
//! end, id) of `running` tasks; the pool names; and each pool's task counts
//! by status. Tasks are stored as postcard with a leading format-version
//! byte (see [`codec`]); an unknown version is a
//! [`Config`](task_store::ErrorKind::Config) error. The database carries a
//! layout version ([`layout::LAYOUT_VERSION`]); one written before counts
//! were kept has none, and opening it counts its claim index once and writes
//! the counts. Once upgraded, a database must not be written by an older
//! build: its writes would not update the counts (the integrity check would
//! report them).
//!
//! Records and artifacts have three more trees: the records by
//! (experiment, id), each record's artifact directory (name → length and
//! chunk count), and the artifact bytes by (experiment, record, name, chunk
//! index) in chunks of at most 1 MiB ([`layout::CHUNK_LEN`]), so a 512 MiB
//! artifact is 512 values rather than one that sled would have to hold, log
//! and rewrite whole. Records and directories are versioned like tasks.
//!
//! ## Transactions
//!
//! Every task write runs inside one sled transaction over the six task trees
//! that re-reads the tasks it changes, applies the transition, and rewrites
//! the task, all its index entries and its pool's counts together (claims
//! and lease writes share one transaction per batch, see *Batched writes*). sled 0.34
//! runs transactions under a process-wide write lock and seals each one as a
//! single batch in its log, so concurrent claims never hand a task to two
//! leases, and a crash never leaves an index or a count disagreeing with a
//! task
//! ([`SledStore::check_integrity`] verifies this). Because transactions never
//! run concurrently, the one counts value per pool that every claim and
//! commit rewrites costs no conflicts; each transaction adds up its changes
//! and writes each pool's counts once.
//!
//! A claim never scans the pool: it walks the expiry index up to now (reaping
//! expired leases with no attempts left, collecting the others) and the claim
//! index under (pool, from) in priority order, merges both by (priority desc,
//! id), evaluates the query on the decoded candidates, and claims the first
//! `n` in the batch's transaction, which re-checks each of them. Claims of
//! one batch plan one after the other and pass over what the claims before
//! them took (a claim of every task also moves a cursor, so the next one's
//! walk starts after the entries already taken). `stat` of a whole pool
//! (or of a query on status alone) is one read of the pool's counts.
//!
//! `query` and `stat` walk only the tasks in the query's `_id` range (the
//! bounds of `_id` conditions at the top level or in top-level ANDs), so a
//! keyset page (`_id > last`) costs the page, not its position in the pool.
//!
//! Operations that select tasks by query (remove, reset_status, prioritize,
//! drop_pool) scan the pool and then write in transactions of at most 1024
//! tasks, holding a store-wide lock exclusively so that nothing changes in
//! between; a crash in the middle of one leaves a prefix of its chunks applied
//! (it was never acknowledged), each chunk whole.
//!
//! Every record and artifact operation (reads of artifacts included) is one
//! transaction over the three record trees. A put writes all chunks, removes
//! the surplus chunks of a longer artifact it replaces and updates the
//! directory together; a delete of a record removes its directory and every
//! chunk with it. A reader never sees an artifact half replaced, concurrent
//! `update_record` calls each re-read the record, and after a crash an
//! artifact is whole or absent: there are no partial artifacts to hide or
//! clean up. The cost: a put or get of a large artifact holds sled's
//! process-wide transaction lock while it copies the bytes (measured: 512
//! MiB put in about 7 s, get in about 2 s, release build), and other writers
//! wait.
//!
//! ## Durability
//!
//! A write is acknowledged only after a `Db::flush` and an `fdatasync` of
//! sled's log file that started after the write was applied. The second call matters: on Linux sled 0.34 makes its
//! log writes stable with `sync_file_range`, which neither records the file's
//! new size nor flushes the disk's write cache, so a power loss could lose
//! writes that `flush` reported stable. (Values above about 128 KiB go to
//! sled's blob files, which sled writes without syncing; this backend does
//! not sync them either, so only a process crash, not a power loss, is
//! covered for values that large. Artifact chunks are that large, so for
//! artifacts the guarantee is the process-crash one, which the `SIGKILL`
//! test checks.) All sled calls run on tokio's blocking
//! threads.
//!
//! Writers share those syncs (group sync, `flush.rs`): a writer that
//! finishes its transaction while a sync runs joins the next batch, and one
//! sync then acknowledges the whole batch. A lone writer syncs at once.
//!
//! ## Batched writes
//!
//! Claims, heartbeats, commits and returns, the writes of every worker's
//! loop, go further (`batch/`): they wait in one queue, and one writer (a
//! blocking thread started by the first write queued while none runs, and
//! stopping when the queue is empty) applies every queued write, up to 1024,
//! in one sled transaction, in queue order, then asks for one sync that
//! starts after it, then answers each caller. The callers await a oneshot
//! and hold no thread while they wait; writes that arrive while a batch runs
//! form the next one. So with several workers, or a worker whose commits are
//! in flight together, a batch of B writes pays one transaction's fixed cost
//! and one sync (about 0.3 ms) instead of B of each. Each write keeps its own
//! outcome: a stale lease or a missing task fails that write alone, before it
//! writes anything; a write that fails after writing (a task that does not
//! decode in the middle of a claim) aborts the transaction, which runs again
//! without it. A storage error of the transaction or a failed sync fails the
//! whole batch (each of its writes may or may not be on disk). Nothing is
//! answered before its sync has ended, so the promise is the one above. The
//! writer answers a batch only after letting go of the store, so a caller
//! that drops its last handle once answered can open the directory again at
//! once.
//!
//! ## Memory
//!
//! sled keeps the pages it reads in a cache, 1 GiB by default in sled 0.34,
//! and only evicts when the cache is full, so a process that walks a large
//! database stays large. This store sets it to [`DEFAULT_CACHE_MB`] MiB;
//! `sled://PATH?cache_mb=N` (or [`SledOptions::cache_capacity`]) chooses
//! another size.
//!
//! ## One process per database
//!
//! sled allows one process per database. [`SledStore::open`] first takes an
//! exclusive non-blocking lock on `PATH/taskpool.lock`; a second opener, in
//! another process or this one, fails at once with
//! [`Unavailable`](task_store::ErrorKind::Unavailable) naming the path.
//!
//! ## Comparing with raw sled
//!
//! [`layout`], [`codec`] and the re-exported [`sled`] let a benchmark do the
//! same work with raw sled calls. A claim→commit pair here is: one
//! transaction that reads the task, rewrites it and moves its claim-index
//! entry and adds an expiry entry, then a flush; one transaction that reads
//! and rewrites the task, moves the claim-index entry and drops the expiry
//! entry, then a flush (each flush also `fdatasync`s the log file). Planning a
//! claim adds a range walk of the expiry index and a prefix walk of the claim
//! index.

mod admin;
mod artifacts;
mod batch;
mod claim;
pub mod codec;
mod counts;
mod create;
mod error;
mod flush;
mod id_range;
mod integrity;
pub mod layout;
mod lease;
mod lock;
mod open;
mod options;
mod read;
mod records;
mod store;
mod tx;

pub use integrity::IntegrityReport;
pub use lock::LOCK_FILE_NAME;
pub use open::URL_SCHEMES;
pub use options::{DEFAULT_CACHE_MB, SledOptions};
/// The sled version this backend is built on, for raw-sled baselines and tools.
pub use sled;
pub use store::SledStore;
