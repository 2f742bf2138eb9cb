//! `taskpool worker` and `taskpool wait` on a SQLite pool: the Python example
//! end to end, two phases, poison tasks, SIGTERM, bad input, wait.

use std::time::Duration;

use serde_json::{Value, json};
use taskpool::store::{ClaimParams, CommitParams, Status};

use crate::support::{
    POOL, WorkerFixture, alive, eventually, example_worker, owner_pid, send, taskpool_process,
    wait_exit,
};

fn run(fx: &WorkerFixture, args: &[&str]) -> std::process::Output {
    taskpool_process()
        .args(["--store", &fx.url, "-t", POOL])
        .args(args)
        .output()
        .expect("run taskpool")
}

fn report(output: &std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON report")
}

#[test]
fn python_example_worker_runs_end_to_end() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    let ids = fx.create((1..=5).map(|x| json!({"x": x})).collect(), 3);
    let script = example_worker();
    let out = run(
        &fx,
        &[
            "--json",
            "worker",
            "--concurrency",
            "2",
            "--",
            "python3",
            script.to_str().unwrap(),
        ],
    );
    let report = report(&out);
    assert_eq!(
        (report["claimed"].clone(), report["committed"].clone()),
        (json!(5), json!(5))
    );
    for (x, id) in (1..=5).zip(ids) {
        let task = fx.get(id);
        assert_eq!((task.status, task.attempts), (Status::Done, 1));
        assert_eq!(task.res, Some(json!({"square": x * x})));
    }
}

#[test]
fn two_phases_pass_the_first_result_to_the_second() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    let ids = fx.create(vec![json!({"x": 3}), json!({"x": 4})], 3);
    let script = example_worker();
    let script = script.to_str().unwrap();
    report(&run(
        &fx,
        &[
            "--json",
            "worker",
            "--after-status",
            "part_done",
            "--",
            "python3",
            script,
        ],
    ));
    for id in &ids {
        assert_eq!(fx.get(*id).status, Status::PartDone);
    }
    report(&run(
        &fx,
        &[
            "--json", "worker", "--phase", "second", "--", "python3", script,
        ],
    ));
    assert_eq!(
        fx.get(ids[0]).res,
        Some(json!({"square": 9, "plus_one": 10}))
    );
    assert_eq!(
        fx.get(ids[1]).res,
        Some(json!({"square": 16, "plus_one": 17}))
    );
    assert!(ids.iter().all(|id| fx.get(*id).status == Status::Done));
}

#[test]
fn poison_task_fails_after_max_attempts_with_its_errors_and_others_finish() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    let mut defs: Vec<Value> = (0..6).map(|x| json!({"x": x})).collect();
    defs.push(json!({"x": "not a number"}));
    let ids = fx.create(defs, 3);
    let script = example_worker();
    let out = run(
        &fx,
        &[
            "--json",
            "worker",
            "--",
            "python3",
            script.to_str().unwrap(),
        ],
    );
    let report = report(&out);
    assert_eq!(
        (
            report["committed"].clone(),
            report["retried"].clone(),
            report["failed"].clone()
        ),
        (json!(6), json!(2), json!(1))
    );
    let poison = fx.get(ids[6]);
    assert_eq!((poison.status, poison.attempts), (Status::Failed, 3));
    assert_eq!(
        poison.errors.iter().map(|e| e.attempt).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    for entry in &poison.errors {
        assert!(
            entry.message.starts_with("command exited with code 2"),
            "{}",
            entry.message
        );
        assert!(
            entry.message.contains("bad task: ValueError"),
            "{}",
            entry.message
        );
    }
    assert_eq!(fx.stat().done, 6);
}

const SLEEPER: &str = r#"
import json, os, signal, sys, time
task = json.load(sys.stdin)
# First phase: the definition; second phase (after `cat` as first phase): its echo.
d = task["def"] if task["phase"] == "first" else task["res"]["def"]
if d.get("ignore_term"):
    def note(signum, frame):
        open(d["marker"], "w").write(str(signum))
    signal.signal(signal.SIGTERM, note)
    signal.signal(signal.SIGINT, note)
open(d["pid_file"], "w").write(str(os.getpid()))
time.sleep(600)
"#;

/// Start a worker on the sleeper and wait until its task runs.
fn start_sleeping_worker(
    fx: &WorkerFixture,
    id: taskpool::store::TaskId,
    extra: &[&str],
) -> std::process::Child {
    let mut args = vec!["--json", "worker"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "python3", "-c", SLEEPER]);
    let child = fx.spawn("sleeper", &args);
    let pid = child.id();
    eventually("the task runs under the worker", || {
        let task = fx.get(id);
        task.status == Status::Running
            && task.lease.is_some_and(|l| owner_pid(&l.owner) == Some(pid))
    });
    child
}

