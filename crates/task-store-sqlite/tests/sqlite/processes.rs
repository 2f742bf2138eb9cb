//! Several OS processes on one database file.
//!
//! The children are this test binary itself: the parent re-executes it with
//! `--ignored --exact processes::child_worker` and the environment variable
//! [`CHILD_VAR`] describing the child's job. A child claims and commits
//! tasks until none is waiting or running. It keeps its own log file (one
//! per child process): `run <id>` before it "executes" a claimed task and
//! `ack <id>` after a commit returned `Ok`. So executions are counted
//! outside the store, and the parent knows exactly which commits were
//! acknowledged.
//!
//! Sizes: [`TASKS`] tasks drained by [`PROCESSES`] processes (the CI
//! figure of issue 20), and [`KILLS`] SIGKILLs of children draining
//! [`KILL_TASKS`]. Each test prints its wall time.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::json;
use task_store::{
    ClaimParams, CommitParams, CreateParams, ErrorKind, Query, Status, TaskId, TaskStore,
    TaskStoreExt,
};
use task_store_sqlite::{SqliteOptions, SqliteStore};

use crate::support::{open_file, system_clock, url};

/// The environment variable that turns this binary into a child worker.
const CHILD_VAR: &str = "TASKPOOL_SQLITE_TEST_CHILD";
const POOL: &str = "mp";

/// What a child does.
#[derive(Debug, Serialize, Deserialize)]
struct ChildJob {
    db: PathBuf,
    log: PathBuf,
    owner: String,
    lease_ms: u64,
}

/// Child process entry; does nothing unless started by a test of this file.
#[test]
#[ignore = "child process entry of the multi-process tests, run by them"]
fn child_worker() {
    let Ok(spec) = std::env::var(CHILD_VAR) else {
        return;
    };
    let job: ChildJob = serde_json::from_str(&spec).expect("a child job");
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(work(job));
}

async fn work(job: ChildJob) {
    let options = SqliteOptions {
        busy_timeout: Duration::from_secs(60),
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open(&url(&job.db), system_clock(), options)
        .await
        .expect("the child opens the store");
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&job.log)
        .expect("the child opens its log");
    loop {
        let mut claim = ClaimParams::new(&job.owner, Duration::from_millis(job.lease_ms));
        claim.n = 3;
        let tasks = store.claim(POOL, claim).await.expect("claim");
        if tasks.is_empty() {
            let stat = store.stat(POOL, &Query::All).await.expect("stat");
            if stat.waiting + stat.running == 0 {
                return;
            }
            // Tasks held by others, or by a killed child until its lease ends.
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        for task in tasks {
            // The execution, counted outside the store.
            writeln!(log, "run {}", task.id).expect("log the execution");
            let commit = CommitParams {
                id: task.id,
                token: task.lease.expect("a claimed task has a lease").token,
                result: json!({"owner": job.owner, "n": task.def["n"]}),
                status: Status::Done,
            };
            match store.commit(POOL, commit).await {
                Ok(()) => writeln!(log, "ack {}", task.id).expect("log the commit"),
                // The lease ran out and another child took the task over.
                Err(e) if e.kind() == ErrorKind::LeaseLost => {}
                Err(e) => panic!("commit failed: {e}"),
            }
        }
    }
}

/// The full name of [`child_worker`] in this binary (its module path
/// without the crate's name).
fn child_test_name() -> String {
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    format!("{module}::child_worker")
}

/// A running child and its log.
struct Worker {
    child: Child,
    log: PathBuf,
    owner: String,
}

fn spawn(dir: &Path, db: &Path, n: usize, lease_ms: u64) -> Worker {
    let owner = format!("child-{n}");
    let log = dir.join(format!("{owner}.log"));
    let job = ChildJob {
        db: db.to_path_buf(),
        log: log.clone(),
        owner: owner.clone(),
        lease_ms,
    };
    let child = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--ignored",
            "--exact",
            &child_test_name(),
            "--test-threads=1",
        ])
        .env(CHILD_VAR, serde_json::to_string(&job).expect("a job"))
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn a child");
    Worker { child, log, owner }
}

/// What the children's logs say happened.
#[derive(Default)]
struct Logs {
    /// Executions per task (`run` lines).
    runs: HashMap<TaskId, usize>,
    /// Acknowledged commits: task id → owner.
    acked: HashMap<TaskId, String>,
}

/// Read the logs of `workers` (log, owner), failing on any task whose
/// commit was acknowledged twice.
fn read_logs(workers: &[(PathBuf, String)]) -> Logs {
    let mut logs = Logs::default();
    for (log, owner) in workers {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        // A child killed in the middle of a write may leave a partial last
        // line: it was never complete, so it counts for nothing.
        for line in text.lines() {
            let (what, id) = line.split_once(' ').unwrap_or((line, ""));
            let Some(id) = (id.len() == 24)
                .then(|| id.parse::<TaskId>().ok())
                .flatten()
            else {
                continue;
            };
            match what {
                "run" => *logs.runs.entry(id).or_default() += 1,
                "ack" => {
                    if let Some(first) = logs.acked.insert(id, owner.clone()) {
                        panic!("task {id} committed twice: by {first} and {owner}");
                    }
                }
                _ => {}
            }
        }
    }
    logs
}

/// Create `n` tasks in one batch.
async fn create_tasks(db: &Path, n: usize, max_attempts: u32) -> Vec<TaskId> {
    let store = open_file(db, system_clock()).await;
    let mut params = CreateParams::new((0..n).map(|i| json!({"n": i})));
    params.max_attempts = max_attempts;
    let created = store.create(POOL, params).await.expect("create");
    created.iter().map(|c| c.id).collect()
}

fn wait_success(worker: &mut Worker) {
    let status = worker.child.wait().expect("wait for a child");
    assert!(status.success(), "{} failed: {status}", worker.owner);
}

