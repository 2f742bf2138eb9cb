//! `taskpool run` end to end: worker processes on SQLite, checked against a
//! direct computation; re-runs; bad configurations; MongoDB (FerretDB).

use std::path::Path;

use jiff::civil::Date;
use serde_json::Value;
use taskpool_experiment::data::synthetic::{SyntheticSpec, generate};
use taskpool_experiment::data::{Dataset, FEATURE_NAMES};
use taskpool_experiment::model::Ridge;

use crate::support::taskpool;

const STEP: usize = 40;
const MODELS: [(&str, f64); 2] = [("ridge", 1.0), ("strong", 30000.0)];

/// The config under test: 2 models, 4 rolling windows, 2 worker processes.
fn config(store_dir: &Path) -> String {
    format!(
        "
store: sqlite://{}
pool: e2e
data: {{synthetic: {{instruments: 40, days: 300, start: 2020-01-01, seed: 11}}}}
models:
  - {{name: ridge, class: ridge, kwargs: {{alpha: 1.0}}}}
  - {{name: strong, class: ridge, kwargs: {{alpha: 30000.0}}}}
segments:
  train: [null, 2020-06-30]
  valid: [2020-07-01, 2020-08-31]
  test: [2020-09-01, null]
rolling: {{step: {STEP}}}
trainer: {{mode: workers, workers: 2}}
report: {{dir: {}}}
",
        store_dir.join("taskpool.db").display(),
        store_dir.join("report").display()
    )
}

