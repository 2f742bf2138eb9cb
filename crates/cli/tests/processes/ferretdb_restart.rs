//! FerretDB killed (SIGKILL) under a running `taskpool worker` and restarted
//! on its data directory: the worker rides the outage out (retrying with
//! capped backoff), a command run meanwhile fails with `Unavailable` (exit
//! code 4) after the URL's `serverSelectionTimeoutMS`, nothing acknowledged
//! is lost and the run finishes.
//!
//! One worker process (running three tasks at once): FerretDB's
//! `findAndModify` is not atomic, so two worker processes could both claim
//! one task on it whatever the restart (the multi-process drain runs on
//! mongo-java-server, `mongodb_workers.rs`); one process claims one task at
//! a time.
//!
//! The test starts a FerretDB of its own with `ci/ferretdb/start.sh` (so the
//! server the other tests share is not killed), which needs the FerretDB
//! build of CI: it runs when `TASKPOOL_TEST_MONGODB_SERVER=ferretdb` (CI's
//! first MongoDB pass), and prints why it skips otherwise.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use taskpool::store::{Status, TaskId};

use crate::mongodb_workers::{COMMIT_LOG, acknowledged_commits};
use crate::support::{
    WorkerFixture, alive, assert_one_line_error, mongodb_server, mongodb_server_kind,
    taskpool_process, wait_exit, with_database,
};

/// Tasks of the run.
const TASKS: usize = 300;

/// How long a command waits for the server (the URL's
/// `serverSelectionTimeoutMS`): the bound on an `Unavailable` error.
const SELECTION_TIMEOUT_MS: u64 = 1000;

/// The longest pause between two claims of a worker (`--max-poll`): the cap
/// of its backoff.
const MAX_POLL: Duration = Duration::from_millis(200);

/// How long the server stays down after the failed command.
const DOWN: Duration = Duration::from_secs(3);

/// A FerretDB server this test started (`ci/ferretdb/start.sh`).
struct FerretDb {
    pid: u32,
    port: u16,
    dir: PathBuf,
}

fn start_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ci/ferretdb/start.sh")
}

/// The value of `export NAME='VALUE'` in the script's output.
fn exported(out: &str, name: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("export {name}=")))
        .unwrap_or_else(|| panic!("start.sh printed no {name}: {out}"))
        .trim_matches('\'')
        .to_string()
}

