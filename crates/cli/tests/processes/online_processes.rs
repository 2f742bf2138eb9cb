//! `taskpool online` as separate processes on one SQLite store: SIGINT
//! while training exits 130 and leaves a store the next `init` finishes
//! from; two `online routine` processes started at once train each new
//! window once, both exit 0, and the state is the one of a single routine.

use std::path::Path;

use serde_json::Value;
use taskpool::store::{Query, Record, RecordFilter, RecordStatus, Status, Task, TaskStoreExt};

use crate::support::{POOL, WorkerFixture, eventually, send, taskpool_process, wait_exit};

/// The exit code of an interrupted command.
const INTERRUPTED: i32 = 130;

/// The pool the routines train in (`-t POOL` + `.online`), also the
/// experiment of their records.
fn online_pool() -> String {
    format!("{POOL}.online")
}

/// An online configuration; `rolling` and `trainer` are YAML maps.
/// Synthetic data from 2020-01-01 (520 days), one ridge model, windows
/// from 2021-04-01.
fn write_config(dir: &Path, rolling: &str, trainer: &str) -> String {
    let path = dir.join("online.yaml");
    let yaml = format!(
        "
data: {{synthetic: {{instruments: 100, days: 520, start: 2020-01-01, seed: 5}}}}
models: [{{name: ridge, class: ridge}}]
segments: {{train: [null, 2020-12-31], valid: [2021-01-01, 2021-03-31], test: [2021-04-01, null]}}
rolling: {rolling}
trainer: {trainer}
report: {{dir: {}}}
",
        dir.join("report").display()
    );
    std::fs::write(&path, yaml).expect("write the config");
    path.display().to_string()
}

/// `taskpool --store URL -t POOL --json online ARGS`, which must succeed;
/// its JSON object.
fn online_json(url: &str, args: &[&str]) -> Value {
    let out = taskpool_process()
        .args(["--store", url, "-t", POOL, "--json", "online"])
        .args(args)
        .output()
        .expect("run taskpool");
    assert!(
        out.status.success(),
        "taskpool online {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

/// The tasks of a pool.
fn tasks(fx: &WorkerFixture, pool: &str) -> Vec<Task> {
    fx.on(async |s| s.query_all(pool, Query::All).await.expect("query"))
}

/// The records of the online experiment: (model records, routine records).
fn records(url: &str) -> (Vec<Record>, Vec<Record>) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let all = runtime.block_on(async {
        let store = taskpool::open(url).await.expect("open the store");
        store
            .list_records(&online_pool(), &RecordFilter::all())
            .await
            .expect("list records")
    });
    all.into_iter()
        .partition(|r| r.tags.get("kind").map(String::as_str) != Some("routine"))
}

#[test]
fn online_init_sigint_while_training_exits_130_and_the_next_init_finishes() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    // About 20 windows, two at a time, no grace: the signal lands while
    // windows are running and others still wait.
    let config = write_config(
        fx.dir(),
        "{step: 10}",
        "{mode: in_process, workers: 2, lease: 1h, grace: 0s}",
    );
    let mut init = fx.spawn("init", &["online", "init", &config]);
    let pool = online_pool();
    eventually("a window is training", || {
        tasks(&fx, &pool)
            .iter()
            .any(|t| t.status == Status::Running)
    });
    send(&init, libc::SIGINT);
    let status = wait_exit(&mut init);
    let stderr = fx.stderr_of("init");
    assert_eq!(status.code(), Some(INTERRUPTED), "{stderr}");
    assert!(
        stderr.contains("taskpool: interrupted: interrupted by SIGINT"),
        "{stderr}"
    );

    // Nothing left running or half-counted: every window is done or back
    // to waiting with no attempt counted.
    let windows = tasks(&fx, &pool);
    let done = windows.iter().filter(|t| t.status == Status::Done).count();
    for task in &windows {
        match task.status {
            Status::Done => {}
            Status::Waiting => assert_eq!(
                (task.attempts, task.errors.len(), task.lease.is_some()),
                (0, 0, false),
                "window {} was handed back with its attempt counted",
                task.id
            ),
            other => panic!("window {} is {other} after the stop", task.id),
        }
    }
    assert!(done < windows.len(), "the stop came while windows waited");
    // The routine lock was handed back, and no routine record was written:
    // the state has no routine, and a finished model record per done window.
    let lock = tasks(&fx, &format!("{pool}.lock"));
    assert_eq!(lock.len(), 1);
    assert_eq!(
        (lock[0].status, lock[0].lease.is_some()),
        (Status::Waiting, false)
    );
    let (models, routines) = records(&fx.url);
    assert!(routines.is_empty(), "{routines:?}");
    let finished = models
        .iter()
        .filter(|r| r.status == RecordStatus::Finished)
        .count();
    assert_eq!(finished, done);
    let status = online_json(&fx.url, &["status", &config]);
    assert_eq!(
        (status["routines"].as_u64(), status["models"].as_u64()),
        (Some(0), Some(done as u64))
    );

    // The next init trains only the windows left, and finishes.
    let again = online_json(&fx.url, &["init", &config]);
    assert_eq!(again["ran"], true);
    let windows = tasks(&fx, &pool);
    assert!(windows.iter().all(|t| t.status == Status::Done));
    assert!(
        windows.iter().all(|t| t.attempts == 1),
        "no window trained twice"
    );
    assert_eq!(
        again["trained"].as_array().map(Vec::len),
        Some(windows.len())
    );
    let status = online_json(&fx.url, &["status", &config]);
    assert_eq!(status["routines"], 1);
    assert_eq!(status["models"].as_u64(), Some(windows.len() as u64));
}