fn run_json(dir: &Path, config: &Path, extra: &[&str]) -> Value {
    let out = taskpool()
        .current_dir(dir)
        .arg("--json")
        .args(extra)
        .arg("run")
        .arg(config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "taskpool run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

/// One test window, computed here from the calendar (expanding train,
/// valid and test sliding by `STEP` trading days).
struct Window {
    train_end: Date,
    test: (Date, Option<Date>),
}

fn windows(calendar: &[Date]) -> Vec<Window> {
    let last_on_or_before = |d: Date| calendar.partition_point(|x| *x <= d) - 1;
    let first_on_or_after = |d: Date| calendar.partition_point(|x| *x < d);
    let train_end = last_on_or_before(jiff::civil::date(2020, 6, 30));
    let s = first_on_or_after(jiff::civil::date(2020, 9, 1));
    (0..)
        .map(|k| s + k * STEP)
        .take_while(|start| *start < calendar.len())
        .enumerate()
        .map(|(k, start)| Window {
            train_end: calendar[train_end + k * STEP],
            test: (calendar[start], calendar.get(start + STEP - 1).copied()),
        })
        .collect()
}

fn pearson(xs: &[f64], ys: &[f64]) -> Option<f64> {
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let syy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
    (xs.len() >= 2 && sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

fn zscore(xs: &[f64]) -> Vec<f64> {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let std = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    xs.iter().map(|x| (x - mean) / std).collect()
}

/// Daily IC of each model and of the z-score average, per window:
/// `[window][series] -> Vec<(date, ic)>`, series = models then ensemble.
fn direct_daily_ics(dataset: &Dataset, windows: &[Window]) -> Vec<Vec<Vec<(Date, f64)>>> {
    let f = FEATURE_NAMES.len();
    windows
        .iter()
        .map(|w| {
            let train = dataset.rows(None, Some(w.train_end));
            let test = dataset.rows(Some(w.test.0), w.test.1);
            let preds: Vec<Vec<f64>> = MODELS
                .iter()
                .map(|(_, alpha)| {
                    Ridge { alpha: *alpha }
                        .fit(train.features, f, &train.norm_labels)
                        .unwrap()
                        .predict(test.features)
                })
                .collect();
            let mut series = vec![Vec::new(); MODELS.len() + 1];
            let mut start = 0;
            while start < test.len() {
                let day = test.dates[start];
                let end = start + test.dates[start..].partition_point(|d| *d == day);
                let labels = &test.labels[start..end];
                let known: Vec<usize> = (0..labels.len())
                    .filter(|&i| labels[i].is_finite())
                    .collect();
                let y: Vec<f64> = known.iter().map(|&i| labels[i]).collect();
                let mut zs = vec![0.0; end - start];
                for (m, pred) in preds.iter().enumerate() {
                    let day_pred = &pred[start..end];
                    for (z, v) in zs.iter_mut().zip(zscore(day_pred)) {
                        *z += v / MODELS.len() as f64;
                    }
                    let x: Vec<f64> = known.iter().map(|&i| day_pred[i]).collect();
                    if let Some(ic) = pearson(&x, &y) {
                        series[m].push((day, ic));
                    }
                }
                let x: Vec<f64> = known.iter().map(|&i| zs[i]).collect();
                if let Some(ic) = pearson(&x, &y) {
                    series[MODELS.len()].push((day, ic));
                }
                start = end;
            }
            series
        })
        .collect()
}

fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let v: Vec<f64> = values.into_iter().collect();
    v.iter().sum::<f64>() / v.len() as f64
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn run_with_two_worker_processes_matches_a_direct_computation() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("e2e.yaml");
    std::fs::write(&config_path, config(dir.path())).unwrap();
    let summary = run_json(dir.path(), &config_path, &[]);

    let bars = generate(&SyntheticSpec {
        instruments: 40,
        days: 300,
        start: jiff::civil::date(2020, 1, 1),
        seed: 11,
    });
    let calendar = bars.dates();
    let dataset = Dataset::from_bars(&bars);
    let windows = windows(&calendar);
    let daily = direct_daily_ics(&dataset, &windows);
    assert_eq!(windows.len(), 4);
    assert_eq!(summary["tasks"]["total"], 8);
    assert_eq!(summary["tasks"]["new"], 8);
    assert_eq!(summary["tasks"]["trained"], 8);

    let date = |v: &Value| v.as_str().map(|s| s.parse::<Date>().unwrap());
    let reported = summary["windows"].as_array().unwrap();
    assert_eq!(reported.len(), 8);
    for (m, (name, _)) in MODELS.iter().enumerate() {
        for (k, w) in windows.iter().enumerate() {
            let row = reported
                .iter()
                .find(|r| r["model"] == *name && date(&r["test_start"]) == Some(w.test.0))
                .unwrap_or_else(|| panic!("no row for {name} window {k}"));
            assert_eq!(date(&row["test_end"]), w.test.1, "{name} window {k}");
            let direct = mean(daily[k][m].iter().map(|d| d.1));
            let got = row["metrics"]["test_ic"].as_f64().unwrap();
            assert!(close(got, direct), "{name} window {k}: {got} vs {direct}");
        }
        let overall = &summary["overall"][m];
        assert_eq!(overall["name"], *name);
        let direct = mean(daily.iter().flat_map(|w| w[m].iter().map(|d| d.1)));
        assert!(
            close(overall["ic"].as_f64().unwrap(), direct),
            "{name} overall"
        );
    }
    let ensemble = MODELS.len();
    for (k, w) in summary["ensemble_windows"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        assert_eq!(date(&w["test_start"]), Some(windows[k].test.0));
        let direct = mean(daily[k][ensemble].iter().map(|d| d.1));
        assert!(
            close(w["ic"].as_f64().unwrap(), direct),
            "ensemble window {k}"
        );
    }
    let overall = &summary["overall"][ensemble];
    assert_eq!(overall["name"], "ensemble");
    let direct = mean(daily.iter().flat_map(|w| w[ensemble].iter().map(|d| d.1)));
    assert!(
        close(overall["ic"].as_f64().unwrap(), direct),
        "ensemble overall"
    );

    let report = dir.path().join("report");
    for file in ["report.md", "ic.png", "summary.json"] {
        assert!(report.join(file).is_file(), "{file}");
    }
    let on_disk: Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(on_disk["overall"], summary["overall"]);

    // The same config again: every task is reused, nothing is trained.
    let again = run_json(dir.path(), &config_path, &[]);
    assert_eq!(again["tasks"]["reused"], 8);
    assert_eq!(again["tasks"]["new"], 0);
    assert_eq!(again["tasks"]["trained"], 0);
    assert_eq!(again["overall"], summary["overall"]);
    assert_eq!(again["windows"], summary["windows"]);
}

#[test]
fn run_prints_the_table_and_the_report_path() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("e2e.yaml");
    std::fs::write(&config_path, config(dir.path())).unwrap();
    let out = taskpool()
        .current_dir(dir.path())
        .args(["--store", "memory://", "run", "--in-process"])
        .arg(&config_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "tasks     8 (2 model(s) × 4 window(s)): 8 new, 0 done before",
        "training  8 task(s) with 2 task(s) at a time in process",
        "all windows",
        "ensemble",
        "report.md",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing from:\n{stdout}"
        );
    }
}

#[test]
fn run_makes_a_new_store_and_says_so_once() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("e2e.yaml");
    std::fs::write(&config_path, config(dir.path())).unwrap();
    let run = || {
        taskpool()
            .current_dir(dir.path())
            .args(["run", "--in-process"])
            .arg(&config_path)
            .output()
            .unwrap()
    };
    let first = run();
    let stderr = |out: &std::process::Output| String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(dir.path().join("taskpool.db").exists());
    assert_eq!(
        stderr(&first).matches("created a new store").count(),
        1,
        "{}",
        stderr(&first)
    );
    let second = run();
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(!stderr(&second).contains("created a new store"));
}

