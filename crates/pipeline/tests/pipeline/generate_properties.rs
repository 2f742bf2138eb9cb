//! Property tests of `RollingGen` on random calendars and templates.
//!
//! Properties (reference §2.5): test windows are contiguous and
//! non-overlapping; the number of tasks is floor((e - s) / step) + 1;
//! expanding keeps the train start fixed (sliding moves it by the step);
//! every date written is a trading day.

use jiff::Span;
use jiff::civil::{Date, date};
use proptest::prelude::*;
use serde_json::{Value, json};
use taskpool_pipeline::calendar::Calendar;
use taskpool_pipeline::generate::{RollingGen, Step, TaskGen};
use taskpool_pipeline::time_adjust::RollType;

use crate::support::{bound, template};

/// A random calendar: each of `mask.len()` days from 2020-01-01 is a trading
/// day where the mask is true.
fn calendar(mask: &[bool]) -> Option<Calendar> {
    let days = date(2020, 1, 1)
        .series(Span::new().days(1))
        .zip(mask)
        .filter(|(_, keep)| **keep)
        .map(|(d, _)| d);
    Calendar::from_dates(days).ok()
}

#[derive(Debug, Clone)]
struct Case {
    mask: Vec<bool>,
    /// Positions as fractions of the calendar, turned into indices.
    test_start: f64,
    test_end: Option<f64>,
    /// Calendar days added to the test start (may land on a non-trading day).
    start_jitter: i64,
    step: usize,
    rtype: RollType,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(prop::bool::weighted(0.7), 60..400),
        0.5f64..0.95,
        prop::option::of(0.0f64..1.0),
        0i64..3,
        1usize..25,
        prop_oneof![Just(RollType::Sliding), Just(RollType::Expanding)],
    )
        .prop_map(
            |(mask, test_start, test_end, start_jitter, step, rtype)| Case {
                mask,
                test_start,
                test_end,
                start_jitter,
                step,
                rtype,
            },
        )
}

struct Setup {
    cal: Calendar,
    task: Value,
    /// Aligned test start index and loop bound index.
    s: usize,
    e: usize,
    train_start: Date,
}

fn setup(case: &Case) -> Option<Setup> {
    let cal = calendar(&case.mask)?;
    let n = cal.len();
    if n < 20 {
        return None;
    }
    let days = cal.days();
    let raw_start = (n as f64 * case.test_start) as usize;
    // Jitter moves the start to a calendar day that may not be a trading day;
    // it must stay before the next trading day after `raw_start - 1`.
    let start_date = days[raw_start - 1]
        .checked_add(Span::new().days(1 + case.start_jitter))
        .ok()?;
    let s = cal.index_on_or_after(start_date);
    if s >= n {
        return None;
    }
    let (end_value, e) = match case.test_end {
        None => (Value::Null, n - 1),
        Some(frac) => {
            let ei = s + ((n - 1 - s) as f64 * frac) as usize;
            (json!(days[ei].to_string()), ei)
        }
    };
    let train_start = days[1];
    let valid_end = s - 1;
    let valid_start = valid_end.saturating_sub(5).max(3);
    let task = template(
        [json!(train_start.to_string()), json!(days[2].to_string())],
        [
            json!(days[valid_start].to_string()),
            json!(days[valid_end].to_string()),
        ],
        [json!(start_date.to_string()), end_value],
        json!(days[0].to_string()),
    );
    Some(Setup {
        cal,
        task,
        s,
        e,
        train_start,
    })
}

fn monday(d: Date) -> Date {
    let back = i64::from(d.weekday().to_monday_zero_offset());
    d.checked_sub(Span::new().days(back)).unwrap()
}

