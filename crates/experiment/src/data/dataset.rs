//! The feature/label table: one row per (date, instrument), sorted by date.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use jiff::SignedDuration;
use jiff::civil::Date;

use super::bars::{Bar, Bars};
use super::features::{FEATURE_NAMES, WARM_UP, features_at, label_at};

/// Features and labels of every (date, instrument) past the warm-up.
///
/// Features are z-scored across instruments on each date (a cross-sectional
/// transform: it uses only that date's values) and clipped to ±5.
#[derive(Clone)]
pub struct Dataset {
    /// Instrument names (rows refer to them by index).
    pub instruments: Vec<String>,
    dates: Column<Date>,
    rows_instrument: Column<u32>,
    features: Column<f64>,
    labels: Labels,
    norm_labels: Labels,
    /// The date of each row's instrument's next bar (the label's date).
    next_dates: NextDates,
    /// The longest time from a row's date to its next bar: only rows
    /// dated within this of a cut's end can lose their label to the cut.
    max_gap: SignedDuration,
}

impl Dataset {
    /// The columns that make the dataset what it is, for `Debug` and `==`
    /// (a cut's shared columns and bounds seen through).
    #[allow(clippy::type_complexity)]
    fn parts(
        &self,
    ) -> (
        &[String],
        &[Date],
        &[u32],
        &[f64],
        Cow<'_, [f64]>,
        Cow<'_, [f64]>,
        Vec<Option<Date>>,
    ) {
        let all = 0..self.labels.len();
        (
            &self.instruments,
            self.dates.as_slice(),
            self.rows_instrument.as_slice(),
            self.features.as_slice(),
            self.labels.slice(all.clone()),
            self.norm_labels.slice(all),
            (0..self.next_dates.len())
                .map(|r| self.next_dates.get(r))
                .collect(),
        )
    }
}

impl PartialEq for Dataset {
    fn eq(&self, other: &Dataset) -> bool {
        self.parts() == other.parts()
    }
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (instruments, dates, rows_instrument, features, labels, norm_labels, next_dates) =
            self.parts();
        f.debug_struct("Dataset")
            .field("instruments", &instruments)
            .field("dates", &dates)
            .field("rows_instrument", &rows_instrument)
            .field("features", &features)
            .field("labels", &labels)
            .field("norm_labels", &norm_labels)
            .field("next_dates", &next_dates)
            .finish()
    }
}

/// The rows' next bar dates, shared by a dataset and its cuts: a cut sees
/// the dates up to its end only (a later bar is not visible to it).
#[derive(Clone, Default)]
struct NextDates {
    values: Column<Option<Date>>,
    until: Option<Date>,
}

impl NextDates {
    fn len(&self) -> usize {
        self.values.len
    }

    /// Row `r`'s next bar date, if this dataset sees it.
    fn get(&self, r: usize) -> Option<Date> {
        self.values.as_slice()[r].filter(|d| self.until.is_none_or(|until| *d <= until))
    }

    /// The first `len` rows, seeing the dates up to `until` only.
    fn cut(&self, len: usize, until: Date) -> NextDates {
        NextDates {
            values: self.values.cut(len),
            until: Some(self.until.map_or(until, |u| u.min(until))),
        }
    }
}

/// A label column shared by a dataset and its cuts: the values of the rows
/// before `split` are the shared column's, the rest (the rows a cut
/// changes: those whose next bar it hides, and their dates) its own `tail`.
#[derive(Clone, Default)]
struct Labels {
    shared: Column<f64>,
    tail: Vec<f64>,
}

impl Labels {
    /// A column of its own.
    fn whole(values: Vec<f64>) -> Labels {
        Labels {
            shared: Column::from(values),
            tail: Vec::new(),
        }
    }

    fn split(&self) -> usize {
        self.shared.len
    }

    fn len(&self) -> usize {
        self.split() + self.tail.len()
    }

    fn get(&self, r: usize) -> f64 {
        match r.checked_sub(self.split()) {
            Some(t) => self.tail[t],
            None => self.shared.as_slice()[r],
        }
    }

