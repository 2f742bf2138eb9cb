//! [`AverageEnsemble`]: cross-sectional z-score, then the mean.

use std::sync::Arc;

use jiff::civil::Date;
use task_store::{Error, Result};

use super::row_refs::{self, RowRef};
use crate::collect::{Node, Process};
use crate::frame::Frame;

/// The name of [`AverageEnsemble`]'s output column.
pub const SCORE: &str = "score";

/// Averages normalised predictions (Qlib's `AverageEnsemble`).
///
/// The frames (nested collections are flattened; keys are ignored) are
/// outer-joined on `(datetime, instrument)`. Then, for every datetime and
/// every value column of every frame, the values present on that datetime
/// are standardised across instruments: `z = (x − mean) / std` with the
/// sample standard deviation (n − 1 in the denominator). A column with a
/// single value on a datetime (std undefined) or with zero variance (0/0)
/// gives missing z-scores there. Finally each row's score is the mean of
/// its z-scores over all columns of all frames, skipping missing ones
/// (missing if none is present).
///
/// As in Qlib, multi-column inputs (say `score` and `label`) are all
/// averaged together (reference §9 B19). Unlike Qlib, which returns a
/// Series, the result is a [`Frame`] with the one column [`SCORE`], sorted
/// by datetime then instrument, every row of the join kept (including rows
/// whose score is missing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AverageEnsemble;

impl AverageEnsemble {
    /// Average `frames`.
    ///
    /// # Errors
    /// `InvalidInput` for no frames or a frame with a repeated
    /// `(datetime, instrument)` entry (the join would be ambiguous).
    pub fn combine(&self, frames: &[Frame]) -> Result<Frame> {
        if frames.is_empty() {
            return Err(Error::invalid_input(
                "AverageEnsemble needs at least one frame",
            ));
        }
        let Joined {
            dates,
            instruments,
            rows,
        } = match shared_index(frames) {
            Some(joined) => joined,
            None => outer_join(frames)?,
        };
        let groups = date_groups(&dates);
        let mut z_sum = vec![0.0; dates.len()];
        let mut z_count = vec![0u32; dates.len()];
        let mut aligned = vec![f64::NAN; dates.len()];
        for (f, rows) in frames.iter().zip(&rows) {
            for column in f.columns() {
                aligned.fill(f64::NAN);
                for (&row, &v) in rows.iter().zip(column.values()) {
                    aligned[row as usize] = v;
                }
                for range in &groups {
                    add_z_scores(
                        &aligned[range.clone()],
                        &mut z_sum[range.clone()],
                        &mut z_count[range.clone()],
                    );
                }
            }
        }
        let score: Vec<f64> = z_sum
            .iter()
            .zip(&z_count)
            .map(|(&s, &n)| if n == 0 { f64::NAN } else { s / f64::from(n) })
            .collect();
        Frame::from_columns(dates, instruments, [(SCORE.to_string(), score)])
    }
}

/// The outer join of the frames' `(datetime, instrument)` entries: the
/// joined index, sorted, and where each frame's rows go in it.
struct Joined {
    dates: Vec<Date>,
    instruments: Vec<Arc<str>>,
    /// For each frame, the joined row of each of its rows.
    rows: Vec<Vec<u32>>,
}

/// The join when every frame has the same index, sorted with no repeated
/// entry (the models of one set of windows predict the same rows): that
/// index, without sorting anything.
fn shared_index(frames: &[Frame]) -> Option<Joined> {
    let first = frames.first()?;
    let same = frames[1..]
        .iter()
        .all(|f| f.datetimes() == first.datetimes() && f.instruments() == first.instruments());
    if !same || !first.is_sorted_unique() {
        return None;
    }
    let identity: Vec<u32> = (0..u32::try_from(first.len()).ok()?).collect();
    Some(Joined {
        dates: first.datetimes().to_vec(),
        instruments: first.instruments().to_vec(),
        rows: vec![identity; frames.len()],
    })
}

