//! Task generation: the pipeline's calendars and generators (the same code
//! as `taskpool gen`) for the Python `RollingGen`, `MultiHorizonGenBase` and
//! `task_generator`.

use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};
use serde_json::Value;
use taskpool::pipeline::calendar::{Calendar as RustCalendar, CalendarError, parse_date};
use taskpool::pipeline::generate::{GenError, MultiHorizonGen, RollingGen, Step, TaskGen};
use taskpool::pipeline::time_adjust::RollType;
use taskpool::store::Error;

use crate::convert::{to_json, to_py};
use crate::error::{invalid_input, store_error};

/// A trading calendar: sorted distinct dates.
///
/// `Calendar(dates)` takes a list of `"YYYY-MM-DD"` strings or
/// `datetime.date`s; `Calendar.load(path)` reads Qlib's `day.txt` format.
#[pyclass(module = "taskpool._native", frozen)]
pub struct Calendar {
    inner: Arc<RustCalendar>,
}

#[pymethods]
impl Calendar {
    #[new]
    fn new(py: Python<'_>, dates: &Bound<'_, PyAny>) -> PyResult<Calendar> {
        if dates.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(
                "Calendar(dates) takes a list of dates; use Calendar.load(path) for a day.txt file",
            ));
        }
        let mut days = Vec::new();
        for (i, item) in dates.try_iter()?.enumerate() {
            let text = item?.str()?.to_string();
            // `datetime.date` prints as YYYY-MM-DD; a datetime or pandas
            // Timestamp adds a time part that Qlib's day.txt may also carry.
            let day = text.split([' ', 'T']).next().unwrap_or_default();
            let date = parse_date(day).ok_or_else(|| {
                invalid_input(
                    py,
                    format!("calendar[{i}]: {text:?} is not a date (YYYY-MM-DD)"),
                )
            })?;
            days.push(date);
        }
        let inner = RustCalendar::from_dates(days)
            .map_err(|e| invalid_input(py, format!("calendar: {e}")))?;
        Ok(Calendar {
            inner: Arc::new(inner),
        })
    }

    /// Read a calendar file: one `YYYY-MM-DD` per line, sorted (Qlib's
    /// `calendars/day.txt`).
    #[staticmethod]
    fn load(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Calendar> {
        let inner = py.detach(|| RustCalendar::load(&path)).map_err(|e| {
            let message = match &e {
                CalendarError::Io { source, .. } => format!("{e}: {source}"),
                _ => format!("calendar {}: {e}", path.display()),
            };
            invalid_input(py, message)
        })?;
        Ok(Calendar {
            inner: Arc::new(inner),
        })
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "Calendar({} days, {} … {})",
            self.inner.len(),
            self.inner.first(),
            self.inner.last()
        )
    }

    /// The dates as `"YYYY-MM-DD"` strings.
    fn dates(&self) -> Vec<String> {
        self.inner.days().iter().map(ToString::to_string).collect()
    }
}

/// Qlib's `RollingGen` over a calendar given at each call.
#[pyclass(module = "taskpool._native", frozen)]
pub struct Rolling {
    inner: RollingGen,
}

#[pymethods]
impl Rolling {
    #[new]
    #[pyo3(signature = (step=None, rtype="expanding", test_key="test", train_key=Some("train".to_owned()), trunc_days=None, test_len=None, handler_mod=true))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        step: Option<&Bound<'_, PyAny>>,
        rtype: &str,
        test_key: &str,
        train_key: Option<String>,
        trunc_days: Option<usize>,
        test_len: Option<usize>,
        handler_mod: bool,
    ) -> PyResult<Rolling> {
        let step = match step {
            None => Step::default(),
            Some(step) => match step.extract::<usize>() {
                Ok(days) => Step::TradingDays(days),
                Err(_) => {
                    let text: String = step.extract().map_err(|_| {
                        PyTypeError::new_err(
                            "step is a number of trading days or a period such as \"1m\" or \"2w\"",
                        )
                    })?;
                    text.parse::<Step>()
                        .map_err(|e| invalid_input(py, format!("step: {e}")))?
                }
            },
        };
        let rtype: RollType = rtype
            .parse()
            .map_err(|e| invalid_input(py, format!("rtype: {e}")))?;
        let inner = RollingGen::default()
            .step(step)
            .rtype(rtype)
            .test_key(test_key)
            .train_key(train_key.filter(|k| !k.is_empty()))
            .trunc_days(trunc_days)
            .test_len(test_len)
            .handler_mod(handler_mod);
        inner.validate().map_err(|e| gen_error(py, e))?;
        Ok(Rolling { inner })
    }

    /// The rolling tasks of `task` (Qlib `RollingGen.generate`).
    fn generate<'py>(
        &self,
        py: Python<'py>,
        task: &Bound<'py, PyAny>,
        calendar: &Calendar,
    ) -> PyResult<Bound<'py, PyList>> {
        generate(py, &self.inner, task, calendar)
    }

    /// The tasks after `task` whose test window starts on or before
    /// `test_end` (Qlib `RollingGen.gen_following_tasks`).
    fn following<'py>(
        &self,
        py: Python<'py>,
        task: &Bound<'py, PyAny>,
        test_end: &Bound<'py, PyAny>,
        calendar: &Calendar,
    ) -> PyResult<Bound<'py, PyList>> {
        let task = to_json(task, "task")?;
        let text = test_end.str()?.to_string();
        let until = parse_date(text.split([' ', 'T']).next().unwrap_or_default())
            .ok_or_else(|| invalid_input(py, format!("test_end: {text:?} is not a date")))?;
        let tasks = self
            .inner
            .following(&task, until, &calendar.inner)
            .map_err(|e| gen_error(py, e))?;
        list(py, &tasks)
    }
}