    /// The rows `rows`: borrowed, unless they run across the split.
    fn slice(&self, rows: Range<usize>) -> Cow<'_, [f64]> {
        let split = self.split();
        if rows.end <= split {
            Cow::Borrowed(&self.shared.as_slice()[rows])
        } else if rows.start >= split {
            Cow::Borrowed(&self.tail[rows.start - split..rows.end - split])
        } else {
            Cow::Owned(rows.map(|r| self.get(r)).collect())
        }
    }

    /// The first `n` rows, those from `split` on (`split <= n`) copied to
    /// change them: the rows before are shared when this column has them
    /// in its shared part (always for a cut of the whole data).
    fn cut(&self, split: usize, n: usize) -> Labels {
        let shared = if split <= self.split() {
            self.shared.cut(split)
        } else {
            Column::from((0..split).map(|r| self.get(r)).collect::<Vec<_>>())
        };
        Labels {
            shared,
            tail: (split..n).map(|r| self.get(r)).collect(),
        }
    }
}

/// A column shared by a dataset and the datasets cut from it
/// ([`Dataset::up_to`]): a cut sees the first `len` values and copies none
/// (online routines cut the whole data at every as-of date). The feature
/// table (row-major), the rows' dates and their instruments are such
/// columns; the labels are [`Labels`], since a cut changes some of them.
#[derive(Clone)]
struct Column<T> {
    values: Arc<Vec<T>>,
    len: usize,
}

impl<T> Column<T> {
    fn as_slice(&self) -> &[T] {
        &self.values[..self.len]
    }

    /// The first `len` values, sharing the column.
    fn cut(&self, len: usize) -> Column<T> {
        Column {
            values: Arc::clone(&self.values),
            len: len.min(self.len),
        }
    }
}

impl<T> Default for Column<T> {
    fn default() -> Column<T> {
        Column::from(Vec::new())
    }
}

impl<T> From<Vec<T>> for Column<T> {
    fn from(values: Vec<T>) -> Column<T> {
        Column {
            len: values.len(),
            values: Arc::new(values),
        }
    }
}

impl<T: PartialEq> PartialEq for Column<T> {
    fn eq(&self, other: &Column<T>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Column<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_slice().fmt(f)
    }
}

/// A contiguous run of dataset rows (one date range).
#[derive(Debug, Clone)]
pub struct Rows<'a> {
    /// Date of each row.
    pub dates: &'a [Date],
    /// Instrument index of each row.
    pub instruments: &'a [u32],
    /// Row-major features, `FEATURE_NAMES.len()` per row.
    pub features: &'a [f64],
    /// The raw label (next return); NaN where unknown (borrowed from the
    /// dataset, copied only for rows across a cut's shared and own labels).
    pub labels: Cow<'a, [f64]>,
    /// The label z-scored across instruments on each date (the training target).
    pub norm_labels: Cow<'a, [f64]>,
}

impl Rows<'_> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.dates.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.dates.is_empty()
    }

    /// The features of row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        let f = FEATURE_NAMES.len();
        &self.features[i * f..(i + 1) * f]
    }
}

impl Dataset {
    /// Compute features and labels from bars.
    ///
    /// Rows are produced in (date, instrument) order directly, walking the
    /// calendar with one cursor per instrument, into columns allocated once:
    /// no intermediate row list and no sort, so loading holds the bars and
    /// the table, nothing more (issue 22: at 1,500 × 3,000 a row list plus
    /// its sorted copy doubled the peak).
    pub fn from_bars(bars: &Bars) -> Dataset {
        let width = FEATURE_NAMES.len();
        let series: Vec<&[Bar]> = bars.by_instrument().collect();
        let capacity = bars.bars.len().saturating_sub(WARM_UP * series.len());
        let mut features = Vec::with_capacity(capacity * width);
        let mut dates = Vec::with_capacity(capacity);
        let mut rows_instrument = Vec::with_capacity(capacity);
        let mut ds = Dataset {
            instruments: bars.instruments.clone(),
            dates: Column::default(),
            rows_instrument: Column::default(),
            features: Column::default(),
            labels: Labels::default(),
            norm_labels: Labels::default(),
            next_dates: NextDates::default(),
            max_gap: SignedDuration::ZERO,
        };
        let mut next_dates = Vec::with_capacity(capacity);
        let mut labels = Vec::with_capacity(capacity);
        let mut cursors = vec![0usize; series.len()];
        for date in bars.dates() {
            for (bars, t) in series.iter().zip(cursors.iter_mut()) {
                if bars.get(*t).is_none_or(|b| b.date != date) {
                    continue;
                }
                if let Some(f) = features_at(bars, *t) {
                    dates.push(date);
                    rows_instrument.push(bars[*t].instrument);
                    features.extend_from_slice(&f);
                    labels.push(label_at(bars, *t));
                    let next = bars.get(*t + 1).map(|b| b.date);
                    if let Some(next) = next {
                        ds.max_gap = ds.max_gap.max(next.duration_since(date));
                    }
                    next_dates.push(next);
                }
                *t += 1;
            }
        }
        normalize_features(&dates, &mut features);
        ds.dates = Column::from(dates);
        ds.rows_instrument = Column::from(rows_instrument);
        ds.features = Column::from(features);
        ds.next_dates = NextDates {
            values: Column::from(next_dates),
            until: None,
        };
        let mut norm_labels = vec![f64::NAN; labels.len()];
        let dates = ds.dates.as_slice();
        let mut start = 0;
        while start < dates.len() {
            let end = start + dates[start..].partition_point(|d| *d == dates[start]);
            normalize_labels(&labels[start..end], &mut norm_labels[start..end]);
            start = end;
        }
        ds.labels = Labels::whole(labels);
        ds.norm_labels = Labels::whole(norm_labels);
        ds
    }

