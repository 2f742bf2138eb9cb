//! Qlib defects fixed by the generators (reference §9 A B1, B2, B7, §9 E) and
//! the validation errors. Each test names the rule it checks.

use jiff::civil::date;
use serde_json::{Value, json};
use taskpool_pipeline::calendar::Calendar;
use taskpool_pipeline::generate::{GenError, MultiHorizonGen, RollingGen, Step, TaskGen};
use taskpool_pipeline::time_adjust::{RollType, TimeError};

use crate::support::{dense_days, dense_january, handler_end, seg, template, weekdays_2020};

fn dense_template(test_end: Value) -> Value {
    template(
        [json!("2021-01-01"), json!("2021-01-08")],
        [json!("2021-01-09"), json!("2021-01-12")],
        [json!("2021-01-13"), test_end],
        json!("2021-01-20"),
    )
}

/// B1: with an open test end and (N - s) % step == 0, Qlib's shift lets the
/// start index N through and crashes comparing None; here rolling stops
/// after the last window that starts inside the calendar.
#[test]
fn rolling_open_end_on_step_multiple_stops_cleanly() {
    for (step, expected) in [(6, 3), (9, 2)] {
        let tasks = RollingGen::new(step)
            .generate(&dense_template(Value::Null), &dense_january(30))
            .unwrap();
        assert_eq!(tasks.len(), expected, "step {step}");
        let last = tasks.last().unwrap();
        assert_eq!(seg(last, "test")[1], "2021-01-30", "step {step}");
    }
}

/// B1 (other segments): a segment that would start one past the calendar end
/// stops rolling instead of producing an open start.
#[test]
fn rolling_stops_when_another_segment_would_start_past_calendar() {
    // The "extra" segment starts after the test; it runs out of calendar first.
    let mut task = dense_template(Value::Null);
    task["dataset"]["kwargs"]["segments"]["extra"] = json!(["2021-01-26", "2021-01-27"]);
    let tasks = RollingGen::new(4)
        .rtype(RollType::Sliding)
        .generate(&task, &dense_january(30))
        .unwrap();
    // extra starts at index 25; 25 + 4 = 29 fits, 25 + 8 = 33 does not.
    assert_eq!(tasks.len(), 2);
    assert_eq!(seg(&tasks[1], "extra"), ["2021-01-30", "null"]);
}

/// B2: a segment ending before the first trading day is an error (Qlib wraps
/// index -1 around to the last trading day).
#[test]
fn rolling_segment_before_calendar_is_error() {
    let task = template(
        [json!("2019-01-01"), json!("2019-06-30")],
        [json!("2020-04-01"), json!("2020-04-30")],
        [json!("2020-05-01"), json!("2020-06-30")],
        json!("2020-06-30"),
    );
    let err = RollingGen::new(20)
        .generate(&task, &weekdays_2020())
        .unwrap_err();
    assert!(matches!(
        err,
        GenError::Time { ref key, source: TimeError::BeforeCalendar { .. } } if key == "train"
    ));
}

/// B2: a test start after the last trading day is an error (Qlib: IndexError).
#[test]
fn rolling_test_start_after_calendar_is_error() {
    let task = dense_template(Value::Null);
    let mut late = task.clone();
    late["dataset"]["kwargs"]["segments"]["test"] = json!(["2021-02-10", null]);
    let err = RollingGen::new(4)
        .generate(&late, &dense_january(30))
        .unwrap_err();
    assert!(matches!(
        err,
        GenError::Time {
            source: TimeError::AfterCalendar { .. },
            ..
        }
    ));
}

/// B7: truncation may land on the first calendar day (Qlib asserts idx > 0).
#[test]
fn rolling_trunc_days_allows_first_calendar_day() {
    let tasks = RollingGen::new(4)
        .rtype(RollType::Sliding)
        .trunc_days(Some(12))
        .generate(&dense_template(json!("2021-01-22")), &dense_january(30))
        .unwrap();
    // cut-off = idx(01-13) - 12 = 0 -> 2021-01-01 for every non-test point.
    assert_eq!(seg(&tasks[0], "train"), ["2021-01-01", "2021-01-01"]);
    assert_eq!(seg(&tasks[0], "valid"), ["2021-01-01", "2021-01-01"]);
    assert_eq!(seg(&tasks[1], "train"), ["2021-01-05", "2021-01-05"]);
}

