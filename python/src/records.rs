//! Arguments of the record and artifact methods of `taskpool.Store`.

use std::collections::{BTreeMap, BTreeSet};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyMemoryView};
use serde_json::Value;
use taskpool::store::record::flatten_params;
use taskpool::store::{NewRecord, RecordFilter, RecordId, RecordStatus, UpdateRecord};

use crate::convert::{task_id, to_json};
use crate::error::{invalid_input, store_error};

/// A record id from its 24-hex string.
///
/// # Errors
/// `InvalidInput` for anything else.
pub fn record_id(py: Python<'_>, text: &str) -> PyResult<RecordId> {
    text.parse().map_err(|e| store_error(py, &e))
}

/// The experiment and id of a record dict (as returned by `create_record`).
///
/// # Errors
/// `InvalidInput` if it is not a record dict.
pub fn record_ref(record: &Bound<'_, PyAny>) -> PyResult<(String, RecordId)> {
    let py = record.py();
    let dict = record.cast::<PyDict>().map_err(|_| {
        invalid_input(
            py,
            "a record is the dict returned by create_record/records (with \"experiment\" and \"_id\")",
        )
    })?;
    let field = |name: &str| -> PyResult<String> {
        match dict.get_item(name)? {
            Some(value) => value.extract(),
            None => Err(invalid_input(
                py,
                format!("the record dict has no {name:?}"),
            )),
        }
    };
    Ok((field("experiment")?, record_id(py, &field("_id")?)?))
}

fn record_status(py: Python<'_>, name: &str) -> PyResult<RecordStatus> {
    name.parse().map_err(|e| store_error(py, &e))
}

/// The `params`, `metrics` and `tags` arguments of `create_record` and
/// `update_record`.
pub struct Maps<'a, 'py> {
    /// Parameters (any JSON values).
    pub params: Option<&'a Bound<'py, PyDict>>,
    /// Metrics (numbers).
    pub metrics: Option<&'a Bound<'py, PyDict>>,
    /// Tags (strings).
    pub tags: Option<&'a Bound<'py, PyDict>>,
}

/// The arguments of `create_record` as a [`NewRecord`]. Without `params`,
/// the parameters are the flattened `task` definition.
///
/// # Errors
/// `InvalidInput`/`TypeError` for a bad status, id or value.
pub fn new_record(
    py: Python<'_>,
    task: Option<&Bound<'_, PyAny>>,
    pool: Option<String>,
    id: Option<&Bound<'_, PyAny>>,
    maps: Maps<'_, '_>,
    status: &str,
) -> PyResult<NewRecord> {
    let Maps {
        params,
        metrics,
        tags,
    } = maps;
    let task = match task {
        Some(task) => to_json(task, "task")?,
        None => Value::Null,
    };
    let params = match params {
        Some(params) => json_map(params, "params")?,
        None => flatten_params(&task),
    };
    let status = record_status(py, status)?;
    Ok(NewRecord {
        id: None,
        pool,
        task_id: id.filter(|i| !i.is_none()).map(task_id).transpose()?,
        task,
        params,
        metrics: metrics.map(number_map).transpose()?.unwrap_or_default(),
        tags: tags.map(string_map).transpose()?.unwrap_or_default(),
        status,
    })
}

/// The arguments of `update_record` as an [`UpdateRecord`].
///
/// # Errors
/// `InvalidInput`/`TypeError` for a bad status or value.
pub fn update(
    py: Python<'_>,
    id: RecordId,
    status: Option<&str>,
    maps: Maps<'_, '_>,
) -> PyResult<UpdateRecord> {
    let Maps {
        params,
        metrics,
        tags,
    } = maps;
    Ok(UpdateRecord {
        id,
        status: status.map(|s| record_status(py, s)).transpose()?,
        params: params
            .map(|p| json_map(p, "params"))
            .transpose()?
            .unwrap_or_default(),
        metrics: metrics.map(number_map).transpose()?.unwrap_or_default(),
        tags: tags.map(string_map).transpose()?.unwrap_or_default(),
    })
}

/// The arguments of `records` as a [`RecordFilter`].
///
/// # Errors
/// `InvalidInput` for a bad status or task id.
pub fn filter(
    py: Python<'_>,
    status: Option<Vec<String>>,
    tags: Option<&Bound<'_, PyDict>>,
    id: Option<&Bound<'_, PyAny>>,
) -> PyResult<RecordFilter> {
    let status = status
        .map(|names| {
            names
                .iter()
                .map(|n| record_status(py, n))
                .collect::<PyResult<BTreeSet<_>>>()
        })
        .transpose()?;
    Ok(RecordFilter {
        status,
        tags: tags.map(string_map).transpose()?.unwrap_or_default(),
        task_id: id.filter(|i| !i.is_none()).map(task_id).transpose()?,
    })
}

/// The bytes of an artifact: `bytes`, `bytearray`, `memoryview`, or the
/// path (`str` / `os.PathLike`) of a file to read.
///
/// # Errors
/// `OSError` if the file cannot be read; `TypeError` for anything else.
pub fn artifact_bytes(data: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(bytes) = data.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    if let Ok(array) = data.cast::<PyByteArray>() {
        return Ok(array.to_vec());
    }
    if data.is_instance_of::<PyMemoryView>() {
        return data.call_method0("tobytes")?.extract();
    }
    let path: std::path::PathBuf = data.extract().map_err(|_| {
        PyTypeError::new_err(
            "an artifact is bytes, bytearray, memoryview, or the path of a file to read",
        )
    })?;
    let py = data.py();
    py.detach(|| std::fs::read(&path)).map_err(|e| {
        pyo3::exceptions::PyOSError::new_err(format!("cannot read {}: {e}", path.display()))
    })
}

fn json_map(dict: &Bound<'_, PyDict>, name: &str) -> PyResult<BTreeMap<String, Value>> {
    match to_json(dict.as_any(), name)? {
        Value::Object(map) => Ok(map.into_iter().collect()),
        _ => Err(PyTypeError::new_err(format!("{name} must be a dict"))),
    }
}

fn number_map(dict: &Bound<'_, PyDict>) -> PyResult<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    for (key, value) in json_map(dict, "metrics")? {
        let Some(number) = value.as_f64() else {
            return Err(PyTypeError::new_err(format!(
                "metrics[{key:?}]: a metric is a number, got {value}"
            )));
        };
        out.insert(key, number);
    }
    Ok(out)
}

fn string_map(dict: &Bound<'_, PyDict>) -> PyResult<BTreeMap<String, String>> {
    dict.extract()
        .map_err(|_| PyTypeError::new_err("tags must be a dict of str to str"))
}
