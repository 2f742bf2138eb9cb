//! Features computed strictly from past and current data, and the label.

use super::bars::Bar;

/// Feature names, in column order.
pub const FEATURE_NAMES: [&str; 10] = [
    "ret_1",
    "ret_5",
    "ret_10",
    "ret_20",
    "volatility_20",
    "volume_ratio_5",
    "volume_ratio_20",
    "ma_ratio_5",
    "ma_ratio_20",
    "range",
];

/// The label: the next period's return, `close[t+1] / close[t] − 1`.
pub const LABEL_NAME: &str = "next_return";

/// The longest look-back of any feature (rows before it have no features).
pub const WARM_UP: usize = 20;

/// Features of one instrument's bar `t` (using bars `..=t` only), or `None`
/// during the warm-up.
pub fn features_at(bars: &[Bar], t: usize) -> Option<[f64; FEATURE_NAMES.len()]> {
    if t < WARM_UP {
        return None;
    }
    let close = |k: usize| bars[t - k].close;
    let ret = |k: usize| close(0) / close(k) - 1.0;
    let daily: [f64; 20] = std::array::from_fn(|k| close(k) / close(k + 1) - 1.0);
    let mean = daily.iter().sum::<f64>() / daily.len() as f64;
    let var = daily.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (daily.len() - 1) as f64;
    let mean_of = |k: usize, f: &dyn Fn(&Bar) -> f64| {
        bars[t + 1 - k..=t].iter().map(f).sum::<f64>() / k as f64
    };
    let volume = bars[t].volume;
    let out = [
        ret(1),
        ret(5),
        ret(10),
        ret(20),
        var.sqrt(),
        volume / mean_of(5, &|b| b.volume).max(1.0),
        volume / mean_of(20, &|b| b.volume).max(1.0),
        close(0) / mean_of(5, &|b| b.close) - 1.0,
        close(0) / mean_of(20, &|b| b.close) - 1.0,
        (bars[t].high - bars[t].low) / close(0),
    ];
    out.iter().all(|v| v.is_finite()).then_some(out)
}

/// The label of bar `t`: NaN for the last bar.
pub fn label_at(bars: &[Bar], t: usize) -> f64 {
    bars.get(t + 1)
        .map_or(f64::NAN, |next| next.close / bars[t].close - 1.0)
}
