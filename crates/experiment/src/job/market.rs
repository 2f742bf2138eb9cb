//! The data a job's tasks train on: its description in a task definition
//! ([`DataSpec`]) and a per-process cache of loaded datasets ([`load`]).
//!
//! Every process (the `taskpool run` process and each worker process) loads
//! the data itself. Loading the default synthetic dataset (bars, features,
//! labels) takes a noticeable fraction of a second, so each process keeps
//! what it loaded, keyed by the spec: N tasks on the same data load it once.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use taskpool_pipeline::calendar::Calendar;

use crate::data::synthetic::{SyntheticSpec, generate};
use crate::data::{Bars, DataError, Dataset};

/// Where a task's bars come from, as written in its definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum DataSpec {
    /// The embedded synthetic dataset.
    Synthetic {
        /// Number of instruments.
        instruments: usize,
        /// Number of trading days.
        days: usize,
        /// First calendar day.
        start: Date,
        /// Random seed.
        seed: u64,
    },
    /// A bars CSV file, with the BLAKE3 hash of its content: a task is
    /// never trained on a file that changed after it was created, and a
    /// changed file makes new tasks (the hash is part of the definition).
    File {
        /// Absolute path.
        path: String,
        /// Hex BLAKE3 hash of the file.
        blake3: String,
    },
}

impl DataSpec {
    /// The spec of a CSV file, hashing its content now.
    ///
    /// # Errors
    /// [`DataError::Io`] if the file cannot be read.
    pub fn file(path: &Path) -> Result<DataSpec, DataError> {
        Ok(DataSpec::File {
            path: path.display().to_string(),
            blake3: hash_file(path)?,
        })
    }

    /// A short description for people: `synthetic (seed 7)` or the file's path.
    pub fn describe(&self) -> String {
        match self {
            DataSpec::Synthetic { seed, .. } => format!("synthetic (seed {seed})"),
            DataSpec::File { path, .. } => path.clone(),
        }
    }
}

fn hash_file(path: &Path) -> Result<String, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(blake3::hash(&bytes).to_hex().to_string())
}

/// Loaded data: the feature/label table and the trading calendar.
#[derive(Debug)]
pub struct MarketData {
    /// Features and labels.
    pub dataset: Dataset,
    /// Every date with a bar (the calendar task generation rolls over).
    pub calendar: Calendar,
    index: HashMap<String, u32>,
}

impl MarketData {
    /// Features, labels and calendar of `bars`.
    ///
    /// # Errors
    /// [`DataError::Empty`] when there are no bars.
    pub fn from_bars(source: &str, bars: &Bars) -> Result<MarketData, DataError> {
        let calendar = Calendar::from_dates(bars.dates()).map_err(|_| DataError::Empty {
            path: source.to_string(),
        })?;
        let dataset = Dataset::from_bars(bars);
        let index = dataset
            .instruments
            .iter()
            .enumerate()
            .map(|(i, name)| (name.clone(), i as u32))
            .collect();
        Ok(MarketData {
            dataset,
            calendar,
            index,
        })
    }

    /// `describe` of `spec` with this data's size and date range.
    pub fn describe(&self, spec: &DataSpec) -> String {
        format!(
            "{}: {} instruments × {} trading days, {} … {}",
            spec.describe(),
            self.dataset.instruments.len(),
            self.calendar.len(),
            self.calendar.first(),
            self.calendar.last()
        )
    }

    /// The raw label (next return) of `instrument` on `date`, if known.
    pub fn label(&self, date: Date, instrument: &str) -> Option<f64> {
        let idx = *self.index.get(instrument)?;
        let rows = self.dataset.rows(Some(date), Some(date));
        let at = rows.instruments.binary_search(&idx).ok()?;
        Some(rows.labels[at]).filter(|l| l.is_finite())
    }
}

type Cache = Mutex<HashMap<DataSpec, Arc<MarketData>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

/// The data of `spec`, loaded once per process.
///
/// # Errors
/// [`DataError`] when a file cannot be read or parsed, has no bars, or no
/// longer has the hash recorded in the spec.
pub fn load(spec: &DataSpec) -> Result<Arc<MarketData>, DataError> {
    // Holding the lock while loading makes concurrent callers for the same
    // spec wait for one load instead of each doing it.
    let mut cache = cache().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(data) = cache.get(spec) {
        return Ok(Arc::clone(data));
    }
    let data = Arc::new(load_uncached(spec)?);
    cache.insert(spec.clone(), Arc::clone(&data));
    Ok(data)
}

fn load_uncached(spec: &DataSpec) -> Result<MarketData, DataError> {
    match spec {
        DataSpec::Synthetic {
            instruments,
            days,
            start,
            seed,
        } => {
            let bars = generate(&SyntheticSpec {
                instruments: *instruments,
                days: *days,
                start: *start,
                seed: *seed,
            });
            MarketData::from_bars("synthetic data", &bars)
        }
        DataSpec::File { path, blake3 } => {
            let file = Path::new(path);
            let actual = hash_file(file)?;
            if &actual != blake3 {
                return Err(DataError::Row {
                    path: path.clone(),
                    line: 0,
                    message: "the file changed since the tasks were created (its hash differs); run again to create tasks for the new content".to_string(),
                });
            }
            let bars = Bars::from_csv(file)?;
            MarketData::from_bars(path, &bars)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> DataSpec {
        DataSpec::Synthetic {
            instruments: 3,
            days: 30,
            start: jiff::civil::date(2020, 1, 1),
            seed: 1,
        }
    }

    #[test]
    fn load_caches_by_spec() {
        let a = load(&small()).unwrap();
        let b = load(&small()).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.calendar.len(), 30);
    }

    #[test]
    fn label_finds_the_next_return() {
        let data = load(&small()).unwrap();
        let rows = data.dataset.rows(None, None);
        let name = &data.dataset.instruments[rows.instruments[0] as usize];
        assert_eq!(data.label(rows.dates[0], name), Some(rows.labels[0]));
        assert_eq!(data.label(rows.dates[0], "NOPE"), None);
    }

    #[test]
    fn load_rejects_a_changed_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bars.csv");
        std::fs::write(
            &path,
            "date,instrument,open,high,low,close,volume\n2020-01-02,A,1,1,1,1,1\n",
        )
        .unwrap();
        let spec = DataSpec::file(&path).unwrap();
        std::fs::write(
            &path,
            "date,instrument,open,high,low,close,volume\n2020-01-02,A,2,2,2,2,1\n",
        )
        .unwrap();
        assert!(matches!(load(&spec), Err(DataError::Row { .. })));
    }
}
