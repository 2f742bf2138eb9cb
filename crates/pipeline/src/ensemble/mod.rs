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
mod row_refs;
mod single_key;

pub use average::{AverageEnsemble, SCORE};
pub use group::{Group, RollingGroup, group_by_all_but_last};
pub use rolling::RollingEnsemble;
pub use single_key::SingleKeyEnsemble;

/// Test inputs shared by the ensembles' unit tests.
#[cfg(test)]
mod test_frames {
    use jiff::civil::date;

    use crate::frame::Frame;

    /// A one-column (`score`) frame from `(day of January 2020, instrument, value)` rows.
    pub(super) fn frame(rows: &[(i8, &str, f64)]) -> Frame {
        let mut f = Frame::new(["score"]).unwrap();
        for &(d, i, v) in rows {
            f.push_row(date(2020, 1, d), i, &[v]).unwrap();
        }
        f
    }
}
