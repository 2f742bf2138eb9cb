//! Python objects ⇄ JSON values, and the small argument types (ids,
//! statuses, queries, durations) every method takes.
//!
//! Definitions and results are JSON: `dict` (string keys), `list`, `tuple`,
//! `str`, `int`, `float`, `bool`, `None`. NumPy scalars and 0-d arrays become
//! numbers (their `.item()`). Anything else is refused with a `TypeError`
//! naming the key path and the type: nothing is ever pickled, and large or
//! binary objects belong in artifacts.

use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};
use taskpool::store::{Query, Status, TaskId};

use crate::error::{invalid_input, store_error};

/// `obj` as JSON; `name` starts the key path in error messages (`res`,
/// `task_def`…).
///
/// # Errors
/// `TypeError` for a value that is not JSON; `InvalidInput` for an integer
/// beyond 64 bits or a float that is NaN or infinite.
pub fn to_json(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Value> {
    value(obj).map_err(|e| e.into_py_err(obj.py(), name))
}

/// Item `index` of the argument `list` as JSON: [`to_json`] with the key path
/// starting at `list[index]` (e.g. `defs[3]`).
///
/// # Errors
/// As [`to_json`].
pub fn to_json_item(obj: &Bound<'_, PyAny>, list: &str, index: usize) -> PyResult<Value> {
    value(obj).map_err(|e| e.into_py_err(obj.py(), &format!("{list}[{index}]")))
}

/// Why a value is not JSON, and where. The key path is collected only on
/// the way out of a failed conversion (innermost step first), so that a
/// successful one never formats a path.
struct NotJson {
    why: Why,
    /// The steps from the failing value up to the root, innermost first.
    steps: Vec<Step>,
}

/// One step of a key path.
enum Step {
    Key(String),
    Index(usize),
}

enum Why {
    /// `TypeError` with this message (after the path).
    NotJsonType(String),
    /// `InvalidInput` with this message (after the path).
    Invalid(String),
    /// An error Python raised while reading the value (as it is).
    Python(PyErr),
}

impl NotJson {
    fn new(why: Why) -> NotJson {
        NotJson {
            why,
            steps: Vec::new(),
        }
    }

    /// The error as seen one level up, through `step`.
    fn at(mut self, step: Step) -> NotJson {
        self.steps.push(step);
        self
    }

    fn into_py_err(self, py: Python<'_>, name: &str) -> PyErr {
        let mut path = name.to_owned();
        for step in self.steps.iter().rev() {
            match step {
                Step::Key(key) => path.push_str(&format!("[{key:?}]")),
                Step::Index(i) => path.push_str(&format!("[{i}]")),
            }
        }
        match self.why {
            Why::NotJsonType(message) => PyTypeError::new_err(format!("{path}: {message}")),
            Why::Invalid(message) => invalid_input(py, format!("{path}: {message}")),
            Why::Python(err) => err,
        }
    }
}

impl From<PyErr> for NotJson {
    fn from(err: PyErr) -> NotJson {
        NotJson::new(Why::Python(err))
    }
}

fn value(obj: &Bound<'_, PyAny>) -> Result<Value, NotJson> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(NotJson::new(Why::Invalid(format!(
            "integer {obj} does not fit in 64 bits"
        ))));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let f = f.value();
        return Number::from_f64(f).map(Value::Number).ok_or_else(|| {
            NotJson::new(Why::Invalid(format!(
                "{f} is not a JSON number (NaN or infinite)"
            )))
        });
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (key, item) in dict.iter() {
            let Ok(key) = key.cast::<PyString>() else {
                return Err(NotJson::new(Why::NotJsonType(format!(
                    "key {} is {}, but JSON object keys are strings",
                    key.repr()?,
                    type_name(&key)
                ))));
            };
            let key = key.to_cow()?.into_owned();
            match value(&item) {
                Ok(item) => map.insert(key, item),
                Err(e) => return Err(e.at(Step::Key(key))),
            };
        }
        return Ok(Value::Object(map));
    }
    if let Ok(list) = obj.cast::<PyList>() {
        return array(list.iter());
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return array(tuple.iter());
    }
    if let Some(scalar) = numpy_scalar(obj)? {
        return value(&scalar);
    }
    Err(NotJson::new(Why::NotJsonType(format!(
        "{} is not JSON (dict, list, str, int, float, bool, None; NumPy scalars are \
         converted). Nothing is pickled: store large or binary objects as artifacts \
         (Store.put_artifact) and keep a reference in the result",
        type_name(obj)
    ))))
}

/// The items of a list or tuple as a JSON array.
fn array<'py>(items: impl ExactSizeIterator<Item = Bound<'py, PyAny>>) -> Result<Value, NotJson> {
    let mut array = Vec::with_capacity(items.len());
    for (i, item) in items.enumerate() {
        array.push(value(&item).map_err(|e| e.at(Step::Index(i)))?);
    }
    Ok(Value::Array(array))
}

