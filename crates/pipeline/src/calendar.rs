//! Trading calendars: the sorted trading days that all task-generation
//! arithmetic runs on.
//!
//! A [`Calendar`] is a non-empty, strictly increasing list of trading days. It
//! is built from a file in Qlib's `calendars/day.txt` format
//! ([`Calendar::load`], [`Calendar::parse`]), from the dates of a dataset
//! ([`Calendar::from_dates`]), or generated as weekdays minus holidays
//! ([`Calendar::weekdays`]).
//!
//! A calendar may carry *future* trading days ([`Calendar::with_future`], like
//! Qlib's `day_future.txt`): they take part in date arithmetic (a test window
//! may end on a future day) but not in the bound of a rolling loop, which stops
//! at the last *data* day ([`Calendar::last_data_day`]).
//!
//! Generators take the calendar as an argument of every call, so a calendar
//! that grew since a generator was built is always used as it is now (Qlib
//! snapshots it at construction, reference §9 E).

use std::path::{Path, PathBuf};

use jiff::civil::{Date, DateTime, Weekday};

/// Why a calendar could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CalendarError {
    /// The calendar file could not be read.
    #[error("cannot read calendar file {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A line is not a date.
    #[error("line {line}: `{text}` is not a date (expected YYYY-MM-DD)")]
    BadDate {
        /// 1-based line number.
        line: usize,
        /// The offending text.
        text: String,
    },
    /// A date is earlier than the one before it.
    #[error("line {line}: {date} comes after {previous}: the calendar must be sorted")]
    Unsorted {
        /// 1-based line number.
        line: usize,
        /// The date on that line.
        date: Date,
        /// The previous date.
        previous: Date,
    },
    /// A date appears twice.
    #[error("line {line}: duplicate date {date}")]
    Duplicate {
        /// 1-based line number.
        line: usize,
        /// The repeated date.
        date: Date,
    },
    /// No trading day at all.
    #[error("the calendar has no trading day")]
    Empty,
    /// A generated calendar whose start is after its end.
    #[error("calendar range start {start} is after its end {end}")]
    InvalidRange {
        /// First day requested.
        start: Date,
        /// Last day requested.
        end: Date,
    },
}

/// Sorted, unique trading days, optionally followed by future trading days.
///
/// Indices are positions in [`Calendar::days`]; all rolling arithmetic is done
/// in this index space, like Qlib's `TimeAdjuster`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    days: Vec<Date>,
    data_len: usize,
}

impl Calendar {
    /// A calendar of `dates` in any order, duplicates removed (e.g. the dates
    /// of a dataset's rows).
    ///
    /// # Errors
    /// [`CalendarError::Empty`] when there is no date.
    pub fn from_dates(dates: impl IntoIterator<Item = Date>) -> Result<Self, CalendarError> {
        let mut days: Vec<Date> = dates.into_iter().collect();
        days.sort_unstable();
        days.dedup();
        Self::from_sorted(days)
    }

