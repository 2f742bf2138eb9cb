//! [`MongoStore`]: the struct, opening, pools and shared helpers.

use std::collections::HashSet;
use std::fmt;

use futures::lock::Mutex;

use mongodb::bson::{Document, RawDocumentBuf, doc};
use mongodb::gridfs::GridFsBucket;
use mongodb::options::{GridFsBucketOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};
use task_store::{Error, Result, SharedClock, TaskId, validate_pool_name};

use crate::error::convert;
use crate::indexes::create_missing;
use crate::open::{OpenOptions, connect};
use crate::record::oid;
use crate::records::{ARTIFACT_BUCKET, RECORD_COLLECTION};
use task_store::redact::Secrets;

/// The prefix of every task-pool collection: pool `P` lives in `tasks.P`.
///
/// Records ([`RECORD_COLLECTION`](crate::RECORD_COLLECTION)) and artifacts
/// (the GridFS bucket [`ARTIFACT_BUCKET`](crate::ARTIFACT_BUCKET)) live in
/// the same database under other names, so listing pools never confuses
/// them with tasks.
pub const POOL_COLLECTION_PREFIX: &str = "tasks.";

/// A task and record store in a MongoDB database: one collection per pool,
/// one for records, one GridFS bucket for artifacts.
///
/// See the [crate docs](crate) for the storage layout and how each operation
/// is made atomic.
pub struct MongoStore {
    // Held so the connection pool lives as long as the store.
    _client: Client,
    db: Database,
    shown_url: String,
    secrets: Secrets,
    pub(crate) clock: SharedClock,
    /// Collections whose indexes this store has checked or created. Held
    /// while doing so, so one store checks each collection once.
    ready: Mutex<HashSet<String>>,
    /// The GridFS bucket of artifact bytes.
    artifacts: GridFsBucket,
}

impl MongoStore {
    /// Open the store at `url` (`mongodb://…` or `mongodb+srv://…`), reading
    /// time from `clock`. The database is the URL's path, or
    /// [`DEFAULT_DATABASE`](crate::DEFAULT_DATABASE); a server must answer
    /// within the URL's `serverSelectionTimeoutMS`, or
    /// [`DEFAULT_TIMEOUT`](crate::DEFAULT_TIMEOUT).
    ///
    /// # Errors
    /// `Config` for a URL or database name that cannot be used or rejected
    /// credentials; `Unavailable` if no server answers in time.
    pub async fn from_url(url: &str, clock: SharedClock) -> Result<MongoStore> {
        MongoStore::open(url, clock, OpenOptions::default()).await
    }

    /// Open the store at `url` with explicit [`OpenOptions`] (timeout, database).
    ///
    /// # Errors
    /// As [`MongoStore::from_url`].
    pub async fn open(url: &str, clock: SharedClock, options: OpenOptions) -> Result<MongoStore> {
        let conn = connect(url, options).await?;
        let artifacts = conn.db.gridfs_bucket(
            GridFsBucketOptions::builder()
                .bucket_name(ARTIFACT_BUCKET.to_string())
                .build(),
        );
        Ok(MongoStore {
            _client: conn.client,
            db: conn.db,
            shown_url: conn.shown_url,
            secrets: conn.secrets,
            clock,
            ready: Mutex::new(HashSet::new()),
            artifacts,
        })
    }

    /// The name of the database holding the pools.
    pub fn database(&self) -> &str {
        self.db.name()
    }

    /// The collection of `pool`, after checking the name.
    pub(crate) fn pool(&self, pool: &str) -> Result<Collection<Document>> {
        validate_pool_name(pool)?;
        Ok(self.db.collection(&collection_name(pool)))
    }

    /// The same collection, for inserting encoded documents.
    pub(crate) fn raw_pool(&self, pool: &str) -> Collection<RawDocumentBuf> {
        self.db.collection(&collection_name(pool))
    }

    /// A converter of driver errors raised while doing `what`.
    pub(crate) fn err<'a>(&'a self, what: &'a str) -> impl Fn(mongodb::error::Error) -> Error + 'a {
        move |e| convert(e, what, &self.secrets)
    }

    /// The collection of every experiment's records.
    pub(crate) fn records_collection(&self) -> Collection<Document> {
        self.db.collection(RECORD_COLLECTION)
    }

    /// The GridFS bucket of artifact bytes.
    pub(crate) fn artifact_bucket(&self) -> &GridFsBucket {
        &self.artifacts
    }

    /// Create the pool's collection and indexes, once per pool per store.
    ///
    /// Indexes: `{status: 1, priority: -1, _id: 1}` (the claim's filter and
    /// sort), unique `{key: 1}` (race-free create), `{"lease.expires_at": 1}`
    /// (finding expired leases).
    pub(crate) async fn ensure_pool(&self, pool: &str, coll: &Collection<Document>) -> Result<()> {
        let indexes = vec![
            IndexModel::builder()
                .keys(doc! {"status": 1, "priority": -1, "_id": 1})
                .build(),
            IndexModel::builder()
                .keys(doc! {"key": 1})
                .options(IndexOptions::builder().unique(true).build())
                .build(),
            IndexModel::builder()
                .keys(doc! {"lease.expires_at": 1})
                .build(),
        ];
        self.ensure_indexes(
            coll,
            indexes,
            &format!("creating the indexes of pool {pool:?}"),
        )
        .await
    }

    /// Create the records collection's indexes, once per store: unique
    /// `{experiment: 1, record: 1, version: 1}` (one writer per version, and
    /// every read of a record) and `{live: 1, experiment: 1}` (experiments).
    pub(crate) async fn ensure_records(&self) -> Result<()> {
        let indexes = vec![
            IndexModel::builder()
                .keys(doc! {"experiment": 1, "record": 1, "version": 1})
                .options(IndexOptions::builder().unique(true).build())
                .build(),
            IndexModel::builder()
                .keys(doc! {"live": 1, "experiment": 1})
                .build(),
        ];
        self.ensure_indexes(
            &self.records_collection(),
            indexes,
            "creating the indexes of the records",
        )
        .await
    }

    /// Create the indexes of `coll` it lacks, once per collection per store
    /// (see the `indexes` module for why each is sent on its own).
    async fn ensure_indexes(
        &self,
        coll: &Collection<Document>,
        indexes: Vec<IndexModel>,
        what: &str,
    ) -> Result<()> {
        let mut ready = self.ready.lock().await;
        if ready.contains(coll.name()) {
            return Ok(());
        }
        create_missing(coll, indexes)
            .await
            .map_err(self.err(what))?;
        ready.insert(coll.name().to_string());
        Ok(())
    }

    /// Forget that `pool` has its indexes (it is being dropped).
    pub(crate) async fn forget_pool(&self, pool: &str) {
        self.ready.lock().await.remove(&collection_name(pool));
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
