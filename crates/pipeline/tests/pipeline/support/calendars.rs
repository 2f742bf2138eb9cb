//! Calendars and task templates for the `generate_*` tests.

use jiff::civil::{Date, date};
use serde_json::{Value, json};
use taskpool_pipeline::calendar::Calendar;

/// Reference §2.5 example A's calendar: every weekday of 2020, no holidays.
pub fn weekdays_2020() -> Calendar {
    Calendar::weekdays(date(2020, 1, 1), date(2020, 12, 31), []).unwrap()
}

/// Reference §1/§2.5 example B's calendar: every day 2021-01-01..=`last`
/// (index i is day i+1).
pub fn dense_january(last: i8) -> Calendar {
    Calendar::from_dates((1..=last).map(|d| date(2021, 1, d))).unwrap()
}

/// Every day from 2021-01-01 for `days` days.
pub fn dense_days(days: i64) -> Calendar {
    Calendar::from_dates(
        date(2021, 1, 1)
            .series(jiff::Span::new().days(1))
            .take(days as usize),
    )
    .unwrap()
}

/// A Qlib-shaped task template.
pub fn template(
    train: [Value; 2],
    valid: [Value; 2],
    test: [Value; 2],
    handler_end: Value,
) -> Value {
    json!({
        "model": {"class": "LGBModel", "module_path": "qlib.contrib.model.gbdt", "kwargs": {"loss": "mse"}},
        "dataset": {
            "class": "DatasetH",
            "module_path": "qlib.data.dataset",
            "kwargs": {
                "handler": {
                    "class": "Alpha158",
                    "module_path": "qlib.contrib.data.handler",
                    "kwargs": {"start_time": "2008-01-01", "end_time": handler_end, "instruments": "csi300"}
                },
                "segments": {"train": train, "valid": valid, "test": test}
            }
        },
        "record": [{"class": "SignalRecord", "module_path": "qlib.workflow.record_temp"}]
    })
}

/// A segment as two strings, `"null"` for an open bound.
pub fn seg(task: &Value, key: &str) -> [String; 2] {
    let pair = task["dataset"]["kwargs"]["segments"][key]
        .as_array()
        .unwrap_or_else(|| panic!("segment {key} missing in {task}"));
    assert_eq!(pair.len(), 2, "segment {key} is not a pair");
    [text(&pair[0]), text(&pair[1])]
}

/// The handler's `end_time` as a string, `"null"` when null.
pub fn handler_end(task: &Value) -> String {
    text(&task["dataset"]["kwargs"]["handler"]["kwargs"]["end_time"])
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::String(s) => s.clone(),
        other => panic!("not a date: {other}"),
    }
}

/// A segment bound parsed back to a date (`None` for null).
pub fn bound(task: &Value, key: &str, i: usize) -> Option<Date> {
    task["dataset"]["kwargs"]["segments"][key][i]
        .as_str()
        .map(|s| s.parse().unwrap())
}