/// The join of any frames: every row of every frame as a [`RowRef`],
/// sorted by (datetime, instrument), each run of equal entries one joined
/// row; plus one `u32` per input row mapping it to its joined row.
///
/// # Errors
/// `InvalidInput` for a frame with a repeated entry.
fn outer_join(frames: &[Frame]) -> Result<Joined> {
    let refs = row_refs::sorted_by_entry(frames, 0..frames.len(), "AverageEnsemble")?;
    let entry = |&r: &RowRef| row_refs::entry(frames, r);
    let mut rows: Vec<Vec<u32>> = frames.iter().map(|f| vec![0; f.len()]).collect();
    let mut dates: Vec<Date> = Vec::new();
    let mut instruments: Vec<Arc<str>> = Vec::new();
    for (at, pair) in refs.iter().enumerate() {
        let (d, inst) = entry(pair);
        let same_as_previous = at > 0 && entry(&refs[at - 1]) == (d, inst);
        if same_as_previous && refs[at - 1].0 == pair.0 {
            return Err(Error::invalid_input(format!(
                "frame {} has ({d}, {inst}) more than once",
                pair.0 + 1
            )));
        }
        if !same_as_previous {
            dates.push(d);
            instruments.push(Arc::clone(inst));
        }
        rows[pair.0 as usize][pair.1 as usize] =
            u32::try_from(dates.len() - 1).map_err(|_| too_many())?;
    }
    Ok(Joined {
        dates,
        instruments,
        rows,
    })
}

fn too_many() -> Error {
    Error::invalid_input("AverageEnsemble takes fewer than 2^32 frames and rows per frame")
}

/// The row ranges of equal dates in sorted `dates`.
fn date_groups(dates: &[Date]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=dates.len() {
        if i == dates.len() || dates[i] != dates[start] {
            out.push(start..i);
            start = i;
        }
    }
    out
}

/// Add the z-scores of the present values of one column on one date.
fn add_z_scores(values: &[f64], z_sum: &mut [f64], z_count: &mut [u32]) {
    let present = || values.iter().copied().filter(|v| !v.is_nan());
    let n = present().count();
    if n < 2 {
        return;
    }
    let mean = present().sum::<f64>() / n as f64;
    let var = present().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
    let std = var.sqrt();
    for ((v, s), c) in values.iter().zip(z_sum).zip(z_count) {
        let z = (v - mean) / std;
        if !z.is_nan() {
            *s += z;
            *c += 1;
        }
    }
}

