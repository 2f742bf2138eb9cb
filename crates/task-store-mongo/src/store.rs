//! [`MongoStore`]: the struct, its redacted `Display`/`Debug`, shared
//! helpers, and the [`TaskBackend`] impl that dispatches each operation to
//! the module named for it (`create`, `claim`, `lease`, `read`, `admin`).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use futures::lock::Mutex;
use mongodb::bson::{Document, RawDocumentBuf, doc};
use mongodb::gridfs::GridFsBucket;
use mongodb::{Client, Collection, Database};
use task_store::redact::Secrets;
use task_store::{
    Capabilities, ClaimParams, CommitParams, CreateParams, Created, Error, HeartbeatParams, Query,
    QueryParams, ReplaceParams, ResetParams, Result, ReturnParams, SharedClock, Stat, Status, Task,
    TaskBackend, TaskId, Timestamp, validate_pool_name,
};

use crate::candidates::Candidates;
use crate::codec::{oid, task_from_doc};
use crate::error::MongoError;
use crate::records::RECORD_COLLECTION;
use crate::server_time::ServerTime;

/// The prefix of every task-pool collection: pool `P` lives in `tasks.P`.
///
/// Records ([`RECORD_COLLECTION`](crate::RECORD_COLLECTION)) and artifacts
/// (the GridFS bucket [`ARTIFACT_BUCKET`](crate::ARTIFACT_BUCKET)) live in
/// the same database under other names, so listing pools never confuses
/// them with tasks.
pub const POOL_COLLECTION_PREFIX: &str = "tasks.";

/// How long [`TaskStore::close`](task_store::TaskStore::close) waits for
/// operations in flight (which hold driver sessions) before it shuts the
/// client down without them: long enough for any answered operation, short
/// enough that a command exiting while an operation waits for an unreachable
/// server does not wait the whole server-selection timeout again.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// A task and record store in a MongoDB database: one collection per pool,
/// one for records, one GridFS bucket for artifacts.
///
/// See the [crate docs](crate) for the storage layout and how each operation
/// is made atomic.
pub struct MongoStore {
    /// The driver's client: its connection pool lives as long as the store,
    /// or until [`TaskStore::close`](task_store::TaskStore::close) shuts it down.
    pub(crate) client: Client,
    pub(crate) db: Database,
    pub(crate) shown_url: String,
    pub(crate) secrets: Secrets,
    /// The injected clock, for records (tasks use [`Self::now`]).
    pub(crate) clock: SharedClock,
    /// The injected clock moved onto the server's (lease times).
    pub(crate) time: ServerTime,
    /// The records collection once this store has checked or created its
    /// indexes (pools are checked at every create: see `indexes`). Held
    /// while checking or creating any collection's indexes, so a store does
    /// it one collection at a time, and the records collection once.
    pub(crate) ready: Mutex<HashSet<String>>,
    /// Pools this store has seen to exist.
    pub(crate) known: std::sync::Mutex<HashSet<String>>,
    /// When (server time) this store last swept each pool for expired
    /// exhausted tasks.
    pub(crate) swept: std::sync::Mutex<HashMap<String, Timestamp>>,
    /// How often, at most, to sweep a pool.
    pub(crate) sweep_interval: Duration,
    /// The candidate lists of the batch claim (see `candidates`).
    pub(crate) candidates: Candidates,
    /// How many candidates a claim reads at once (1: no batch claim).
    pub(crate) claim_batch: usize,
    /// How long a candidate list is used at most.
    pub(crate) claim_batch_max_age: Duration,
    /// Whether pools get the lookup indexes (see `indexes`).
    pub(crate) lookup_indexes: bool,
    /// The GridFS bucket of artifact bytes.
    pub(crate) artifacts: GridFsBucket,
}

impl MongoStore {
    /// The name of the database holding the pools.
    pub fn database(&self) -> &str {
        self.db.name()
    }

    /// The current time on the server's clock (see `server_time`).
    pub(crate) async fn now(&self) -> Timestamp {
        self.time.now(&self.db, &self.secrets).await
    }

