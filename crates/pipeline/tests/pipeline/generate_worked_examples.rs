//! The worked examples of reference §2.5 (A, B, C) and §2.6, reproduced
//! exactly. Each test names the rule it checks.

use jiff::civil::date;
use serde_json::{Value, json};
use taskpool_pipeline::generate::{MultiHorizonGen, RollingGen, TaskGen};
use taskpool_pipeline::time_adjust::RollType;

use crate::support::{dense_january, handler_end, seg, template, weekdays_2020};

fn example_a() -> Value {
    template(
        [json!("2020-01-01"), json!("2020-03-31")],
        [json!("2020-04-01"), json!("2020-04-30")],
        [json!("2020-05-01"), json!("2020-06-30")],
        json!("2020-06-30"),
    )
}

fn example_b(test_end: Value, handler: Value) -> Value {
    template(
        [json!("2021-01-01"), json!("2021-01-08")],
        [json!("2021-01-09"), json!("2021-01-12")],
        [json!("2021-01-13"), test_end],
        handler,
    )
}

/// Rule (§2.5): sliding moves every segment by `step` trading days; the first
/// test window is exactly `step` days; the count is floor((e-s)/step)+1; the
/// handler end is extended only when a test end passes it.
#[test]
fn example_a_sliding_matches_qlib() {
    let tasks = RollingGen::new(20)
        .rtype(RollType::Sliding)
        .generate(&example_a(), &weekdays_2020())
        .unwrap();
    assert_eq!(tasks.len(), 3);
    let expected = [
        [
            ("2020-01-01", "2020-03-31"),
            ("2020-04-01", "2020-04-30"),
            ("2020-05-01", "2020-05-28"),
        ],
        [
            ("2020-01-29", "2020-04-28"),
            ("2020-04-29", "2020-05-28"),
            ("2020-05-29", "2020-06-25"),
        ],
        [
            ("2020-02-26", "2020-05-26"),
            ("2020-05-27", "2020-06-25"),
            ("2020-06-26", "2020-07-23"),
        ],
    ];
    for (task, [train, valid, test]) in tasks.iter().zip(expected) {
        assert_eq!(seg(task, "train"), [train.0, train.1]);
        assert_eq!(seg(task, "valid"), [valid.0, valid.1]);
        assert_eq!(seg(task, "test"), [test.0, test.1]);
    }
    let ends: Vec<String> = tasks.iter().map(handler_end).collect();
    assert_eq!(ends, ["2020-06-30", "2020-06-30", "2020-07-23"]);
}

/// Rule (§2.5): expanding keeps the train start; only the train end moves;
/// valid and test still slide.
#[test]
fn example_a_expanding_keeps_train_start() {
    let tasks = RollingGen::new(20)
        .rtype(RollType::Expanding)
        .generate(&example_a(), &weekdays_2020())
        .unwrap();
    let trains: Vec<[String; 2]> = tasks.iter().map(|t| seg(t, "train")).collect();
    assert_eq!(
        trains,
        [
            ["2020-01-01", "2020-03-31"],
            ["2020-01-01", "2020-04-28"],
            ["2020-01-01", "2020-05-26"],
        ]
    );
    let tests: Vec<[String; 2]> = tasks.iter().map(|t| seg(t, "test")).collect();
    assert_eq!(
        tests,
        [
            ["2020-05-01", "2020-05-28"],
            ["2020-05-29", "2020-06-25"],
            ["2020-06-26", "2020-07-23"],
        ]
    );
    assert_eq!(seg(&tasks[1], "valid"), ["2020-04-29", "2020-05-28"]);
}

/// Rule (§2.4/§2.5): trunc_days cuts every non-test point to
/// idx(test start) - days on the first task; later tasks keep the gap by
/// uniform shifting.
#[test]
fn example_a_trunc_days_cuts_valid_end() {
    let mut task = example_a();
    task["dataset"]["kwargs"]["segments"]["train"][0] = json!("2020-01-06");
    let tasks = RollingGen::new(20)
        .rtype(RollType::Sliding)
        .trunc_days(Some(3))
        .generate(&task, &weekdays_2020())
        .unwrap();
    let expected = [
        [
            ("2020-01-06", "2020-03-31"),
            ("2020-04-01", "2020-04-28"),
            ("2020-05-01", "2020-05-28"),
        ],
        [
            ("2020-02-03", "2020-04-28"),
            ("2020-04-29", "2020-05-26"),
            ("2020-05-29", "2020-06-25"),
        ],
        [
            ("2020-03-02", "2020-05-26"),
            ("2020-05-27", "2020-06-23"),
            ("2020-06-26", "2020-07-23"),
        ],
    ];
    assert_eq!(tasks.len(), 3);
    for (task, [train, valid, test]) in tasks.iter().zip(expected) {
        assert_eq!(seg(task, "train"), [train.0, train.1]);
        assert_eq!(seg(task, "valid"), [valid.0, valid.1]);
        assert_eq!(seg(task, "test"), [test.0, test.1]);
    }
}

