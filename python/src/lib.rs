//! # taskpool-python: the `taskpool._native` extension module
//!
//! The Rust half of the Python package `taskpool` (`pip install ./python`).
//! The pure-Python half (`python/taskpool/`) builds Qlib's API
//! (`TaskManager`, `run_task`, `RollingGen`…) on the classes exported here.
//!
//! ## Design choices
//!
//! *Synchronous API over an owned runtime.* Python sees blocking methods;
//! each one runs its store future on a tokio runtime that the extension
//! builds on first use (rebuilt in a forked child), with the GIL released
//! for the whole call ([`runtime::run`]). Threads of one process therefore
//! share a store and make progress in parallel, and a slow MongoDB round
//! trip never blocks other Python threads.
//!
//! *Stores only through the facade.* [`store::open`] calls `taskpool::open`:
//! every URL scheme of the CLI, the same backends, the same redaction.
//!
//! *Heartbeats outside the GIL.* A fetched task's lease is kept alive by a
//! tokio task ([`heartbeat::Heartbeat`]), not by a Python thread: a training
//! function that holds the GIL for minutes does not lose its lease, and a
//! killed process stops heartbeating at once.
//!
//! *JSON only.* Definitions and results cross the boundary as JSON values
//! ([`convert`]); nothing is pickled, so nothing stored is ever executed.
//!
//! *Errors by kind.* Store errors become the `taskpool.errors` exception of
//! their [`ErrorKind`](taskpool::store::ErrorKind) ([`error`]).

mod convert;
mod error;
mod generate;
mod heartbeat;
mod records;
mod runtime;
mod store;
mod wait;

use pyo3::prelude::*;

/// The allocator of the extension's Rust code (Python's objects keep
/// Python's). A create converts, hashes, encodes and frees thousands of
/// small JSON and BSON values per batch; mimalloc makes that allocation
/// work a fraction of glibc's (BENCHMARKS.md, the Python bench).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The extension module `taskpool._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DEFAULT_STORE_URL", taskpool::DEFAULT_STORE_URL)?;
    m.add(
        "DEFAULT_LEASE",
        taskpool::pipeline::worker::DEFAULT_LEASE.as_secs_f64(),
    )?;
    m.add(
        "DEFAULT_MAX_ATTEMPTS",
        taskpool::store::DEFAULT_MAX_ATTEMPTS,
    )?;
    m.add("URL_SCHEMES", taskpool::URL_SCHEMES.to_vec())?;
    m.add_function(wrap_pyfunction!(store::open, m)?)?;
    m.add_function(wrap_pyfunction!(convert::seconds, m)?)?;
    m.add_class::<store::Store>()?;
    m.add_class::<heartbeat::Heartbeat>()?;
    m.add_class::<generate::Calendar>()?;
    m.add_class::<generate::Rolling>()?;
    m.add_class::<generate::Horizons>()?;
    Ok(())
}