/// B7: the same fix in MultiHorizonGen (Qlib issues #902, #1610).
#[test]
fn multi_horizon_allows_first_calendar_day() {
    let tasks = MultiHorizonGen::at_path([1], "model.kwargs.horizon")
        .unwrap()
        .generate(&dense_template(json!("2021-01-22")), &dense_january(30))
        .unwrap();
    assert_eq!(seg(&tasks[0], "train"), ["2021-01-01", "2021-01-08"]);
    assert_eq!(seg(&tasks[0], "valid"), ["2021-01-09", "2021-01-10"]);
}

/// B7's genuine error: a cut-off before the first trading day.
#[test]
fn rolling_trunc_days_before_calendar_is_error() {
    let err = RollingGen::new(4)
        .trunc_days(Some(13))
        .generate(&dense_template(json!("2021-01-22")), &dense_january(30))
        .unwrap_err();
    assert!(matches!(
        err,
        GenError::Time {
            source: TimeError::TruncatedBeforeCalendar { .. },
            ..
        }
    ));
}

/// B9 (trunc on open points): an open train start stays open under
/// truncation (Qlib: TypeError).
#[test]
fn rolling_trunc_days_keeps_open_train_start() {
    let mut task = dense_template(json!("2021-01-22"));
    task["dataset"]["kwargs"]["segments"]["train"][0] = Value::Null;
    let tasks = RollingGen::new(4)
        .rtype(RollType::Sliding)
        .trunc_days(Some(2))
        .generate(&task, &dense_january(30))
        .unwrap();
    assert_eq!(seg(&tasks[0], "train"), ["null", "2021-01-08"]);
    assert_eq!(seg(&tasks[0], "valid"), ["2021-01-09", "2021-01-11"]);
}

/// §9 E: an open test end (the window ran past the calendar when it was
/// generated) does not propagate: once the calendar has grown, following
/// windows get real ends. Qlib yields (02-02, None), (02-06, None), … Also
/// checks that the calendar is read at call time (same generator, two
/// calendars).
#[test]
fn following_open_end_does_not_propagate() {
    let rolling = RollingGen::new(4).rtype(RollType::Sliding);
    let tasks = rolling
        .generate(&dense_template(Value::Null), &dense_january(30))
        .unwrap();
    let last = tasks.last().unwrap();
    assert_eq!(seg(last, "test"), ["2021-01-29", "null"]);
    assert_eq!(handler_end(last), "null");

    let grown = dense_days(45); // 2021-01-01..=2021-02-14
    let next = rolling.following(last, date(2021, 2, 14), &grown).unwrap();
    let tests: Vec<[String; 2]> = next.iter().map(|t| seg(t, "test")).collect();
    assert_eq!(
        tests,
        [
            ["2021-02-02", "2021-02-05"],
            ["2021-02-06", "2021-02-09"],
            ["2021-02-10", "2021-02-13"],
            ["2021-02-14", "null"],
        ]
    );
    assert_eq!(seg(&next[0], "train"), ["2021-01-21", "2021-01-28"]);
    // The base task's handler end is null (load everything); as in Qlib, a
    // null handler end is kept.
    assert_eq!(handler_end(&next[0]), "null");
}

/// A future calendar gives the last window a real end, while the loop bound
/// stays at the last data day (Qlib `future=True` + `transform_end_date`).
#[test]
fn rolling_future_calendar_closes_last_window() {
    let data = dense_january(30);
    let future = dense_days(45);
    let cal = data.with_future(&future);
    let tasks = RollingGen::new(5)
        .generate(&dense_template(Value::Null), &cal)
        .unwrap();
    assert_eq!(tasks.len(), 4);
    assert_eq!(seg(&tasks[3], "test"), ["2021-01-28", "2021-02-01"]);
    assert_eq!(handler_end(&tasks[3]), "2021-02-01");
}

/// Validation: step must be at least 1 (Qlib loops forever on 0).
#[test]
fn rolling_step_zero_is_config_error() {
    for generator in [
        RollingGen::new(0),
        RollingGen::default().step(Step::Weeks(0)),
        RollingGen::default().step(Step::Months(0)),
    ] {
        let err = generator
            .generate(&dense_template(Value::Null), &dense_january(30))
            .unwrap_err();
        assert!(matches!(err, GenError::Config { param: "step", .. }));
    }
}

/// Validation: the test window length must be at least 1.
#[test]
fn rolling_test_len_zero_is_config_error() {
    let err = RollingGen::new(4)
        .test_len(Some(0))
        .generate(&dense_template(Value::Null), &dense_january(30))
        .unwrap_err();
    assert!(matches!(
        err,
        GenError::Config {
            param: "test_len",
            ..
        }
    ));
}

