//! Reading and writing `dataset.kwargs.segments` of a task.
//!
//! Input is lenient like Qlib: a segment is any 2-element list whose items
//! are `null` or date strings, with or without a time part. Output is strict:
//! every segment is written as `["YYYY-MM-DD" | null, "YYYY-MM-DD" | null]`.

use jiff::civil::Date;
use serde_json::Value;

use super::error::GenError;
use crate::calendar::parse_date;
use crate::time_adjust::{IndexSegment, Segment, TimeAdjuster};

/// The dotted path of the segments object.
pub const SEGMENTS_PATH: &str = "dataset.kwargs.segments";
const SEGMENTS_POINTER: &str = "/dataset/kwargs/segments";

/// A task's segments in document order.
pub(crate) type Segments = Vec<(String, Segment)>;

/// A date (or `null`) read from `value`; `path` names it in errors.
pub(crate) fn read_date(path: &str, value: &Value) -> Result<Option<Date>, GenError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => parse_date(text)
            .map(Some)
            .ok_or_else(|| GenError::InvalidDate {
                path: path.to_owned(),
                value: value.to_string(),
            }),
        other => Err(GenError::InvalidDate {
            path: path.to_owned(),
            value: other.to_string(),
        }),
    }
}

/// A date as JSON: `"YYYY-MM-DD"` or `null`.
pub(crate) fn date_value(date: Option<Date>) -> Value {
    date.map_or(Value::Null, |d| Value::String(d.to_string()))
}

/// Every segment of `task`, each checked to be a 2-element list of dates with
/// `start <= end`.
pub(crate) fn read(task: &Value) -> Result<Segments, GenError> {
    let map = match task.pointer(SEGMENTS_POINTER) {
        None => {
            return Err(GenError::MissingKey {
                path: SEGMENTS_PATH.to_owned(),
            });
        }
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(GenError::WrongType {
                path: SEGMENTS_PATH.to_owned(),
                expected: "an object of segments",
            });
        }
    };
    map.iter()
        .map(|(key, value)| {
            let pair = match value {
                Value::Array(items) if items.len() == 2 => items,
                _ => return Err(GenError::BadSegment { key: key.clone() }),
            };
            let start = read_date(&format!("{SEGMENTS_PATH}.{key}.0"), &pair[0])?;
            let end = read_date(&format!("{SEGMENTS_PATH}.{key}.1"), &pair[1])?;
            if let (Some(start), Some(end)) = (start, end)
                && start > end
            {
                return Err(GenError::UnorderedSegment {
                    key: key.clone(),
                    start,
                    end,
                });
            }
            Ok((key.clone(), Segment::new(start, end)))
        })
        .collect()
}

/// Replace the segments of `task` by `segments`.
pub(crate) fn write(task: &mut Value, segments: &[(String, Segment)]) -> Result<(), GenError> {
    let map = task
        .pointer_mut(SEGMENTS_POINTER)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| GenError::MissingKey {
            path: SEGMENTS_PATH.to_owned(),
        })?;
    for (key, seg) in segments {
        map.insert(
            key.clone(),
            Value::Array(vec![date_value(seg.start), date_value(seg.end)]),
        );
    }
    Ok(())
}

/// The segment named `key`.
pub(crate) fn find<'s, T>(segments: &'s [(String, T)], key: &str) -> Result<&'s T, GenError> {
    segments
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, seg)| seg)
        .ok_or_else(|| GenError::MissingSegment {
            key: key.to_owned(),
        })
}

/// Align every segment to the calendar, as indices.
pub(crate) fn align(
    ta: &TimeAdjuster<'_>,
    segments: &[(String, Segment)],
) -> Result<Vec<(String, IndexSegment)>, GenError> {
    segments
        .iter()
        .map(|(key, seg)| {
            ta.align_index_seg(*seg)
                .map(|s| (key.clone(), s))
                .map_err(|source| GenError::Time {
                    key: key.clone(),
                    source,
                })
        })
        .collect()
}

/// The index of the test segment's start; an open start is an error.
pub(crate) fn test_start(
    aligned: &[(String, IndexSegment)],
    test_key: &str,
) -> Result<usize, GenError> {
    find(aligned, test_key)?
        .start
        .ok_or_else(|| GenError::OpenTestStart {
            key: test_key.to_owned(),
        })
}

/// Truncate every segment but the test one to `days` trading days before the
/// test start (Qlib `trunc_segments`, with B7 fixed).
pub(crate) fn truncate_all(
    ta: &TimeAdjuster<'_>,
    aligned: &mut [(String, IndexSegment)],
    test_key: &str,
    days: usize,
) -> Result<(), GenError> {
    let start = test_start(aligned, test_key)?;
    for (key, seg) in aligned.iter_mut().filter(|(k, _)| k != test_key) {
        *seg = ta
            .truncated(*seg, start, days)
            .map_err(|source| GenError::Time {
                key: key.clone(),
                source,
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use serde_json::json;

    #[test]
    fn read_accepts_time_parts_and_nulls() {
        let task = json!({"dataset": {"kwargs": {"segments": {
            "train": ["2020-01-01 00:00:00", null],
        }}}});
        let segs = read(&task).unwrap();
        assert_eq!(
            segs,
            vec![(
                "train".to_owned(),
                Segment::new(Some(date(2020, 1, 1)), None)
            )]
        );
    }

    #[test]
    fn read_rejects_three_element_segment() {
        let task =
            json!({"dataset": {"kwargs": {"segments": {"train": ["2020-01-01", null, null]}}}});
        assert!(matches!(read(&task), Err(GenError::BadSegment { .. })));
    }

    #[test]
    fn read_rejects_numeric_date() {
        let task = json!({"dataset": {"kwargs": {"segments": {"train": [20200101, null]}}}});
        assert!(matches!(read(&task), Err(GenError::InvalidDate { .. })));
    }

    #[test]
    fn read_rejects_reversed_segment() {
        let task =
            json!({"dataset": {"kwargs": {"segments": {"train": ["2020-02-01", "2020-01-01"]}}}});
        assert!(matches!(
            read(&task),
            Err(GenError::UnorderedSegment { .. })
        ));
    }

    #[test]
    fn read_requires_segments_object() {
        assert!(matches!(
            read(&json!({"dataset": {}})),
            Err(GenError::MissingKey { .. })
        ));
        assert!(matches!(
            read(&json!({"dataset": {"kwargs": {"segments": [1, 2]}}})),
            Err(GenError::WrongType { .. })
        ));
    }
}
