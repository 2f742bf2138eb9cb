//! [`TaskFn`]: the work a worker does for one task, as a Rust closure or an
//! external command ([`CommandTask`](super::CommandTask)).

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::input::{TaskError, TaskInput};

/// A task function: turns a task's input into its result.
///
/// Workers run each call on its own tokio task, so a panic is caught and
/// recorded as a failure of that task only. Implementations must be cheap to
/// share (`Arc<dyn TaskFn>`).
#[async_trait]
pub trait TaskFn: Send + Sync + 'static {
    /// Run one task.
    ///
    /// # Errors
    /// [`TaskError::Failed`] when the task failed (counted against its
    /// attempts); [`TaskError::Worker`] when the worker itself cannot run tasks.
    async fn run(&self, input: TaskInput) -> Result<Value, TaskError>;
}

/// A blocking closure run on tokio's blocking thread pool.
pub struct BlockingFn<F>(Arc<F>);

/// Wrap a blocking closure `Fn(TaskInput) -> Result<Value, E>` as a task
/// function. Each call runs on tokio's blocking pool; a panic becomes a
/// failure of the task. A closure cannot be interrupted: when a worker gives
/// up on it (shutdown past the grace period, lost lease) its result is
/// discarded but the thread runs to the end. Check
/// [`TaskInput::shutdown`] to stop early.
pub fn blocking<F, E>(f: F) -> Arc<dyn TaskFn>
where
    F: Fn(TaskInput) -> Result<Value, E> + Send + Sync + 'static,
    E: fmt::Display,
{
    Arc::new(BlockingFn(Arc::new(f)))
}

#[async_trait]
impl<F, E> TaskFn for BlockingFn<F>
where
    F: Fn(TaskInput) -> Result<Value, E> + Send + Sync + 'static,
    E: fmt::Display,
{
    async fn run(&self, input: TaskInput) -> Result<Value, TaskError> {
        let f = Arc::clone(&self.0);
        let joined = tokio::task::spawn_blocking(move || f(input).map_err(TaskError::failed)).await;
        match joined {
            Ok(result) => result,
            Err(e) if e.is_panic() => Err(TaskError::Failed(panic_message(e.into_panic()))),
            Err(e) => Err(TaskError::failed(format_args!(
                "task function was cancelled: {e}"
            ))),
        }
    }
}

/// An async closure.
pub struct AsyncFn<F>(F);

/// Wrap an async closure `Fn(TaskInput) -> impl Future<Output = Result<Value, E>>`
/// as a task function. It runs on the worker's runtime and is dropped
/// (cancelled at its next `.await`) when the worker gives up on it.
pub fn from_async<F, Fut, E>(f: F) -> Arc<dyn TaskFn>
where
    F: Fn(TaskInput) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, E>> + Send + 'static,
    E: fmt::Display,
{
    Arc::new(AsyncFn(f))
}

#[async_trait]
impl<F, Fut, E> TaskFn for AsyncFn<F>
where
    F: Fn(TaskInput) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, E>> + Send + 'static,
    E: fmt::Display,
{
    async fn run(&self, input: TaskInput) -> Result<Value, TaskError> {
        (self.0)(input).await.map_err(TaskError::failed)
    }
}

/// The message of a caught panic.
pub(crate) fn panic_message(payload: Box<dyn Any + Send>) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_string());
    format!("task function panicked: {text}")
}

/// Run `f` on its own tokio task so that a panic is caught and reported as a
/// failure; the tokio task is aborted if the returned future is dropped.
pub(crate) async fn run_caught(f: Arc<dyn TaskFn>, input: TaskInput) -> Result<Value, TaskError> {
    let mut handle = AbortOnDrop(tokio::spawn(async move { f.run(input).await }));
    match handle.await_result().await {
        Ok(result) => result,
        Err(e) if e.is_panic() => Err(TaskError::Failed(panic_message(e.into_panic()))),
        Err(e) => Err(TaskError::failed(format_args!(
            "task function was cancelled: {e}"
        ))),
    }
}

/// A join handle that aborts its task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    async fn await_result(&mut self) -> Result<T, tokio::task::JoinError> {
        (&mut self.0).await
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
