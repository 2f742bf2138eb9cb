//! Daily bars in long form, and their CSV loader.

use std::path::Path;

use jiff::civil::Date;
use serde::Deserialize;

/// Why bars could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A row is malformed.
    #[error("{path}, line {line}: {message}")]
    Row {
        /// The file.
        path: String,
        /// 1-based line number (the header is line 1).
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The file is not the one the tasks (or an earlier online routine)
    /// read.
    #[error("{path}: {message}")]
    Changed {
        /// The file.
        path: String,
        /// What changed.
        message: String,
    },
    /// The file has no rows.
    #[error("{path}: no bars")]
    Empty {
        /// The file.
        path: String,
    },
}

/// One daily bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Trading day.
    pub date: Date,
    /// Index into [`Bars::instruments`].
    pub instrument: u32,
    /// Opening price.
    pub open: f64,
    /// High.
    pub high: f64,
    /// Low.
    pub low: f64,
    /// Closing price.
    pub close: f64,
    /// Traded volume.
    pub volume: f64,
}

/// Daily bars of many instruments, sorted by (instrument, date).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bars {
    /// Instrument names; bars refer to them by index.
    pub instruments: Vec<String>,
    /// The bars, sorted by (instrument, date), one per (instrument, date).
    pub bars: Vec<Bar>,
}

#[derive(Deserialize)]
struct CsvRow {
    date: String,
    instrument: String,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
}

impl Bars {
    /// Build from unsorted bars with instrument names; sorts and checks
    /// there is one bar per (instrument, date).
    ///
    /// # Errors
    /// A duplicate (instrument, date), reported as a row error of `source`.
    pub fn from_rows(
        source: &str,
        rows: impl IntoIterator<Item = (Date, String, [f64; 5])>,
    ) -> Result<Bars, DataError> {
        let mut names: Vec<String> = Vec::new();
        let mut index = std::collections::HashMap::new();
        let mut bars = Vec::new();
        for (date, name, [open, high, low, close, volume]) in rows {
            let instrument = *index.entry(name.clone()).or_insert_with(|| {
                names.push(name);
                (names.len() - 1) as u32
            });
            bars.push(Bar {
                date,
                instrument,
                open,
                high,
                low,
                close,
                volume,
            });
        }
        bars.sort_by_key(|b| (b.instrument, b.date));
        if let Some(w) = bars
            .windows(2)
            .find(|w| (w[0].instrument, w[0].date) == (w[1].instrument, w[1].date))
        {
            return Err(DataError::Row {
                path: source.to_string(),
                line: 0,
                message: format!(
                    "duplicate bar for {} on {}",
                    names[w[0].instrument as usize], w[0].date
                ),
            });
        }
        Ok(Bars {
            instruments: names,
            bars,
        })
    }

    /// Load `date,instrument,open,high,low,close,volume` CSV (header required,
    /// dates `YYYY-MM-DD`, prices positive).
    ///
    /// # Errors
    /// [`DataError`] naming the file and line of the first bad row.
    pub fn from_csv(path: &Path) -> Result<Bars, DataError> {
        let shown = path.display().to_string();
        let content = std::fs::read(path).map_err(|source| DataError::Io {
            path: shown.clone(),
            source,
        })?;
        Bars::from_csv_bytes(&shown, &content)
    }

    /// [`Bars::from_csv`] on the content of a file named `shown` in errors.
    ///
    /// # Errors
    /// [`DataError`] naming the file and line of the first bad row.
    pub fn from_csv_bytes(shown: &str, content: &[u8]) -> Result<Bars, DataError> {
        let mut reader = csv::Reader::from_reader(content);
        let mut rows = Vec::new();
        for (i, record) in reader.deserialize::<CsvRow>().enumerate() {
            let line = i as u64 + 2;
            let bad = |message: String| DataError::Row {
                path: shown.to_string(),
                line,
                message,
            };
            let row = record.map_err(|e| bad(e.to_string()))?;
            let date: Date = row
                .date
                .parse()
                .map_err(|e| bad(format!("bad date {:?}: {e}", row.date)))?;
            let prices = [row.open, row.high, row.low, row.close];
            if prices.iter().any(|p| !p.is_finite() || *p <= 0.0) {
                return Err(bad("prices must be positive numbers".into()));
            }
            if !row.volume.is_finite() || row.volume < 0.0 {
                return Err(bad("volume must be a non-negative number".into()));
            }
            rows.push((
                date,
                row.instrument,
                [row.open, row.high, row.low, row.close, row.volume],
            ));
        }
        if rows.is_empty() {
            return Err(DataError::Empty {
                path: shown.to_string(),
            });
        }
        Bars::from_rows(shown, rows)
    }

    /// Every distinct date, sorted (the trading calendar of the data).
    pub fn dates(&self) -> Vec<Date> {
        let mut dates: Vec<Date> = self.bars.iter().map(|b| b.date).collect();
        dates.sort();
        dates.dedup();
        dates
    }

    /// The bars of each instrument, as contiguous slices in instrument order.
    pub fn by_instrument(&self) -> impl Iterator<Item = &[Bar]> {
        self.bars.chunk_by(|a, b| a.instrument == b.instrument)
    }
}