    /// The dataset [`Dataset::from_bars`] makes of the bars dated up to
    /// `until`, derived from this one: the rows up to `until` (features use
    /// past bars only, and are z-scored per date, so they are the same),
    /// with the labels whose next bar is after `until` unknown and the
    /// normalised labels of their dates computed again (the other dates'
    /// labels are unchanged, and so are their normalised labels). Online
    /// routines use it instead of computing every feature again.
    ///
    /// The cut shares the feature table, the rows' dates, instruments and
    /// next bar dates; it copies the labels and normalised labels (16 B a
    /// row, which it changes) and looks for the labels it hides only among
    /// the rows dated within the longest gap between two bars of the end.
    pub fn up_to(&self, until: Date) -> Dataset {
        let dates = self.dates.as_slice();
        let n = dates.partition_point(|d| *d <= until);
        let f = FEATURE_NAMES.len();
        let next_dates = self.next_dates.cut(n, until);
        // A row hides its label when its next bar is after `until`: its
        // date is then within `max_gap` before `until`.
        let first = until
            .checked_sub(self.max_gap)
            .map_or(0, |earliest| dates.partition_point(|d| *d < earliest));
        let mut labels = self.labels.cut(first, n);
        let mut hidden: Vec<Date> = Vec::new();
        let rows = (first..n).zip(labels.tail.iter_mut().zip(&dates[first..n]));
        for (r, (label, date)) in rows {
            if next_dates.get(r).is_none() && self.next_dates.get(r).is_some() {
                *label = f64::NAN;
                hidden.push(*date);
            }
        }
        let mut norm_labels = self.norm_labels.cut(first, n);
        hidden.dedup();
        for date in hidden {
            // Rows of a hidden date are all at or after `first`.
            let (start, end) = (
                dates.partition_point(|d| *d < date) - first,
                dates.partition_point(|d| *d <= date) - first,
            );
            normalize_labels(&labels.tail[start..end], &mut norm_labels.tail[start..end]);
        }
        Dataset {
            instruments: self.instruments.clone(),
            dates: self.dates.cut(n),
            rows_instrument: self.rows_instrument.cut(n),
            features: self.features.cut(n * f),
            labels,
            norm_labels,
            next_dates,
            max_gap: self.max_gap,
        }
    }

    /// Every date with at least one row, sorted.
    pub fn dates(&self) -> Vec<Date> {
        let mut d = self.dates.as_slice().to_vec();
        d.dedup();
        d
    }

    /// Rows with `start <= date <= end` (`None` = unbounded).
    pub fn rows(&self, start: Option<Date>, end: Option<Date>) -> Rows<'_> {
        let dates = self.dates.as_slice();
        let lo = start.map_or(0, |s| dates.partition_point(|d| *d < s));
        let hi = end.map_or(dates.len(), |e| dates.partition_point(|d| *d <= e));
        let hi = hi.max(lo);
        let f = FEATURE_NAMES.len();
        Rows {
            dates: &dates[lo..hi],
            instruments: &self.rows_instrument.as_slice()[lo..hi],
            features: &self.features.as_slice()[lo * f..hi * f],
            labels: self.labels.slice(lo..hi),
            norm_labels: self.norm_labels.slice(lo..hi),
        }
    }
}

