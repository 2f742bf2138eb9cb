//! Beyond Qlib: rolling aligned to calendar periods (Qlib #1288) and a test
//! window length different from the step (Qlib #1385). Each test names the
//! rule it checks.

use jiff::civil::date;
use serde_json::{Value, json};
use taskpool_pipeline::calendar::Calendar;
use taskpool_pipeline::generate::{RollingGen, Step, TaskGen};
use taskpool_pipeline::time_adjust::RollType;

use crate::support::{seg, template, weekdays_2020};

fn template_2020(test_start: &str, test_end: Value) -> Value {
    template(
        [json!("2020-01-01"), json!("2020-03-31")],
        [json!("2020-04-01"), json!("2020-04-30")],
        [json!(test_start), test_end],
        json!("2020-04-30"),
    )
}

/// Rule: monthly steps start a window on the first trading day of each
/// month; each window runs to the month's last trading day; other segments
/// move by as many trading days as the test start did.
#[test]
fn rolling_monthly_windows_start_on_first_trading_day() {
    // With a holiday on Monday 2020-06-01, June's first trading day is 06-02.
    let cal = Calendar::weekdays(date(2020, 1, 1), date(2020, 12, 31), [date(2020, 6, 1)]).unwrap();
    let tasks = RollingGen::default()
        .step(Step::Months(1))
        .rtype(RollType::Sliding)
        .generate(&template_2020("2020-05-01", json!("2020-07-15")), &cal)
        .unwrap();
    let tests: Vec<[String; 2]> = tasks.iter().map(|t| seg(t, "test")).collect();
    assert_eq!(
        tests,
        [
            ["2020-05-01", "2020-05-29"],
            ["2020-06-02", "2020-06-30"],
            ["2020-07-01", "2020-07-31"],
        ]
    );
    // May has 21 trading days: the train segment slides by 21.
    assert_eq!(seg(&tasks[1], "train"), ["2020-01-30", "2020-04-29"]);
}

/// Rule: a mid-month test start keeps its own start (never earlier than
/// requested); later windows snap to month starts; every 2 months skips one.
#[test]
fn rolling_every_two_months_from_mid_month() {
    let tasks = RollingGen::default()
        .step(Step::Months(2))
        .generate(
            &template_2020("2020-05-13", json!("2020-10-01")),
            &weekdays_2020(),
        )
        .unwrap();
    let tests: Vec<[String; 2]> = tasks.iter().map(|t| seg(t, "test")).collect();
    assert_eq!(
        tests,
        [
            ["2020-05-13", "2020-06-30"],
            ["2020-07-01", "2020-08-31"],
            ["2020-09-01", "2020-10-30"],
        ]
    );
}

/// Rule: weekly steps start windows on each Monday (or the first trading
/// day of the week); a window past the calendar end is open.
#[test]
fn rolling_weekly_windows_are_contiguous() {
    let cal = Calendar::weekdays(date(2020, 1, 1), date(2020, 12, 16), []).unwrap();
    let task = template_2020("2020-12-02", Value::Null);
    let tasks = RollingGen::default()
        .step(Step::Weeks(1))
        .generate(&task, &cal)
        .unwrap();
    let tests: Vec<[String; 2]> = tasks.iter().map(|t| seg(t, "test")).collect();
    assert_eq!(
        tests,
        [
            ["2020-12-02", "2020-12-04"],
            ["2020-12-07", "2020-12-11"],
            ["2020-12-14", "null"],
        ]
    );
}

/// Rule (#1385): a 1-day test window every 20 trading days.
#[test]
fn rolling_test_len_differs_from_step() {
    let tasks = RollingGen::new(20)
        .test_len(Some(1))
        .generate(
            &template_2020("2020-05-01", json!("2020-06-30")),
            &weekdays_2020(),
        )
        .unwrap();
    let tests: Vec<[String; 2]> = tasks.iter().map(|t| seg(t, "test")).collect();
    assert_eq!(
        tests,
        [
            ["2020-05-01", "2020-05-01"],
            ["2020-05-29", "2020-05-29"],
            ["2020-06-26", "2020-06-26"],
        ]
    );
}

/// Rule: a test length applies to period steps too (monthly rebalancing,
/// 5-day evaluation window).
#[test]
fn rolling_monthly_with_test_len() {
    let tasks = RollingGen::default()
        .step(Step::Months(1))
        .test_len(Some(5))
        .generate(
            &template_2020("2020-05-01", json!("2020-06-30")),
            &weekdays_2020(),
        )
        .unwrap();
    let tests: Vec<[String; 2]> = tasks.iter().map(|t| seg(t, "test")).collect();
    assert_eq!(
        tests,
        [["2020-05-01", "2020-05-07"], ["2020-06-01", "2020-06-05"]]
    );
}
