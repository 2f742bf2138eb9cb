//! The data a job's tasks train on: its description in a task definition
//! ([`DataSpec`]) and a per-process cache of loaded datasets ([`load`]).
//!
//! Every process (the `taskpool run` process and each worker process) loads
//! the data itself. Loading the default synthetic dataset (bars, features,
//! labels) takes a noticeable fraction of a second, so each process keeps
//! what it loaded, keyed by the spec: N tasks on the same data load it once.

use std::collections::{HashMap, VecDeque};
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
        /// Online serving: only the days up to this date are visible.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<Date>,
    },
    /// A bars CSV file, with the BLAKE3 hash of its content: a task is
    /// never trained on a file that changed after it was created, and a
    /// changed file makes new tasks (the hash is part of the definition).
    File {
        /// Absolute path.
        path: String,
        /// Hex BLAKE3 hash of the file (of its first `bytes` bytes when
        /// `bytes` is given).
        blake3: String,
        /// Online serving: only the first `bytes` bytes are read (the file
        /// as a routine saw it; rows appended later are not part of it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bytes: Option<u64>,
        /// Online serving: only the days up to this date are visible.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<Date>,
    },
}

/// What a data file looked like when an online routine read it: its length
/// and the hash of its content. A later routine accepts the file if these
/// bytes are still its beginning (rows were appended), and refuses it
/// otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The file's length in bytes.
    pub bytes: u64,
    /// Hex BLAKE3 hash of those bytes.
    pub blake3: String,
}

impl DataSpec {
    /// The spec of a CSV file, hashing its content now.
    ///
    /// # Errors
    /// [`DataError::Io`] if the file cannot be read.
    pub fn file(path: &Path) -> Result<DataSpec, DataError> {
        Ok(DataSpec::File {
            path: path.display().to_string(),
            blake3: hash_bytes(&read_file(path)?),
            bytes: None,
            until: None,
        })
    }

    /// A short description for people: `synthetic (seed 7)` or the file's path.
    pub fn describe(&self) -> String {
        match self {
            DataSpec::Synthetic { seed, .. } => format!("synthetic (seed {seed})"),
            DataSpec::File { path, .. } => path.clone(),
        }
    }

    /// The last visible date, if the spec hides later ones.
    pub fn until(&self) -> Option<Date> {
        match self {
            DataSpec::Synthetic { until, .. } | DataSpec::File { until, .. } => *until,
        }
    }

    /// This data as an online routine sees it on `as_of`: the dates up to
    /// `as_of`, and for a file its content now (length and hash), so that
    /// rows appended later never change what the routine's tasks read.
    /// Returns the spec and, for a file, its [`Fingerprint`].
    ///
    /// # Errors
    /// [`DataError::Io`] if the file cannot be read.
    pub fn visible(&self, as_of: Date) -> Result<(DataSpec, Option<Fingerprint>), DataError> {
        match self {
            DataSpec::Synthetic {
                instruments,
                days,
                start,
                seed,
                ..
            } => Ok((
                DataSpec::Synthetic {
                    instruments: *instruments,
                    days: *days,
                    start: *start,
                    seed: *seed,
                    until: Some(as_of),
                },
                None,
            )),
            DataSpec::File { path, .. } => {
                let content = read_file(Path::new(path))?;
                let fingerprint = Fingerprint {
                    bytes: content.len() as u64,
                    blake3: hash_bytes(&content),
                };
                Ok((
                    DataSpec::File {
                        path: path.clone(),
                        blake3: fingerprint.blake3.clone(),
                        bytes: Some(fingerprint.bytes),
                        until: Some(as_of),
                    },
                    Some(fingerprint),
                ))
            }
        }
    }

    /// The same data with only the dates up to `until` visible.
    pub fn with_until(&self, until: Date) -> DataSpec {
        let mut spec = self.clone();
        match &mut spec {
            DataSpec::Synthetic { until: at, .. } | DataSpec::File { until: at, .. } => {
                *at = Some(until);
            }
        }
        spec
    }

    /// The same data with every date visible (what `until` hides shown).
    pub fn unbounded(&self) -> DataSpec {
        let mut spec = self.clone();
        match &mut spec {
            DataSpec::Synthetic { until, .. } | DataSpec::File { until, .. } => *until = None,
        }
        spec
    }
}

