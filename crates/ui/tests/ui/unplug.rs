//! [`Unpluggable`]: the fixture's real SQLite store behind a switch. While
//! unplugged every call fails with `Unavailable`, as the backends report a
//! store they cannot reach (a MongoDB server gone, a SQLite file busy past
//! its timeout); plugged back, calls reach the store again. A SQLite file
//! cannot be made unreachable from outside while a WAL connection is open,
//! so the switch stands in for the network cable.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use taskpool::store::{
    ArtifactInfo, Capabilities, ClaimParams, CommitParams, CreateParams, Created, Error,
    HeartbeatParams, NewRecord, Query, QueryParams, Record, RecordFilter, RecordId, RecordStore,
    ReplaceParams, ResetParams, Result, ReturnParams, Stat, Status, Store, Task, TaskId, TaskStore,
    Timestamp, UpdateRecord,
};

/// A store that can be unplugged.
pub struct Unpluggable {
    inner: Arc<dyn Store>,
    plugged: AtomicBool,
    message: String,
}

impl Unpluggable {
    /// Unplugged, every call fails with `message` (a driver's message may
    /// quote the URL it could not reach, password included).
    pub fn new(inner: Arc<dyn Store>, message: &str) -> Unpluggable {
        Unpluggable {
            inner,
            plugged: AtomicBool::new(true),
            message: message.to_string(),
        }
    }

    pub fn set_plugged(&self, plugged: bool) {
        self.plugged.store(plugged, Ordering::SeqCst);
    }

    fn inner(&self) -> Result<&dyn Store> {
        if self.plugged.load(Ordering::SeqCst) {
            Ok(self.inner.as_ref())
        } else {
            Err(Error::unavailable(self.message.clone()))
        }
    }
}

impl fmt::Debug for Unpluggable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Unpluggable({})", self.inner)
    }
}

impl fmt::Display for Unpluggable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

#[async_trait]
impl TaskStore for Unpluggable {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn create(&self, pool: &str, params: CreateParams) -> Result<Vec<Created>> {
        self.inner()?.create(pool, params).await
    }
    async fn claim(&self, pool: &str, params: ClaimParams) -> Result<Vec<Task>> {
        self.inner()?.claim(pool, params).await
    }
    async fn heartbeat(&self, pool: &str, params: HeartbeatParams) -> Result<Timestamp> {
        self.inner()?.heartbeat(pool, params).await
    }
    async fn commit(&self, pool: &str, params: CommitParams) -> Result<()> {
        self.inner()?.commit(pool, params).await
    }
    async fn return_task(&self, pool: &str, params: ReturnParams) -> Result<Status> {
        self.inner()?.return_task(pool, params).await
    }
    async fn get(&self, pool: &str, id: TaskId) -> Result<Task> {
        self.inner()?.get(pool, id).await
    }
    async fn query(&self, pool: &str, params: QueryParams) -> Result<Vec<Task>> {
        self.inner()?.query(pool, params).await
    }
    async fn stat(&self, pool: &str, query: &Query) -> Result<Stat> {
        self.inner()?.stat(pool, query).await
    }
    async fn remove(&self, pool: &str, query: &Query) -> Result<u64> {
        self.inner()?.remove(pool, query).await
    }
    async fn reset_status(&self, pool: &str, params: ResetParams) -> Result<u64> {
        self.inner()?.reset_status(pool, params).await
    }
    async fn prioritize(&self, pool: &str, query: &Query, priority: i64) -> Result<u64> {
        self.inner()?.prioritize(pool, query, priority).await
    }
    async fn replace(&self, pool: &str, params: ReplaceParams) -> Result<Task> {
        self.inner()?.replace(pool, params).await
    }
    async fn pools(&self) -> Result<Vec<String>> {
        self.inner()?.pools().await
    }
    async fn drop_pool(&self, pool: &str) -> Result<bool> {
        self.inner()?.drop_pool(pool).await
    }
    async fn close(&self) {
        // Closing releases the store whether or not calls reach it.
        self.inner.close().await
    }
}

#[async_trait]
impl RecordStore for Unpluggable {
    async fn create_record(&self, experiment: &str, params: NewRecord) -> Result<Record> {
        self.inner()?.create_record(experiment, params).await
    }
    async fn update_record(&self, experiment: &str, params: UpdateRecord) -> Result<Record> {
        self.inner()?.update_record(experiment, params).await
    }
    async fn get_record(&self, experiment: &str, id: RecordId) -> Result<Record> {
        self.inner()?.get_record(experiment, id).await
    }
    async fn list_records(&self, experiment: &str, filter: &RecordFilter) -> Result<Vec<Record>> {
        self.inner()?.list_records(experiment, filter).await
    }
    async fn delete_record(&self, experiment: &str, id: RecordId) -> Result<bool> {
        self.inner()?.delete_record(experiment, id).await
    }
    async fn experiments(&self) -> Result<Vec<String>> {
        self.inner()?.experiments().await
    }
    async fn put_artifact(
        &self,
        experiment: &str,
        id: RecordId,
        name: &str,
        data: Vec<u8>,
    ) -> Result<()> {
        self.inner()?.put_artifact(experiment, id, name, data).await
    }
    async fn get_artifact(&self, experiment: &str, id: RecordId, name: &str) -> Result<Vec<u8>> {
        self.inner()?.get_artifact(experiment, id, name).await
    }
    async fn list_artifacts(&self, experiment: &str, id: RecordId) -> Result<Vec<ArtifactInfo>> {
        self.inner()?.list_artifacts(experiment, id).await
    }
    async fn delete_artifact(&self, experiment: &str, id: RecordId, name: &str) -> Result<bool> {
        self.inner()?.delete_artifact(experiment, id, name).await
    }
}
