//! `Heartbeat`: a held lease kept alive in the background.
//!
//! A tokio task on the extension's runtime heartbeats every third of the
//! lease, so the lease lives while Python code runs (or holds the GIL for a
//! long time) and dies with the process: a killed worker loses its tasks to
//! the next claimer once the lease runs out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use taskpool::store::{ErrorKind, HeartbeatParams, Store as DynStore};
use tokio::sync::oneshot;

use crate::runtime::runtime;

/// How a lease keeper ended, shared with its background task.
#[derive(Default)]
struct State {
    lost: AtomicBool,
    last_error: Mutex<Option<String>>,
}

/// The background heartbeat of one held lease (from `Store.keep_alive`).
///
/// Stops on `stop()`, when it is garbage-collected, or when the store says
/// the lease is lost (then `lost` is true).
#[pyclass(module = "taskpool._native", frozen)]
pub struct Heartbeat {
    stop: Mutex<Option<oneshot::Sender<()>>>,
    state: Arc<State>,
}

impl Heartbeat {
    /// Start heartbeating `params.id` every `params.lease / 3`.
    ///
    /// # Errors
    /// `RuntimeError` if the runtime cannot start.
    pub fn start(
        store: Arc<dyn DynStore>,
        pool: String,
        params: HeartbeatParams,
    ) -> PyResult<Heartbeat> {
        let (stop, mut stopped) = oneshot::channel::<()>();
        let state = Arc::new(State::default());
        let shared = state.clone();
        let every = params.lease / 3;
        runtime()?.spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    () = tokio::time::sleep(every) => {}
                }
                match store.heartbeat(&pool, params.clone()).await {
                    Ok(_) => {}
                    Err(e)
                        if e.kind() == ErrorKind::LeaseLost || e.kind() == ErrorKind::NotFound =>
                    {
                        tracing::warn!(task = %params.id, "lease lost: {e}");
                        *lock(&shared.last_error) = Some(e.to_string());
                        shared.lost.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(task = %params.id, "heartbeat failed, will retry: {e}");
                        *lock(&shared.last_error) = Some(e.to_string());
                    }
                }
            }
        });
        Ok(Heartbeat {
            stop: Mutex::new(Some(stop)),
            state,
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[pymethods]
impl Heartbeat {
    /// Stop heartbeating (idempotent). The lease itself stays until it
    /// expires or the task is committed or returned.
    fn stop(&self) {
        if let Some(stop) = lock(&self.stop).take() {
            // The task may have ended already (lease lost): nothing to stop.
            let _ = stop.send(());
        }
    }

    /// Whether the store refused a heartbeat because the lease is lost.
    #[getter]
    fn lost(&self) -> bool {
        self.state.lost.load(Ordering::SeqCst)
    }

    /// The last heartbeat error, if any.
    #[getter]
    fn last_error(&self) -> Option<String> {
        lock(&self.state.last_error).clone()
    }

    /// Whether the background heartbeat still runs.
    #[getter]
    fn running(&self) -> bool {
        lock(&self.stop).as_ref().is_some_and(|s| !s.is_closed())
    }
}
