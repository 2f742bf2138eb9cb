//! `taskpool run` interrupted by SIGINT/SIGTERM, as separate processes on a
//! SQLite store: nothing is left `running`, unfinished tasks are handed back
//! without counting the attempt, the exit code is 130, and running the job
//! again finishes it. In process and with worker processes.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Child;

use serde_json::Value;
use taskpool::store::{Status, Task};

use crate::support::{
    WorkerFixture, alive, eventually, owner_pid, send, taskpool_process, wait_exit,
};

/// The exit code of an interrupted run.
const INTERRUPTED: i32 = 130;

/// A job big enough to be training when the signal comes: 13 windows of one
/// model on 100 synthetic instruments. `trainer` is the trainer's YAML map.
fn write_config(dir: &Path, trainer: &str) -> String {
    let path = dir.join("job.yaml");
    let yaml = format!(
        "
data: {{synthetic: {{instruments: 100, days: 520, start: 2020-01-01, seed: 5}}}}
models: [{{name: ridge, class: ridge}}]
segments: {{train: [null, 2020-12-31], valid: [2021-01-01, 2021-03-31], test: [2021-04-01, null]}}
rolling: {{step: 15}}
trainer: {trainer}
report: {{dir: {}}}
",
        dir.join("report").display()
    );
    std::fs::write(&path, yaml).expect("write the config");
    path.display().to_string()
}

/// Start `taskpool run CONFIG` and wait until the store shows a task running;
/// returns the process and the running tasks seen.
fn start_run(fx: &WorkerFixture, config: &str, extra: &[&str]) -> (Child, Vec<Task>) {
    let mut args = vec!["run", config];
    args.extend_from_slice(extra);
    let run = fx.spawn("run", &args);
    let mut running = Vec::new();
    eventually("a task is running", || {
        running = fx.running();
        !running.is_empty()
    });
    (run, running)
}

/// Every task is done or waiting; a waiting task has no attempt counted and
/// no error. Returns the number of tasks handed back (waiting after having
/// started) and the number done.
fn assert_handed_back_uncounted(fx: &WorkerFixture) -> (usize, usize) {
    let tasks = fx.tasks();
    let (mut handed_back, mut done) = (0, 0);
    for task in &tasks {
        match task.status {
            Status::Done => done += 1,
            Status::Waiting => {
                assert_eq!(
                    (task.attempts, task.errors.len(), task.lease.is_some()),
                    (0, 0, false),
                    "task {} was handed back with its attempt counted",
                    task.id
                );
                if task.started_at.is_some() {
                    handed_back += 1;
                }
            }
            other => panic!("task {} is {other} after the run stopped", task.id),
        }
    }
    assert!(
        done + handed_back < tasks.len(),
        "the run was stopped while tasks were still waiting"
    );
    (handed_back, done)
}

/// `taskpool run` again: it reuses the done tasks, trains the rest and ends
/// with every task done.
fn assert_rerun_finishes(fx: &WorkerFixture, config: &str, done_before: usize) {
    let out = taskpool_process()
        .args(["--store", &fx.url, "-t", crate::support::POOL, "--json"])
        .args(["run", config])
        .output()
        .expect("run taskpool");
    assert!(
        out.status.success(),
        "the second run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("the summary");
    let total = fx.tasks().len();
    assert_eq!(
        (
            summary["tasks"]["reused"].as_u64(),
            summary["tasks"]["trained"].as_u64()
        ),
        (Some(done_before as u64), Some((total - done_before) as u64))
    );
    assert_eq!(fx.stat().done, total as u64);
}

#[test]
fn run_in_process_sigint_hands_running_tasks_back_and_exits_130() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    let config = write_config(
        fx.dir(),
        "{mode: in_process, workers: 2, lease: 1h, grace: 0s}",
    );
    let (mut run, running) = start_run(&fx, &config, &[]);
    let run_pid = run.id();
    assert!(
        running
            .iter()
            .all(|t| t.lease.as_ref().and_then(|l| owner_pid(&l.owner)) == Some(run_pid))
    );
    send(&run, libc::SIGINT);
    let status = wait_exit(&mut run);
    assert_eq!(status.code(), Some(INTERRUPTED), "{}", fx.stderr_of("run"));
    let (handed_back, done) = assert_handed_back_uncounted(&fx);
    // With no grace period, the tasks running when the signal came are
    // handed back (unless one committed in the instant between the look
    // at the store and the signal; a task takes far longer than that).
    assert!(handed_back >= 1, "{}", fx.stderr_of("run"));
    assert_rerun_finishes(&fx, &config, done);
}

#[test]
fn run_with_worker_processes_forwards_two_sigints_and_reaps_the_workers() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    // An hour of grace: only the second signal can end the run before that.
    let config = write_config(
        fx.dir(),
        "{mode: workers, workers: 2, lease: 1h, grace: 1h}",
    );
    let (mut run, running) = start_run(&fx, &config, &[]);
    let workers: BTreeSet<u32> = running
        .iter()
        .filter_map(|t| owner_pid(&t.lease.as_ref()?.owner))
        .collect();
    assert!(
        !workers.is_empty() && !workers.contains(&run.id()),
        "the tasks run in the worker processes"
    );
    send(&run, libc::SIGINT);
    eventually("the first signal is obeyed", || {
        fx.stdout_of("run")
            .lines()
            .any(|l| l.starts_with("stopping  SIGINT"))
    });
    // A task still running at the second signal is handed back at once; one
    // may also finish within the grace period between the two signals.
    let running: Vec<_> = fx
        .tasks()
        .into_iter()
        .filter(|t| t.status == Status::Running)
        .map(|t| t.id)
        .collect();
    send(&run, libc::SIGINT);
    let status = wait_exit(&mut run);
    assert_eq!(status.code(), Some(INTERRUPTED), "{}", fx.stderr_of("run"));
    for pid in &workers {
        assert!(!alive(*pid), "worker process {pid} outlived the run");
    }
    let (_, done) = assert_handed_back_uncounted(&fx);
    for task in fx.tasks().iter().filter(|t| running.contains(&t.id)) {
        assert!(
            task.status == Status::Done
                || (task.status == Status::Waiting && task.started_at.is_some()),
            "task {} running at the second signal ended {}: {}",
            task.id,
            task.status,
            fx.stderr_of("run")
        );
    }
    assert_rerun_finishes(&fx, &config, done);
}

#[test]
fn run_sigterm_while_loading_exits_130_and_leaves_nothing_running() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    let config = write_config(fx.dir(), "{mode: in_process, workers: 1}");
    let mut run = fx.spawn("run", &["run", &config]);
    // The `store` line comes once the run listens for signals, before the
    // data is loaded; the signal may reach it there or already training:
    // either way nothing may be left running.
    eventually("the run opened the store", || {
        fx.stdout_of("run").lines().any(|l| l.starts_with("store "))
    });
    send(&run, libc::SIGTERM);
    let status = wait_exit(&mut run);
    assert_eq!(status.code(), Some(INTERRUPTED), "{}", fx.stderr_of("run"));
    assert_eq!(fx.stat().running, 0);
    let (_, done) = assert_handed_back_uncounted(&fx);
    assert_rerun_finishes(&fx, &config, done);
}
