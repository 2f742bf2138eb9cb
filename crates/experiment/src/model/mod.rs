//! Models trained per task. Today: [`Ridge`] regression.

mod ridge;

pub use ridge::{FitError, Ridge, RidgeModel};
