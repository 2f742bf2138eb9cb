//! [`RollingGen`]: one task per rolling test window (Qlib `RollingGen`,
//! reference §2.5).

use std::fmt;

use jiff::civil::Date;
use serde_json::Value;

use super::TaskGen;
use super::error::GenError;
use super::segments::{self, read_date};
use super::windows::{Step, Window, test_windows};
use crate::calendar::Calendar;
use crate::time_adjust::{IndexSegment, RollType, Segment, TimeAdjuster, TimeError};

const HANDLER_KWARGS_POINTER: &str = "/dataset/kwargs/handler/kwargs";
const HANDLER_END_PATH: &str = "dataset.kwargs.handler.kwargs.end_time";

type TaskCopy = Box<dyn Fn(&Value) -> Value + Send + Sync>;

/// Rolls a template's test segment forward through the calendar, one task per
/// window (Qlib `RollingGen`, reference §2.5).
///
/// # Semantics (preserved from Qlib)
///
/// - Every segment is aligned first: start to the next trading day, end to the
///   previous one.
/// - The first test window is `[s, s + step - 1]` in trading days, where `s` is
///   the aligned test start; the template's test end only bounds the loop:
///   windows are produced while their start is on or before it (or before the
///   last *data* day when the test end is open or later), so there are
///   `floor((e - s) / step) + 1` tasks and the last window may end after the
///   template's test end.
/// - For window `k`, every other segment moves by the same number of trading
///   days as the test start: both ends for [`RollType::Sliding`], only the end
///   of `train_key` for [`RollType::Expanding`] (other segments always slide).
///   Open (`null`) bounds stay open.
/// - `trunc_days` clips every point of every non-test segment to at most
///   `index(test start) - trunc_days` (applied to the first window; later ones
///   keep the gap by uniform shifting).
/// - A window end past the calendar is open (`null`): supply a future calendar
///   ([`Calendar::with_future`]) to get real ends.
/// - Handler modification (on by default, Qlib's `handler_mod`): the handler's
///   `end_time` at `dataset.kwargs.handler.kwargs` is extended (never shrunk)
///   to the test end, and set to `null` when the test end is open; a missing or
///   `null` handler end, or a handler that is not an object (e.g. a
///   `"file://…"` string), is left alone.
///
/// # Differences from Qlib
///
/// - Validation: `step >= 1`, `test_len >= 1`, `train_key != test_key`, the
///   segments exist and are ordered, the test start is not open.
/// - B1: a window whose start would be one past the calendar end is not
///   produced (Qlib crashes with a `TypeError`); generation stops there.
/// - B7: truncation may reach the first calendar day.
/// - §9 E (open ends do not propagate): every test window's end is computed
///   from its own start, so in [`RollingGen::following`] a base task whose test
///   end was open because it ran past an older calendar still yields closed
///   windows once the calendar has grown. Qlib copies the `None` forward
///   forever (overlapping open windows).
/// - The calendar is an argument of every call (§9 E, no snapshot).
/// - `trunc_days` accepts open points: an open start stays open, an open end
///   becomes the cut-off (Qlib raises `TypeError`).
/// - The handler end is compared with the test end as dates (Qlib compares
///   their positions as trading-day *starts*, which leaves a handler ending on
///   a weekend before a Monday test end unextended), and written as
///   `"YYYY-MM-DD"`.
/// - Beyond Qlib: [`Step::Weeks`] / [`Step::Months`] (windows aligned to
///   calendar periods, #1288) and [`RollingGen::test_len`] (a test window
///   shorter or longer than the step, #1385).
pub struct RollingGen {
    step: Step,
    rtype: RollType,
    test_key: String,
    train_key: Option<String>,
    trunc_days: Option<usize>,
    test_len: Option<usize>,
    modify_handler: bool,
    task_copy: Option<TaskCopy>,
}

impl Default for RollingGen {
    /// Qlib's defaults: step 40 trading days, expanding, `test_key = "test"`,
    /// `train_key = "train"`, no truncation, handler modification on.
    fn default() -> Self {
        RollingGen {
            step: Step::default(),
            rtype: RollType::Expanding,
            test_key: "test".to_owned(),
            train_key: Some("train".to_owned()),
            trunc_days: None,
            test_len: None,
            modify_handler: true,
            task_copy: None,
        }
    }
}

