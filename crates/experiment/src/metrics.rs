//! Prediction quality: IC, rank IC and MSE, computed per date across instruments.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// Quality of predictions over a set of dates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Mean over dates of the Pearson correlation of prediction and label.
    pub ic: f64,
    /// Mean over dates of the Spearman (rank) correlation.
    pub rank_ic: f64,
    /// `ic` divided by the standard deviation of the daily ICs.
    pub icir: f64,
    /// Mean squared error against the target.
    pub mse: f64,
    /// Dates with a defined IC.
    pub days: usize,
}

/// The per-date IC series and summary of `pred` against `label` for rows
/// sorted by date. `target` is what MSE is measured against. Dates with fewer
/// than two finite pairs, or zero variance, have no IC and are skipped.
pub fn evaluate(
    dates: &[Date],
    pred: &[f64],
    label: &[f64],
    target: &[f64],
) -> (Vec<(Date, f64, f64)>, Metrics) {
    let mut daily = Vec::new();
    let mut start = 0;
    while start < dates.len() {
        let end = start + dates[start..].partition_point(|d| *d == dates[start]);
        let pairs: Vec<(f64, f64)> = (start..end)
            .filter(|&i| pred[i].is_finite() && label[i].is_finite())
            .map(|i| (pred[i], label[i]))
            .collect();
        if let (Some(ic), Some(ric)) = (pearson(&pairs), spearman(&pairs)) {
            daily.push((dates[start], ic, ric));
        }
        start = end;
    }
    let n = daily.len();
    let mean = |f: &dyn Fn(&(Date, f64, f64)) -> f64| {
        if n == 0 {
            f64::NAN
        } else {
            daily.iter().map(f).sum::<f64>() / n as f64
        }
    };
    let ic = mean(&|d| d.1);
    let rank_ic = mean(&|d| d.2);
    let ic_std = if n >= 2 {
        (daily.iter().map(|d| (d.1 - ic).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        f64::NAN
    };
    let sq: Vec<f64> = pred
        .iter()
        .zip(target)
        .filter(|(p, t)| p.is_finite() && t.is_finite())
        .map(|(p, t)| (p - t).powi(2))
        .collect();
    let mse = if sq.is_empty() {
        f64::NAN
    } else {
        sq.iter().sum::<f64>() / sq.len() as f64
    };
    let metrics = Metrics {
        ic,
        rank_ic,
        icir: ic / ic_std,
        mse,
        days: n,
    };
    (daily, metrics)
}

/// Pearson correlation; `None` for fewer than two pairs or zero variance.
pub fn pearson(pairs: &[(f64, f64)]) -> Option<f64> {
    let n = pairs.len();
    if n < 2 {
        return None;
    }
    let (mx, my) = pairs
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (mx / n as f64, my / n as f64);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx).powi(2);
        syy += (y - my).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// Spearman correlation (Pearson of average ranks).
pub fn spearman(pairs: &[(f64, f64)]) -> Option<f64> {
    let xs = ranks(&pairs.iter().map(|p| p.0).collect::<Vec<_>>());
    let ys = ranks(&pairs.iter().map(|p| p.1).collect::<Vec<_>>());
    pearson(&xs.into_iter().zip(ys).collect::<Vec<_>>())
}

/// 1-based ranks, ties sharing their average rank.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut out = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            out[k] = avg;
        }
        i = j + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlations_match_hand_computed_values() {
        let pairs = [(1.0, 2.0), (2.0, 4.0), (3.0, 6.5)];
        assert!((pearson(&pairs).unwrap() - 0.997_948_715_788_673_3).abs() < 1e-9);
        assert_eq!(spearman(&pairs), Some(1.0));
        assert_eq!(pearson(&[(1.0, 1.0)]), None);
        assert_eq!(pearson(&[(1.0, 1.0), (1.0, 2.0)]), None);
        assert_eq!(ranks(&[3.0, 1.0, 3.0]), [2.5, 1.0, 2.5]);
    }

    #[test]
    fn evaluate_averages_daily_ics() {
        let d1 = jiff::civil::date(2024, 1, 2);
        let d2 = jiff::civil::date(2024, 1, 3);
        let dates = [d1, d1, d1, d2, d2, d2];
        let pred = [1.0, 2.0, 3.0, 1.0, 2.0, 3.0];
        let label = [1.0, 2.0, 3.0, 3.0, 2.0, 1.0];
        let (daily, m) = evaluate(&dates, &pred, &label, &label);
        assert_eq!(daily.len(), 2);
        assert!((m.ic - 0.0).abs() < 1e-12 && (m.rank_ic - 0.0).abs() < 1e-12);
        assert!((m.mse - (0.0 + 8.0) / 6.0).abs() < 1e-12);
        assert_eq!(m.days, 2);
    }
}
