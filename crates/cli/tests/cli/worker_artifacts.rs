//! `taskpool worker` stores the files of `TASKPOOL_ARTIFACT_DIR` as a record
//! of the task (SQLite), and `taskpool records` reads them back.

use std::path::PathBuf;

use serde_json::{Value, json};
use taskpool::store::{RecordFilter, RecordStatus, Status};

use crate::support::{POOL, WorkerFixture, taskpool_process};

/// Writes `pred.bin` (binary) and `logs/fit.txt`, then prints metrics, or
/// exits 5 when `x` is negative.
const WRITER: &str = r#"
import json, os, sys
task = json.load(sys.stdin)
art = os.environ["TASKPOOL_ARTIFACT_DIR"]
x = task["def"]["x"]
with open(os.path.join(art, "pred.bin"), "wb") as f:
    f.write(bytes([abs(x), 0, 255, 10, 13]) * 1000)
os.mkdir(os.path.join(art, "logs"))
with open(os.path.join(art, "logs", "fit.txt"), "w") as f:
    f.write(f"fitted x={x}\n")
if x < 0:
    sys.exit(5)
json.dump({"square": x * x, "metrics": {"ic": x / 10}}, sys.stdout)
"#;

fn pred(x: u8) -> Vec<u8> {
    [x, 0, 255, 10, 13].repeat(1000)
}

fn script(fx: &WorkerFixture) -> PathBuf {
    let path = fx.dir().join("writer.py");
    std::fs::write(&path, WRITER).unwrap();
    path
}

/// JSON lines as one array.
fn lines_of(stdout: Vec<u8>) -> Value {
    String::from_utf8(stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
        .collect()
}

fn taskpool_ok(fx: &WorkerFixture, args: &[&str]) -> Vec<u8> {
    let out = taskpool_process()
        .args(["--store", &fx.url])
        .args(args)
        .output()
        .expect("run taskpool");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn work(fx: &WorkerFixture) -> Value {
    let script = script(fx);
    let stdout = taskpool_ok(
        fx,
        &[
            "-t",
            POOL,
            "--json",
            "worker",
            "--",
            "python3",
            script.to_str().unwrap(),
        ],
    );
    serde_json::from_slice(&stdout).expect("one JSON report")
}

#[test]
fn worker_stores_artifact_files_as_a_record_of_the_task() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    let ids = fx.create(vec![json!({"experiment": "exp_cli", "x": 7})], 3);
    let report = work(&fx);
    assert_eq!(report["committed"], json!(1));
    assert_eq!(fx.get(ids[0]).status, Status::Done);

    // Read back through the library.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime.block_on(taskpool::open(&fx.url)).unwrap();
    let records = runtime
        .block_on(store.list_records("exp_cli", &RecordFilter::all()))
        .unwrap();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(
        (r.task_id, r.pool.as_deref(), r.status),
        (Some(ids[0]), Some(POOL), RecordStatus::Finished)
    );
    assert_eq!(r.metrics["ic"], 0.7);
    let get = |name: &str| runtime.block_on(store.get_artifact("exp_cli", r.id, name));
    assert_eq!(get("pred.bin").unwrap(), pred(7));
    assert_eq!(get("logs/fit.txt").unwrap(), b"fitted x=7\n");

    // Read back through the CLI.
    let listed: Value = lines_of(taskpool_ok(
        &fx,
        &[
            "--json",
            "records",
            "-e",
            "exp_cli",
            "--task",
            &ids[0].to_string(),
        ],
    ));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["_id"], json!(r.id.to_string()));
    assert_eq!(
        listed[0]["artifacts"],
        json!([{"name": "logs/fit.txt", "len": 11}, {"name": "pred.bin", "len": 5000}])
    );
    let out = fx.dir().join("fetched.bin");
    taskpool_ok(
        &fx,
        &[
            "records",
            "-e",
            "exp_cli",
            "--record",
            &r.id.to_string(),
            "--artifact",
            "pred.bin",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read(&out).unwrap(), pred(7));
    let to_stdout = taskpool_ok(
        &fx,
        &[
            "records",
            "-e",
            "exp_cli",
            "--record",
            &r.id.to_string(),
            "--artifact",
            "logs/fit.txt",
            "-o",
            "-",
        ],
    );
    assert_eq!(to_stdout, b"fitted x=7\n");
}

#[test]
fn worker_without_an_experiment_field_uses_the_pool_name() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    let ids = fx.create(vec![json!({"x": 2})], 3);
    work(&fx);
    let experiments: Value = lines_of(taskpool_ok(&fx, &["--json", "records"]));
    assert_eq!(experiments, json!([{ "experiment": POOL }]));
    // -t alone names the experiment.
    let listed: Value = lines_of(taskpool_ok(&fx, &["-t", POOL, "--json", "records"]));
    assert_eq!(listed[0]["task_id"], json!(ids[0].to_string()));
}

#[test]
fn worker_stores_no_record_for_a_failing_command() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    let ids = fx.create(vec![json!({"x": -1})], 2);
    let report = work(&fx);
    assert_eq!(
        (report["committed"].clone(), report["failed"].clone()),
        (json!(0), json!(1))
    );
    assert_eq!(fx.get(ids[0]).status, Status::Failed);
    let experiments: Value = lines_of(taskpool_ok(&fx, &["--json", "records"]));
    assert_eq!(experiments, json!([]));
}

#[test]
fn records_reports_a_missing_record_or_artifact_as_not_found() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    fx.create(vec![json!({"x": 1})], 3);
    work(&fx);
    let listed: Value = lines_of(taskpool_ok(&fx, &["-t", POOL, "--json", "records"]));
    let id = listed[0]["_id"].as_str().unwrap().to_string();
    let out = fx.dir().join("x");
    let code = |args: &[&str]| {
        taskpool_process()
            .args(["--store", &fx.url, "-t", POOL, "records"])
            .args(args)
            .output()
            .unwrap()
            .status
            .code()
    };
    let out = out.to_str().unwrap();
    assert_eq!(
        code(&["--record", &id, "--artifact", "nope", "-o", out]),
        Some(3)
    );
    assert_eq!(code(&["--record", "6b0763ae0f3b2c1d4e5f6a7b"]), Some(3));
    assert_eq!(code(&["--record", "not-an-id"]), Some(2));
    assert_eq!(code(&["--artifact", "pred.bin"]), Some(2));
    assert_eq!(code(&["-e", "bad name"]), Some(2));
}
