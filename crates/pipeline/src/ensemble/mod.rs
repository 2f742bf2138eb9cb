//! Grouping and ensembling collected frames: Qlib's `Group`, `RollingGroup`,
//! `SingleKeyEnsemble`, `RollingEnsemble` and `AverageEnsemble`
//! (reference §6). Each is a [`Process`](crate::collect::Process), so it can
//! sit in a collector's process list or be called on its own.
//!
//! The numbers are Qlib's: [`RollingEnsemble`] lets the later-starting window
//! win on overlapping `(datetime, instrument)` entries (ties keep input
//! order); [`AverageEnsemble`] z-scores every column of every input per
//! datetime across instruments with the sample standard deviation, then
//! averages all z-scores skipping missing values.

mod average;
mod group;
mod rolling;
mod single_key;

pub use average::{AverageEnsemble, SCORE};
pub use group::{Group, RollingGroup, group_by_all_but_last};
pub use rolling::RollingEnsemble;
pub use single_key::SingleKeyEnsemble;