/// `online status` without what differs between stores (the URL, record
/// ids).
fn comparable(mut status: Value) -> Value {
    status["store"] = Value::Null;
    for model in status["online"]
        .as_object_mut()
        .expect("online")
        .values_mut()
    {
        model["record"] = Value::Null;
    }
    status
}

#[test]
fn two_online_routines_at_once_train_each_new_window_once_and_both_exit_0() {
    let (Some(fx), Some(reference)) = (WorkerFixture::sqlite(), WorkerFixture::sqlite()) else {
        return;
    };
    let rolling = "{step: 3m, trunc_days: 2}";
    let trainer = "{mode: in_process, workers: 2}";
    let config = write_config(fx.dir(), rolling, trainer);
    let (first, next) = ("2021-04-01", "2021-10-01");
    let init = online_json(&fx.url, &["init", &config, "--as-of", first]);
    let before = tasks(&fx, &online_pool()).len();
    assert_eq!(init["trained"].as_array().map(Vec::len), Some(before));

    let args = ["--json", "online", "routine", &config, "--as-of", next];
    let mut a = fx.spawn("a", &args);
    let mut b = fx.spawn("b", &args);
    let (status_a, status_b) = (wait_exit(&mut a), wait_exit(&mut b));
    assert!(status_a.success(), "{}", fx.stderr_of("a"));
    assert!(status_b.success(), "{}", fx.stderr_of("b"));
    let parse = |name: &str| -> Value {
        serde_json::from_str(&fx.stdout_of(name)).expect("one JSON object")
    };
    let (a, b) = (parse("a"), parse("b"));
    let (winner, loser) = match (a["ran"].as_bool(), b["ran"].as_bool()) {
        (Some(true), Some(false)) => (a, b),
        (Some(false), Some(true)) => (b, a),
        _ => panic!("exactly one routine runs: {a} {b}"),
    };
    // The loser says the other did the work, and changed nothing.
    let note = loser["note"].as_str().expect("a note");
    assert!(note.contains("nothing"), "{note}");
    assert_eq!(loser["trained"], serde_json::json!([]));
    assert_eq!(loser["signal_rows"], 0);

    // Each new window trained once, by the winner.
    let windows = tasks(&fx, &online_pool());
    let new = windows.len() - before;
    assert_eq!(new, 2, "the windows from 2021-07-01 and 2021-10-01");
    assert_eq!(winner["trained"].as_array().map(Vec::len), Some(new));
    assert!(
        windows
            .iter()
            .all(|t| t.status == Status::Done && t.attempts == 1),
        "every window trained exactly once"
    );
    let (models, routines) = records(&fx.url);
    assert_eq!(models.len(), windows.len(), "one model record per window");
    assert_eq!(routines.len(), 2, "init and one routine");

    // The state is the one of init and a single routine.
    let ref_config = write_config(reference.dir(), rolling, trainer);
    online_json(&reference.url, &["init", &ref_config, "--as-of", first]);
    online_json(&reference.url, &["routine", &ref_config, "--as-of", next]);
    assert_eq!(
        comparable(online_json(&fx.url, &["status", &config])),
        comparable(online_json(&reference.url, &["status", &ref_config]))
    );
    let signals = |dir: &Path| {
        std::fs::read_to_string(dir.join("report/online/signals.csv")).expect("signals.csv")
    };
    assert_eq!(signals(fx.dir()), signals(reference.dir()));
}
