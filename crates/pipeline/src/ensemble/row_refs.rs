//! Every row of several frames, sorted by `(datetime, instrument)` without
//! copying names or values: the join both ensembles build when their fast
//! paths do not apply.

use std::sync::Arc;

use jiff::civil::Date;
use task_store::{Error, Result};

use crate::frame::Frame;

/// One row of one frame: `(frame index, row index)`, two `u32`s. A map
/// keyed by names cost about ten times as much at research scale
/// (issue 22).
pub(super) type RowRef = (u32, u32);

/// The rows of `frames` as references, sorted by their entry. The frames
/// are taken in `order`, each frame's rows in their own order, and the
/// sort is stable, so equal entries keep that order. `ensemble` names the
/// caller in the error.
///
/// # Errors
/// `InvalidInput` for 2^32 frames or rows per frame or more.
pub(super) fn sorted_by_entry(
    frames: &[Frame],
    order: impl IntoIterator<Item = usize>,
    ensemble: &str,
) -> Result<Vec<RowRef>> {
    let too_many = || {
        Error::invalid_input(format!(
            "{ensemble} takes fewer than 2^32 frames and rows per frame"
        ))
    };
    let mut refs: Vec<RowRef> = Vec::with_capacity(frames.iter().map(Frame::len).sum());
    for fi in order {
        let n = u32::try_from(frames[fi].len()).map_err(|_| too_many())?;
        let fi = u32::try_from(fi).map_err(|_| too_many())?;
        refs.extend((0..n).map(|ri| (fi, ri)));
    }
    refs.sort_by(|&a, &b| entry(frames, a).cmp(&entry(frames, b)));
    Ok(refs)
}

/// The `(datetime, instrument)` entry of the row `at` refers to.
pub(super) fn entry(frames: &[Frame], (fi, ri): RowRef) -> (Date, &Arc<str>) {
    let f = &frames[fi as usize];
    (f.datetimes()[ri as usize], &f.instruments()[ri as usize])
}
