//! Prediction frames: rows of (datetime, instrument, named `f64` columns).
//!
//! A [`Frame`] is the Rust counterpart of the pandas objects Qlib keeps as a
//! model's `pred` artifact: a `(datetime, instrument)` index and one or more
//! value columns (`score`, `label`…). Columns are plain `Vec`s; a missing
//! value is `NaN`. Rows keep the order they were added in; [`Frame::sort`]
//! orders them by datetime then instrument.
//!
//! Frames travel as artifacts in a compact, versioned binary encoding
//! ([`Frame::encode`], [`Frame::decode`], layout in [`binary`]). Reading and
//! writing CSV files is the application's business (`taskpool-experiment`'s
//! `frame_csv`), so this library needs no CSV crate.
//!
//! Two frames are equal when they have the same columns and the same rows
//! in the same order, a missing value being equal to a missing value.
//!
//! Instrument names are shared, not copied per row: the instrument column
//! holds [`Arc<str>`]s, and readers give every row of one instrument the
//! same allocation through an [`Interner`]. A row costs 28 bytes with one
//! value column, so the millions of prediction rows of a research-scale job
//! fit in memory beside its data (issue 22: one owned `String` per row made
//! a row about 68 bytes).

pub mod binary;

use std::collections::HashSet;
use std::sync::Arc;

use jiff::civil::Date;
use task_store::{Error, Result};

/// The name of the datetime index (a reserved column name).
pub const DATETIME: &str = "datetime";
/// The name of the instrument index (a reserved column name).
pub const INSTRUMENT: &str = "instrument";

/// One named value column.
#[derive(Debug, Clone)]
pub struct Column {
    name: String,
    values: Vec<f64>,
}

impl Column {
    /// The column's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The values, one per row (`NaN` = missing).
    pub fn values(&self) -> &[f64] {
        &self.values
    }
}

/// Gives equal instrument names one shared allocation.
#[derive(Debug, Default)]
pub struct Interner {
    names: HashSet<Arc<str>>,
}

impl Interner {
    /// The shared name equal to `name` (allocated on its first use).
    pub fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(shared) = self.names.get(name) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(name);
        self.names.insert(Arc::clone(&shared));
        shared
    }
}

/// Rows of (datetime, instrument, values), with at least one value column.
#[derive(Debug, Clone)]
pub struct Frame {
    datetime: Vec<Date>,
    instrument: Vec<Arc<str>>,
    columns: Vec<Column>,
}

impl Frame {
    /// An empty frame with these value columns.
    ///
    /// # Errors
    /// `InvalidInput` for no columns, an empty or repeated name, or a name
    /// equal to `datetime` or `instrument`.
    pub fn new(names: impl IntoIterator<Item = impl Into<String>>) -> Result<Frame> {
        let columns: Vec<Column> = names
            .into_iter()
            .map(|n| Column {
                name: n.into(),
                values: Vec::new(),
            })
            .collect();
        check_column_names(columns.iter().map(|c| c.name.as_str()))?;
        Ok(Frame {
            datetime: Vec::new(),
            instrument: Vec::new(),
            columns,
        })
    }

    /// A frame from whole columns.
    ///
    /// # Errors
    /// `InvalidInput` for bad column names (as [`Frame::new`]) or columns of
    /// different lengths.
    pub fn from_columns(
        datetime: Vec<Date>,
        instrument: Vec<Arc<str>>,
        columns: impl IntoIterator<Item = (String, Vec<f64>)>,
    ) -> Result<Frame> {
        let columns: Vec<Column> = columns
            .into_iter()
            .map(|(name, values)| Column { name, values })
            .collect();
        check_column_names(columns.iter().map(|c| c.name.as_str()))?;
        let n = datetime.len();
        if instrument.len() != n || columns.iter().any(|c| c.values.len() != n) {
            return Err(Error::invalid_input(format!(
                "frame columns differ in length: {n} datetimes, {} instruments, values {:?}",
                instrument.len(),
                columns.iter().map(|c| c.values.len()).collect::<Vec<_>>()
            )));
        }
        Ok(Frame {
            datetime,
            instrument,
            columns,
        })
    }

    /// Append a row. Pass an [`Arc<str>`] shared with other rows (from an
    /// [`Interner`] or another frame) to keep the name stored once; a
    /// `&str` is copied into a new allocation.
    ///
    /// # Errors
    /// `InvalidInput` if `values` does not have one value per column.
    pub fn push_row(
        &mut self,
        datetime: Date,
        instrument: impl Into<Arc<str>>,
        values: &[f64],
    ) -> Result<()> {
        if values.len() != self.columns.len() {
            return Err(Error::invalid_input(format!(
                "row has {} values, the frame has {} columns",
                values.len(),
                self.columns.len()
            )));
        }
        self.datetime.push(datetime);
        self.instrument.push(instrument.into());
        for (column, v) in self.columns.iter_mut().zip(values) {
            column.values.push(*v);
        }
        Ok(())
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.datetime.len()
    }

    /// Whether the frame has no rows.
    pub fn is_empty(&self) -> bool {
        self.datetime.is_empty()
    }

