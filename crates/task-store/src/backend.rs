//! The traits a backend implements, and the one layer that validates every
//! call before it reaches a backend.
//!
//! A backend implements [`TaskBackend`] (and [`RecordBackend`] if it holds
//! records) on arguments that are already known to be valid; it never checks
//! a pool name, a lease length or an artifact name itself. The public
//! [`TaskStore`] and [`RecordStore`] traits are implemented for every backend
//! by the blanket impls of this module, which run the contract's checks (in
//! the order the conformance suite asserts: the pool or experiment name
//! first, then the parameters) and only then call the backend. No backend can
//! forget a check, and no two backends can check differently.
//!
//! The backend methods carry the names of the [`TaskStore`] methods they
//! implement and the same behaviour (see each method there); only the
//! validation is taken off their hands. Code that uses a store imports
//! [`TaskStore`]/[`RecordStore`], never these traits.

use std::fmt::{Debug, Display};

use async_trait::async_trait;

use crate::error::Result;
use crate::id::TaskId;
use crate::params::{
    ClaimParams, CommitParams, CreateParams, Created, HeartbeatParams, QueryParams, ReplaceParams,
    ResetParams, ReturnParams,
};
use crate::pool::validate_pool_name;
use crate::query::Query;
use crate::record::{
    ArtifactInfo, NewRecord, Record, RecordFilter, RecordId, RecordStore, UpdateRecord,
    validate_artifact_len, validate_artifact_name, validate_experiment_name,
};
use crate::store::TaskStore;
use crate::task::{Stat, Status, Task};
use crate::time::Timestamp;

/// What a store can be used for, beyond the contract every store keeps.
///
/// Applications ask this instead of looking at URL schemes: the pipeline,
/// for example, refuses to start worker processes on a store that other
/// processes cannot open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Several processes on one machine can open the store at once and see
    /// each other's writes (SQLite, MongoDB); `false` for a store that lives
    /// in one process (memory) or that one process owns (sled).
    pub shared_by_processes: bool,
    /// Processes on several machines can share the store (MongoDB).
    pub shared_by_machines: bool,
    /// The store outlives the process that opened it (everything but memory).
    pub persistent: bool,
}

impl Capabilities {
    /// A store that lives and dies with one process (the memory store).
    pub const IN_PROCESS: Capabilities = Capabilities {
        shared_by_processes: false,
        shared_by_machines: false,
        persistent: false,
    };

    /// A persistent store that one process owns at a time (sled).
    pub const ONE_PROCESS: Capabilities = Capabilities {
        shared_by_processes: false,
        shared_by_machines: false,
        persistent: true,
    };

    /// A persistent store that the processes of one machine share (SQLite).
    pub const ONE_MACHINE: Capabilities = Capabilities {
        shared_by_processes: true,
        shared_by_machines: false,
        persistent: true,
    };

    /// A persistent store that processes on many machines share (MongoDB).
    pub const CLUSTER: Capabilities = Capabilities {
        shared_by_processes: true,
        shared_by_machines: true,
        persistent: true,
    };
}

/// The task operations a backend implements, on validated arguments.
///
/// Every method has the behaviour of the [`TaskStore`] method of the same
/// name, whose checks have already passed when it is called: the pool name
/// is valid and the parameters passed their `validate`. Implementing this
/// trait makes the type a [`TaskStore`].
#[async_trait]
pub trait TaskBackend: Debug + Display + Send + Sync + 'static {
    /// What this store can be used for.
    fn capabilities(&self) -> Capabilities;
    /// [`TaskStore::create`] on a valid pool and batch.
    async fn create(&self, pool: &str, params: CreateParams) -> Result<Vec<Created>>;
    /// [`TaskStore::claim`] on a valid pool and parameters.
    async fn claim(&self, pool: &str, params: ClaimParams) -> Result<Vec<Task>>;
    /// [`TaskStore::heartbeat`] on a valid pool and parameters.
    async fn heartbeat(&self, pool: &str, params: HeartbeatParams) -> Result<Timestamp>;
    /// [`TaskStore::commit`] on a valid pool and parameters.
    async fn commit(&self, pool: &str, params: CommitParams) -> Result<()>;
    /// [`TaskStore::return_task`] on a valid pool and parameters.
    async fn return_task(&self, pool: &str, params: ReturnParams) -> Result<Status>;
    /// [`TaskStore::get`] on a valid pool.
    async fn get(&self, pool: &str, id: TaskId) -> Result<Task>;
    /// [`TaskStore::query`] on a valid pool.
    async fn query(&self, pool: &str, params: QueryParams) -> Result<Vec<Task>>;
    /// [`TaskStore::stat`] on a valid pool.
    async fn stat(&self, pool: &str, query: &Query) -> Result<Stat>;
    /// [`TaskStore::remove`] on a valid pool.
    async fn remove(&self, pool: &str, query: &Query) -> Result<u64>;
    /// [`TaskStore::reset_status`] on a valid pool and parameters.
    async fn reset_status(&self, pool: &str, params: ResetParams) -> Result<u64>;
    /// [`TaskStore::prioritize`] on a valid pool.
    async fn prioritize(&self, pool: &str, query: &Query, priority: i64) -> Result<u64>;
    /// [`TaskStore::replace`] on a valid pool and parameters.
    async fn replace(&self, pool: &str, params: ReplaceParams) -> Result<Task>;
    /// [`TaskStore::pools`].
    async fn pools(&self) -> Result<Vec<String>>;
    /// [`TaskStore::drop_pool`] on a valid pool.
    async fn drop_pool(&self, pool: &str) -> Result<bool>;
    /// [`TaskStore::close`]; by default nothing, for a backend that needs no
    /// runtime to release what it holds.
    async fn close(&self) {}
}