/// Validation: an unknown rolling type is rejected by name (Qlib silently
/// slides).
#[test]
fn roll_type_unknown_is_error() {
    let err: GenError = "rolling".parse::<RollType>().unwrap_err().into();
    assert!(matches!(err, GenError::UnknownRollType(_)));
}

/// Validation: the train key must differ from the test key.
#[test]
fn rolling_train_key_equal_to_test_key_is_config_error() {
    let err = RollingGen::new(4)
        .train_key(Some("test".to_owned()))
        .generate(&dense_template(Value::Null), &dense_january(30))
        .unwrap_err();
    assert!(matches!(
        err,
        GenError::Config {
            param: "train_key",
            ..
        }
    ));
}

/// Validation: segments must be present.
#[test]
fn rolling_without_segments_is_missing_key() {
    let err = RollingGen::new(4)
        .generate(&json!({"model": {}}), &dense_january(30))
        .unwrap_err();
    assert!(matches!(err, GenError::MissingKey { ref path } if path == "dataset.kwargs.segments"));
}

/// Validation: the test and train segments named by the keys must exist.
#[test]
fn rolling_missing_named_segment_is_error() {
    let err = RollingGen::new(4)
        .test_key("backtest")
        .generate(&dense_template(Value::Null), &dense_january(30))
        .unwrap_err();
    assert!(matches!(err, GenError::MissingSegment { ref key } if key == "backtest"));
    let err = RollingGen::new(4)
        .train_key(Some("fit".to_owned()))
        .generate(&dense_template(Value::Null), &dense_january(30))
        .unwrap_err();
    assert!(matches!(err, GenError::MissingSegment { ref key } if key == "fit"));
}

/// With `train_key = None` every segment slides, even under expanding (Qlib
/// DDG-DA uses `train_key=None`).
#[test]
fn rolling_without_train_key_slides_everything() {
    let tasks = RollingGen::new(4)
        .train_key(None)
        .generate(&dense_template(json!("2021-01-22")), &dense_january(30))
        .unwrap();
    assert_eq!(seg(&tasks[1], "train"), ["2021-01-05", "2021-01-12"]);
    assert_eq!(seg(&tasks[1], "valid"), ["2021-01-13", "2021-01-16"]);
}

/// Validation: segments must be ordered.
#[test]
fn rolling_unordered_segment_is_error() {
    let mut task = dense_template(Value::Null);
    task["dataset"]["kwargs"]["segments"]["valid"] = json!(["2021-01-12", "2021-01-09"]);
    let err = RollingGen::new(4)
        .generate(&task, &dense_january(30))
        .unwrap_err();
    assert!(matches!(err, GenError::UnorderedSegment { ref key, .. } if key == "valid"));
}

/// Validation: the test start must not be open.
#[test]
fn rolling_open_test_start_is_error() {
    let mut task = dense_template(Value::Null);
    task["dataset"]["kwargs"]["segments"]["test"] = json!([null, "2021-01-20"]);
    let err = RollingGen::new(4)
        .generate(&task, &dense_january(30))
        .unwrap_err();
    assert!(matches!(err, GenError::OpenTestStart { ref key } if key == "test"));
}

/// Validation: a segment that is not a pair, and a value that is not a date.
#[test]
fn rolling_malformed_segments_are_errors() {
    let mut task = dense_template(Value::Null);
    task["dataset"]["kwargs"]["segments"]["valid"] = json!("2021-01-09");
    let err = RollingGen::new(4)
        .generate(&task, &dense_january(30))
        .unwrap_err();
    assert!(matches!(err, GenError::BadSegment { ref key } if key == "valid"));

    let mut task = dense_template(Value::Null);
    task["dataset"]["kwargs"]["segments"]["valid"] = json!(["2021-01-09", "soon"]);
    let err = RollingGen::new(4)
        .generate(&task, &dense_january(30))
        .unwrap_err();
    assert!(
        matches!(err, GenError::InvalidDate { ref path, .. } if path == "dataset.kwargs.segments.valid.1")
    );
}

/// Validation: a handler end that is not a date is reported by its path.
#[test]
fn rolling_bad_handler_end_is_error() {
    let mut task = dense_template(json!("2021-01-22"));
    task["dataset"]["kwargs"]["handler"]["kwargs"]["end_time"] = json!(5);
    let err = RollingGen::new(4)
        .generate(&task, &dense_january(30))
        .unwrap_err();
    assert!(
        matches!(err, GenError::InvalidDate { ref path, .. } if path == "dataset.kwargs.handler.kwargs.end_time")
    );
    let tasks = RollingGen::new(4)
        .handler_mod(false)
        .generate(&task, &dense_january(30))
        .unwrap();
    assert_eq!(
        tasks[0]["dataset"]["kwargs"]["handler"]["kwargs"]["end_time"],
        json!(5)
    );
}