/// A NumPy scalar or 0-d array as its Python value (`.item()`); `None` for
/// anything else, including arrays of one or more dimensions.
fn numpy_scalar<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let module = obj.get_type().module()?;
    if !module.to_cow()?.starts_with("numpy") || !obj.hasattr("item")? {
        return Ok(None);
    }
    let dims: usize = match obj.getattr("ndim") {
        Ok(ndim) => ndim.extract()?,
        Err(_) => 0,
    };
    if dims != 0 {
        return Ok(None);
    }
    let item = obj.call_method0("item")?;
    // `.item()` of a datetime64 or object scalar may give back a NumPy or
    // other non-JSON object: refuse it rather than loop.
    if item.get_type().module()?.to_cow()?.starts_with("numpy") {
        return Ok(None);
    }
    Ok(Some(item))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    let ty = obj.get_type();
    match (ty.module(), ty.qualname()) {
        (Ok(module), Ok(name)) if module != "builtins" => format!("{module}.{name}"),
        (_, Ok(name)) => name.to_string(),
        _ => "an unknown type".to_owned(),
    }
}

/// `value` as a Python object: dicts, lists, str, int, float, bool, None.
///
/// # Errors
/// Only if Python cannot allocate.
pub fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// Any serializable store type (task, record, stat…) as Python objects.
///
/// # Errors
/// Only if Python cannot allocate.
pub fn to_py_serialized<'py>(
    py: Python<'py>,
    item: &impl serde::Serialize,
) -> PyResult<Bound<'py, PyAny>> {
    let value = serde_json::to_value(item)
        .map_err(|e| invalid_input(py, format!("cannot encode a store value: {e}")))?;
    to_py(py, &value)
}

/// A task id from its 24-hex string (or a task dict's `_id`).
///
/// # Errors
/// `InvalidInput` for anything else.
pub fn task_id(obj: &Bound<'_, PyAny>) -> PyResult<TaskId> {
    let py = obj.py();
    let text = match obj.cast::<PyDict>() {
        Ok(task) => match task.get_item("_id")? {
            Some(id) => id,
            None => return Err(invalid_input(py, "the task dict has no \"_id\"")),
        },
        Err(_) => obj.clone(),
    };
    let text: String = text
        .str()
        .map_err(|_| invalid_input(py, "a task id must be a 24-hex string"))?
        .to_string();
    text.parse().map_err(|e| store_error(py, &e))
}

/// A status name (`waiting`, `running`, `part_done`, `done`, `failed`).
///
/// # Errors
/// `InvalidInput` for any other name.
pub fn status(py: Python<'_>, name: &str) -> PyResult<Status> {
    name.parse().map_err(|e| store_error(py, &e))
}

/// A query from a dict in the MongoDB subset the CLI accepts; `None` or an
/// empty dict matches every task.
///
/// # Errors
/// `InvalidQuery` naming what cannot be answered; `TypeError` if it is not
/// JSON.
pub fn query(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Query> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Query::All);
    };
    let value = to_json(obj, "query")?;
    Query::parse(&value).map_err(|e| store_error(obj.py(), &e))
}

/// A duration from seconds (`int`/`float`) or a string such as `"2s"`,
/// `"500ms"`, `"1m30s"`.
///
/// # Errors
/// `InvalidInput` for a negative, zero, non-finite or unparsable duration.
pub fn duration(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Duration> {
    let py = obj.py();
    let parsed = if let Ok(text) = obj.cast::<PyString>() {
        let text = text.to_cow()?;
        text.parse::<jiff::SignedDuration>()
            .ok()
            .and_then(|d| Duration::try_from(d).ok())
            .ok_or_else(|| {
                invalid_input(
                    py,
                    format!(
                        "{what}: {text:?} is not a duration (e.g. \"2s\", \"500ms\", \"1m30s\")"
                    ),
                )
            })?
    } else {
        let seconds: f64 = obj.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "{what}: expected seconds (a number) or a duration string, got {}",
                type_name(obj)
            ))
        })?;
        Duration::try_from_secs_f64(seconds).map_err(|_| {
            invalid_input(
                py,
                format!("{what}: {seconds} is not a duration in seconds"),
            )
        })?
    };
    if parsed.is_zero() {
        return Err(invalid_input(
            py,
            format!("{what} must be longer than zero"),
        ));
    }
    Ok(parsed)
}

/// The number of seconds in `value`: seconds (a number) or a duration
/// string such as `"2s"`, `"500ms"`, `"1m30s"`.
#[pyfunction]
#[pyo3(signature = (value, what="duration"))]
pub fn seconds(value: &Bound<'_, PyAny>, what: &str) -> PyResult<f64> {
    Ok(duration(value, what)?.as_secs_f64())
}