impl fmt::Debug for RollingGen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RollingGen")
            .field("step", &self.step)
            .field("rtype", &self.rtype)
            .field("test_key", &self.test_key)
            .field("train_key", &self.train_key)
            .field("trunc_days", &self.trunc_days)
            .field("test_len", &self.test_len)
            .field("modify_handler", &self.modify_handler)
            .field("task_copy", &self.task_copy.as_ref().map(|_| "custom"))
            .finish()
    }
}

impl RollingGen {
    /// Qlib defaults with a step of `step` trading days.
    pub fn new(step: usize) -> Self {
        RollingGen {
            step: Step::TradingDays(step),
            ..RollingGen::default()
        }
    }

    /// The distance between window starts.
    pub fn step(mut self, step: Step) -> Self {
        self.step = step;
        self
    }

    /// Sliding or expanding (default expanding).
    pub fn rtype(mut self, rtype: RollType) -> Self {
        self.rtype = rtype;
        self
    }

    /// The segment that rolls as the test window (default `"test"`).
    pub fn test_key(mut self, key: impl Into<String>) -> Self {
        self.test_key = key.into();
        self
    }

    /// The segment that expands under [`RollType::Expanding`] (default
    /// `"train"`); `None` makes every segment slide.
    pub fn train_key(mut self, key: Option<String>) -> Self {
        self.train_key = key;
        self
    }

    /// Leave `days` trading days between every non-test segment and the test
    /// start (e.g. label horizon + 1, to avoid leakage).
    pub fn trunc_days(mut self, days: Option<usize>) -> Self {
        self.trunc_days = days;
        self
    }

    /// Test windows of `days` trading days instead of "until the next window
    /// starts" (`None`, the default and Qlib's behaviour).
    pub fn test_len(mut self, days: Option<usize>) -> Self {
        self.test_len = days;
        self
    }

    /// Whether to extend the handler's `end_time` to each test end (default
    /// `true`).
    pub fn handler_mod(mut self, on: bool) -> Self {
        self.modify_handler = on;
        self
    }

    /// How the template is copied for each task (default: a deep clone).
    /// Qlib's DDG-DA uses this to share large objects between tasks.
    pub fn task_copy(mut self, copy: impl Fn(&Value) -> Value + Send + Sync + 'static) -> Self {
        self.task_copy = Some(Box::new(copy));
        self
    }

    /// Check the parameters.
    ///
    /// # Errors
    /// [`GenError::Config`] for a step or test length of 0, or a `train_key`
    /// equal to `test_key`.
    pub fn validate(&self) -> Result<(), GenError> {
        if !self.step.is_positive() {
            return Err(GenError::Config {
                param: "step",
                reason: format!("{} is not at least 1", self.step),
            });
        }
        if self.test_len == Some(0) {
            return Err(GenError::Config {
                param: "test_len",
                reason: "0 is not at least 1".to_owned(),
            });
        }
        if self.train_key.as_deref() == Some(self.test_key.as_str()) {
            return Err(GenError::Config {
                param: "train_key",
                reason: format!("`{}` is also the test key", self.test_key),
            });
        }
        Ok(())
    }

    /// The tasks that follow `task` (an output of this generator) whose test
    /// window has started on or before `until` (Qlib `gen_following_tasks`,
    /// as used by online rolling: worked example C). `task` itself is not
    /// included; truncation is not re-applied (the gap is kept by shifting).
    ///
    /// # Errors
    /// As [`TaskGen::generate`].
    pub fn following(
        &self,
        task: &Value,
        until: Date,
        calendar: &Calendar,
    ) -> Result<Vec<Value>, GenError> {
        self.validate()?;
        let ta = TimeAdjuster::new(calendar);
        let base = self.copy(task);
        let aligned = self.aligned(&ta, &base)?;
        let first = segments::test_start(&aligned, &self.test_key)?;
        let Some(bound) = calendar.index_on_or_before(until) else {
            return Ok(Vec::new());
        };
        let windows = test_windows(self.step, self.test_len, calendar, first, bound);
        self.emit(&ta, &base, &aligned, first, &windows[1..])
    }

    fn copy(&self, task: &Value) -> Value {
        match &self.task_copy {
            Some(copy) => copy(task),
            None => task.clone(),
        }
    }

    fn aligned(
        &self,
        ta: &TimeAdjuster<'_>,
        task: &Value,
    ) -> Result<Vec<(String, IndexSegment)>, GenError> {
        let segs = segments::read(task)?;
        segments::find(&segs, &self.test_key)?;
        if let Some(train) = &self.train_key {
            segments::find(&segs, train)?;
        }
        segments::align(ta, &segs)
    }

