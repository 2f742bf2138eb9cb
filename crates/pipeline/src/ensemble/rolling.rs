//! [`RollingEnsemble`]: concatenate rolling windows.

use std::sync::Arc;

use jiff::civil::Date;
use task_store::{Error, Result};

use super::row_refs::{self, RowRef};
use crate::collect::{Node, Process};
use crate::frame::Frame;

/// Concatenates the frames of rolling windows into one (Qlib's
/// `RollingEnsemble`).
///
/// The frames are ordered by their earliest datetime (a stable sort: equal
/// starts keep input order) and concatenated; where several rows have the
/// same `(datetime, instrument)`, the last one in that order wins, so the
/// window that starts later wins, and among windows starting on the same
/// date the one given later wins. The winning row is taken whole, missing
/// values included. The result is sorted by datetime, then instrument. The
/// collection's keys are ignored.
///
/// Every frame must have the same value columns (in any order; the result
/// has the first frame's order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollingEnsemble;

impl RollingEnsemble {
    /// Concatenate `frames`, given in input order.
    ///
    /// # Errors
    /// `InvalidInput` for no frames or frames with different columns.
    pub fn combine(&self, frames: &[Frame]) -> Result<Frame> {
        let first = frames
            .first()
            .ok_or_else(|| Error::invalid_input("RollingEnsemble needs at least one frame"))?;
        let names: Vec<&str> = first.column_names().collect();
        // For each frame, where each of the first frame's columns is.
        let positions = frames
            .iter()
            .enumerate()
            .map(|(i, f)| column_positions(&names, f, i))
            .collect::<Result<Vec<_>>>()?;
        let mut order: Vec<usize> = (0..frames.len()).collect();
        order.sort_by_key(|&i| frames[i].min_datetime());
        if let Some(joined) = concatenated(frames, &order, &names, &positions) {
            return joined;
        }
        // Every row, in the order in which later rows win; the sort is
        // stable, so the last of each run of equal entries wins.
        let rows = row_refs::sorted_by_entry(frames, order, "RollingEnsemble")?;
        let entry = |&r: &RowRef| row_refs::entry(frames, r);
        let mut out = Frame::new(names.iter().copied())?;
        let mut row = vec![0.0; names.len()];
        for (at, pair) in rows.iter().enumerate() {
            if rows
                .get(at + 1)
                .is_some_and(|next| entry(next) == entry(pair))
            {
                continue;
            }
            let (fi, ri) = (pair.0 as usize, pair.1 as usize);
            let columns = frames[fi].columns();
            for (v, &pos) in row.iter_mut().zip(&positions[fi]) {
                *v = columns[pos].values()[ri];
            }
            let (d, inst) = entry(pair);
            out.push_row(d, Arc::clone(inst), &row)?;
        }
        Ok(out)
    }
}

/// The combination when no row needs choosing: each frame sorted with no
/// repeated entry, and in `order` (by first date) each frame's dates after
/// the previous one's — consecutive windows that do not overlap, as online
/// routines append them. The frames are concatenated (columns in the order
/// of `names`) without a map of every row. `None` otherwise.
fn concatenated(
    frames: &[Frame],
    order: &[usize],
    names: &[&str],
    positions: &[Vec<usize>],
) -> Option<Result<Frame>> {
    let mut last: Option<Date> = None;
    for &fi in order {
        let f = &frames[fi];
        if !f.is_sorted_unique() {
            return None;
        }
        if let (Some(before), Some(first)) = (last, f.datetimes().first())
            && *first <= before
        {
            return None;
        }
        last = f.datetimes().last().copied().or(last);
    }
    let n = frames.iter().map(Frame::len).sum();
    let mut datetime = Vec::with_capacity(n);
    let mut instrument = Vec::with_capacity(n);
    let mut columns: Vec<Vec<f64>> = vec![Vec::with_capacity(n); names.len()];
    for &fi in order {
        let f = &frames[fi];
        datetime.extend_from_slice(f.datetimes());
        instrument.extend_from_slice(f.instruments());
        for (column, &pos) in columns.iter_mut().zip(&positions[fi]) {
            column.extend_from_slice(f.columns()[pos].values());
        }
    }
    let names = names.iter().map(|n| (*n).to_string());
    Some(Frame::from_columns(
        datetime,
        instrument,
        names.zip(columns),
    ))
}

fn column_positions(names: &[&str], frame: &Frame, index: usize) -> Result<Vec<usize>> {
    let theirs: Vec<&str> = frame.column_names().collect();
    let positions: Option<Vec<usize>> = names
        .iter()
        .map(|n| theirs.iter().position(|t| t == n))
        .collect();
    match positions {
        Some(p) if theirs.len() == names.len() => Ok(p),
        _ => Err(Error::invalid_input(format!(
            "frame {} has columns {theirs:?}, the first frame has {names:?}",
            index + 1
        ))),
    }
}

