//! [`MultiHorizonGen`]: one task per label horizon (Qlib
//! `MultiHorizonGenBase`, reference §2.6).

use std::fmt;

use serde_json::Value;

use super::TaskGen;
use super::error::GenError;
use super::path::JsonPath;
use super::segments;
use crate::calendar::Calendar;
use crate::time_adjust::TimeAdjuster;

type SetHorizon = Box<dyn Fn(&mut Value, u32) -> Result<(), GenError> + Send + Sync>;

/// One task per horizon: the horizon is written into a copy of the task,
/// every segment is aligned, and every segment but the test one is truncated
/// to `horizon + label_leak_n` trading days before the test start, so labels
/// that look `horizon` days ahead never reach into the test period.
///
/// Output order is the horizon order. The test segment is only aligned.
/// Differences from Qlib: the test key is configurable (Qlib fixes `"test"`),
/// an empty horizon list is an error instead of silently producing nothing,
/// truncation may reach the first calendar day (B7), and the test start must
/// not be open.
pub struct MultiHorizonGen {
    horizons: Vec<u32>,
    label_leak_n: u32,
    test_key: String,
    set_horizon: SetHorizon,
}

impl fmt::Debug for MultiHorizonGen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiHorizonGen")
            .field("horizons", &self.horizons)
            .field("label_leak_n", &self.label_leak_n)
            .field("test_key", &self.test_key)
            .finish_non_exhaustive()
    }
}

impl MultiHorizonGen {
    /// A generator for `horizons` that writes each horizon into the task with
    /// `set_horizon` (Qlib's abstract `set_horizon`). `label_leak_n` defaults
    /// to 2 and the test key to `"test"`, as in Qlib.
    pub fn new(
        horizons: impl IntoIterator<Item = u32>,
        set_horizon: impl Fn(&mut Value, u32) -> Result<(), GenError> + Send + Sync + 'static,
    ) -> Self {
        MultiHorizonGen {
            horizons: horizons.into_iter().collect(),
            label_leak_n: 2,
            test_key: "test".to_owned(),
            set_horizon: Box::new(set_horizon),
        }
    }

    /// A generator that writes the horizon as an integer at the dotted `path`
    /// (e.g. `dataset.kwargs.handler.kwargs.label_horizon`).
    ///
    /// # Errors
    /// [`GenError::BadPath`] for a malformed path.
    pub fn at_path(horizons: impl IntoIterator<Item = u32>, path: &str) -> Result<Self, GenError> {
        let path = JsonPath::parse(path)?;
        Ok(Self::new(horizons, move |task, horizon| {
            path.set(task, Value::from(horizon))
        }))
    }

    /// Extra trading days of gap beyond the horizon (default 2).
    pub fn label_leak_n(mut self, days: u32) -> Self {
        self.label_leak_n = days;
        self
    }

    /// The test segment key (default `"test"`).
    pub fn test_key(mut self, key: impl Into<String>) -> Self {
        self.test_key = key.into();
        self
    }
}

impl TaskGen for MultiHorizonGen {
    /// One task per horizon.
    ///
    /// # Errors
    /// [`GenError::Config`] for an empty horizon list; whatever `set_horizon`
    /// returns; the template errors of [`super::RollingGen`].
    fn generate(&self, task: &Value, calendar: &Calendar) -> Result<Vec<Value>, GenError> {
        if self.horizons.is_empty() {
            return Err(GenError::Config {
                param: "horizons",
                reason: "the list is empty".to_owned(),
            });
        }
        let ta = TimeAdjuster::new(calendar);
        self.horizons
            .iter()
            .map(|&horizon| {
                let mut out = task.clone();
                (self.set_horizon)(&mut out, horizon)?;
                let segs = segments::read(&out)?;
                let mut aligned = segments::align(&ta, &segs)?;
                let days = horizon as usize + self.label_leak_n as usize;
                segments::truncate_all(&ta, &mut aligned, &self.test_key, days)?;
                let dated: Vec<_> = aligned
                    .into_iter()
                    .map(|(key, seg)| (key, ta.dated(seg)))
                    .collect();
                segments::write(&mut out, &dated)?;
                Ok(out)
            })
            .collect()
    }
}