#[async_trait]
impl<B: TaskBackend> TaskStore for B {
    fn capabilities(&self) -> Capabilities {
        TaskBackend::capabilities(self)
    }
    async fn create(&self, pool: &str, params: CreateParams) -> Result<Vec<Created>> {
        validate_pool_name(pool)?;
        params.validate()?;
        TaskBackend::create(self, pool, params).await
    }
    async fn claim(&self, pool: &str, params: ClaimParams) -> Result<Vec<Task>> {
        validate_pool_name(pool)?;
        params.validate()?;
        TaskBackend::claim(self, pool, params).await
    }
    async fn heartbeat(&self, pool: &str, params: HeartbeatParams) -> Result<Timestamp> {
        validate_pool_name(pool)?;
        params.validate()?;
        TaskBackend::heartbeat(self, pool, params).await
    }
    async fn commit(&self, pool: &str, params: CommitParams) -> Result<()> {
        validate_pool_name(pool)?;
        params.validate()?;
        TaskBackend::commit(self, pool, params).await
    }
    async fn return_task(&self, pool: &str, params: ReturnParams) -> Result<Status> {
        validate_pool_name(pool)?;
        params.validate()?;
        TaskBackend::return_task(self, pool, params).await
    }
    async fn get(&self, pool: &str, id: TaskId) -> Result<Task> {
        validate_pool_name(pool)?;
        TaskBackend::get(self, pool, id).await
    }
    async fn query(&self, pool: &str, params: QueryParams) -> Result<Vec<Task>> {
        validate_pool_name(pool)?;
        TaskBackend::query(self, pool, params).await
    }
    async fn stat(&self, pool: &str, query: &Query) -> Result<Stat> {
        validate_pool_name(pool)?;
        TaskBackend::stat(self, pool, query).await
    }
    async fn remove(&self, pool: &str, query: &Query) -> Result<u64> {
        validate_pool_name(pool)?;
        TaskBackend::remove(self, pool, query).await
    }
    async fn reset_status(&self, pool: &str, params: ResetParams) -> Result<u64> {
        validate_pool_name(pool)?;
        params.validate()?;
        TaskBackend::reset_status(self, pool, params).await
    }
    async fn prioritize(&self, pool: &str, query: &Query, priority: i64) -> Result<u64> {
        validate_pool_name(pool)?;
        TaskBackend::prioritize(self, pool, query, priority).await
    }
    async fn replace(&self, pool: &str, params: ReplaceParams) -> Result<Task> {
        validate_pool_name(pool)?;
        params.validate()?;
        TaskBackend::replace(self, pool, params).await
    }
    async fn pools(&self) -> Result<Vec<String>> {
        TaskBackend::pools(self).await
    }
    async fn drop_pool(&self, pool: &str) -> Result<bool> {
        validate_pool_name(pool)?;
        TaskBackend::drop_pool(self, pool).await
    }
    async fn close(&self) {
        TaskBackend::close(self).await
    }
}