impl Process<Frame> for RollingEnsemble {
    /// # Errors
    /// `InvalidInput` unless `input` is a non-empty collection of frames
    /// with the same columns.
    fn process(&self, input: Node<Frame>) -> Result<Node<Frame>> {
        let frames = input
            .into_map()?
            .into_iter()
            .map(|(key, node)| {
                tracing::debug!(%key, "rolling ensemble input");
                node.into_leaf()
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Node::Leaf(self.combine(&frames)?))
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use proptest::prelude::*;
    use task_store::ErrorKind;

    use super::*;
    use crate::collect::{Collection, Key};
    use crate::ensemble::test_frames::frame;

    /// Reference §6.5: A covers 01-04..01-06, B 01-06..01-07, C 01-04..01-05.
    fn a() -> Frame {
        frame(&[
            (4, "X", 1.0),
            (4, "Y", 2.0),
            (5, "X", 3.0),
            (5, "Y", 4.0),
            (6, "X", 5.0),
            (6, "Y", 6.0),
        ])
    }

    fn b() -> Frame {
        frame(&[
            (6, "X", 30.0),
            (6, "Y", 40.0),
            (7, "X", 50.0),
            (7, "Y", 60.0),
        ])
    }

    fn c() -> Frame {
        frame(&[
            (4, "X", 10.0),
            (4, "Y", 20.0),
            (5, "X", 30.0),
            (5, "Y", 40.0),
        ])
    }

    #[test]
    fn combine_later_start_wins_whatever_the_input_order() {
        let want = frame(&[
            (4, "X", 1.0),
            (4, "Y", 2.0),
            (5, "X", 3.0),
            (5, "Y", 4.0),
            (6, "X", 30.0),
            (6, "Y", 40.0),
            (7, "X", 50.0),
            (7, "Y", 60.0),
        ]);
        assert_eq!(RollingEnsemble.combine(&[b(), a()]).unwrap(), want);
        assert_eq!(RollingEnsemble.combine(&[a(), b()]).unwrap(), want);
    }

    #[test]
    fn combine_same_start_later_input_wins() {
        // {"c": C, "a": A} -> A wins everywhere.
        assert_eq!(RollingEnsemble.combine(&[c(), a()]).unwrap(), a());
        // {"a": A, "c": C} -> C wins on 01-04 and 01-05.
        let want = frame(&[
            (4, "X", 10.0),
            (4, "Y", 20.0),
            (5, "X", 30.0),
            (5, "Y", 40.0),
            (6, "X", 5.0),
            (6, "Y", 6.0),
        ]);
        assert_eq!(RollingEnsemble.combine(&[a(), c()]).unwrap(), want);
    }

    #[test]
    fn combine_winning_row_keeps_its_missing_values() {
        let late = frame(&[(6, "X", f64::NAN)]);
        let got = RollingEnsemble.combine(&[a(), late]).unwrap();
        assert!(got.column("score").unwrap()[4].is_nan());
    }

    #[test]
    fn combine_reorders_columns_to_the_first_frame() {
        let mut f1 = Frame::new(["s", "l"]).unwrap();
        f1.push_row(date(2020, 1, 1), "X", &[1.0, 2.0]).unwrap();
        let mut f2 = Frame::new(["l", "s"]).unwrap();
        f2.push_row(date(2020, 1, 2), "X", &[4.0, 3.0]).unwrap();
        let got = RollingEnsemble.combine(&[f1, f2]).unwrap();
        assert_eq!(got.column("s").unwrap(), [1.0, 3.0]);
        assert_eq!(got.column("l").unwrap(), [2.0, 4.0]);
    }

    #[test]
    fn combine_rejects_no_frames_and_mismatched_columns() {
        assert_eq!(
            RollingEnsemble.combine(&[]).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let other = Frame::new(["label"]).unwrap();
        let wider = Frame::new(["score", "label"]).unwrap();
        for bad in [other, wider] {
            assert_eq!(
                RollingEnsemble.combine(&[a(), bad]).unwrap_err().kind(),
                ErrorKind::InvalidInput
            );
        }
    }

    #[test]
    fn process_takes_a_collection_and_ignores_keys() {
        let input: Collection<Frame> = [
            (Key::from("b"), Node::Leaf(b())),
            (Key::from("a"), Node::Leaf(a())),
        ]
        .into_iter()
        .collect();
        let got = RollingEnsemble.process(Node::Map(input)).unwrap();
        assert_eq!(
            got,
            Node::Leaf(RollingEnsemble.combine(&[a(), b()]).unwrap())
        );
        assert_eq!(
            RollingEnsemble.process(Node::Leaf(a())).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    /// Consecutive windows of distinct days, each with rows for some
    /// instruments, in a shuffled input order.
    fn windows() -> impl Strategy<Value = (Vec<Frame>, Vec<usize>)> {
        let window = prop::collection::vec(
            (
                1..4i8,
                prop::collection::btree_map("[A-D]", prop::num::f64::ANY, 1..4),
            ),
            1..4,
        );
        prop::collection::vec(window, 1..6)
            .prop_flat_map(|ws| {
                let n = ws.len();
                (Just(ws), Just((0..n).collect::<Vec<_>>()).prop_shuffle())
            })
            .prop_map(|(ws, order)| {
                let mut day = 0i16;
                let frames = ws
                    .into_iter()
                    .map(|days| {
                        let mut f = Frame::new(["score"]).unwrap();
                        for (gap, rows) in days {
                            day += i16::from(gap);
                            let d = date(2020, 1, 1)
                                .checked_add(jiff::Span::new().days(day))
                                .unwrap();
                            for (inst, v) in rows {
                                f.push_row(d, inst, &[v]).unwrap();
                            }
                        }
                        f
                    })
                    .collect();
                (frames, order)
            })
    }

    proptest! {
        #[test]
        fn combine_of_non_overlapping_windows_is_their_concatenation(
            (frames, order) in windows()
        ) {
            let shuffled: Vec<Frame> = order.iter().map(|&i| frames[i].clone()).collect();
            let got = RollingEnsemble.combine(&shuffled).unwrap();
            let mut want = frames[0].clone();
            for f in &frames[1..] {
                for r in 0..f.len() {
                    want.push_row(f.datetimes()[r], f.instruments()[r].clone(), &f.row_values(r))
                        .unwrap();
                }
            }
            want.sort();
            prop_assert_eq!(got, want);
        }
    }
}
