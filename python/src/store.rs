//! `taskpool.Store`: the native API, one method per store operation.
//!
//! Every method converts its arguments while holding the GIL, then runs the
//! store call on the extension's runtime with the GIL released
//! ([`runtime::run`]), then converts the answer back.

use std::sync::Arc;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use taskpool::store::{
    ClaimParams, CommitParams, CreateParams, Created, HeartbeatParams, NewTask, QueryParams,
    ReplaceParams, ResetParams, ReturnParams, Store as DynStore, TaskStoreExt,
};

use crate::convert::{duration, status, task_id, to_json, to_json_item, to_py_serialized};
use crate::error::raise;
use crate::heartbeat::Heartbeat;
use crate::records;
use crate::runtime::run;
use crate::wait::{self, WaitLook};

/// A task store opened by URL: tasks, records and artifacts.
///
/// Open one with `taskpool.open(url)`. Methods block the calling thread and
/// release the GIL while the store works, so threads may share a store.
#[pyclass(module = "taskpool._native", frozen)]
pub struct Store {
    inner: Arc<dyn DynStore>,
    url: String,
    /// The process that opened it: the store's connections and background
    /// work live on that process's runtime, which a child made by
    /// `os.fork()` does not have.
    pid: u32,
}

/// Open the store at `url` (`sqlite://PATH`, `sled://PATH`, `mongodb://…`,
/// `mongodb+srv://…`, `memory://`).
#[pyfunction]
pub fn open(py: Python<'_>, url: &str) -> PyResult<Store> {
    let owned = url.to_owned();
    let inner = run(py, async move { taskpool::open(&owned).await })?;
    Ok(Store {
        inner,
        url: taskpool::redact_url(url),
        pid: std::process::id(),
    })
}

impl Store {
    /// The store, if this is the process that opened it.
    ///
    /// # Errors
    /// `taskpool.Unsupported` in a child made by `os.fork()`: there the
    /// store's connections belong to the parent's runtime, whose threads
    /// the child does not have, so a call would wait forever.
    fn store(&self, py: Python<'_>) -> PyResult<Arc<dyn DynStore>> {
        let pid = std::process::id();
        if pid == self.pid {
            return Ok(self.inner.clone());
        }
        Err(raise(
            py,
            "Unsupported",
            format!(
                "store {} was opened in process {} and cannot be used in process {pid}, a child \
                 made by fork: open it again in the child (taskpool.open(url); a TaskManager \
                 does this by itself)",
                self.url, self.pid
            ),
        ))
    }
}

#[pymethods]
impl Store {
    fn __repr__(&self) -> String {
        format!("Store({:?})", self.url)
    }