    /// Parse Qlib's `calendars/day.txt` format: one `YYYY-MM-DD` per line
    /// (a trailing time part such as ` 00:00:00` is accepted and ignored),
    /// surrounding whitespace and blank lines ignored, strictly increasing.
    ///
    /// # Errors
    /// [`CalendarError::BadDate`], [`CalendarError::Unsorted`] or
    /// [`CalendarError::Duplicate`] naming the 1-based line;
    /// [`CalendarError::Empty`] when there is no date.
    pub fn parse(text: &str) -> Result<Self, CalendarError> {
        let mut days: Vec<Date> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() {
                continue;
            }
            let date = parse_date(trimmed).ok_or_else(|| CalendarError::BadDate {
                line,
                text: trimmed.to_owned(),
            })?;
            if let Some(&previous) = days.last() {
                if date == previous {
                    return Err(CalendarError::Duplicate { line, date });
                }
                if date < previous {
                    return Err(CalendarError::Unsorted {
                        line,
                        date,
                        previous,
                    });
                }
            }
            days.push(date);
        }
        Self::from_sorted(days)
    }

    /// Read and [`parse`](Self::parse) a calendar file.
    ///
    /// # Errors
    /// [`CalendarError::Io`] when the file cannot be read, otherwise as
    /// [`Calendar::parse`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self, CalendarError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| CalendarError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Every Monday–Friday from `start` to `end` (inclusive) that is not in
    /// `holidays`.
    ///
    /// # Errors
    /// [`CalendarError::InvalidRange`] when `start > end`;
    /// [`CalendarError::Empty`] when no day is left.
    pub fn weekdays(
        start: Date,
        end: Date,
        holidays: impl IntoIterator<Item = Date>,
    ) -> Result<Self, CalendarError> {
        if start > end {
            return Err(CalendarError::InvalidRange { start, end });
        }
        let mut holidays: Vec<Date> = holidays.into_iter().collect();
        holidays.sort_unstable();
        let days = start
            .series(jiff::Span::new().days(1))
            .take_while(|d| *d <= end)
            .filter(|d| !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday))
            .filter(|d| holidays.binary_search(d).is_err())
            .collect();
        Self::from_sorted(days)
    }

    /// This calendar extended by the days of `future` that come after its
    /// last data day (Qlib's `future=True` calendar). Days of `future` up to
    /// the last data day are ignored: the data calendar is authoritative for
    /// the past.
    pub fn with_future(mut self, future: &Calendar) -> Self {
        let last = self.last_data_day();
        self.days.truncate(self.data_len);
        self.days
            .extend(future.days.iter().copied().filter(|d| *d > last));
        self
    }

    fn from_sorted(days: Vec<Date>) -> Result<Self, CalendarError> {
        if days.is_empty() {
            return Err(CalendarError::Empty);
        }
        let data_len = days.len();
        Ok(Calendar { days, data_len })
    }

    /// All trading days, data days then future days.
    pub fn days(&self) -> &[Date] {
        &self.days
    }

    /// The number of trading days (data and future).
    pub fn len(&self) -> usize {
        self.days.len()
    }

    /// Always `false`: a calendar has at least one day.
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// The first trading day.
    pub fn first(&self) -> Date {
        self.days[0]
    }

    /// The last trading day, future days included.
    pub fn last(&self) -> Date {
        self.days[self.days.len() - 1]
    }

    /// The last day with data (the last day before any future days).
    pub fn last_data_day(&self) -> Date {
        self.days[self.data_len - 1]
    }

    /// The index of [`Calendar::last_data_day`].
    pub fn last_data_index(&self) -> usize {
        self.data_len - 1
    }

    /// The day at `index`, `None` past the end.
    pub fn get(&self, index: usize) -> Option<Date> {
        self.days.get(index).copied()
    }

    /// Whether `date` is a trading day.
    pub fn contains(&self, date: Date) -> bool {
        self.days.binary_search(&date).is_ok()
    }

    /// The index of the first trading day on or after `date`
    /// ([`Calendar::len`] when there is none).
    pub fn index_on_or_after(&self, date: Date) -> usize {
        self.days.partition_point(|d| *d < date)
    }

    /// The index of the last trading day on or before `date`, `None` when
    /// `date` is before the first trading day.
    pub fn index_on_or_before(&self, date: Date) -> Option<usize> {
        self.days.partition_point(|d| *d <= date).checked_sub(1)
    }
}