/// Check that the file at `path` still begins with the bytes `before`
/// describes (rows may have been appended at the end since).
///
/// # Errors
/// [`DataError::Changed`] naming the file when it is shorter or its first
/// `before.bytes` bytes differ; [`DataError::Io`] if it cannot be read.
pub fn check_growth(path: &str, before: &Fingerprint) -> Result<(), DataError> {
    let content = read_file(Path::new(path))?;
    let grown = usize::try_from(before.bytes)
        .ok()
        .and_then(|n| content.get(..n))
        .is_some_and(|prefix| hash_bytes(prefix) == before.blake3);
    if grown {
        Ok(())
    } else {
        Err(DataError::Changed {
            path: path.to_string(),
            message: format!(
                "its first {} bytes are not what an earlier routine read (rows were changed or removed); online serving accepts only rows appended at the end: restore the file, or start over with a new experiment",
                before.bytes
            ),
        })
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|source| DataError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn hash_bytes(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Loaded data: the feature/label table and the trading calendar.
#[derive(Debug)]
pub struct MarketData {
    /// Features and labels.
    pub dataset: Dataset,
    /// Every date with a bar (the calendar task generation rolls over).
    pub calendar: Calendar,
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
        Ok(MarketData {
            dataset: Dataset::from_bars(bars),
            calendar,
        })
    }

    /// This data as loaded from the bars dated up to `until` (see
    /// [`Dataset::up_to`]): the same rows, calendar and labels, without
    /// computing the features again.
    ///
    /// # Errors
    /// [`DataError::Empty`] when no bar is dated up to `until`.
    pub fn up_to(&self, source: &str, until: Date) -> Result<MarketData, DataError> {
        Ok(MarketData {
            dataset: self.dataset.up_to(until),
            calendar: calendar_up_to(&self.calendar, source, until)?,
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

    /// A copy of the raw labels, without the features.
    pub fn labels(&self) -> Labels {
        let rows = self.dataset.rows(None, None);
        Labels {
            index: self
                .dataset
                .instruments
                .iter()
                .enumerate()
                .map(|(i, name)| (name.clone(), i as u32))
                .collect(),
            dates: rows.dates.to_vec(),
            instruments: rows.instruments.to_vec(),
            labels: rows.labels.to_vec(),
        }
    }
}

/// The days of `calendar` up to `until`: the calendar of the data of
/// `source` cut there ([`MarketData::up_to`]).
///
/// # Errors
/// [`DataError::Empty`] when no day is on or before `until`.
pub fn calendar_up_to(
    calendar: &Calendar,
    source: &str,
    until: Date,
) -> Result<Calendar, DataError> {
    let days = &calendar.days()[..calendar.index_on_or_after(until.tomorrow().unwrap_or(until))];
    Calendar::from_dates(days.iter().copied()).map_err(|_| DataError::Empty {
        path: source.to_string(),
    })
}

/// The raw labels (next returns) of loaded data, without its features: all
/// that measuring predictions needs. While worker processes train,
/// `taskpool run` keeps these instead of the whole data, whose features are
/// most of its memory (16 bytes per row here against about 120 there).
#[derive(Debug, Clone)]
pub struct Labels {
    index: HashMap<String, u32>,
    /// Sorted, one per row.
    dates: Vec<Date>,
    /// Instrument index of each row, ascending within a date.
    instruments: Vec<u32>,
    labels: Vec<f64>,
}

impl Labels {
    /// The label of `instrument` on `date`, if known.
    pub fn get(&self, date: Date, instrument: &str) -> Option<f64> {
        let idx = *self.index.get(instrument)?;
        let lo = self.dates.partition_point(|d| *d < date);
        let hi = lo + self.dates[lo..].partition_point(|d| *d == date);
        let at = self.instruments[lo..hi].binary_search(&idx).ok()?;
        Some(self.labels[lo + at]).filter(|l| l.is_finite())
    }
}

/// How many loaded datasets a process keeps (the most recently used):
/// online simulations use the whole data and one cut copy per routine.
const CACHE_ENTRIES: usize = 4;

type Cache = Mutex<VecDeque<(DataSpec, Arc<MarketData>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

/// The data of `spec`, loaded once per process (the last few specs are
/// kept). A spec that hides the dates after `until` is derived from the
/// data of the whole spec (loaded, or found in the cache, first).
///
/// # Errors
/// [`DataError`] when a file cannot be read or parsed, has no bars, or no
/// longer has the hash recorded in the spec.
pub fn load(spec: &DataSpec) -> Result<Arc<MarketData>, DataError> {
    match spec.until() {
        None => cached(spec, || load_uncached(spec)),
        Some(until) => {
            if let Some(hit) = lookup(spec) {
                return Ok(hit);
            }
            let full = load(&spec.unbounded())?;
            cached(spec, || full.up_to(&spec.describe(), until))
        }
    }
}

/// Drop this process's cached copy of the data of `spec`: its memory is
/// freed once no caller holds it. A later [`load`] loads it again.
pub fn forget(spec: &DataSpec) {
    let mut cache = cache().lock().unwrap_or_else(|e| e.into_inner());
    cache.retain(|(cached, _)| cached != spec);
}

fn lookup(spec: &DataSpec) -> Option<Arc<MarketData>> {
    let mut cache = cache().lock().unwrap_or_else(|e| e.into_inner());
    hit(&mut cache, spec)
}

/// The cached data of `spec`, moved to the back (the most recently used).
fn hit(
    cache: &mut VecDeque<(DataSpec, Arc<MarketData>)>,
    spec: &DataSpec,
) -> Option<Arc<MarketData>> {
    let at = cache.iter().position(|(s, _)| s == spec)?;
    let entry = cache.remove(at)?;
    let data = Arc::clone(&entry.1);
    cache.push_back(entry);
    Some(data)
}

/// The cached data of `spec`, or `make`'s (then cached).
fn cached(
    spec: &DataSpec,
    make: impl FnOnce() -> Result<MarketData, DataError>,
) -> Result<Arc<MarketData>, DataError> {
    // Holding the lock while loading makes concurrent callers for the same
    // spec wait for one load instead of each doing it.
    let mut cache = cache().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(data) = hit(&mut cache, spec) {
        return Ok(data);
    }
    let data = Arc::new(make()?);
    if cache.len() == CACHE_ENTRIES {
        cache.pop_front();
    }
    cache.push_back((spec.clone(), Arc::clone(&data)));
    Ok(data)
}

fn load_uncached(spec: &DataSpec) -> Result<MarketData, DataError> {
    let (source, bars) = match spec {
        DataSpec::Synthetic {
            instruments,
            days,
            start,
            seed,
            ..
        } => (
            "synthetic data".to_string(),
            generate(&SyntheticSpec {
                instruments: *instruments,
                days: *days,
                start: *start,
                seed: *seed,
            }),
        ),
        DataSpec::File {
            path,
            blake3,
            bytes,
            ..
        } => {
            let mut content = read_file(Path::new(path))?;
            if let Some(n) = bytes {
                let Some(n) = usize::try_from(*n).ok().filter(|n| *n <= content.len()) else {
                    return Err(DataError::Changed {
                        path: path.clone(),
                        message: format!(
                            "it is shorter than the {bytes:?} bytes the tasks were created from (rows were removed)"
                        ),
                    });
                };
                content.truncate(n);
            }
            if &hash_bytes(&content) != blake3 {
                return Err(DataError::Changed {
                    path: path.clone(),
                    message: "the file changed since the tasks were created (its hash differs); run again to create tasks for the new content".to_string(),
                });
            }
            (path.clone(), Bars::from_csv_bytes(path, &content)?)
        }
    };
    MarketData::from_bars(&source, &bars)
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
            until: None,
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
    fn labels_find_the_next_return_of_every_row() {
        let data = load(&small()).unwrap();
        let labels = data.labels();
        let rows = data.dataset.rows(None, None);
        for (i, (&date, &inst)) in rows.dates.iter().zip(rows.instruments).enumerate() {
            let name = &data.dataset.instruments[inst as usize];
            let want = Some(rows.labels[i]).filter(|l| l.is_finite());
            assert_eq!(labels.get(date, name), want);
        }
        assert_eq!(labels.get(rows.dates[0], "NOPE"), None);
        let before = rows.dates[0].yesterday().unwrap();
        let name = &data.dataset.instruments[0];
        assert_eq!(labels.get(before, name), None);
    }

    #[test]
    fn forget_drops_the_cached_copy() {
        let spec = DataSpec::Synthetic {
            instruments: 2,
            days: 20,
            start: jiff::civil::date(2021, 1, 1),
            seed: 9,
            until: None,
        };
        let a = load(&spec).unwrap();
        forget(&spec);
        let b = load(&spec).unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(a.calendar.len(), b.calendar.len());
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
        assert!(matches!(load(&spec), Err(DataError::Changed { .. })));
    }
}