/// Rule (§2.5, example B): sliding on a dense calendar, 3 tasks =
/// floor((21-12)/4)+1; the last test passes the template end and extends the
/// handler end.
#[test]
fn example_b_sliding_matches_qlib() {
    let tasks = RollingGen::new(4)
        .rtype(RollType::Sliding)
        .generate(
            &example_b(json!("2021-01-22"), json!("2021-01-20")),
            &dense_january(30),
        )
        .unwrap();
    let got: Vec<_> = tasks
        .iter()
        .map(|t| {
            (
                seg(t, "train"),
                seg(t, "valid"),
                seg(t, "test"),
                handler_end(t),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                ["2021-01-01", "2021-01-08"].map(String::from),
                ["2021-01-09", "2021-01-12"].map(String::from),
                ["2021-01-13", "2021-01-16"].map(String::from),
                "2021-01-20".to_owned()
            ),
            (
                ["2021-01-05", "2021-01-12"].map(String::from),
                ["2021-01-13", "2021-01-16"].map(String::from),
                ["2021-01-17", "2021-01-20"].map(String::from),
                "2021-01-20".to_owned()
            ),
            (
                ["2021-01-09", "2021-01-16"].map(String::from),
                ["2021-01-17", "2021-01-20"].map(String::from),
                ["2021-01-21", "2021-01-24"].map(String::from),
                "2021-01-24".to_owned()
            ),
        ]
    );
}

/// Rule (§2.5, example B): expanding is the same with the train start fixed.
#[test]
fn example_b_expanding_fixes_train_start() {
    let tasks = RollingGen::new(4)
        .generate(
            &example_b(json!("2021-01-22"), json!("2021-01-20")),
            &dense_january(30),
        )
        .unwrap();
    let trains: Vec<[String; 2]> = tasks.iter().map(|t| seg(t, "train")).collect();
    assert_eq!(
        trains,
        [
            ["2021-01-01", "2021-01-08"],
            ["2021-01-01", "2021-01-12"],
            ["2021-01-01", "2021-01-16"],
        ]
    );
    assert_eq!(seg(&tasks[2], "test"), ["2021-01-21", "2021-01-24"]);
}

/// Rule (§2.5, example B): an open test end rolls to the last calendar day;
/// a window past the calendar gets an open end, and the handler end becomes
/// null with it.
#[test]
fn example_b_open_test_end_rolls_to_calendar_end() {
    let tasks = RollingGen::new(5)
        .generate(
            &example_b(Value::Null, json!("2021-01-20")),
            &dense_january(30),
        )
        .unwrap();
    let tests: Vec<[String; 2]> = tasks.iter().map(|t| seg(t, "test")).collect();
    assert_eq!(
        tests,
        [
            ["2021-01-13", "2021-01-17"],
            ["2021-01-18", "2021-01-22"],
            ["2021-01-23", "2021-01-27"],
            ["2021-01-28", "null"],
        ]
    );
    let ends: Vec<String> = tasks.iter().map(handler_end).collect();
    assert_eq!(ends, ["2021-01-20", "2021-01-22", "2021-01-27", "null"]);
}

/// Rule (§2.5, example B): a template test window shorter than the step is
/// extended to the step length; the handler end follows.
#[test]
fn example_b_short_test_extends_to_step() {
    let tasks = RollingGen::new(10)
        .generate(
            &example_b(json!("2021-01-14"), json!("2021-01-20")),
            &dense_january(30),
        )
        .unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(seg(&tasks[0], "test"), ["2021-01-13", "2021-01-22"]);
    assert_eq!(handler_end(&tasks[0]), "2021-01-22");
}