impl Process<Frame> for AverageEnsemble {
    /// Flattens `input` and averages every frame in it.
    ///
    /// # Errors
    /// As [`AverageEnsemble::combine`].
    fn process(&self, input: Node<Frame>) -> Result<Node<Frame>> {
        let frames: Vec<Frame> = input.flatten().into_iter().map(|(_, f)| f).collect();
        Ok(Node::Leaf(self.combine(&frames)?))
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use task_store::ErrorKind;

    use super::*;
    use crate::collect::{Collection, Key};
    use crate::ensemble::test_frames::frame;

    fn assert_close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            if w.is_nan() {
                assert!(g.is_nan(), "{got:?} vs {want:?}");
            } else {
                let tol = 1e-12 * w.abs().max(1e-300);
                assert!((g - w).abs() <= tol, "{got:?} vs {want:?}");
            }
        }
    }

    #[test]
    fn frames_with_one_sorted_index_combine_as_through_the_join() {
        let rows = [
            (4, "X", 1.0),
            (4, "Y", 2.0),
            (4, "Z", f64::NAN),
            (5, "X", 3.0),
            (5, "Y", 5.0),
            (5, "Z", 8.0),
            (6, "X", 1.0),
        ];
        let a = frame(&rows);
        let b = frame(&rows.map(|(d, i, v)| (d, i, v * v - 3.0)));
        assert!(shared_index(&[a.clone(), b.clone()]).is_some());
        let shared = AverageEnsemble.combine(&[a.clone(), b.clone()]).unwrap();
        // The same rows in another order: the general join.
        let order: Vec<usize> = (0..b.len()).rev().collect();
        let reversed = b.take_rows(&order);
        assert!(shared_index(&[a.clone(), reversed.clone()]).is_none());
        assert_eq!(shared, AverageEnsemble.combine(&[a, reversed]).unwrap());
    }

    /// Reference §6.6: P1 and P2 over three instruments and two dates.
    fn names(frame: &Frame) -> Vec<&str> {
        frame.instruments().iter().map(|i| &**i).collect()
    }

    #[test]
    fn combine_matches_the_reference_example() {
        let p1 = frame(&[
            (4, "X", 1.0),
            (4, "Y", 2.0),
            (4, "Z", 3.0),
            (5, "X", 10.0),
            (5, "Y", 10.0),
            (5, "Z", 40.0),
        ]);
        let p2 = frame(&[
            (4, "X", 3.0),
            (4, "Y", 2.0),
            (4, "Z", 1.0),
            (5, "X", 5.0),
            (5, "Y", 6.0),
            (5, "Z", 7.0),
        ]);
        let got = AverageEnsemble.combine(&[p1, p2]).unwrap();
        let r3 = 3f64.sqrt();
        // 01-05: P1 z = (-1, -1, 2)/sqrt(3), P2 z = (-1, 0, 1).
        let want = [
            0.0,
            0.0,
            0.0,
            (-1.0 / r3 - 1.0) / 2.0,
            (-1.0 / r3) / 2.0,
            (2.0 / r3 + 1.0) / 2.0,
        ];
        assert_close(got.column(SCORE).unwrap(), &want);
        assert_close(
            &want[3..],
            &[
                -0.788_675_134_594_813,
                -0.288_675_134_594_813,
                1.077_350_269_189_626,
            ],
        );
        assert_eq!(names(&got), ["X", "Y", "Z", "X", "Y", "Z"]);
        assert_eq!(got.datetimes()[3], date(2020, 1, 5));
    }

    /// Reference §6.6: P3 has one value on the date (std undefined), so only
    /// P4 counts.
    #[test]
    fn combine_single_instrument_column_is_skipped() {
        let p3 = frame(&[(4, "X", 1.0), (4, "Y", f64::NAN)]);
        let p4 = frame(&[(4, "X", 2.0), (4, "Y", 4.0)]);
        let got = AverageEnsemble.combine(&[p3, p4]).unwrap();
        let h = 0.5f64.sqrt();
        assert_close(got.column(SCORE).unwrap(), &[-h, h]);
    }

    #[test]
    fn combine_zero_variance_and_lone_dates_are_missing() {
        let p = frame(&[(4, "X", 7.0), (4, "Y", 7.0), (5, "X", 1.0)]);
        let got = AverageEnsemble.combine(&[p]).unwrap();
        assert_close(got.column(SCORE).unwrap(), &[f64::NAN, f64::NAN, f64::NAN]);
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn combine_outer_joins_and_averages_every_column() {
        // Two columns in one frame count as two models; W only in `q`.
        let mut p = Frame::new(["score", "label"]).unwrap();
        p.push_row(date(2020, 1, 4), "X", &[1.0, 10.0]).unwrap();
        p.push_row(date(2020, 1, 4), "Y", &[3.0, 20.0]).unwrap();
        let q = frame(&[(4, "W", 5.0), (4, "X", 6.0), (4, "Y", 7.0)]);
        let got = AverageEnsemble.combine(&[p, q]).unwrap();
        let h = 0.5f64.sqrt();
        // p.score and p.label: X -h, Y +h; q: W -1, X 0, Y 1.
        assert_close(
            got.column(SCORE).unwrap(),
            &[-1.0, (-h - h + 0.0) / 3.0, (h + h + 1.0) / 3.0],
        );
        assert_eq!(names(&got), ["W", "X", "Y"]);
    }

    #[test]
    fn combine_rejects_no_frames_and_repeated_entries() {
        assert_eq!(
            AverageEnsemble.combine(&[]).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let dup = frame(&[(4, "X", 1.0), (4, "X", 2.0)]);
        assert_eq!(
            AverageEnsemble.combine(&[dup]).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn process_flattens_nested_collections() {
        let p1 = frame(&[(4, "X", 1.0), (4, "Y", 2.0)]);
        let p2 = frame(&[(4, "X", 4.0), (4, "Y", 3.0)]);
        let inner: Collection<Frame> = [(Key::from("LGB"), Node::Leaf(p2.clone()))]
            .into_iter()
            .collect();
        let outer: Collection<Frame> = [
            (Key::from("a"), Node::Leaf(p1.clone())),
            (Key::from("b"), Node::Map(inner)),
        ]
        .into_iter()
        .collect();
        let got = AverageEnsemble.process(Node::Map(outer)).unwrap();
        let want = AverageEnsemble.combine(&[p1, p2]).unwrap();
        assert_eq!(got, Node::Leaf(want));
    }
}