/// Handler modification off: the handler end is never touched.
#[test]
fn rolling_handler_mod_off_keeps_handler_end() {
    let tasks = RollingGen::new(5)
        .handler_mod(false)
        .generate(&dense_template(Value::Null), &dense_january(30))
        .unwrap();
    assert!(tasks.iter().all(|t| handler_end(t) == "2021-01-20"));
}

/// Handler modification compares dates: a handler end on a non-trading day
/// just before the test end is extended (Qlib compares trading-day indices
/// and leaves it short).
#[test]
fn rolling_handler_end_on_weekend_is_extended() {
    // 2020-05-30 is a Saturday; the first test window ends Monday 06-01.
    let task = template(
        [json!("2020-01-01"), json!("2020-03-31")],
        [json!("2020-04-01"), json!("2020-04-30")],
        [json!("2020-05-01"), json!("2020-05-20")],
        json!("2020-05-30"),
    );
    let tasks = RollingGen::new(22)
        .generate(&task, &weekdays_2020())
        .unwrap();
    assert_eq!(seg(&tasks[0], "test"), ["2020-05-01", "2020-06-01"]);
    assert_eq!(handler_end(&tasks[0]), "2020-06-01");
}

/// The task-copy hook is used for every task and the input is never
/// modified.
#[test]
fn rolling_task_copy_hook_is_applied() {
    let task = dense_template(json!("2021-01-22"));
    let before = task.clone();
    let tasks = RollingGen::new(4)
        .task_copy(|t| {
            let mut copy = t.clone();
            copy["copied"] = json!(true);
            copy
        })
        .generate(&task, &dense_january(30))
        .unwrap();
    assert_eq!(task, before);
    assert!(tasks.iter().all(|t| t["copied"] == json!(true)));
}

/// Output dates are always written as "YYYY-MM-DD", even when the template
/// used Qlib-style date-times; everything else is preserved.
#[test]
fn rolling_normalizes_dates_and_preserves_content() {
    let mut task = dense_template(json!("2021-01-22 00:00:00"));
    task["dataset"]["kwargs"]["segments"]["train"] =
        json!(["2021-01-01 00:00:00", "2021-01-08T00:00:00"]);
    let tasks = RollingGen::new(4)
        .generate(&task, &dense_january(30))
        .unwrap();
    assert_eq!(seg(&tasks[0], "train"), ["2021-01-01", "2021-01-08"]);
    let mut stripped = tasks[0].clone();
    stripped["dataset"]["kwargs"]["segments"] = Value::Null;
    stripped["dataset"]["kwargs"]["handler"]["kwargs"]["end_time"] = Value::Null;
    let mut original = task.clone();
    original["dataset"]["kwargs"]["segments"] = Value::Null;
    original["dataset"]["kwargs"]["handler"]["kwargs"]["end_time"] = Value::Null;
    assert_eq!(stripped, original);
}

/// Non-trading template dates are aligned: start forward, end backward.
#[test]
fn rolling_aligns_non_trading_template_dates() {
    let cal = Calendar::weekdays(date(2020, 1, 1), date(2020, 12, 31), []).unwrap();
    // 2020-02-01 is a Saturday, 2020-03-01 a Sunday.
    let task = template(
        [json!("2020-02-01"), json!("2020-03-01")],
        [json!("2020-03-07"), json!("2020-03-29")],
        [json!("2020-04-04"), json!("2020-04-30")],
        json!("2020-04-30"),
    );
    let tasks = RollingGen::new(10).generate(&task, &cal).unwrap();
    assert_eq!(seg(&tasks[0], "train"), ["2020-02-03", "2020-02-28"]);
    assert_eq!(seg(&tasks[0], "valid"), ["2020-03-09", "2020-03-27"]);
    assert_eq!(seg(&tasks[0], "test"), ["2020-04-06", "2020-04-17"]);
}

/// Robustness: a huge step or test length never overflows; the single
/// window runs past the calendar and is open.
#[test]
fn rolling_huge_step_yields_one_open_window() {
    for generator in [
        RollingGen::new(usize::MAX),
        RollingGen::new(4).test_len(Some(usize::MAX)),
    ] {
        let tasks = generator
            .generate(&dense_template(json!("2021-01-22")), &dense_january(30))
            .unwrap();
        assert_eq!(seg(&tasks[0], "test"), ["2021-01-13", "null"]);
    }
}
