//! Ridge regression solved with `nalgebra` (Cholesky, LU as a fallback).

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// Why a model could not be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    /// No training rows with a finite target.
    #[error("no training rows with a known label")]
    NoRows,
    /// The penalty is negative or not finite.
    #[error("ridge alpha must be a finite number >= 0, got {0}")]
    BadAlpha(f64),
    /// The normal equations are singular (only possible with alpha = 0).
    #[error("the features are collinear; use alpha > 0")]
    Singular,
}

/// Ridge regression: minimise `|y − Xw − b|² + alpha·|w|²` (the intercept is not penalised).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ridge {
    /// The L2 penalty.
    pub alpha: f64,
}

/// A fitted ridge model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RidgeModel {
    /// One weight per feature.
    pub weights: Vec<f64>,
    /// The intercept.
    pub intercept: f64,
}

impl Ridge {
    /// Fit on row-major features (`n_features` per row) and targets; rows whose
    /// target is not finite are skipped.
    ///
    /// # Errors
    /// [`FitError`] for a bad alpha, no usable rows, or singular equations.
    pub fn fit(
        &self,
        features: &[f64],
        n_features: usize,
        y: &[f64],
    ) -> Result<RidgeModel, FitError> {
        if !self.alpha.is_finite() || self.alpha < 0.0 {
            return Err(FitError::BadAlpha(self.alpha));
        }
        // The normal equations accumulate row by row (two passes: the means,
        // then the centred sums), so fitting holds a k × k matrix, never a
        // copy of the training rows (issue 22: at research scale the copy was
        // a third of a worker's memory).
        let rows = || {
            features
                .chunks_exact(n_features)
                .zip(y)
                .filter(|(_, y)| y.is_finite())
        };
        let n = rows().count();
        if n == 0 {
            return Err(FitError::NoRows);
        }
        let k = n_features;
        let mut x_mean = vec![0.0; k];
        let mut y_mean = 0.0;
        for (x, y) in rows() {
            x_mean.iter_mut().zip(x).for_each(|(m, v)| *m += v);
            y_mean += y;
        }
        x_mean.iter_mut().for_each(|m| *m /= n as f64);
        y_mean /= n as f64;
        // Lower triangle of Σ xc·xcᵀ and Σ xc·yc over the centred rows.
        let mut sums = vec![0.0; k * k];
        let mut rhs = vec![0.0; k];
        let mut xc = vec![0.0; k];
        for (x, y) in rows() {
            xc.iter_mut()
                .zip(x.iter().zip(&x_mean))
                .for_each(|(c, (v, m))| *c = v - m);
            let yc = y - y_mean;
            for a in 0..k {
                rhs[a] += xc[a] * yc;
                for b in 0..=a {
                    sums[a * k + b] += xc[a] * xc[b];
                }
            }
        }
        let gram = DMatrix::from_fn(k, k, |a, b| {
            let sum = if b <= a {
                sums[a * k + b]
            } else {
                sums[b * k + a]
            };
            if a == b { sum + self.alpha } else { sum }
        });
        let rhs = DVector::from_vec(rhs);
        let x_mean = DVector::from_vec(x_mean);
        let w = match gram.clone().cholesky() {
            Some(chol) => chol.solve(&rhs),
            None => gram.lu().solve(&rhs).ok_or(FitError::Singular)?,
        };
        let intercept = y_mean - x_mean.dot(&w);
        Ok(RidgeModel {
            weights: w.iter().copied().collect(),
            intercept,
        })
    }
}

impl RidgeModel {
    /// Predict each row of row-major `features`.
    pub fn predict(&self, features: &[f64]) -> Vec<f64> {
        features
            .chunks_exact(self.weights.len())
            .map(|row| {
                self.intercept
                    + row
                        .iter()
                        .zip(&self.weights)
                        .map(|(x, w)| x * w)
                        .sum::<f64>()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_recovers_a_linear_relation() {
        // y = 2·x0 − x1 + 3 exactly; alpha = 0 must recover it.
        let xs: Vec<f64> = (0..20)
            .flat_map(|i| [i as f64, ((i * 7) % 5) as f64])
            .collect();
        let y: Vec<f64> = xs.chunks(2).map(|r| 2.0 * r[0] - r[1] + 3.0).collect();
        let m = Ridge { alpha: 0.0 }.fit(&xs, 2, &y).unwrap();
        assert!((m.weights[0] - 2.0).abs() < 1e-9 && (m.weights[1] + 1.0).abs() < 1e-9);
        assert!((m.intercept - 3.0).abs() < 1e-9);
        let p = m.predict(&xs);
        assert!(p.iter().zip(&y).all(|(a, b)| (a - b).abs() < 1e-9));
    }

    #[test]
    fn fit_shrinks_with_alpha_and_rejects_bad_input() {
        let xs: Vec<f64> = (0..20).map(|i| i as f64).collect();
        let y: Vec<f64> = xs.iter().map(|x| 2.0 * x).collect();
        let small = Ridge { alpha: 0.1 }.fit(&xs, 1, &y).unwrap();
        let big = Ridge { alpha: 1e4 }.fit(&xs, 1, &y).unwrap();
        assert!(big.weights[0].abs() < small.weights[0].abs());
        assert_eq!(
            Ridge { alpha: -1.0 }.fit(&xs, 1, &y),
            Err(FitError::BadAlpha(-1.0))
        );
        assert_eq!(
            Ridge { alpha: 1.0 }.fit(&xs, 1, &[f64::NAN; 20]),
            Err(FitError::NoRows)
        );
        let dup: Vec<f64> = (0..10).flat_map(|i| [i as f64, i as f64]).collect();
        let yd: Vec<f64> = (0..10).map(|i| i as f64).collect();
        assert_eq!(
            Ridge { alpha: 0.0 }.fit(&dup, 2, &yd),
            Err(FitError::Singular)
        );
    }
}