#[test]
fn sigterm_returns_the_running_task_to_waiting_at_once() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    let pid_file = fx.dir().join("pid");
    let ids = fx.create(vec![json!({"pid_file": pid_file})], 3);
    let mut worker = start_sleeping_worker(&fx, ids[0], &["--grace", "1h"]);
    eventually("the command started", || {
        pid_file.exists() && std::fs::read_to_string(&pid_file).is_ok_and(|s| !s.is_empty())
    });
    send(&worker, libc::SIGTERM);
    assert!(
        wait_exit(&mut worker).code() == Some(130),
        "{}",
        fx.stderr_of("sleeper")
    );
    let task = fx.get(ids[0]);
    assert_eq!(
        (task.status, task.attempts, task.lease),
        (Status::Waiting, 0, None)
    );
    assert!(task.errors.is_empty());
    let pid: u32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    eventually("the command is gone", || !alive(pid));
    let report: Value = serde_json::from_str(&fx.stdout_of("sleeper")).unwrap();
    assert_eq!(
        (report["handed_back"].clone(), report["interrupted"].clone()),
        (json!(1), json!(true))
    );
}

#[test]
fn sigterm_returns_a_second_phase_task_to_part_done() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    let pid_file = fx.dir().join("pid");
    let ids = fx.create(vec![json!({"pid_file": pid_file})], 3);
    // First phase: `cat` echoes the envelope, so the result holds `def`.
    let first = run(
        &fx,
        &[
            "--json",
            "worker",
            "--after-status",
            "part_done",
            "--",
            "cat",
        ],
    );
    assert!(first.status.success());
    let first_result = fx.get(ids[0]).res.unwrap();
    let mut worker = start_sleeping_worker(&fx, ids[0], &["--phase", "second"]);
    eventually("the command started", || {
        std::fs::read_to_string(&pid_file).is_ok_and(|s| !s.is_empty())
    });
    send(&worker, libc::SIGTERM);
    assert!(
        wait_exit(&mut worker).code() == Some(130),
        "{}",
        fx.stderr_of("sleeper")
    );
    let task = fx.get(ids[0]);
    assert_eq!(
        (task.status, task.attempts, task.lease),
        (Status::PartDone, 0, None)
    );
    assert_eq!(task.res, Some(first_result));
    assert!(task.errors.is_empty());
}

#[test]
fn command_ignoring_sigterm_is_killed_after_the_grace_period_and_handed_back() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    let pid_file = fx.dir().join("pid");
    let marker = fx.dir().join("got-term");
    let ids = fx.create(
        vec![json!({"pid_file": pid_file, "ignore_term": true, "marker": marker})],
        3,
    );
    let mut worker = start_sleeping_worker(&fx, ids[0], &["--grace", "1s"]);
    eventually("the command started", || {
        std::fs::read_to_string(&pid_file).is_ok_and(|s| !s.is_empty())
    });
    send(&worker, libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut worker).code(),
        Some(130),
        "interrupted: exit 130"
    );
    assert!(marker.exists(), "the signal was forwarded to the command");
    let pid: u32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    eventually("the command is gone", || !alive(pid));
    let task = fx.get(ids[0]);
    assert_eq!((task.status, task.attempts), (Status::Waiting, 0));
}

#[test]
fn second_signal_hands_back_without_waiting_for_the_grace_period() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    let pid_file = fx.dir().join("pid");
    let marker = fx.dir().join("got-term");
    let ids = fx.create(
        vec![json!({"pid_file": pid_file, "ignore_term": true, "marker": marker})],
        3,
    );
    let mut worker = start_sleeping_worker(&fx, ids[0], &["--grace", "1h"]);
    eventually("the command started", || {
        std::fs::read_to_string(&pid_file).is_ok_and(|s| !s.is_empty())
    });
    send(&worker, libc::SIGINT);
    eventually("the first signal reached the command", || {
        std::fs::read_to_string(&marker).is_ok_and(|s| !s.is_empty())
    });
    let forwarded = std::fs::read_to_string(&marker).unwrap();
    assert_eq!(
        forwarded,
        libc::SIGINT.to_string(),
        "the same signal is forwarded"
    );
    send(&worker, libc::SIGINT);
    assert_eq!(
        wait_exit(&mut worker).code(),
        Some(130),
        "interrupted: exit 130"
    );
    assert_eq!(fx.get(ids[0]).status, Status::Waiting);
}

