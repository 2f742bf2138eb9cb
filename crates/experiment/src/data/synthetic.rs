//! The embedded dataset: synthetic daily bars with a weak planted signal.
//!
//! **Synthetic, not market data.** It exists so that `taskpool run` works on a
//! fresh machine with no download. It is deterministic: the same
//! [`SyntheticSpec`] always gives the same bars (ChaCha8 seeded by `seed`).
//!
//! Model: each instrument's daily return is `beta·market + idio`, with an
//! idiosyncratic part that continues yesterday's move a little and reverts
//! part of the last five days' move:
//!
//! ```text
//! idio_t = phi·idio_{t-1} − psi·mean(idio_{t-5..t-1}) + sigma·eps_t
//! ```
//!
//! with `phi ~ U(0, 0.15)` and `psi ~ U(0, 0.10)` per instrument. Past returns
//! therefore carry a small amount of information about the next return (a
//! cross-sectional IC of a few percent), as in real equity data.

use jiff::ToSpan;
use jiff::civil::{Date, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::bars::{Bar, Bars};

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticSpec {
    /// Number of instruments (named `SYN0000`, `SYN0001`, …).
    pub instruments: usize,
    /// First calendar day (the first weekday on or after it is the first trading day).
    pub start: Date,
    /// Number of trading days (weekdays; no holidays).
    pub days: usize,
    /// Random seed.
    pub seed: u64,
}

impl Default for SyntheticSpec {
    /// 300 instruments over 1,300 trading days (about five years from 2019-01-01).
    fn default() -> SyntheticSpec {
        SyntheticSpec {
            instruments: 300,
            start: jiff::civil::date(2019, 1, 1),
            days: 1300,
            seed: 7,
        }
    }
}

/// The weekdays from `start` on, `days` of them.
pub fn weekdays(start: Date, days: usize) -> Vec<Date> {
    let mut out = Vec::with_capacity(days);
    let mut d = start;
    while out.len() < days {
        if !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) {
            out.push(d);
        }
        d = d.checked_add(1.day()).expect("dates stay in range");
    }
    out
}

/// Generate the bars described by `spec`.
pub fn generate(spec: &SyntheticSpec) -> Bars {
    let dates = weekdays(spec.start, spec.days);
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let std_normal = Normal::new(0.0, 1.0).expect("valid normal");
    let market: Vec<f64> = dates
        .iter()
        .map(|_| 0.0002 + 0.01 * std_normal.sample(&mut rng))
        .collect();
    let mut bars = Vec::with_capacity(spec.instruments * dates.len());
    let mut names = Vec::with_capacity(spec.instruments);
    for i in 0..spec.instruments {
        names.push(format!("SYN{i:04}"));
        let beta: f64 = rng.random_range(0.5..1.5);
        let phi: f64 = rng.random_range(0.0..0.15);
        let psi: f64 = rng.random_range(0.0..0.10);
        let sigma: f64 = rng.random_range(0.01..0.03);
        let log_volume: f64 = rng.random_range(11.0..15.0);
        let mut close: f64 = rng.random_range(10.0..200.0);
        let mut idio_hist = [0.0f64; 5];
        for (t, &date) in dates.iter().enumerate() {
            let eps = std_normal.sample(&mut rng);
            let mean5 = idio_hist.iter().sum::<f64>() / 5.0;
            let idio = phi * idio_hist[4] - psi * mean5 + sigma * eps;
            idio_hist.rotate_left(1);
            idio_hist[4] = idio;
            let ret = (beta * market[t] + idio).clamp(-0.5, 0.5);
            let open = close * (1.0 + 0.002 * std_normal.sample(&mut rng));
            let new_close = close * (1.0 + ret);
            let wick = 0.005 * std_normal.sample(&mut rng).abs();
            let high = open.max(new_close) * (1.0 + wick);
            let low = open.min(new_close) * (1.0 - wick);
            let volume = (log_volume + 8.0 * ret.abs() + 0.3 * std_normal.sample(&mut rng))
                .exp()
                .round();
            bars.push(Bar {
                date,
                instrument: i as u32,
                open,
                high,
                low,
                close: new_close,
                volume,
            });
            close = new_close;
        }
    }
    Bars {
        instruments: names,
        bars,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_is_deterministic_and_positive() {
        let spec = SyntheticSpec {
            instruments: 5,
            days: 50,
            ..SyntheticSpec::default()
        };
        let a = generate(&spec);
        assert_eq!(a, generate(&spec));
        assert_eq!(a.bars.len(), 250);
        assert_eq!(a.dates().len(), 50);
        assert!(a.bars.iter().all(|b| b.low > 0.0 && b.low <= b.high));
        let other = generate(&SyntheticSpec { seed: 8, ..spec });
        assert_ne!(a, other);
    }

    #[test]
    fn weekdays_skip_weekends() {
        let days = weekdays(jiff::civil::date(2026, 11, 27), 3);
        assert_eq!(
            days,
            [
                jiff::civil::date(2026, 11, 27),
                jiff::civil::date(2026, 11, 30),
                jiff::civil::date(2026, 12, 1)
            ]
        );
    }
}