/// Read a date written as `YYYY-MM-DD`, or as a date-time whose date part is
/// taken (`2020-01-01 00:00:00`, `2020-01-01T09:30:00`), as Qlib accepts any
/// `pd.Timestamp`-like string. `None` when it is neither.
pub fn parse_date(text: &str) -> Option<Date> {
    let text = text.trim();
    text.parse::<Date>()
        .ok()
        .or_else(|| text.parse::<DateTime>().ok().map(|dt| dt.date()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn parse_ignores_blank_lines_and_time_parts() {
        let cal = Calendar::parse("2020-01-02\n\n  2020-01-03 00:00:00\n2020-01-06\n").unwrap();
        assert_eq!(
            cal.days(),
            &[date(2020, 1, 2), date(2020, 1, 3), date(2020, 1, 6)]
        );
    }

    #[test]
    fn parse_rejects_bad_date_with_line() {
        let err = Calendar::parse("2020-01-02\n\n2020-13-01\n").unwrap_err();
        assert!(matches!(err, CalendarError::BadDate { line: 3, .. }));
    }

    #[test]
    fn parse_rejects_unsorted_with_line() {
        let err = Calendar::parse("2020-01-03\n2020-01-02\n").unwrap_err();
        assert!(matches!(err, CalendarError::Unsorted { line: 2, .. }));
    }

    #[test]
    fn parse_rejects_duplicate_with_line() {
        let err = Calendar::parse("2020-01-02\n2020-01-03\n2020-01-03\n").unwrap_err();
        assert!(matches!(err, CalendarError::Duplicate { line: 3, .. }));
    }

    #[test]
    fn parse_rejects_empty_file() {
        assert!(matches!(
            Calendar::parse("\n \n"),
            Err(CalendarError::Empty)
        ));
    }

    #[test]
    fn load_reports_missing_file() {
        let err = Calendar::load("/nonexistent/day.txt").unwrap_err();
        assert!(matches!(err, CalendarError::Io { .. }));
    }

    #[test]
    fn from_dates_sorts_and_dedups() {
        let cal =
            Calendar::from_dates([date(2020, 1, 3), date(2020, 1, 2), date(2020, 1, 3)]).unwrap();
        assert_eq!(cal.days(), &[date(2020, 1, 2), date(2020, 1, 3)]);
    }

    #[test]
    fn weekdays_skip_weekends_and_holidays() {
        // 2020-01-01 is a Wednesday.
        let cal =
            Calendar::weekdays(date(2020, 1, 1), date(2020, 1, 7), [date(2020, 1, 1)]).unwrap();
        assert_eq!(
            cal.days(),
            &[
                date(2020, 1, 2),
                date(2020, 1, 3),
                date(2020, 1, 6),
                date(2020, 1, 7)
            ]
        );
    }

    #[test]
    fn weekdays_rejects_reversed_range() {
        let err = Calendar::weekdays(date(2020, 2, 1), date(2020, 1, 1), []).unwrap_err();
        assert!(matches!(err, CalendarError::InvalidRange { .. }));
    }

    #[test]
    fn with_future_appends_only_later_days() {
        let data = Calendar::from_dates([date(2020, 1, 2), date(2020, 1, 3)]).unwrap();
        let future =
            Calendar::from_dates([date(2020, 1, 1), date(2020, 1, 3), date(2020, 1, 6)]).unwrap();
        let cal = data.with_future(&future);
        assert_eq!(
            cal.days(),
            &[date(2020, 1, 2), date(2020, 1, 3), date(2020, 1, 6)]
        );
        assert_eq!(cal.last_data_day(), date(2020, 1, 3));
        assert_eq!(cal.last(), date(2020, 1, 6));
    }

    #[test]
    fn index_lookups_align_to_trading_days() {
        let cal = Calendar::from_dates([date(2020, 1, 2), date(2020, 1, 6)]).unwrap();
        assert_eq!(cal.index_on_or_after(date(2020, 1, 4)), 1);
        assert_eq!(cal.index_on_or_after(date(2020, 1, 7)), 2);
        assert_eq!(cal.index_on_or_before(date(2020, 1, 4)), Some(0));
        assert_eq!(cal.index_on_or_before(date(2020, 1, 1)), None);
    }
}