/// The record operations a backend implements, on validated arguments.
///
/// Every method has the behaviour of the [`RecordStore`] method of the same
/// name, whose checks have already passed: the experiment name, artifact name
/// and artifact size are valid and an update passed its `validate`. A new
/// record is built with [`NewRecord::into_record`] and an update applied with
/// [`UpdateRecord::apply`], so every backend stores exactly what the
/// [`MemoryStore`](crate::MemoryStore) stores. Implementing this trait makes
/// the type a [`RecordStore`].
#[async_trait]
pub trait RecordBackend: Debug + Display + Send + Sync + 'static {
    /// [`RecordStore::create_record`] in a valid experiment.
    async fn create_record(&self, experiment: &str, params: NewRecord) -> Result<Record>;
    /// [`RecordStore::update_record`] in a valid experiment, with a valid update.
    async fn update_record(&self, experiment: &str, params: UpdateRecord) -> Result<Record>;
    /// [`RecordStore::get_record`] in a valid experiment.
    async fn get_record(&self, experiment: &str, id: RecordId) -> Result<Record>;
    /// [`RecordStore::list_records`] in a valid experiment.
    async fn list_records(&self, experiment: &str, filter: &RecordFilter) -> Result<Vec<Record>>;
    /// [`RecordStore::delete_record`] in a valid experiment.
    async fn delete_record(&self, experiment: &str, id: RecordId) -> Result<bool>;
    /// [`RecordStore::experiments`].
    async fn experiments(&self) -> Result<Vec<String>>;
    /// [`RecordStore::put_artifact`] with a valid experiment, name and size.
    async fn put_artifact(
        &self,
        experiment: &str,
        id: RecordId,
        name: &str,
        data: Vec<u8>,
    ) -> Result<()>;
    /// [`RecordStore::get_artifact`] with a valid experiment and name.
    async fn get_artifact(&self, experiment: &str, id: RecordId, name: &str) -> Result<Vec<u8>>;
    /// [`RecordStore::list_artifacts`] in a valid experiment.
    async fn list_artifacts(&self, experiment: &str, id: RecordId) -> Result<Vec<ArtifactInfo>>;
    /// [`RecordStore::delete_artifact`] with a valid experiment and name.
    async fn delete_artifact(&self, experiment: &str, id: RecordId, name: &str) -> Result<bool>;
}

#[async_trait]
impl<B: RecordBackend> RecordStore for B {
    async fn create_record(&self, experiment: &str, params: NewRecord) -> Result<Record> {
        validate_experiment_name(experiment)?;
        RecordBackend::create_record(self, experiment, params).await
    }
    async fn update_record(&self, experiment: &str, params: UpdateRecord) -> Result<Record> {
        params.validate()?;
        validate_experiment_name(experiment)?;
        RecordBackend::update_record(self, experiment, params).await
    }
    async fn get_record(&self, experiment: &str, id: RecordId) -> Result<Record> {
        validate_experiment_name(experiment)?;
        RecordBackend::get_record(self, experiment, id).await
    }
    async fn list_records(&self, experiment: &str, filter: &RecordFilter) -> Result<Vec<Record>> {
        validate_experiment_name(experiment)?;
        RecordBackend::list_records(self, experiment, filter).await
    }
    async fn delete_record(&self, experiment: &str, id: RecordId) -> Result<bool> {
        validate_experiment_name(experiment)?;
        RecordBackend::delete_record(self, experiment, id).await
    }
    async fn experiments(&self) -> Result<Vec<String>> {
        RecordBackend::experiments(self).await
    }
    async fn put_artifact(
        &self,
        experiment: &str,
        id: RecordId,
        name: &str,
        data: Vec<u8>,
    ) -> Result<()> {
        validate_experiment_name(experiment)?;
        validate_artifact_name(name)?;
        validate_artifact_len(data.len())?;
        RecordBackend::put_artifact(self, experiment, id, name, data).await
    }
    async fn get_artifact(&self, experiment: &str, id: RecordId, name: &str) -> Result<Vec<u8>> {
        validate_experiment_name(experiment)?;
        validate_artifact_name(name)?;
        RecordBackend::get_artifact(self, experiment, id, name).await
    }
    async fn list_artifacts(&self, experiment: &str, id: RecordId) -> Result<Vec<ArtifactInfo>> {
        validate_experiment_name(experiment)?;
        RecordBackend::list_artifacts(self, experiment, id).await
    }
    async fn delete_artifact(&self, experiment: &str, id: RecordId, name: &str) -> Result<bool> {
        validate_experiment_name(experiment)?;
        validate_artifact_name(name)?;
        RecordBackend::delete_artifact(self, experiment, id, name).await
    }
}