    /// A stored task, its times on the caller's clock.
    pub(crate) fn task(&self, d: &Document) -> Result<Task> {
        task_from_doc(d).map(|t| self.time.localize(t))
    }

    /// Whether `pool` exists (checked on the server once per store, until
    /// the store drops it).
    pub(crate) async fn pool_known(&self, pool: &str) -> Result<bool> {
        if self.lock_known().contains(pool) {
            return Ok(true);
        }
        let exists = self.pool_exists(pool).await?;
        if exists {
            self.lock_known().insert(pool.to_string());
        }
        Ok(exists)
    }

    /// Whether the pool's collection exists (`listCollections`; the name is
    /// checked here too, as mongo-java-server ignores the filter).
    pub(crate) async fn pool_exists(&self, pool: &str) -> Result<bool> {
        Ok(self
            .pool_names(Some(doc! {"name": collection_name(pool)}))
            .await?
            .iter()
            .any(|p| p == pool))
    }

    fn lock_known(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The collection of `pool`.
    pub(crate) fn pool(&self, pool: &str) -> Collection<Document> {
        self.db.collection(&collection_name(pool))
    }

    /// The same collection, for inserting encoded documents.
    pub(crate) fn raw_pool(&self, pool: &str) -> Collection<RawDocumentBuf> {
        self.db.collection(&collection_name(pool))
    }

    /// A converter of driver errors raised while doing `what`.
    pub(crate) fn err<'a>(&'a self, what: &'a str) -> impl Fn(mongodb::error::Error) -> Error + 'a {
        move |e| MongoError::driver(e, what, &self.secrets).into()
    }

    /// The collection of every experiment's records.
    pub(crate) fn records_collection(&self) -> Collection<Document> {
        self.db.collection(RECORD_COLLECTION)
    }

    /// The GridFS bucket of artifact bytes.
    pub(crate) fn artifact_bucket(&self) -> &GridFsBucket {
        &self.artifacts
    }

    /// Forget `pool` (it is being dropped).
    pub(crate) async fn forget_pool(&self, pool: &str) {
        self.lock_known().remove(pool);
    }

    /// The error for a fenced write that matched nothing: the task is gone
    /// (`NotFound`) or not held under this token (`LeaseLost`).
    pub(crate) async fn missing_or_lost(
        &self,
        coll: &Collection<Document>,
        pool: &str,
        id: TaskId,
    ) -> Error {
        match coll
            .find_one(doc! {"_id": oid(id)})
            .projection(doc! {"_id": 1})
            .await
        {
            Ok(None) => not_found(pool, id),
            Ok(Some(_)) => Error::lease_lost(format!(
                "task {id} in pool {pool:?} is no longer held by this lease"
            )),
            Err(e) => self.err("reading a task")(e),
        }
    }

    /// The names of the pools (collections with the pool prefix), sorted.
    pub(crate) async fn pool_names(&self, filter: Option<Document>) -> Result<Vec<String>> {
        let mut action = self.db.list_collection_names();
        if let Some(filter) = filter {
            action = action.filter(filter);
        }
        let mut names: Vec<String> = action
            .await
            .map_err(self.err("listing pools"))?
            .into_iter()
            .filter_map(|c| c.strip_prefix(POOL_COLLECTION_PREFIX).map(str::to_string))
            .filter(|p| validate_pool_name(p).is_ok())
            .collect();
        names.sort();
        Ok(names)
    }
}

/// The collection holding `pool`.
pub(crate) fn collection_name(pool: &str) -> String {
    format!("{POOL_COLLECTION_PREFIX}{pool}")
}

/// The error for a task that does not exist.
pub(crate) fn not_found(pool: &str, id: TaskId) -> Error {
    Error::not_found(format!("no task {id} in pool {pool:?}"))
}

impl fmt::Display for MongoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown_url)
    }
}

impl fmt::Debug for MongoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoStore")
            .field("url", &self.shown_url)
            .field("database", &self.db.name())
            .finish_non_exhaustive()
    }
}

