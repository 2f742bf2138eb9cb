//! `taskpool online` end to end: init, routine (twice), status and simulate
//! with `--json` and worker processes on SQLite; bad input exits 2.

use std::path::Path;

use serde_json::Value;

use crate::support::taskpool;

/// A small configuration: 2 models, quarterly windows, 2 worker processes.
fn config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("online.yaml");
    std::fs::write(
        &path,
        format!(
            "
store: sqlite://{}
pool: e2e
data: {{synthetic: {{instruments: 20, days: 660, start: 2019-01-01, seed: 5}}}}
models: [{{name: ridge, class: ridge}}, {{name: strong, class: ridge, kwargs: {{alpha: 1000.0}}}}]
segments:
  train: [null, 2020-06-30]
  valid: [2020-07-01, 2020-09-30]
  test: [2020-10-01, null]
rolling: {{step: 3m, trunc_days: 2}}
trainer: {{mode: workers, workers: 2}}
report: {{dir: {}}}
",
            dir.join("online.db").display(),
            dir.join("report").display()
        ),
    )
    .unwrap();
    path
}

fn online(dir: &Path, args: &[&str]) -> Value {
    let out = taskpool()
        .current_dir(dir)
        .arg("--json")
        .arg("online")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "taskpool online {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn online_init_routine_status_and_simulate_print_json() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let config = config.to_str().unwrap();
    let init = online(dir.path(), &["init", config, "--as-of", "2020-10-01"]);
    assert_eq!(init["ran"], true);
    assert_eq!(init["trained"].as_array().unwrap().len(), 2);
    assert_eq!(init["signal_end"], "2020-10-01");
    let routine = online(dir.path(), &["routine", config, "--as-of", "2021-01-04"]);
    assert_eq!(routine["trained"].as_array().unwrap().len(), 2);
    assert_eq!(routine["taken_offline"].as_array().unwrap().len(), 2);
    assert_eq!(routine["signal_start"], "2020-10-02");
    let again = online(dir.path(), &["routine", config, "--as-of", "2021-01-04"]);
    assert_eq!(again["ran"], false);
    assert_eq!(again["trained"], serde_json::json!([]));
    let status = online(dir.path(), &["status", config]);
    assert_eq!(status["routines"], 2);
    assert_eq!(status["online"]["ridge"]["test_start"], "2021-01-01");
    let simulated = online(dir.path(), &["simulate", config, "--start", "2020-10-01"]);
    assert_eq!(simulated["trained"], 4, "the two quarters after 2021-01-04");
    assert!(simulated["orchestration_seconds"].as_f64().unwrap() >= 0.0);
    let report = Path::new(simulated["report_dir"].as_str().unwrap());
    let signals = std::fs::read_to_string(report.join("signals.csv")).unwrap();
    assert!(signals.starts_with("date,instrument,score\n"));
    assert!(report.join("report.md").is_file());
}

#[test]
fn online_bad_input_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let config = config.to_str().unwrap();
    for (args, says) in [
        (vec!["routine", config], "taskpool online init"),
        (
            vec!["init", config, "--as-of", "2001-01-01"],
            "before the data's first day",
        ),
        (
            vec![
                "simulate",
                config,
                "--start",
                "2021-01-01",
                "--end",
                "2020-01-01",
            ],
            "after --end",
        ),
        (vec!["init", "no-such.yaml"], "cannot read config"),
    ] {
        taskpool()
            .current_dir(dir.path())
            .arg("online")
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(says));
    }
}
