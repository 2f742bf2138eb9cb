//! The tokio runtime the extension owns, and the one way Python calls into
//! it: [`run`] blocks the calling thread on a store future with the GIL
//! released, so other Python threads (and the heartbeat tasks) keep going.
//!
//! The future runs on a runtime worker, not on the calling thread: the
//! worker that waits in `epoll` for the socket is the one that polls it, so
//! a store call wakes the calling thread once (when it is done). Polled on
//! the calling thread (`Runtime::block_on`), every network read of the
//! future woke a runtime worker for the I/O event, which then woke the
//! calling thread to poll on, and each poll's wake of the driver's own tasks
//! went back through the runtime's event fd (`strace -f -c`, BENCHMARKS.md):
//! several cross-thread wake-ups per call, each a scheduling delay on a busy
//! machine.

use std::future::Future;
use std::sync::Mutex;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use tokio::runtime::Runtime;

use crate::error::store_error;

/// The runtime of this process, with the pid that built it. A child made by
/// `os.fork()` inherits the memory but not the runtime's threads, so it
/// builds its own (the parent's is leaked in the child, never dropped there).
static RUNTIME: Mutex<Option<(u32, &'static Runtime)>> = Mutex::new(None);

/// Worker threads of the runtime: store calls are I/O bound, two suffice.
const WORKER_THREADS: usize = 2;

/// The runtime of this process, built on first use.
///
/// # Errors
/// `RuntimeError` if the operating system refuses the threads.
pub fn runtime() -> PyResult<&'static Runtime> {
    let pid = std::process::id();
    let mut slot = RUNTIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((owner, runtime)) = *slot
        && owner == pid
    {
        return Ok(runtime);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .thread_name("taskpool-runtime")
        .enable_all()
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the taskpool runtime: {e}")))?;
    let runtime: &'static Runtime = Box::leak(Box::new(runtime));
    *slot = Some((pid, runtime));
    Ok(runtime)
}

/// Run a store future to completion on the runtime with the GIL released,
/// and turn its error into the matching `taskpool` exception.
///
/// # Errors
/// The store's error as a `taskpool.TaskpoolError` subclass.
pub fn run<F, T>(py: Python<'_>, future: F) -> PyResult<T>
where
    F: Future<Output = taskpool::store::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let runtime = runtime()?;
    let (done, outcome) = std::sync::mpsc::sync_channel(1);
    runtime.spawn(async move {
        // The receiver is gone only if the calling thread is.
        let _ = done.send(future.await);
    });
    match py.detach(move || outcome.recv()) {
        Ok(result) => result.map_err(|e| store_error(py, &e)),
        // The task ended without sending: it panicked (the runtime logs it).
        Err(_) => Err(PyRuntimeError::new_err(
            "a taskpool store call panicked (a bug: please report it)",
        )),
    }
}