/// Qlib's `MultiHorizonGenBase`: one task per label horizon, segments other
/// than the test one truncated `horizon + label_leak_n` days before it.
/// `set_horizon` is a JSON path (`"dataset.kwargs.handler.kwargs.horizon"`)
/// or a callable `set_horizon(task, horizon)` that edits the task dict in
/// place.
#[pyclass(module = "taskpool._native", frozen)]
pub struct Horizons {
    inner: MultiHorizonGen,
}

#[pymethods]
impl Horizons {
    #[new]
    #[pyo3(signature = (horizons, set_horizon, label_leak_n=2, test_key="test"))]
    fn new(
        py: Python<'_>,
        horizons: Vec<u32>,
        set_horizon: &Bound<'_, PyAny>,
        label_leak_n: u32,
        test_key: &str,
    ) -> PyResult<Horizons> {
        let inner = if let Ok(path) = set_horizon.extract::<String>() {
            MultiHorizonGen::at_path(horizons, &path).map_err(|e| gen_error(py, e))?
        } else if set_horizon.is_callable() {
            let callback: Py<PyAny> = set_horizon.clone().unbind();
            MultiHorizonGen::new(horizons, move |task: &mut Value, horizon: u32| {
                Python::attach(|py| call_set_horizon(py, &callback, task, horizon))
            })
        } else {
            return Err(PyTypeError::new_err(
                "set_horizon is a JSON path (str) or a callable set_horizon(task, horizon)",
            ));
        };
        Ok(Horizons {
            inner: inner.label_leak_n(label_leak_n).test_key(test_key),
        })
    }

    /// One task per horizon, in horizon order.
    fn generate<'py>(
        &self,
        py: Python<'py>,
        task: &Bound<'py, PyAny>,
        calendar: &Calendar,
    ) -> PyResult<Bound<'py, PyList>> {
        generate(py, &self.inner, task, calendar)
    }
}

/// Call a Python `set_horizon(task, horizon)` on a copy of `task` and read
/// the edited dict back.
fn call_set_horizon(
    py: Python<'_>,
    callback: &Py<PyAny>,
    task: &mut Value,
    horizon: u32,
) -> Result<(), GenError> {
    let failed = |e: PyErr| GenError::Config {
        param: "set_horizon",
        reason: e.to_string(),
    };
    let dict = to_py(py, task).map_err(failed)?;
    callback.call1(py, (&dict, horizon)).map_err(failed)?;
    *task = to_json(&dict, "task").map_err(failed)?;
    Ok(())
}

/// `generator`'s tasks for `task` as a list of dicts.
fn generate<'py>(
    py: Python<'py>,
    generator: &dyn TaskGen,
    task: &Bound<'py, PyAny>,
    calendar: &Calendar,
) -> PyResult<Bound<'py, PyList>> {
    let task = to_json(task, "task")?;
    let tasks = generator
        .generate(&task, &calendar.inner)
        .map_err(|e| gen_error(py, e))?;
    list(py, &tasks)
}

fn list<'py>(py: Python<'py>, tasks: &[Value]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for task in tasks {
        list.append(to_py(py, task)?)?;
    }
    Ok(list)
}

/// A generation error as `taskpool.InvalidInput` with its causes.
fn gen_error(py: Python<'_>, error: GenError) -> PyErr {
    store_error(py, &Error::from(error))
}