/// Every write that can make a task claimable or change the claim order
/// drops the pool's candidate lists (`candidates`), so this store's next
/// claim reads the pool again; claims, heartbeats and commits to `done` keep
/// them.
#[async_trait]
impl TaskBackend for MongoStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::CLUSTER
    }

    async fn create(&self, pool: &str, params: CreateParams) -> Result<Vec<Created>> {
        let created = self.create_tasks(pool, params).await;
        self.candidates.forget(pool);
        created
    }

    async fn claim(&self, pool: &str, params: ClaimParams) -> Result<Vec<Task>> {
        self.claim_tasks(pool, params).await
    }

    async fn heartbeat(&self, pool: &str, params: HeartbeatParams) -> Result<Timestamp> {
        self.heartbeat_task(pool, params).await
    }

    async fn commit(&self, pool: &str, params: CommitParams) -> Result<()> {
        // Only a commit to `done` leaves nothing claimable behind.
        let requeues = params.status != Status::Done;
        let committed = self.commit_task(pool, params).await;
        if requeues {
            self.candidates.forget(pool);
        }
        committed
    }

    async fn return_task(&self, pool: &str, params: ReturnParams) -> Result<Status> {
        let returned = self.return_task_to(pool, params).await;
        self.candidates.forget(pool);
        returned
    }

    async fn get(&self, pool: &str, id: TaskId) -> Result<Task> {
        self.get_task(pool, id).await
    }

    async fn query(&self, pool: &str, params: QueryParams) -> Result<Vec<Task>> {
        self.query_tasks(pool, params).await
    }

    async fn stat(&self, pool: &str, query: &Query) -> Result<Stat> {
        self.stat_tasks(pool, query).await
    }

    async fn remove(&self, pool: &str, query: &Query) -> Result<u64> {
        let removed = self.remove_tasks(pool, query).await;
        self.candidates.forget(pool);
        removed
    }

    async fn reset_status(&self, pool: &str, params: ResetParams) -> Result<u64> {
        let reset = self.reset_tasks(pool, params).await;
        self.candidates.forget(pool);
        reset
    }

    async fn prioritize(&self, pool: &str, query: &Query, priority: i64) -> Result<u64> {
        let changed = self.prioritize_tasks(pool, query, priority).await;
        self.candidates.forget(pool);
        changed
    }

    async fn replace(&self, pool: &str, params: ReplaceParams) -> Result<Task> {
        let replaced = self.replace_task(pool, params).await;
        self.candidates.forget(pool);
        replaced
    }

    async fn pools(&self) -> Result<Vec<String>> {
        self.list_pools().await
    }

    async fn drop_pool(&self, pool: &str) -> Result<bool> {
        let dropped = self.drop_pool_named(pool).await;
        self.candidates.forget(pool);
        dropped
    }

    /// Shuts the driver's client down (`Client::shutdown`): it waits for the
    /// operations in flight (at most [`CLOSE_WAIT`], then it stops waiting),
    /// ends the server sessions the client pooled (`endSessions`), and stops
    /// its monitoring and connection-pool tasks. The driver's own clean-up
    /// when a client is dropped sends that `endSessions` from a background
    /// task instead; when the runtime shuts down right after the drop, that
    /// task can run while the shutdown has already dropped the
    /// connection-pool task, and the driver panics
    /// (`cmap/connection_requester.rs`, `SendError`). A shut-down client
    /// skips that clean-up when dropped. Later operations fail with the
    /// driver's `Shutdown` error (`Unavailable`).
    async fn close(&self) {
        let waited = tokio::time::timeout(CLOSE_WAIT, self.client.clone().shutdown()).await;
        if waited.is_err() {
            tracing::warn!(
                store = %self.shown_url,
                "operations still in flight after {CLOSE_WAIT:?}: closing without waiting for them"
            );
            self.client.clone().shutdown().immediate(true).await;
        }
        tracing::debug!(store = %self.shown_url, "closed the MongoDB client");
    }
}
