//! What every store command needs: one tokio runtime per invocation, the
//! store opened from `--store`, the pool from `-t/--pool`, and parsing of the
//! QUERY and ID arguments into the core's types.

use std::future::Future;
use std::sync::Arc;

use taskpool::store::{Query, TaskId, TaskStore};

use crate::cli::GlobalArgs;
use crate::exit::bad_input;
use crate::output::Output;

/// One invocation of a store command.
pub struct Context<'a> {
    /// The global options.
    pub global: &'a GlobalArgs,
    /// Where results are printed.
    pub out: Output,
    runtime: tokio::runtime::Runtime,
}

impl<'a> Context<'a> {
    /// Build the invocation's runtime.
    ///
    /// # Errors
    /// When the runtime cannot be started.
    pub fn new(global: &'a GlobalArgs) -> anyhow::Result<Context<'a>> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        Ok(Context {
            global,
            out: Output::new(global.json),
            runtime,
        })
    }

    /// Run `future` to completion on the invocation's runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Open the store named by `--store`.
    ///
    /// # Errors
    /// An unknown scheme or unusable URL (exit code 2), an unreachable store (exit code 4).
    pub async fn store(&self) -> anyhow::Result<Arc<dyn TaskStore>> {
        let store = taskpool::open_store(&self.global.store).await?;
        tracing::debug!(store = %store, "opened store");
        Ok(store)
    }

    /// Open the store and run one operation `f` on it, on the invocation's
    /// runtime.
    ///
    /// # Errors
    /// As [`Context::store`], or the operation's error.
    pub fn on_store<T, E>(
        &self,
        f: impl AsyncFnOnce(&dyn TaskStore) -> Result<T, E>,
    ) -> anyhow::Result<T>
    where
        anyhow::Error: From<E>,
    {
        self.block_on(async {
            let store = self.store().await?;
            Ok(f(&*store).await?)
        })
    }

    /// The pool named by `-t/--pool` (or `TASKPOOL_POOL`).
    ///
    /// # Errors
    /// Bad usage (exit code 2) when no pool was given.
    pub fn pool(&self) -> anyhow::Result<&'a str> {
        self.global.pool.as_deref().ok_or_else(|| {
            bad_input("this command needs a pool: pass -t/--pool NAME or set TASKPOOL_POOL")
        })
    }
}

/// Parse a QUERY argument; a missing argument, an empty string and `{}` all
/// mean every task.
///
/// # Errors
/// [`ErrorKind::InvalidQuery`](taskpool::store::ErrorKind::InvalidQuery) (exit code 2).
pub fn parse_query(text: Option<&str>) -> anyhow::Result<Query> {
    Ok(Query::parse_str(text.unwrap_or(""))?)
}

/// Parse a task id (24 hexadecimal digits).
///
/// # Errors
/// [`ErrorKind::InvalidInput`](taskpool::store::ErrorKind::InvalidInput) (exit code 2).
pub fn parse_id(text: &str) -> anyhow::Result<TaskId> {
    Ok(text.trim().parse::<TaskId>()?)
}
