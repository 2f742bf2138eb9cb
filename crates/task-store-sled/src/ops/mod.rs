//! The task operations ([`TaskBackend`]), on arguments the core has
//! validated; each runs on a blocking thread.

mod bulk;
mod claim;
mod create;
mod read;
mod update;

use async_trait::async_trait;
use task_store::query::Query;
use task_store::{Capabilities, TaskBackend};
use task_store::{
    ClaimParams, CommitParams, CreateParams, Created, HeartbeatParams, QueryParams, ReplaceParams,
    ResetParams, Result, ReturnParams, Stat, Status, Task, TaskId, Timestamp,
};

use crate::store::SledStore;

#[async_trait]
impl TaskBackend for SledStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::ONE_PROCESS
    }

    async fn create(&self, pool: &str, params: CreateParams) -> Result<Vec<Created>> {
        let pool = pool.to_string();
        self.blocking(move |s| s.create(&pool, &params)).await
    }

    async fn claim(&self, pool: &str, params: ClaimParams) -> Result<Vec<Task>> {
        let pool = pool.to_string();
        self.blocking(move |s| s.claim(&pool, &params)).await
    }

    async fn heartbeat(&self, pool: &str, params: HeartbeatParams) -> Result<Timestamp> {
        let pool = pool.to_string();
        self.blocking(move |s| s.heartbeat(&pool, &params)).await
    }

    async fn commit(&self, pool: &str, params: CommitParams) -> Result<()> {
        let pool = pool.to_string();
        self.blocking(move |s| s.commit(&pool, &params)).await
    }

    async fn return_task(&self, pool: &str, params: ReturnParams) -> Result<Status> {
        let pool = pool.to_string();
        self.blocking(move |s| s.return_task(&pool, &params)).await
    }

    async fn get(&self, pool: &str, id: TaskId) -> Result<Task> {
        let pool = pool.to_string();
        self.blocking(move |s| s.get(&pool, id)).await
    }

    async fn query(&self, pool: &str, params: QueryParams) -> Result<Vec<Task>> {
        let pool = pool.to_string();
        self.blocking(move |s| s.query(&pool, &params)).await
    }

    async fn stat(&self, pool: &str, query: &Query) -> Result<Stat> {
        let (pool, query) = (pool.to_string(), query.clone());
        self.blocking(move |s| s.stat(&pool, &query)).await
    }

    async fn remove(&self, pool: &str, query: &Query) -> Result<u64> {
        let (pool, query) = (pool.to_string(), query.clone());
        self.blocking(move |s| s.remove(&pool, &query)).await
    }

    async fn reset_status(&self, pool: &str, params: ResetParams) -> Result<u64> {
        let pool = pool.to_string();
        self.blocking(move |s| s.reset_status(&pool, &params)).await
    }

    async fn prioritize(&self, pool: &str, query: &Query, priority: i64) -> Result<u64> {
        let (pool, query) = (pool.to_string(), query.clone());
        self.blocking(move |s| s.prioritize(&pool, &query, priority))
            .await
    }

    async fn replace(&self, pool: &str, params: ReplaceParams) -> Result<Task> {
        let pool = pool.to_string();
        self.blocking(move |s| s.replace(&pool, &params)).await
    }

    async fn pools(&self) -> Result<Vec<String>> {
        self.blocking(|s| s.pools()).await
    }

    async fn drop_pool(&self, pool: &str) -> Result<bool> {
        let pool = pool.to_string();
        self.blocking(move |s| s.drop_pool(&pool)).await
    }
}
