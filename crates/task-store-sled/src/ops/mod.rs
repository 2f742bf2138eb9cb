//! The [`TaskStore`] operations. Each validates the pool name first, then its
//! other arguments (so it fails with the same kind as the MemoryStore), then
//! runs on a blocking thread.

mod bulk;
mod claim;
mod create;
mod read;
mod update;

use async_trait::async_trait;
use task_store::query::Query;
use task_store::{
    ClaimParams, CommitParams, CreateParams, Created, HeartbeatParams, QueryParams, ReplaceParams,
    ResetParams, Result, ReturnParams, Stat, Status, Task, TaskId, TaskStore, Timestamp,
    validate_pool_name,
};

use crate::store::SledStore;

#[async_trait]
impl TaskStore for SledStore {
    async fn create(&self, pool: &str, params: CreateParams) -> Result<Vec<Created>> {
        validate_pool_name(pool)?;
        let pool = pool.to_string();
        self.blocking(move |s| s.create(&pool, &params)).await
    }

    async fn claim(&self, pool: &str, params: ClaimParams) -> Result<Vec<Task>> {
        validate_pool_name(pool)?;
        params.validate()?;
        let pool = pool.to_string();
        self.blocking(move |s| s.claim(&pool, &params)).await
    }

    async fn heartbeat(&self, pool: &str, params: HeartbeatParams) -> Result<Timestamp> {
        validate_pool_name(pool)?;
        params.validate()?;
        let pool = pool.to_string();
        self.blocking(move |s| s.heartbeat(&pool, &params)).await
    }

    async fn commit(&self, pool: &str, params: CommitParams) -> Result<()> {
        validate_pool_name(pool)?;
        params.validate()?;
        let pool = pool.to_string();
        self.blocking(move |s| s.commit(&pool, &params)).await
    }

    async fn return_task(&self, pool: &str, params: ReturnParams) -> Result<Status> {
        validate_pool_name(pool)?;
        params.validate()?;
        let pool = pool.to_string();
        self.blocking(move |s| s.return_task(&pool, &params)).await
    }

    async fn get(&self, pool: &str, id: TaskId) -> Result<Task> {
        validate_pool_name(pool)?;
        let pool = pool.to_string();
        self.blocking(move |s| s.get(&pool, id)).await
    }

    async fn query(&self, pool: &str, params: QueryParams) -> Result<Vec<Task>> {
        validate_pool_name(pool)?;
        let pool = pool.to_string();
        self.blocking(move |s| s.query(&pool, &params)).await
    }

    async fn stat(&self, pool: &str, query: &Query) -> Result<Stat> {
        validate_pool_name(pool)?;
        let (pool, query) = (pool.to_string(), query.clone());
        self.blocking(move |s| s.stat(&pool, &query)).await
    }

    async fn remove(&self, pool: &str, query: &Query) -> Result<u64> {
        validate_pool_name(pool)?;
        let (pool, query) = (pool.to_string(), query.clone());
        self.blocking(move |s| s.remove(&pool, &query)).await
    }

    async fn reset_status(&self, pool: &str, params: ResetParams) -> Result<u64> {
        validate_pool_name(pool)?;
        params.validate()?;
        let pool = pool.to_string();
        self.blocking(move |s| s.reset_status(&pool, &params)).await
    }

    async fn prioritize(&self, pool: &str, query: &Query, priority: i64) -> Result<u64> {
        validate_pool_name(pool)?;
        let (pool, query) = (pool.to_string(), query.clone());
        self.blocking(move |s| s.prioritize(&pool, &query, priority))
            .await
    }

    async fn replace(&self, pool: &str, params: ReplaceParams) -> Result<Task> {
        validate_pool_name(pool)?;
        params.validate()?;
        let pool = pool.to_string();
        self.blocking(move |s| s.replace(&pool, &params)).await
    }

    async fn pools(&self) -> Result<Vec<String>> {
        self.blocking(|s| s.pools()).await
    }

    async fn drop_pool(&self, pool: &str) -> Result<bool> {
        validate_pool_name(pool)?;
        let pool = pool.to_string();
        self.blocking(move |s| s.drop_pool(&pool)).await
    }
}