    fn emit(
        &self,
        ta: &TimeAdjuster<'_>,
        base: &Value,
        aligned: &[(String, IndexSegment)],
        first: usize,
        windows: &[Window],
    ) -> Result<Vec<Value>, GenError> {
        let mut tasks = Vec::with_capacity(windows.len());
        for window in windows {
            let Some(segs) = self.window_segments(ta, aligned, first, window)? else {
                tracing::debug!(
                    window_start = %ta.calendar().days()[window.start],
                    "a segment would start past the calendar; rolling stops"
                );
                break;
            };
            let mut task = self.copy(base);
            segments::write(&mut task, &segs)?;
            if self.modify_handler {
                let test_end = segments::find(&segs, &self.test_key)?.end;
                modify_handler_end(&mut task, test_end)?;
            }
            tasks.push(task);
        }
        Ok(tasks)
    }

    /// The segments of one window; `None` when one would start past the
    /// calendar (B1: stop instead of producing an open start).
    fn window_segments(
        &self,
        ta: &TimeAdjuster<'_>,
        aligned: &[(String, IndexSegment)],
        first: usize,
        window: &Window,
    ) -> Result<Option<Vec<(String, Segment)>>, GenError> {
        let delta = window.start - first;
        let mut out = Vec::with_capacity(aligned.len());
        for (key, seg) in aligned {
            let dated = if *key == self.test_key {
                ta.dated(IndexSegment {
                    start: Some(window.start),
                    end: window.end,
                })
            } else {
                let expands = self.rtype == RollType::Expanding
                    && self.train_key.as_deref() == Some(key.as_str());
                let rtype = if expands {
                    RollType::Expanding
                } else {
                    RollType::Sliding
                };
                match ta.shifted(*seg, delta, rtype) {
                    Ok(seg) => seg,
                    Err(TimeError::ShiftedPastCalendar { .. }) => return Ok(None),
                    Err(source) => {
                        return Err(GenError::Time {
                            key: key.clone(),
                            source,
                        });
                    }
                }
            };
            out.push((key.clone(), dated));
        }
        Ok(Some(out))
    }
}

impl TaskGen for RollingGen {
    /// One task per test window (see the type's documentation).
    ///
    /// # Errors
    /// [`GenError::Config`] for bad parameters; [`GenError::MissingKey`],
    /// [`GenError::MissingSegment`], [`GenError::BadSegment`],
    /// [`GenError::InvalidDate`], [`GenError::UnorderedSegment`],
    /// [`GenError::OpenTestStart`] for a bad template; [`GenError::Time`] when a
    /// segment does not fit the calendar.
    fn generate(&self, task: &Value, calendar: &Calendar) -> Result<Vec<Value>, GenError> {
        self.validate()?;
        let ta = TimeAdjuster::new(calendar);
        let base = self.copy(task);
        let mut aligned = self.aligned(&ta, &base)?;
        let first = segments::test_start(&aligned, &self.test_key)?;
        let last_data = calendar.last_data_index();
        let bound = segments::find(&aligned, &self.test_key)?
            .end
            .map_or(last_data, |end| end.min(last_data));
        if let Some(days) = self.trunc_days {
            segments::truncate_all(&ta, &mut aligned, &self.test_key, days)?;
        }
        let windows = test_windows(self.step, self.test_len, calendar, first, bound);
        self.emit(&ta, &base, &aligned, first, &windows)
    }
}

/// Qlib's `handler_mod`: extend the handler end to `test_end`, or open it
/// when the test end is open.
fn modify_handler_end(task: &mut Value, test_end: Option<Date>) -> Result<(), GenError> {
    let Some(kwargs) = task
        .pointer_mut(HANDLER_KWARGS_POINTER)
        .and_then(Value::as_object_mut)
    else {
        return Ok(());
    };
    let Some(test_end) = test_end else {
        kwargs.insert("end_time".to_owned(), Value::Null);
        return Ok(());
    };
    let Some(current) = kwargs.get("end_time") else {
        return Ok(());
    };
    let Some(handler_end) = read_date(HANDLER_END_PATH, current)? else {
        return Ok(());
    };
    let end = handler_end.max(test_end);
    kwargs.insert("end_time".to_owned(), segments::date_value(Some(end)));
    Ok(())
}