/// The normalised labels of one date's rows: `labels` z-scored across
/// them, into `out`.
fn normalize_labels(labels: &[f64], out: &mut [f64]) {
    out.copy_from_slice(labels);
    let idx: Vec<usize> = (0..out.len()).collect();
    zscore_in_place(out, &idx, f64::INFINITY);
}

/// Z-score each feature across the rows of each date (`dates` sorted, one
/// per row of `features`), clipped to ±5; values that are not finite become 0.
fn normalize_features(dates: &[Date], features: &mut [f64]) {
    let f = FEATURE_NAMES.len();
    let mut start = 0;
    while start < dates.len() {
        let end = start + dates[start..].partition_point(|d| *d == dates[start]);
        for col in 0..f {
            let idx: Vec<usize> = (start..end).map(|r| r * f + col).collect();
            zscore_in_place(features, &idx, 5.0);
        }
        start = end;
    }
    for v in features.iter_mut() {
        if !v.is_finite() {
            *v = 0.0;
        }
    }
}

/// Z-score the finite values at `idx` (sample std); values become NaN when
/// fewer than two are finite or the std is zero; then clip to ±`clip`.
fn zscore_in_place(values: &mut [f64], idx: &[usize], clip: f64) {
    let finite: Vec<f64> = idx
        .iter()
        .map(|&i| values[i])
        .filter(|v| v.is_finite())
        .collect();
    let n = finite.len();
    let (mean, std) = if n >= 2 {
        let mean = finite.iter().sum::<f64>() / n as f64;
        let var = finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        (mean, var.sqrt())
    } else {
        (0.0, 0.0)
    };
    for &i in idx {
        values[i] = if std > 0.0 {
            ((values[i] - mean) / std).clamp(-clip, clip)
        } else {
            f64::NAN
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::{SyntheticSpec, generate};

    #[test]
    fn dataset_rows_are_sorted_and_sliced_by_date() {
        let bars = generate(&SyntheticSpec {
            instruments: 4,
            days: 40,
            ..SyntheticSpec::default()
        });
        let ds = Dataset::from_bars(&bars);
        let dates = ds.dates();
        assert_eq!(dates.len(), 40 - 20);
        let all = ds.rows(None, None);
        assert_eq!(all.len(), 4 * 20);
        assert!(all.dates.windows(2).all(|w| w[0] <= w[1]));
        let one = ds.rows(Some(dates[3]), Some(dates[3]));
        assert_eq!(one.len(), 4);
        assert!(ds.rows(Some(dates[5]), Some(dates[4])).is_empty());
        let last = ds.rows(Some(dates[19]), None);
        assert!(last.labels.iter().all(|l| l.is_nan()));
    }

    #[test]
    fn up_to_equals_the_dataset_of_the_earlier_bars() {
        let mut bars = generate(&SyntheticSpec {
            instruments: 5,
            days: 60,
            ..SyntheticSpec::default()
        });
        // One instrument stops early: its last rows' next bars are missing;
        // another pauses for two weeks: a cut inside the pause hides the
        // label of its last bar before it, days before the cut's end.
        bars.bars.retain(|b| {
            (b.instrument != 2 || b.date < jiff::civil::date(2019, 3, 1))
                && (b.instrument != 3
                    || b.date < jiff::civil::date(2019, 2, 6)
                    || b.date > jiff::civil::date(2019, 2, 20))
        });
        let full = Dataset::from_bars(&bars);
        for until in [
            jiff::civil::date(2019, 2, 12),
            jiff::civil::date(2019, 2, 20),
            jiff::civil::date(2019, 3, 4),
        ] {
            let mut early = bars.clone();
            early.bars.retain(|b| b.date <= until);
            // Compared as text: unknown labels are NaN, which `==` never equals.
            assert_eq!(
                format!("{:?}", full.up_to(until)),
                format!("{:?}", Dataset::from_bars(&early)),
                "{until}"
            );
        }
    }
}
