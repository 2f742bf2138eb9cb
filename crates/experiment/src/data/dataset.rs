//! The feature/label table: one row per (date, instrument), sorted by date.

use std::sync::Arc;

use jiff::civil::Date;

use super::bars::{Bar, Bars};
use super::features::{FEATURE_NAMES, WARM_UP, features_at, label_at};

/// Features and labels of every (date, instrument) past the warm-up.
///
/// Features are z-scored across instruments on each date (a cross-sectional
/// transform: it uses only that date's values) and clipped to ±5.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Instrument names (rows refer to them by index).
    pub instruments: Vec<String>,
    dates: Vec<Date>,
    rows_instrument: Vec<u32>,
    features: Features,
    labels: Vec<f64>,
    norm_labels: Vec<f64>,
    /// The date of each row's instrument's next bar (the label's date).
    next_dates: Vec<Option<Date>>,
}

/// The row-major feature table, shared by a dataset and the datasets cut
/// from it ([`Dataset::up_to`]): a cut sees the first `len` values and
/// copies none (online routines cut the whole data at every as-of date).
#[derive(Clone, Default)]
struct Features {
    values: Arc<Vec<f64>>,
    len: usize,
}

impl Features {
    fn as_slice(&self) -> &[f64] {
        &self.values[..self.len]
    }

    /// The first `len` values, sharing the table.
    fn cut(&self, len: usize) -> Features {
        Features {
            values: Arc::clone(&self.values),
            len: len.min(self.len),
        }
    }
}

impl From<Vec<f64>> for Features {
    fn from(values: Vec<f64>) -> Features {
        Features {
            len: values.len(),
            values: Arc::new(values),
        }
    }
}

impl PartialEq for Features {
    fn eq(&self, other: &Features) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl std::fmt::Debug for Features {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_slice().fmt(f)
    }
}

/// A contiguous run of dataset rows (one date range).
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    /// Date of each row.
    pub dates: &'a [Date],
    /// Instrument index of each row.
    pub instruments: &'a [u32],
    /// Row-major features, `FEATURE_NAMES.len()` per row.
    pub features: &'a [f64],
    /// The raw label (next return); NaN where unknown.
    pub labels: &'a [f64],
    /// The label z-scored across instruments on each date (the training target).
    pub norm_labels: &'a [f64],
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
        let mut ds = Dataset {
            instruments: bars.instruments.clone(),
            dates: Vec::with_capacity(capacity),
            rows_instrument: Vec::with_capacity(capacity),
            features: Features::default(),
            labels: Vec::with_capacity(capacity),
            norm_labels: Vec::new(),
            next_dates: Vec::with_capacity(capacity),
        };
        let mut cursors = vec![0usize; series.len()];
        for date in bars.dates() {
            for (bars, t) in series.iter().zip(cursors.iter_mut()) {
                if bars.get(*t).is_none_or(|b| b.date != date) {
                    continue;
                }
                if let Some(f) = features_at(bars, *t) {
                    ds.dates.push(date);
                    ds.rows_instrument.push(bars[*t].instrument);
                    features.extend_from_slice(&f);
                    ds.labels.push(label_at(bars, *t));
                    ds.next_dates.push(bars.get(*t + 1).map(|b| b.date));
                }
                *t += 1;
            }
        }
        normalize_features(&ds.dates, &mut features);
        ds.features = Features::from(features);
        ds.normalize_all_labels();
        ds
    }

    /// The dataset [`Dataset::from_bars`] makes of the bars dated up to
    /// `until`, derived from this one: the rows up to `until` (features use
    /// past bars only, and are z-scored per date, so they are the same),
    /// with the labels whose next bar is after `until` unknown and the
    /// normalised labels of their dates computed again (the other dates'
    /// labels are unchanged, and so are their normalised labels). Online
    /// routines use it instead of computing every feature again; the cut
    /// shares the feature table.
    pub fn up_to(&self, until: Date) -> Dataset {
        let n = self.dates.partition_point(|d| *d <= until);
        let f = FEATURE_NAMES.len();
        let next_dates: Vec<Option<Date>> = self.next_dates[..n]
            .iter()
            .map(|d| d.filter(|d| *d <= until))
            .collect();
        let labels = self.labels[..n]
            .iter()
            .zip(&next_dates)
            .map(|(label, next)| if next.is_some() { *label } else { f64::NAN })
            .collect();
        let mut ds = Dataset {
            instruments: self.instruments.clone(),
            dates: self.dates[..n].to_vec(),
            rows_instrument: self.rows_instrument[..n].to_vec(),
            features: self.features.cut(n * f),
            labels,
            norm_labels: self.norm_labels[..n].to_vec(),
            next_dates,
        };
        let mut hidden: Vec<Date> = (0..n)
            .filter(|&r| ds.next_dates[r].is_none() && self.next_dates[r].is_some())
            .map(|r| ds.dates[r])
            .collect();
        hidden.dedup();
        for date in hidden {
            let start = ds.dates.partition_point(|d| *d < date);
            let end = ds.dates.partition_point(|d| *d <= date);
            ds.normalize_labels(start..end);
        }
        ds
    }

    /// The normalised labels: the labels z-scored across instruments on
    /// each date.
    fn normalize_all_labels(&mut self) {
        self.norm_labels = vec![f64::NAN; self.labels.len()];
        let mut start = 0;
        while start < self.dates.len() {
            let end = start + self.dates[start..].partition_point(|d| *d == self.dates[start]);
            self.normalize_labels(start..end);
            start = end;
        }
    }

    /// The normalised labels of the rows `rows` (one date's).
    fn normalize_labels(&mut self, rows: std::ops::Range<usize>) {
        self.norm_labels[rows.clone()].copy_from_slice(&self.labels[rows.clone()]);
        let idx: Vec<usize> = rows.collect();
        zscore_in_place(&mut self.norm_labels, &idx, f64::INFINITY);
    }

    /// Every date with at least one row, sorted.
    pub fn dates(&self) -> Vec<Date> {
        let mut d = self.dates.clone();
        d.dedup();
        d
    }

    /// Rows with `start <= date <= end` (`None` = unbounded).
    pub fn rows(&self, start: Option<Date>, end: Option<Date>) -> Rows<'_> {
        let lo = start.map_or(0, |s| self.dates.partition_point(|d| *d < s));
        let hi = end.map_or(self.dates.len(), |e| {
            self.dates.partition_point(|d| *d <= e)
        });
        let hi = hi.max(lo);
        let f = FEATURE_NAMES.len();
        Rows {
            dates: &self.dates[lo..hi],
            instruments: &self.rows_instrument[lo..hi],
            features: &self.features.as_slice()[lo * f..hi * f],
            labels: &self.labels[lo..hi],
            norm_labels: &self.norm_labels[lo..hi],
        }
    }
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
        // One instrument stops early: its last rows' next bars are missing.
        bars.bars
            .retain(|b| b.instrument != 2 || b.date < jiff::civil::date(2019, 3, 1));
        let full = Dataset::from_bars(&bars);
        for until in [
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