/// `PRAGMA integrity_check` is ok and the per-status counts, kept by
/// triggers (also in the transactions of killed children), equal the tasks.
fn check_file(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let counts = |sql: &str| -> Vec<(String, i64)> {
        conn.prepare(sql)
            .unwrap()
            .query_map([POOL], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    assert_eq!(
        counts("SELECT status, n FROM task_counts WHERE pool = ?1 AND n != 0 ORDER BY status"),
        counts(
            "SELECT status, count(*) FROM tasks WHERE pool = ?1 GROUP BY status ORDER BY status"
        )
    );
}

/// Tasks in the drain test (issue 20's CI figure: 8 processes × 10,000).
const TASKS: usize = 80_000;
/// Child processes in both tests.
const PROCESSES: usize = 8;

#[tokio::test]
async fn multi_process_claims_commit_each_task_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let started = Instant::now();
    let ids: HashSet<TaskId> = create_tasks(&db, TASKS, 3).await.into_iter().collect();
    let created = started.elapsed();
    let mut workers: Vec<Worker> = (0..PROCESSES)
        .map(|n| spawn(dir.path(), &db, n, 60_000))
        .collect();
    for worker in &mut workers {
        wait_success(worker);
    }
    let drained = started.elapsed() - created;
    let logs = read_logs(
        &workers
            .iter()
            .map(|w| (w.log.clone(), w.owner.clone()))
            .collect::<Vec<_>>(),
    );
    assert_eq!(logs.acked.len(), TASKS);
    assert_eq!(logs.runs.len(), TASKS, "some tasks were never executed");
    if let Some((id, n)) = logs.runs.iter().find(|(_, n)| **n != 1) {
        panic!("task {id} was executed {n} times");
    }
    check_file(&db);

    let store = open_file(&db, system_clock()).await;
    let tasks = store.query_all(POOL, Query::All).await.unwrap();
    assert_eq!(tasks.len(), TASKS);
    for task in &tasks {
        assert!(ids.contains(&task.id));
        assert_eq!(task.status, Status::Done);
        assert_eq!(
            task.attempts, 1,
            "task {} was claimed more than once",
            task.id
        );
        let owner = &logs.acked[&task.id];
        assert_eq!(task.res.as_ref().unwrap()["owner"], json!(owner));
        assert_eq!(task.lease.as_ref().map(|l| &l.owner), None);
    }
    let mut per_owner: HashMap<&String, usize> = HashMap::new();
    for owner in logs.acked.values() {
        *per_owner.entry(owner).or_default() += 1;
    }
    eprintln!(
        "{TASKS} tasks, {PROCESSES} processes: created in {:.1} s, drained in {:.1} s \
         ({:.0} tasks/s); commits per process: {per_owner:?}",
        created.as_secs_f64(),
        drained.as_secs_f64(),
        TASKS as f64 / drained.as_secs_f64()
    );
}

const KILL_TASKS: usize = 20_000;
const KILLS: usize = 100;
/// Short enough that the tasks of a killed child are soon claimable again.
const KILL_LEASE_MS: u64 = 1_000;

#[tokio::test]
async fn kill_9_loses_no_acknowledged_commit() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let started = Instant::now();
    create_tasks(&db, KILL_TASKS, 1_000).await;
    let mut spawned = 0;
    let mut live: Vec<Worker> = Vec::new();
    let mut logs = Vec::new();
    for _ in 0..PROCESSES {
        live.push(spawn(dir.path(), &db, spawned, KILL_LEASE_MS));
        spawned += 1;
    }
    let mut kills = 0;
    while kills < KILLS {
        std::thread::sleep(Duration::from_millis(rand::random_range(5..40)));
        let victim = rand::random_range(0..live.len());
        let mut worker = live.swap_remove(victim);
        // Child::kill sends SIGKILL.
        worker.child.kill().expect("kill a child");
        let status = worker.child.wait().expect("reap a child");
        logs.push((worker.log.clone(), worker.owner.clone()));
        if status.success() {
            // It had finished: no work is left to interrupt.
            break;
        }
        assert_eq!(
            status.signal(),
            Some(9),
            "{} failed: {status}",
            worker.owner
        );
        kills += 1;
        live.push(spawn(dir.path(), &db, spawned, KILL_LEASE_MS));
        spawned += 1;
    }
    for worker in &mut live {
        wait_success(worker);
        logs.push((worker.log.clone(), worker.owner.clone()));
    }
    assert_eq!(
        kills, KILLS,
        "the children drained the pool before {KILLS} kills"
    );
    let logs = read_logs(&logs);
    check_file(&db);

    let store = open_file(&db, system_clock()).await;
    for (id, owner) in &logs.acked {
        let task = store.get(POOL, *id).await.unwrap();
        assert_eq!(
            task.status,
            Status::Done,
            "acknowledged commit of {id} lost"
        );
        assert_eq!(task.res.as_ref().unwrap()["owner"], json!(owner));
    }
    let stat = store.stat(POOL, &Query::All).await.unwrap();
    assert_eq!(stat.done, KILL_TASKS as u64);
    let tasks = store.query_all(POOL, Query::All).await.unwrap();
    let never_run = tasks
        .iter()
        .filter(|t| !logs.runs.contains_key(&t.id))
        .count();
    assert_eq!(never_run, 0, "tasks done without an execution");
    let more_than_once = logs.runs.values().filter(|n| **n > 1).count();
    eprintln!(
        "{kills} children killed, {spawned} started, {} acknowledged commits, {} done, \
         {more_than_once} tasks executed more than once (killed before their commit), {:.1} s",
        logs.acked.len(),
        stat.done,
        started.elapsed().as_secs_f64()
    );
}