/// Rule (§2.5, example B): an open train start stays open through shifts.
#[test]
fn example_b_open_train_start_propagates() {
    let mut task = example_b(json!("2021-01-22"), json!("2021-01-20"));
    task["dataset"]["kwargs"]["segments"]["train"][0] = Value::Null;
    let tasks = RollingGen::new(4)
        .rtype(RollType::Sliding)
        .generate(&task, &dense_january(30))
        .unwrap();
    let trains: Vec<[String; 2]> = tasks.iter().map(|t| seg(t, "train")).collect();
    assert_eq!(
        trains,
        [
            ["null", "2021-01-08"],
            ["null", "2021-01-12"],
            ["null", "2021-01-16"],
        ]
    );
}

/// Rule (§2.3, example B): a handler given as a string (a file URI) is not
/// modified, but the segments still roll.
#[test]
fn example_b_string_handler_is_left_alone() {
    let mut task = example_b(json!("2021-01-22"), json!("2021-01-20"));
    task["dataset"]["kwargs"]["handler"] = json!("file:///x.pkl");
    let tasks = RollingGen::new(4)
        .generate(&task, &dense_january(30))
        .unwrap();
    assert_eq!(tasks.len(), 3);
    for t in &tasks {
        assert_eq!(t["dataset"]["kwargs"]["handler"], json!("file:///x.pkl"));
    }
    assert_eq!(seg(&tasks[2], "test"), ["2021-01-21", "2021-01-24"]);
}

/// Rule (§2.5, example C): `following` yields a task as soon as its test
/// window has started by `until`, never before; the window may extend past
/// `until`.
#[test]
fn example_c_following_tasks_by_current_time() {
    let base = template(
        [json!("2021-01-01"), json!("2021-01-08")],
        [json!("2021-01-09"), json!("2021-01-12")],
        [json!("2021-01-13"), json!("2021-01-16")],
        json!("2021-01-16"),
    );
    let rolling = RollingGen::new(4).rtype(RollType::Sliding);
    let cal = dense_january(30);
    let tests_until = |day: i8| -> Vec<([String; 2], String)> {
        rolling
            .following(&base, date(2021, 1, day), &cal)
            .unwrap()
            .iter()
            .map(|t| (seg(t, "test"), handler_end(t)))
            .collect()
    };
    assert!(tests_until(16).is_empty());
    let one = vec![(
        ["2021-01-17", "2021-01-20"].map(String::from),
        "2021-01-20".to_owned(),
    )];
    assert_eq!(tests_until(17), one);
    assert_eq!(tests_until(20), one);
    assert_eq!(
        tests_until(22),
        vec![
            one[0].clone(),
            (
                ["2021-01-21", "2021-01-24"].map(String::from),
                "2021-01-24".to_owned()
            ),
        ]
    );
}

/// Rule (§2.6): one task per horizon, in horizon order; every non-test
/// segment is truncated to horizon + label_leak_n trading days before the
/// test start (the valid segment may collapse to one day); the test segment
/// is only aligned; the horizon is written into the task.
#[test]
fn multi_horizon_truncates_per_horizon() {
    let task = template(
        [json!("2021-01-02"), json!("2021-01-12")],
        [json!("2021-01-13"), json!("2021-01-17")],
        [json!("2021-01-18"), json!("2021-01-25")],
        json!("2021-01-25"),
    );
    let generator = MultiHorizonGen::at_path([1, 3], "dataset.kwargs.handler.kwargs.label_horizon")
        .unwrap()
        .label_leak_n(2);
    let tasks = generator.generate(&task, &dense_january(30)).unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(seg(&tasks[0], "valid"), ["2021-01-13", "2021-01-15"]);
    assert_eq!(seg(&tasks[0], "train"), ["2021-01-02", "2021-01-12"]);
    assert_eq!(seg(&tasks[1], "valid"), ["2021-01-13", "2021-01-13"]);
    assert_eq!(seg(&tasks[1], "train"), ["2021-01-02", "2021-01-12"]);
    for (t, h) in tasks.iter().zip([1, 3]) {
        assert_eq!(seg(t, "test"), ["2021-01-18", "2021-01-25"]);
        assert_eq!(
            t["dataset"]["kwargs"]["handler"]["kwargs"]["label_horizon"],
            json!(h)
        );
    }
}
