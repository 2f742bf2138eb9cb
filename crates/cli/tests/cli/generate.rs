//! `taskpool gen`, run as the real binary: success cases on the shipped
//! example (`examples/gen/`) and one test per kind of bad input (exit status
//! 2, one line on stderr, nothing on stdout).

use std::path::{Path, PathBuf};

use jiff::civil::Date;
use serde_json::{Value, json};

use crate::support::taskpool;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/gen")
        .join(name)
}

/// Run `gen` with `args`; on success the parsed stdout.
fn gen_ok(args: &[&str]) -> Vec<Value> {
    let out = taskpool().arg("gen").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "gen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tasks: Value = serde_json::from_slice(&out.stdout).unwrap();
    tasks.as_array().unwrap().clone()
}

/// Run `gen` expecting bad input: exit 2, empty stdout, one stderr line.
/// Returns the stderr line.
fn gen_bad(args: &[&str]) -> String {
    let out = taskpool().arg("gen").args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "args {args:?}");
    assert!(out.stdout.is_empty(), "stdout not empty for {args:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "stderr: {stderr}");
    stderr
}

fn seg(task: &Value, key: &str) -> Value {
    task["dataset"]["kwargs"]["segments"][key].clone()
}

fn calendar_days() -> Vec<Date> {
    std::fs::read_to_string(example("day.txt"))
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect()
}

/// Every segment is a 2-element array of "YYYY-MM-DD" or null.
fn assert_segments_well_formed(task: &Value) {
    for (key, pair) in task["dataset"]["kwargs"]["segments"].as_object().unwrap() {
        let pair = pair
            .as_array()
            .unwrap_or_else(|| panic!("{key} not a list"));
        assert_eq!(pair.len(), 2, "{key}");
        for bound in pair {
            match bound {
                Value::Null => {}
                Value::String(s) => {
                    assert_eq!(s.len(), 10, "{key}: {s}");
                    s.parse::<Date>().unwrap();
                }
                other => panic!("{key}: {other}"),
            }
        }
    }
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn example_str(name: &str) -> String {
    example(name).to_str().unwrap().to_owned()
}

#[test]
fn gen_yaml_template_rolls_sliding() {
    let tasks = gen_ok(&[
        "--template",
        &example_str("template.yaml"),
        "--calendar",
        &example_str("day.txt"),
        "--step",
        "20",
        "--rtype",
        "sliding",
    ]);
    assert_eq!(tasks.len(), 3);
    assert_eq!(seg(&tasks[0], "train"), json!(["2020-01-02", "2020-03-31"]));
    assert_eq!(seg(&tasks[0], "test"), json!(["2020-05-01", "2020-05-28"]));
    assert_eq!(seg(&tasks[1], "train"), json!(["2020-01-30", "2020-04-28"]));
    assert_eq!(seg(&tasks[2], "test"), json!(["2020-06-26", "2020-07-23"]));
    assert_eq!(
        tasks[2]["dataset"]["kwargs"]["handler"]["kwargs"]["end_time"],
        json!("2020-07-23")
    );
    for task in &tasks {
        assert_segments_well_formed(task);
        assert_eq!(task["model"]["kwargs"]["learning_rate"], json!(0.05));
        assert_eq!(task["record"][0]["class"], json!("SignalRecord"));
    }
}

#[test]
fn gen_defaults_are_qlib_step_40_expanding() {
    let tasks = gen_ok(&[
        "--template",
        &example_str("template.json"),
        "--calendar",
        &example_str("day.txt"),
    ]);
    let days = calendar_days();
    let s = days
        .iter()
        .position(|d| d.to_string() == "2020-05-01")
        .unwrap();
    let e = days.len() - 1;
    assert_eq!(tasks.len(), (e - s) / 40 + 1);
    for (k, task) in tasks.iter().enumerate() {
        assert_segments_well_formed(task);
        assert_eq!(seg(task, "train")[0], json!("2020-01-02"));
        assert_eq!(
            seg(task, "test")[0],
            json!(days[s + 40 * k].to_string()),
            "task {k}"
        );
    }
    let last = tasks.last().unwrap();
    assert_eq!(seg(last, "test")[1], Value::Null);
    assert_eq!(
        last["dataset"]["kwargs"]["handler"]["kwargs"]["end_time"],
        Value::Null
    );
}

#[test]
fn gen_keys_trunc_and_no_handler_mod() {
    let tasks = gen_ok(&[
        "--template",
        &example_str("template.yaml"),
        "--calendar",
        &example_str("day.txt"),
        "--step",
        "20",
        "--trunc-days",
        "3",
        "--train-key",
        "valid",
        "--test-key",
        "test",
        "--no-handler-mod",
    ]);
    assert_eq!(tasks.len(), 3);
    // valid expands (train key) and is cut 3 trading days before the test.
    assert_eq!(seg(&tasks[0], "valid"), json!(["2020-04-01", "2020-04-28"]));
    assert_eq!(seg(&tasks[2], "valid"), json!(["2020-04-01", "2020-06-23"]));
    // train slides.
    assert_eq!(seg(&tasks[1], "train"), json!(["2020-01-30", "2020-04-28"]));
    for task in &tasks {
        assert_eq!(
            task["dataset"]["kwargs"]["handler"]["kwargs"]["end_time"],
            json!("2020-06-30")
        );
    }
}

#[test]
fn gen_sweep_every_and_horizons_compose() {
    let tasks = gen_ok(&[
        "--template",
        &example_str("template.yaml"),
        "--calendar",
        &example_str("day.txt"),
        "--every",
        "1m",
        "--sweep",
        r#"model.kwargs.loss=["mse","huber"]"#,
        "--horizons",
        "1,5",
        "--horizon-path",
        "dataset.kwargs.handler.kwargs.label_horizon",
    ]);
    // 2 losses x 2 monthly windows (May, June) x 2 horizons.
    assert_eq!(tasks.len(), 8);
    assert_eq!(tasks[0]["model"]["kwargs"]["loss"], json!("mse"));
    assert_eq!(tasks[4]["model"]["kwargs"]["loss"], json!("huber"));
    assert_eq!(seg(&tasks[2], "test"), json!(["2020-06-01", "2020-06-30"]));
    assert_eq!(
        tasks[1]["dataset"]["kwargs"]["handler"]["kwargs"]["label_horizon"],
        json!(5)
    );
    // Horizon 5 + leak 2: valid ends 7 trading days before 2020-05-01.
    assert_eq!(seg(&tasks[1], "valid"), json!(["2020-04-01", "2020-04-22"]));
}

#[test]
fn gen_help_shows_example() {
    let out = taskpool().args(["gen", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("Examples:"));
    assert!(help.contains("--no-handler-mod"));
}

#[test]
fn gen_missing_template_is_bad_input() {
    let line = gen_bad(&[
        "--template",
        "/nonexistent/template.json",
        "--calendar",
        &example_str("day.txt"),
    ]);
    assert!(line.contains("/nonexistent/template.json"), "{line}");
}

#[test]
fn gen_missing_calendar_is_bad_input() {
    gen_bad(&[
        "--template",
        &example_str("template.json"),
        "--calendar",
        "/nonexistent/day.txt",
    ]);
}

#[test]
fn gen_malformed_json_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let template = write(&dir, "t.json", "{\"model\": ");
    gen_bad(&[
        "--template",
        &template,
        "--calendar",
        &example_str("day.txt"),
    ]);
}

#[test]
fn gen_malformed_yaml_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let template = write(&dir, "t.yaml", "model:\n  kwargs: [1, 2\n  - x: {\n");
    gen_bad(&[
        "--template",
        &template,
        "--calendar",
        &example_str("day.txt"),
    ]);
}