fn test_index(cal: &Calendar, task: &Value, i: usize) -> Option<usize> {
    bound(task, "test", i).map(|d| cal.days().binary_search(&d).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// count = floor((e - s) / step) + 1.
    #[test]
    fn rolling_count_matches_formula(case in case()) {
        let Some(setup) = setup(&case) else { return Ok(()) };
        let tasks = RollingGen::new(case.step)
            .rtype(case.rtype)
            .generate(&setup.task, &setup.cal)
            .unwrap();
        prop_assert_eq!(tasks.len(), (setup.e - setup.s) / case.step + 1);
    }

    /// Test windows are contiguous and non-overlapping; the first starts at
    /// the aligned template test start; only the last may be open.
    #[test]
    fn rolling_test_windows_are_contiguous(case in case()) {
        let Some(setup) = setup(&case) else { return Ok(()) };
        let tasks = RollingGen::new(case.step)
            .rtype(case.rtype)
            .generate(&setup.task, &setup.cal)
            .unwrap();
        prop_assert_eq!(test_index(&setup.cal, &tasks[0], 0), Some(setup.s));
        for pair in tasks.windows(2) {
            let end = test_index(&setup.cal, &pair[0], 1);
            let next = test_index(&setup.cal, &pair[1], 0);
            prop_assert!(end.is_some(), "only the last window may be open");
            prop_assert_eq!(end.map(|e| e + 1), next);
        }
        for task in &tasks {
            let start = test_index(&setup.cal, task, 0).unwrap();
            match test_index(&setup.cal, task, 1) {
                Some(end) => prop_assert_eq!(end - start + 1, case.step),
                None => prop_assert!(start + case.step > setup.cal.len()),
            }
        }
    }

    /// Expanding keeps the train start; sliding moves it by the step.
    #[test]
    fn rolling_train_start_follows_rtype(case in case()) {
        let Some(setup) = setup(&case) else { return Ok(()) };
        let tasks = RollingGen::new(case.step)
            .rtype(case.rtype)
            .generate(&setup.task, &setup.cal)
            .unwrap();
        let first = setup.cal.days().binary_search(&setup.train_start).unwrap();
        for (k, task) in tasks.iter().enumerate() {
            let start = bound(task, "train", 0).unwrap();
            let expected = match case.rtype {
                RollType::Expanding => setup.train_start,
                RollType::Sliding => setup.cal.days()[first + k * case.step],
            };
            prop_assert_eq!(start, expected);
        }
    }

    /// Every date written (segments and handler end) is a trading day, for
    /// trading-day and calendar-period steps alike.
    #[test]
    fn rolling_dates_are_trading_days(case in case(), months in 0u32..3) {
        let Some(setup) = setup(&case) else { return Ok(()) };
        let step = match months {
            0 => Step::TradingDays(case.step),
            1 => Step::Weeks(1 + case.step as u32 % 3),
            _ => Step::Months(1 + case.step as u32 % 3),
        };
        let tasks = RollingGen::default()
            .step(step)
            .rtype(case.rtype)
            .trunc_days(Some(case.step % 3))
            .generate(&setup.task, &setup.cal)
            .unwrap();
        for task in &tasks {
            for key in ["train", "valid", "test"] {
                for i in 0..2 {
                    if let Some(d) = bound(task, key, i) {
                        prop_assert!(setup.cal.contains(d), "{key}[{i}] = {d}");
                    }
                }
            }
            let handler = &task["dataset"]["kwargs"]["handler"]["kwargs"]["end_time"];
            if let Some(text) = handler.as_str() {
                let d: Date = text.parse().unwrap();
                prop_assert!(setup.cal.contains(d), "handler end {d}");
            }
        }
    }

    /// Period steps: windows are contiguous and every window after the first
    /// starts on the first trading day of its period.
    #[test]
    fn rolling_period_windows_start_periods(case in case(), weeks in any::<bool>()) {
        let Some(setup) = setup(&case) else { return Ok(()) };
        let n = 1 + case.step as u32 % 2;
        let step = if weeks { Step::Weeks(n) } else { Step::Months(n) };
        let tasks = RollingGen::default()
            .step(step)
            .rtype(case.rtype)
            .generate(&setup.task, &setup.cal)
            .unwrap();
        prop_assert_eq!(test_index(&setup.cal, &tasks[0], 0), Some(setup.s));
        for pair in tasks.windows(2) {
            let end = test_index(&setup.cal, &pair[0], 1);
            prop_assert_eq!(end.map(|e| e + 1), test_index(&setup.cal, &pair[1], 0));
        }
        for task in tasks.iter().skip(1) {
            let start = bound(task, "test", 0).unwrap();
            let previous = setup.cal.days()[test_index(&setup.cal, task, 0).unwrap() - 1];
            let same_period = if weeks {
                monday(start) == monday(previous)
            } else {
                start.first_of_month() == previous.first_of_month()
            };
            prop_assert!(!same_period, "{start} is not the first trading day of its period");
        }
    }
}