#[test]
fn worker_rejects_bad_input_with_exit_code_2() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    let code = |args: &[&str]| run(&fx, args).status.code();
    assert_eq!(code(&["worker", "--", "taskpool-no-such-command"]), Some(2));
    assert_eq!(code(&["worker"]), Some(2));
    assert_eq!(
        code(&["worker", "--query", "{\"status\": \"done\"}", "--", "cat"]),
        Some(2)
    );
    assert_eq!(
        code(&["worker", "--query", "{not json", "--", "cat"]),
        Some(2)
    );
    assert_eq!(
        code(&["worker", "--concurrency", "0", "--", "cat"]),
        Some(2)
    );
    assert_eq!(code(&["worker", "--lease", "1ms", "--", "cat"]), Some(2));
    let no_pool = taskpool_process()
        .args(["--store", &fx.url, "worker", "--", "cat"])
        .output()
        .unwrap();
    assert_eq!(no_pool.status.code(), Some(2));
}

#[test]
fn worker_query_and_max_tasks_limit_what_is_claimed() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    fx.create((0..10).map(|i| json!({"i": i})).collect(), 3);
    let out = run(
        &fx,
        &[
            "--json",
            "worker",
            "--query",
            "{\"filter.i\": {\"$lt\": 6}}",
            "--max-tasks",
            "4",
            "--",
            "cat",
        ],
    );
    assert_eq!(report(&out)["committed"], 4);
    let done: Vec<i64> = fx
        .tasks()
        .iter()
        .filter(|t| t.status == Status::Done)
        .map(|t| t.def["i"].as_i64().unwrap())
        .collect();
    assert_eq!(done, vec![0, 1, 2, 3]);
}

#[test]
fn task_timeout_fails_the_attempt() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    let pid_file = fx.dir().join("pid");
    let ids = fx.create(vec![json!({"pid_file": pid_file})], 1);
    let out = run(
        &fx,
        &[
            "--json",
            "worker",
            "--task-timeout",
            "2s",
            "--",
            "python3",
            "-c",
            SLEEPER,
        ],
    );
    assert_eq!(report(&out)["failed"], 1);
    let task = fx.get(ids[0]);
    assert_eq!(task.status, Status::Failed);
    assert!(task.errors[0].message.contains("timed out"));
}

#[test]
fn wait_prints_the_final_counts_when_everything_finished() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    fx.create(vec![json!(1), json!(2)], 3);
    let mut worker = fx.spawn("w", &["worker", "--", "cat"]);
    let out = run(
        &fx,
        &["--json", "wait", "--poll", "50ms", "--timeout", "2m"],
    );
    assert!(wait_exit(&mut worker).success());
    let report = report(&out);
    assert_eq!(
        (report["outcome"].clone(), report["done"].clone()),
        (json!("finished"), json!(2))
    );
}

#[test]
fn wait_times_out_with_exit_code_1_and_reports_expired_leases() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    let ids = fx.create(vec![json!(1), json!(2)], 3);
    let claimed = fx.on(async |s| {
        s.claim(
            POOL,
            ClaimParams::new("dead-host:1:0", Duration::from_millis(1)),
        )
        .await
        .unwrap()
    });
    assert_eq!(claimed[0].id, ids[0]);
    let out = run(
        &fx,
        &["--json", "wait", "--poll", "100ms", "--timeout", "500ms"],
    );
    assert_eq!(out.status.code(), Some(1));
    let timed_out: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (timed_out["outcome"].clone(), timed_out["pending"].clone()),
        (json!("timed_out"), json!(2))
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&ids[0].to_string()) && stderr.contains("dead-host:1:0"),
        "{stderr}"
    );
    // Once the task is finished the wait ends.
    let token = claimed[0].lease.as_ref().unwrap().token.clone();
    fx.on(async |s| {
        let commit = CommitParams {
            id: ids[0],
            token,
            result: json!(0),
            status: Status::Done,
        };
        s.commit(POOL, commit).await.unwrap()
    });
    let out = run(&fx, &["--json", "wait", "--timeout", "500ms", "{\"_id\": "]);
    assert_eq!(out.status.code(), Some(2), "a malformed query is bad input");
    let query = format!("{{\"_id\": \"{}\"}}", ids[0]);
    let out = run(&fx, &["--json", "wait", "--timeout", "500ms", &query]);
    assert_eq!(report(&out)["outcome"], "finished");
}