#[test]
fn gen_unknown_extension_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let template = write(&dir, "t.toml", "{}");
    gen_bad(&[
        "--template",
        &template,
        "--calendar",
        &example_str("day.txt"),
    ]);
}

#[test]
fn gen_bad_calendar_line_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let calendar = write(&dir, "day.txt", "2020-01-02\n2020-01-03\n2020-01-0x\n");
    let line = gen_bad(&[
        "--template",
        &example_str("template.json"),
        "--calendar",
        &calendar,
    ]);
    assert!(line.contains("line 3"), "{line}");
}

#[test]
fn gen_unsorted_calendar_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let calendar = write(&dir, "day.txt", "2020-01-03\n2020-01-02\n");
    let line = gen_bad(&[
        "--template",
        &example_str("template.json"),
        "--calendar",
        &calendar,
    ]);
    assert!(line.contains("line 2"), "{line}");
}

#[test]
fn gen_step_zero_is_bad_input() {
    gen_bad(&[
        "--template",
        &example_str("template.json"),
        "--calendar",
        &example_str("day.txt"),
        "--step",
        "0",
    ]);
}

#[test]
fn gen_unknown_rtype_is_bad_input() {
    let line = gen_bad(&[
        "--template",
        &example_str("template.json"),
        "--calendar",
        &example_str("day.txt"),
        "--rtype",
        "rolling",
    ]);
    assert!(line.contains("rolling"), "{line}");
}

#[test]
fn gen_missing_segments_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let template = write(
        &dir,
        "t.json",
        r#"{"model": {"class": "LGBModel"}, "dataset": {"kwargs": {}}}"#,
    );
    let line = gen_bad(&[
        "--template",
        &template,
        "--calendar",
        &example_str("day.txt"),
    ]);
    assert!(line.contains("dataset.kwargs.segments"), "{line}");
}

#[test]
fn gen_bad_segment_date_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let template = write(
        &dir,
        "t.yaml",
        "dataset:\n  kwargs:\n    segments:\n      train: [2020-01-01, soon]\n      test: [2020-05-01, null]\n",
    );
    let line = gen_bad(&[
        "--template",
        &template,
        "--calendar",
        &example_str("day.txt"),
    ]);
    assert!(line.contains("segments.train.1"), "{line}");
}