#[test]
fn run_print_config_prints_a_valid_builtin_config() {
    let out = taskpool().args(["run", "--print-config"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let config = taskpool_experiment::job::JobConfig::from_yaml(&text).unwrap();
    taskpool_experiment::job::JobPlan::new(&config, None).unwrap();
}

/// Runs `taskpool run` on `yaml`; returns (exit code, stderr).
fn run_bad(yaml: &str, extra: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, yaml).unwrap();
    let out = taskpool()
        .current_dir(dir.path())
        .args(extra)
        .arg("run")
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn valid_yaml() -> String {
    config(Path::new("/nonexistent-dir-for-bad-input-tests"))
}

fn assert_one_line_naming(code: i32, stderr: &str, key: &str) {
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("taskpool: error: "), "{stderr}");
    assert!(
        stderr.contains(&format!("`{key}`")),
        "{key} not named: {stderr}"
    );
}

#[test]
fn run_with_an_unknown_key_exits_2_naming_it() {
    let (code, stderr) = run_bad(&format!("{}colour: red\n", valid_yaml()), &[]);
    assert_one_line_naming(code, &stderr, "colour");
    let (code, stderr) = run_bad(
        &valid_yaml().replace("rolling: {step: 40}", "rolling: {step: 40, typ: sliding}"),
        &[],
    );
    assert_one_line_naming(code, &stderr, "rolling.typ");
}

#[test]
fn run_with_a_seed_beyond_i64_exits_2_naming_it() {
    let yaml = valid_yaml().replace("seed: 11", "seed: 9223372036854775808");
    let (code, stderr) = run_bad(&yaml, &[]);
    assert_one_line_naming(code, &stderr, "data.synthetic.seed");
}

#[test]
fn run_with_a_swept_integer_beyond_i64_exits_2() {
    let yaml = valid_yaml().replace(
        "trainer: {mode: workers, workers: 2}",
        "trainer: {mode: in_process}",
    ) + "sweep: {model.kwargs.alpha: [1, 9223372036854775808]}\n";
    let (code, stderr) = run_bad(&yaml, &["--store", "memory://"]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("taskpool: error: "), "{stderr}");
}

#[test]
fn run_with_a_bad_date_exits_2_naming_it() {
    let (code, stderr) = run_bad(&valid_yaml().replace("2020-08-31", "2020-08-32"), &[]);
    assert_one_line_naming(code, &stderr, "segments.valid[1]");
}

#[test]
fn run_with_step_0_exits_2_naming_it() {
    let (code, stderr) = run_bad(&valid_yaml().replace("step: 40", "step: 0"), &[]);
    assert_one_line_naming(code, &stderr, "rolling.step");
}

#[test]
fn run_with_a_missing_data_file_exits_2_naming_it() {
    let yaml = valid_yaml().replace(
        "data: {synthetic: {instruments: 40, days: 300, start: 2020-01-01, seed: 11}}",
        "data: {file: no-such-bars.csv}",
    );
    let (code, stderr) = run_bad(&yaml, &[]);
    assert_one_line_naming(code, &stderr, "data.file");
}

#[test]
fn run_with_a_missing_config_file_exits_2() {
    let out = taskpool()
        .args(["run", "/nonexistent/config.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

#[test]
fn run_with_worker_processes_on_memory_exits_2() {
    let (code, stderr) = run_bad(&valid_yaml(), &["--store", "memory://"]);
    assert_one_line_naming(code, &stderr, "trainer.mode");
}

/// The same job on MongoDB (FerretDB in CI): `TASKPOOL_TEST_MONGODB_URL`
/// names the server; without it the test is skipped, or fails under CI.
#[test]
fn run_on_mongodb_reuses_done_tasks() {
    let Ok(server) = std::env::var("TASKPOOL_TEST_MONGODB_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but TASKPOOL_TEST_MONGODB_URL is not"
        );
        eprintln!("skipped: TASKPOOL_TEST_MONGODB_URL is not set");
        return;
    };
    let (base, options) = server.split_once('?').unwrap_or((&server, ""));
    let db = format!("taskpool_run_{}", std::process::id());
    let url = format!("{}/{db}?{options}", base.trim_end_matches('/'));
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("e2e.yaml");
    std::fs::write(&config_path, config(dir.path())).unwrap();
    let first = run_json(dir.path(), &config_path, &["--store", &url]);
    assert_eq!(first["tasks"]["trained"], 8);
    let again = run_json(dir.path(), &config_path, &["--store", &url]);
    assert_eq!(again["tasks"]["trained"], 0);
    assert_eq!(again["overall"], first["overall"]);
}

#[test]
fn examples_are_valid_configs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for file in [
        "rolling.yaml",
        "rolling_python.yaml",
        "run/csv.yaml",
        "run/sweep.yaml",
    ] {
        let path = root.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let config = taskpool_experiment::job::JobConfig::from_yaml(&text)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        taskpool_experiment::job::JobPlan::new(&config, path.parent())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

/// [`config`] with the second model replaced by `model` (a flow mapping)
/// and one attempt per task.
fn config_with_model(dir: &Path, model: &str) -> std::path::PathBuf {
    let yaml = config(dir)
        .replace(
            "{name: strong, class: ridge, kwargs: {alpha: 30000.0}}",
            model,
        )
        .replace(
            "trainer: {mode: workers, workers: 2}",
            "trainer: {mode: workers, workers: 2, max_attempts: 1}",
        );
    let path = dir.join("run.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

#[test]
fn run_with_a_command_model_in_worker_processes_matches_the_built_in_ridge() {
    let numpy = std::process::Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !numpy {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs python3 with numpy"
        );
        eprintln!("skipped: needs python3 with numpy");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/models/numpy_ridge.py");
    let model = format!(
        "{{name: numpy_ridge, class: command, command: [python3, {}], kwargs: {{alpha: 1.0}}}}",
        script.display()
    );
    let config = config_with_model(dir.path(), &model);
    let summary = run_json(dir.path(), &config, &[]);
    let windows = summary["windows"].as_array().unwrap();
    let ic = |model: &str| -> Vec<(String, f64)> {
        let mut v: Vec<_> = windows
            .iter()
            .filter(|w| w["model"] == model)
            .map(|w| {
                (
                    w["test_start"].as_str().unwrap().to_string(),
                    w["metrics"]["test_ic"].as_f64().unwrap(),
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let (builtin, numpy) = (ic("ridge"), ic("numpy_ridge"));
    assert!(!builtin.is_empty());
    assert_eq!(builtin.len(), numpy.len());
    for ((start, b), (_, n)) in builtin.iter().zip(&numpy) {
        assert!((b - n).abs() < 1e-6, "{start}: {b} vs {n}");
    }
}

#[test]
fn run_with_a_failing_command_model_exits_1_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_model(
        dir.path(),
        "{name: bad, class: command, command: [sh, -c, 'echo {}']}",
    );
    let out = taskpool()
        .current_dir(dir.path())
        .arg("run")
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("wrote no pred.csv"), "{stderr}");
}

#[test]
fn run_with_a_command_model_that_does_not_exist_exits_2() {
    let yaml = valid_yaml().replace(
        "{name: strong, class: ridge, kwargs: {alpha: 30000.0}}",
        "{name: mine, class: command, command: [/no/such/model]}",
    );
    let (code, stderr) = run_bad(&yaml, &[]);
    assert_one_line_naming(code, &stderr, "models[1].command");
}