    /// The datetime of each row.
    pub fn datetimes(&self) -> &[Date] {
        &self.datetime
    }

    /// The instrument of each row.
    pub fn instruments(&self) -> &[Arc<str>] {
        &self.instrument
    }

    /// The value columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The names of the value columns, in order.
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// The values of the column named `name`.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.values.as_slice())
    }

    /// The values of row `row`, one per column.
    ///
    /// # Panics
    /// If `row >= self.len()`.
    pub fn row_values(&self, row: usize) -> Vec<f64> {
        self.columns.iter().map(|c| c.values[row]).collect()
    }

    /// The earliest datetime, `None` for an empty frame.
    pub fn min_datetime(&self) -> Option<Date> {
        self.datetime.iter().min().copied()
    }

    /// Whether the rows are in strictly increasing (datetime, instrument)
    /// order: sorted as [`Frame::sort`] sorts them, no entry repeated.
    pub fn is_sorted_unique(&self) -> bool {
        (1..self.len()).all(|r| {
            (self.datetime[r - 1], &self.instrument[r - 1])
                < (self.datetime[r], &self.instrument[r])
        })
    }

    /// Order the rows by datetime, then instrument (stable: equal index
    /// entries keep their order).
    pub fn sort(&mut self) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by(|&a, &b| {
            (self.datetime[a], &self.instrument[a]).cmp(&(self.datetime[b], &self.instrument[b]))
        });
        *self = self.take_rows(&order);
    }

    /// A frame of the rows at `rows`, in that order.
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn take_rows(&self, rows: &[usize]) -> Frame {
        Frame {
            datetime: rows.iter().map(|&r| self.datetime[r]).collect(),
            instrument: rows
                .iter()
                .map(|&r| Arc::clone(&self.instrument[r]))
                .collect(),
            columns: self
                .columns
                .iter()
                .map(|c| Column {
                    name: c.name.clone(),
                    values: rows.iter().map(|&r| c.values[r]).collect(),
                })
                .collect(),
        }
    }
}

impl PartialEq for Frame {
    fn eq(&self, other: &Frame) -> bool {
        self.datetime == other.datetime
            && self.instrument == other.instrument
            && self.columns.len() == other.columns.len()
            && self.columns.iter().zip(&other.columns).all(|(a, b)| {
                a.name == b.name
                    && a.values.len() == b.values.len()
                    && a.values
                        .iter()
                        .zip(&b.values)
                        .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
            })
    }
}

fn check_column_names<'a>(names: impl Iterator<Item = &'a str>) -> Result<()> {
    let mut seen = HashSet::new();
    for name in names {
        if name.is_empty() || name == DATETIME || name == INSTRUMENT {
            return Err(Error::invalid_input(format!(
                "invalid value column name {name:?}"
            )));
        }
        if !seen.insert(name) {
            return Err(Error::invalid_input(format!(
                "value column {name:?} appears twice"
            )));
        }
    }
    if seen.is_empty() {
        return Err(Error::invalid_input(
            "a frame needs at least one value column",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use task_store::ErrorKind;

    use super::*;

    #[test]
    fn new_rejects_bad_column_names() {
        for bad in [
            vec![],
            vec![""],
            vec!["a", "a"],
            vec!["datetime"],
            vec!["x", "instrument"],
        ] {
            assert_eq!(Frame::new(bad).unwrap_err().kind(), ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn push_row_checks_width() {
        let mut f = Frame::new(["score"]).unwrap();
        f.push_row(date(2020, 1, 2), "X", &[1.0]).unwrap();
        assert_eq!(
            f.push_row(date(2020, 1, 2), "Y", &[1.0, 2.0])
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn from_columns_checks_lengths() {
        let err = Frame::from_columns(
            vec![date(2020, 1, 2)],
            vec!["X".into()],
            [("score".to_string(), vec![1.0, 2.0])],
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn sort_orders_by_datetime_then_instrument_stably() {
        let mut f = Frame::new(["v"]).unwrap();
        for (d, i, v) in [(3, "B", 1.0), (2, "Z", 2.0), (3, "A", 3.0), (2, "Z", 4.0)] {
            f.push_row(date(2020, 1, d), i, &[v]).unwrap();
        }
        f.sort();
        assert_eq!(f.column("v").unwrap(), [2.0, 4.0, 3.0, 1.0]);
        assert_eq!(f.min_datetime(), Some(date(2020, 1, 2)));
    }

    #[test]
    fn interner_shares_one_allocation_per_name() {
        let mut names = Interner::default();
        let a = names.intern("SH600000");
        let b = names.intern("SH600000");
        let c = names.intern("SZ000001");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(&*c, "SZ000001");
    }

    #[test]
    fn eq_treats_missing_as_equal() {
        let mut a = Frame::new(["v"]).unwrap();
        a.push_row(date(2020, 1, 2), "X", &[f64::NAN]).unwrap();
        let mut b = a.clone();
        assert_eq!(a, b);
        b.push_row(date(2020, 1, 2), "Y", &[1.0]).unwrap();
        assert_ne!(a, b);
    }
}
