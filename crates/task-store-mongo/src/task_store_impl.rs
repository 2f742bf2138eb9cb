//! The [`TaskStore`] implementation: each operation lives in the module named
//! for its area (`create`, `claim`, `lease`, `manage`).

use async_trait::async_trait;
use task_store::{Capabilities, TaskBackend};
use task_store::{
    ClaimParams, CommitParams, CreateParams, Created, HeartbeatParams, Query, QueryParams,
    ReplaceParams, ResetParams, Result, ReturnParams, Stat, Status, Task, TaskId, Timestamp,
};

use crate::store::MongoStore;

#[async_trait]
impl TaskBackend for MongoStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::CLUSTER
    }

    async fn create(&self, pool: &str, params: CreateParams) -> Result<Vec<Created>> {
        self.create_tasks(pool, params).await
    }

    async fn claim(&self, pool: &str, params: ClaimParams) -> Result<Vec<Task>> {
        self.claim_tasks(pool, params).await
    }

    async fn heartbeat(&self, pool: &str, params: HeartbeatParams) -> Result<Timestamp> {
        self.heartbeat_task(pool, params).await
    }

    async fn commit(&self, pool: &str, params: CommitParams) -> Result<()> {
        self.commit_task(pool, params).await
    }

    async fn return_task(&self, pool: &str, params: ReturnParams) -> Result<Status> {
        self.return_task_to(pool, params).await
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
        self.remove_tasks(pool, query).await
    }

    async fn reset_status(&self, pool: &str, params: ResetParams) -> Result<u64> {
        self.reset_tasks(pool, params).await
    }

    async fn prioritize(&self, pool: &str, query: &Query, priority: i64) -> Result<u64> {
        self.prioritize_tasks(pool, query, priority).await
    }

    async fn replace(&self, pool: &str, params: ReplaceParams) -> Result<Task> {
        self.replace_task(pool, params).await
    }

    async fn pools(&self) -> Result<Vec<String>> {
        self.list_pools().await
    }

    async fn drop_pool(&self, pool: &str) -> Result<bool> {
        self.drop_pool_named(pool).await
    }
}
