//! One bounded look at a pool for `TaskManager.wait`, through the pipeline's
//! [`wait`](taskpool::pipeline::worker::wait) (the CLI's `taskpool wait`).
//!
//! Python loops on it, so that Ctrl-C interrupts a long wait between two
//! calls and the progress bar is drawn by Python.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use taskpool::pipeline::worker::{ExpiredLease, WaitOptions, WaitOutcome, wait};
use taskpool::store::{Query, Stat, Store as DynStore};

use crate::convert::to_py_serialized;
use crate::error::invalid_input;
use crate::runtime::run;

/// The result of one bounded wait.
pub struct WaitLook {
    finished: bool,
    stat: Stat,
    pending: u64,
    expired: Vec<ExpiredLease>,
}

/// Wait up to `timeout` seconds, looking every `poll` seconds.
///
/// # Errors
/// `InvalidInput` for a bad timeout or poll; the store's errors.
pub fn look(
    py: Python<'_>,
    store: Arc<dyn DynStore>,
    pool: String,
    query: Query,
    timeout: f64,
    poll: f64,
) -> PyResult<WaitLook> {
    let seconds = |what: &str, s: f64| {
        Duration::try_from_secs_f64(s)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                invalid_input(
                    py,
                    format!("{what}: {s} is not a positive number of seconds"),
                )
            })
    };
    let options = WaitOptions {
        poll: seconds("poll", poll)?,
        timeout: Some(seconds("timeout", timeout)?),
        ..WaitOptions::default()
    };
    let outcome = run(py, async move {
        wait(store.as_ref(), &pool, &query, &options, |_| {}).await
    })?;
    Ok(match outcome {
        WaitOutcome::Finished(stat) => WaitLook {
            finished: true,
            stat,
            pending: 0,
            expired: Vec::new(),
        },
        WaitOutcome::TimedOut(progress) => WaitLook {
            finished: false,
            stat: progress.stat,
            pending: progress.pending,
            expired: progress.expired,
        },
    })
}

impl WaitLook {
    /// `{"finished", "stat", "pending", "expired"}`.
    ///
    /// # Errors
    /// Only if Python cannot allocate.
    pub fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let dict = PyDict::new(py);
        dict.set_item("finished", self.finished)?;
        dict.set_item("stat", to_py_serialized(py, &self.stat)?)?;
        dict.set_item("pending", self.pending)?;
        let expired = self
            .expired
            .iter()
            .map(|e| {
                let item = PyDict::new(py);
                item.set_item("_id", e.id.to_hex())?;
                item.set_item("owner", &e.owner)?;
                item.set_item("expired_at", e.expired_at.to_string())?;
                item.set_item("from_status", e.from_status.as_str())?;
                Ok(item)
            })
            .collect::<PyResult<Vec<_>>>()?;
        dict.set_item("expired", expired)?;
        Ok(dict.into_any())
    }
}