fn run_start(args: &[&str]) -> String {
    let out = Command::new("bash")
        .arg(start_script())
        .args(args)
        .output()
        .expect("run ci/ferretdb/start.sh");
    assert!(
        out.status.success(),
        "ci/ferretdb/start.sh {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

impl FerretDb {
    fn start() -> FerretDb {
        let out = run_start(&[]);
        let url = exported(&out, "TASKPOOL_TEST_MONGODB_URL");
        let port = url
            .rsplit(':')
            .next()
            .and_then(|rest| rest.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {url}"));
        FerretDb {
            pid: exported(&out, "TASKPOOL_FERRETDB_PID").parse().unwrap(),
            port,
            dir: PathBuf::from(exported(&out, "TASKPOOL_FERRETDB_DIR")),
        }
    }

    fn url(&self, db: &str) -> String {
        with_database(
            &format!(
                "mongodb://127.0.0.1:{}/?directConnection=true&serverSelectionTimeoutMS={SELECTION_TIMEOUT_MS}",
                self.port
            ),
            db,
        )
    }

    fn kill(&self) {
        taskpool::pipeline::worker::signal_process(self.pid, libc::SIGKILL).expect("kill FerretDB");
        for _ in 0..1000 {
            if !alive(self.pid) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("FerretDB (pid {}) did not die", self.pid);
    }

    fn restart(&mut self) {
        let out = run_start(&[
            "--restart",
            self.dir.to_str().expect("utf-8 dir"),
            &self.port.to_string(),
        ]);
        self.pid = exported(&out, "TASKPOOL_FERRETDB_PID").parse().unwrap();
    }
}

impl Drop for FerretDb {
    fn drop(&mut self) {
        let _ = taskpool::pipeline::worker::signal_process(self.pid, libc::SIGKILL);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The pauses (`retry_in=…`) a worker's log gives after each failed claim
/// (`what` = `claim`) or commit (`commit`).
fn retries(log: &str, what: &str) -> Vec<Duration> {
    let failed = format!("{what} failed, will retry");
    log.lines()
        .filter(|l| l.contains(&failed))
        .map(|l| {
            let value = l
                .split_whitespace()
                .find_map(|w| w.strip_prefix("retry_in="))
                .unwrap_or_else(|| panic!("no retry_in= in {l:?}"));
            parse_debug_duration(value)
        })
        .collect()
}

/// A `Duration`'s `Debug` form (`50ms`, `1.6s`, `800ms`).
fn parse_debug_duration(s: &str) -> Duration {
    let parsed = if let Some(ms) = s.strip_suffix("ms") {
        ms.parse::<f64>().map(|v| v / 1000.0)
    } else if let Some(secs) = s.strip_suffix('s') {
        secs.parse::<f64>()
    } else {
        panic!("not a duration: {s}")
    };
    Duration::from_secs_f64(parsed.unwrap_or_else(|e| panic!("not a duration {s}: {e}")))
}

#[test]
fn ferretdb_restart_mid_run_loses_nothing() {
    mongodb_server();
    let kind = mongodb_server_kind();
    if kind != "ferretdb" {
        eprintln!(
            "skipped: ferretdb_restart_mid_run_loses_nothing starts a FerretDB of its own and \
             runs in the FerretDB pass (TASKPOOL_TEST_MONGODB_SERVER=ferretdb; this is {kind})"
        );
        return;
    }
    let mut server = FerretDb::start();
    let url = server.url("restart");
    eprintln!("[ferretdb] restart test on {url}");
    let mut fx = WorkerFixture::at(&url);
    fx.log(COMMIT_LOG);
    let clock = Instant::now();
    let defs: Vec<Value> = (0..TASKS).map(|i| json!({"i": i})).collect();
    fx.create(defs, 100);
    let max_poll = format!("{}ms", MAX_POLL.as_millis());
    let mut workers: Vec<(String, Child)> = (0..1)
        .map(|n| {
            let name = format!("w{n}");
            let args = [
                "--json",
                "worker",
                "--concurrency",
                "3",
                "--lease",
                "20s",
                "--max-poll",
                &max_poll,
                "--",
                "sh",
                "-c",
                "cat && sleep 0.05",
            ];
            let child = fx.spawn(&name, &args);
            (name, child)
        })
        .collect();
    crate::support::eventually("a fifth of the tasks done", || {
        fx.stat().done as usize >= TASKS / 5
    });
    let done_before = fx.stat().done;
    assert!(
        (done_before as usize) < TASKS,
        "the workers finished before the server could be killed"
    );

    server.kill();
    let killed = Instant::now();
    // A command meanwhile: one line naming the server and the bound, exit 4.
    let out = taskpool_process()
        .args(["--store", &url, "-t", crate::support::POOL, "stat"])
        .output()
        .expect("taskpool stat");
    let waited = killed.elapsed();
    assert_one_line_error(&out, 4);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("127.0.0.1:{}", server.port)) && stderr.contains("within 1s"),
        "{stderr}"
    );
    std::thread::sleep(DOWN);
    server.restart();
    let outage = killed.elapsed();

    for (name, child) in &mut workers {
        let status = wait_exit(child);
        assert!(status.success(), "{name}: {status}: {}", fx.stderr_of(name));
    }
    let tasks = fx.tasks();
    assert_eq!(tasks.len(), TASKS);
    let by_id: HashMap<TaskId, _> = tasks.iter().map(|t| (t.id, t)).collect();
    for task in &tasks {
        assert_eq!(task.status, Status::Done, "{}", task.id);
        let res = task.res.as_ref().unwrap();
        assert_eq!(res["id"], json!(task.id.to_string()));
        // The result of the attempt that held the lease last.
        assert_eq!(res["attempt"], json!(task.attempts), "task {}", task.id);
    }
    let mut acknowledged: HashMap<TaskId, &str> = HashMap::new();
    let mut claim_retries = Vec::new();
    let mut commit_retries = Vec::new();
    let mut reports = Vec::new();
    for (name, _) in &workers {
        let log = fx.stderr_of(name);
        for id in acknowledged_commits(&log) {
            assert_eq!(by_id[&id].status, Status::Done, "acknowledged {id} is lost");
            if let Some(first) = acknowledged.insert(id, name) {
                panic!("task {id} was acknowledged to {first} and to {name}");
            }
        }
        // Capped exponential backoff: the k-th claim failure in a row
        // (one outage: they are all in a row) waits 50 ms doubled k-1
        // times or more (idle polls double it too), never over the cap.
        let pauses = retries(&log, "claim");
        for (k, pause) in pauses.iter().enumerate() {
            let least = (Duration::from_millis(50) * 2u32.pow(k as u32)).min(MAX_POLL);
            assert!(
                least <= *pause && *pause <= MAX_POLL,
                "{name}: claim pauses {pauses:?}"
            );
        }
        // Commits cut by the outage are retried (200 ms doubling up to 5 s,
        // for at most one lease), not dropped.
        let commit_pauses = retries(&log, "commit");
        assert!(
            commit_pauses.iter().all(|p| *p <= Duration::from_secs(5)),
            "{name}: commit pauses {commit_pauses:?}"
        );
        claim_retries.push(pauses);
        commit_retries.push(commit_pauses);
        reports.push(serde_json::from_str::<Value>(&fx.stdout_of(name)).expect("report"));
    }
    assert!(
        claim_retries.iter().any(|r| r.len() >= 2),
        "the worker's claims did not see the outage: {claim_retries:?}"
    );
    for report in &reports {
        // Every claimed task was committed once: no commit was given up
        // (store error) and no lease was lost to the outage.
        assert_eq!(report["claimed"], report["committed"], "{report}");
        assert_eq!(report["store_errors"], json!(0), "{report}");
        assert_eq!(report["lease_lost"], json!(0), "{report}");
    }
    let committed: u64 = reports
        .iter()
        .map(|r| r["committed"].as_u64().unwrap())
        .sum();
    assert_eq!(committed as usize, acknowledged.len());
    eprintln!(
        "[ferretdb] restart test ({:?}): killed after {done_before} of {TASKS} done, `stat` failed \
         after {waited:?}, server back after {outage:?}; claim pauses {claim_retries:?}, commit pauses \
         {commit_retries:?}; {} commits acknowledged; reports {reports:?}",
        clock.elapsed(),
        acknowledged.len(),
    );
}