    /// The store's URL with any password replaced by `***`.
    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    /// Create tasks from definitions; existing ones (same content key) are
    /// reused. Returns one `{"_id", "key", "new", "status"}` per definition,
    /// in input order.
    #[pyo3(signature = (pool, defs, *, filters=None, priority=0, max_attempts=3, dry_run=false))]
    #[allow(clippy::too_many_arguments)]
    fn create<'py>(
        &self,
        py: Python<'py>,
        pool: String,
        defs: &Bound<'py, PyAny>,
        filters: Option<&Bound<'py, PyAny>>,
        priority: i64,
        max_attempts: u32,
        dry_run: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let mut tasks = Vec::new();
        for (i, def) in defs.try_iter()?.enumerate() {
            tasks.push(NewTask::from(to_json_item(&def?, "defs", i)?));
        }
        if let Some(filters) = filters.filter(|f| !f.is_none()) {
            let filters: Vec<Bound<'py, PyAny>> = filters.try_iter()?.collect::<PyResult<_>>()?;
            if filters.len() != tasks.len() {
                return Err(crate::error::invalid_input(
                    py,
                    format!("{} filters for {} definitions", filters.len(), tasks.len()),
                ));
            }
            for (i, (task, filter)) in tasks.iter_mut().zip(&filters).enumerate() {
                if !filter.is_none() {
                    task.filter = Some(to_json_item(filter, "filters", i)?);
                }
            }
        }
        let params = CreateParams {
            tasks,
            priority,
            max_attempts,
            dry_run,
        };
        let store = self.store(py)?;
        let created = run(py, async move { store.create(&pool, params).await })?;
        created_list(py, &created)
    }

    /// Claim up to `n` tasks of `from_status` matching `query` (which may not
    /// mention status), highest priority first, with a lease of `lease`
    /// (seconds or a duration string). Returns the claimed task dicts.
    #[pyo3(signature = (pool, n=1, lease=None, query=None, from_status="waiting", owner=None))]
    #[allow(clippy::too_many_arguments)]
    fn claim<'py>(
        &self,
        py: Python<'py>,
        pool: String,
        n: usize,
        lease: Option<&Bound<'py, PyAny>>,
        query: Option<&Bound<'py, PyAny>>,
        from_status: &str,
        owner: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let lease = match lease {
            Some(lease) => duration(lease, "lease")?,
            None => taskpool::pipeline::worker::DEFAULT_LEASE,
        };
        let owner = owner.unwrap_or_else(taskpool::pipeline::worker::new_worker_id);
        let params = ClaimParams {
            from: status(py, from_status)?,
            n,
            owner,
            lease,
            query: crate::convert::query(query)?,
        };
        let store = self.store(py)?;
        let tasks = run(py, async move { store.claim(&pool, params).await })?;
        to_py_serialized(py, &tasks)
    }

    /// Extend a held lease by `lease` from now; returns the new expiry.
    fn heartbeat(
        &self,
        py: Python<'_>,
        pool: String,
        id: &Bound<'_, PyAny>,
        token: String,
        lease: &Bound<'_, PyAny>,
    ) -> PyResult<String> {
        let params = heartbeat_params(id, token, lease)?;
        let store = self.store(py)?;
        let expires = run(py, async move { store.heartbeat(&pool, params).await })?;
        Ok(expires.to_string())
    }

    /// Heartbeat a held lease in the background (every third of `lease`, on
    /// the extension's runtime, outside the GIL) until `stop()`.
    fn keep_alive(
        &self,
        pool: String,
        id: &Bound<'_, PyAny>,
        token: String,
        lease: &Bound<'_, PyAny>,
    ) -> PyResult<Heartbeat> {
        let params = heartbeat_params(id, token, lease)?;
        Heartbeat::start(self.store(id.py())?, pool, params)
    }

    /// Store the result of a held task and move it to `status` (`done`,
    /// `part_done` or `waiting`). `LeaseLost` if the lease is not held any more.
    #[pyo3(signature = (pool, id, token, result, status="done"))]
    fn commit(
        &self,
        py: Python<'_>,
        pool: String,
        id: &Bound<'_, PyAny>,
        token: String,
        result: &Bound<'_, PyAny>,
        status: &str,
    ) -> PyResult<()> {
        let params = CommitParams {
            id: task_id(id)?,
            token,
            result: to_json(result, "res")?,
            status: crate::convert::status(py, status)?,
        };
        let store = self.store(py)?;
        run(py, async move { store.commit(&pool, params).await })
    }

    /// Give a held task back. With `error` the attempt counts (and the task
    /// becomes `failed` after `max_attempts`); without, it is handed back
    /// uncounted. Returns the new status.
    #[pyo3(signature = (pool, id, token, error=None, status=None))]
    fn return_task(
        &self,
        py: Python<'_>,
        pool: String,
        id: &Bound<'_, PyAny>,
        token: String,
        error: Option<String>,
        status: Option<&str>,
    ) -> PyResult<String> {
        let params = ReturnParams {
            id: task_id(id)?,
            token,
            error,
            status: status.map(|s| crate::convert::status(py, s)).transpose()?,
        };
        let store = self.store(py)?;
        let status = run(py, async move { store.return_task(&pool, params).await })?;
        Ok(status.to_string())
    }

    /// One task by id (`NotFound` if there is none).
    fn get<'py>(
        &self,
        py: Python<'py>,
        pool: String,
        id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = task_id(id)?;
        let store = self.store(py)?;
        let task = run(py, async move { store.get(&pool, id).await })?;
        to_py_serialized(py, &task)
    }

    /// The tasks matching `query`, in id (creation) order.
    #[pyo3(signature = (pool, query=None, limit=None, skip=0))]
    fn query<'py>(
        &self,
        py: Python<'py>,
        pool: String,
        query: Option<&Bound<'py, PyAny>>,
        limit: Option<usize>,
        skip: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let params = QueryParams {
            query: crate::convert::query(query)?,
            limit,
            skip,
            ..QueryParams::default()
        };
        let store = self.store(py)?;
        let tasks = run(py, async move { store.query(&pool, params).await })?;
        to_py_serialized(py, &tasks)
    }

    /// Counts by status of the tasks matching `query` (every status, zeros
    /// included).
    #[pyo3(signature = (pool, query=None))]
    fn stat<'py>(
        &self,
        py: Python<'py>,
        pool: String,
        query: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let query = crate::convert::query(query)?;
        let store = self.store(py)?;
        let stat = run(py, async move { store.stat(&pool, &query).await })?;
        to_py_serialized(py, &stat)
    }

    /// Delete the tasks matching `query` (all of them for `None` or `{}`);
    /// returns how many.
    #[pyo3(signature = (pool, query=None))]
    fn remove(
        &self,
        py: Python<'_>,
        pool: String,
        query: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
        let query = crate::convert::query(query)?;
        let store = self.store(py)?;
        run(py, async move { store.remove(&pool, &query).await })
    }

    /// Set the status of the tasks matching `query` (not `running`); returns
    /// how many changed.
    fn reset_status(
        &self,
        py: Python<'_>,
        pool: String,
        query: Option<&Bound<'_, PyAny>>,
        status: &str,
    ) -> PyResult<u64> {
        let params = ResetParams {
            query: crate::convert::query(query)?,
            status: crate::convert::status(py, status)?,
        };
        let store = self.store(py)?;
        run(py, async move { store.reset_status(&pool, params).await })
    }

    /// Put `running` tasks matching `query` back to `waiting` (Qlib's
    /// `reset_waiting`); returns how many.
    #[pyo3(signature = (pool, query=None))]
    fn reset_waiting(
        &self,
        py: Python<'_>,
        pool: String,
        query: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
        let query = crate::convert::query(query)?;
        let store = self.store(py)?;
        run(py, async move { store.reset_waiting(&pool, query).await })
    }

    /// Set the priority of the tasks matching `query`; returns how many.
    fn prioritize(
        &self,
        py: Python<'_>,
        pool: String,
        query: Option<&Bound<'_, PyAny>>,
        priority: i64,
    ) -> PyResult<u64> {
        let query = crate::convert::query(query)?;
        let store = self.store(py)?;
        run(py, async move {
            store.prioritize(&pool, &query, priority).await
        })
    }

    /// Replace the definition (and filter) of a task; returns the new task.
    #[pyo3(signature = (pool, id, definition, filter=None))]
    fn replace<'py>(
        &self,
        py: Python<'py>,
        pool: String,
        id: &Bound<'py, PyAny>,
        definition: &Bound<'py, PyAny>,
        filter: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let params = ReplaceParams {
            id: task_id(id)?,
            def: to_json(definition, "def")?,
            filter: filter
                .filter(|f| !f.is_none())
                .map(|f| to_json(f, "filter"))
                .transpose()?,
        };
        let store = self.store(py)?;
        let task = run(py, async move { store.replace(&pool, params).await })?;
        to_py_serialized(py, &task)
    }

    /// The names of the pools holding tasks.
    fn pools(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let store = self.store(py)?;
        run(py, async move { store.pools().await })
    }

    /// Delete a pool and all its tasks; `True` if it existed.
    fn drop_pool(&self, py: Python<'_>, pool: String) -> PyResult<bool> {
        let store = self.store(py)?;
        run(py, async move { store.drop_pool(&pool).await })
    }

    /// Wait at most `timeout` seconds for the tasks matching `query` to
    /// leave the pending statuses; one look every `poll` seconds. Returns
    /// `{"finished", "stat", "pending", "expired"}` (expired: running tasks
    /// whose lease ran out). `TaskManager.wait` loops on it.
    #[pyo3(signature = (pool, query=None, timeout=1.0, poll=1.0))]
    fn wait<'py>(
        &self,
        py: Python<'py>,
        pool: String,
        query: Option<&Bound<'py, PyAny>>,
        timeout: f64,
        poll: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let query = crate::convert::query(query)?;
        let look: WaitLook = wait::look(py, self.store(py)?, pool, query, timeout, poll)?;
        look.to_py(py)
    }

    /// Create a record in `experiment`: `task` (a definition), its `pool`
    /// and `task_id`, `params`, `metrics` (numbers), `tags` (strings) and a
    /// `status` (`running`, `finished`, `failed`). Returns the record dict.
    #[pyo3(signature = (experiment, task=None, pool=None, task_id=None, params=None, metrics=None, tags=None, status="running"))]
    #[allow(clippy::too_many_arguments)]
    fn create_record<'py>(
        &self,
        py: Python<'py>,
        experiment: String,
        task: Option<&Bound<'py, PyAny>>,
        pool: Option<String>,
        task_id: Option<&Bound<'py, PyAny>>,
        params: Option<&Bound<'py, PyDict>>,
        metrics: Option<&Bound<'py, PyDict>>,
        tags: Option<&Bound<'py, PyDict>>,
        status: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let maps = records::Maps {
            params,
            metrics,
            tags,
        };
        let new = records::new_record(py, task, pool, task_id, maps, status)?;
        let store = self.store(py)?;
        let record = run(
            py,
            async move { store.create_record(&experiment, new).await },
        )?;
        to_py_serialized(py, &record)
    }

    /// Merge `params`, `metrics` and `tags` into a record and set its
    /// `status`; `record` is a record dict (or `experiment` and `id` given
    /// as keywords). Returns the updated record.
    #[pyo3(signature = (record, status=None, params=None, metrics=None, tags=None))]
    fn update_record<'py>(
        &self,
        py: Python<'py>,
        record: &Bound<'py, PyAny>,
        status: Option<&str>,
        params: Option<&Bound<'py, PyDict>>,
        metrics: Option<&Bound<'py, PyDict>>,
        tags: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (experiment, id) = records::record_ref(record)?;
        let maps = records::Maps {
            params,
            metrics,
            tags,
        };
        let update = records::update(py, id, status, maps)?;
        let store = self.store(py)?;
        let record = run(
            py,
            async move { store.update_record(&experiment, update).await },
        )?;
        to_py_serialized(py, &record)
    }

    /// One record by experiment and id.
    fn get_record<'py>(
        &self,
        py: Python<'py>,
        experiment: String,
        id: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = records::record_id(py, id)?;
        let store = self.store(py)?;
        let record = run(py, async move { store.get_record(&experiment, id).await })?;
        to_py_serialized(py, &record)
    }

    /// The records of `experiment`, optionally only those with one of the
    /// given statuses, all the given tags, or the given task id.
    #[pyo3(signature = (experiment, status=None, tags=None, task_id=None))]
    fn records<'py>(
        &self,
        py: Python<'py>,
        experiment: String,
        status: Option<Vec<String>>,
        tags: Option<&Bound<'py, PyDict>>,
        task_id: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let filter = records::filter(py, status, tags, task_id)?;
        let store = self.store(py)?;
        let records = run(
            py,
            async move { store.list_records(&experiment, &filter).await },
        )?;
        to_py_serialized(py, &records)
    }

    /// Delete a record and its artifacts; `True` if it existed.
    fn delete_record(&self, py: Python<'_>, record: &Bound<'_, PyAny>) -> PyResult<bool> {
        let (experiment, id) = records::record_ref(record)?;
        let store = self.store(py)?;
        run(
            py,
            async move { store.delete_record(&experiment, id).await },
        )
    }

    /// The names of the experiments holding records.
    fn experiments(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let store = self.store(py)?;
        run(py, async move { store.experiments().await })
    }

    /// Store an artifact of a record: `data` is `bytes`-like or the path of
    /// a file to read. Replaces an artifact of the same name.
    fn put_artifact(
        &self,
        py: Python<'_>,
        record: &Bound<'_, PyAny>,
        name: String,
        data: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let (experiment, id) = records::record_ref(record)?;
        let data = records::artifact_bytes(data)?;
        let store = self.store(py)?;
        run(py, async move {
            store.put_artifact(&experiment, id, &name, data).await
        })
    }

    /// The bytes of an artifact of a record (`NotFound` if it has none of
    /// that name).
    fn get_artifact<'py>(
        &self,
        py: Python<'py>,
        record: &Bound<'py, PyAny>,
        name: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (experiment, id) = records::record_ref(record)?;
        let store = self.store(py)?;
        let data = run(py, async move {
            store.get_artifact(&experiment, id, &name).await
        })?;
        Ok(pyo3::types::PyBytes::new(py, &data).into_any())
    }

    /// The artifacts of a record: `[{"name", "len"}]`.
    fn artifacts<'py>(
        &self,
        py: Python<'py>,
        record: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (experiment, id) = records::record_ref(record)?;
        let store = self.store(py)?;
        let list = run(
            py,
            async move { store.list_artifacts(&experiment, id).await },
        )?;
        to_py_serialized(py, &list)
    }

    /// Delete an artifact of a record; `True` if it existed.
    fn delete_artifact(
        &self,
        py: Python<'_>,
        record: &Bound<'_, PyAny>,
        name: String,
    ) -> PyResult<bool> {
        let (experiment, id) = records::record_ref(record)?;
        let store = self.store(py)?;
        run(py, async move {
            store.delete_artifact(&experiment, id, &name).await
        })
    }
}

fn heartbeat_params(
    id: &Bound<'_, PyAny>,
    token: String,
    lease: &Bound<'_, PyAny>,
) -> PyResult<HeartbeatParams> {
    Ok(HeartbeatParams {
        id: task_id(id)?,
        token,
        lease: duration(lease, "lease")?,
    })
}

/// `create`'s report as a list of `{"_id", "key", "new", "status"}` dicts
/// (the serialized shape of [`Created`], built directly: a batch has
/// thousands).
fn created_list<'py>(py: Python<'py>, created: &[Created]) -> PyResult<Bound<'py, PyList>> {
    let dicts = created
        .iter()
        .map(|c| {
            let dict = PyDict::new(py);
            dict.set_item(intern!(py, "_id"), c.id.to_string())?;
            dict.set_item(intern!(py, "key"), &c.key)?;
            dict.set_item(intern!(py, "new"), c.new)?;
            dict.set_item(intern!(py, "status"), c.status.as_str())?;
            Ok(dict)
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, dicts)
}
