//! Several `taskpool worker` processes on one MongoDB pool, on a server
//! whose single-document writes are atomic (mongo-java-server in CI; a real
//! MongoDB works too): draining the pool exactly once while workers are
//! SIGKILLed and restarted.

use std::collections::{HashMap, HashSet};
use std::process::Child;
use std::time::Instant;

use serde_json::{Value, json};
use taskpool::store::{Query, Status, Task, TaskId};

use crate::support::{WorkerFixture, owner_pid, send, wait_exit};

/// Tasks of the drain.
const TASKS: usize = 1000;

/// Workers running at any time.
const WORKERS: usize = 4;

/// SIGKILLs of workers holding tasks, spread over the run.
const KILLS: usize = 12;

/// Each task echoes its envelope (so the result names the attempt that
/// produced it), then holds its slot for 0.1 s, so that a kill finds
/// workers holding tasks.
const ECHO: [&str; 3] = ["sh", "-c", "cat && sleep 0.1"];

/// The lines of a worker's log (`TASKPOOL_LOG=…=info`) that acknowledge a
/// commit: the ids of the tasks whose commit the store acknowledged.
pub fn acknowledged_commits(log: &str) -> Vec<TaskId> {
    log.lines()
        .filter(|l| l.contains("task committed"))
        .map(|l| {
            let id = l
                .split_whitespace()
                .find_map(|w| w.strip_prefix("task="))
                .unwrap_or_else(|| panic!("no task= in {l:?}"));
            id.parse()
                .unwrap_or_else(|e| panic!("bad task id in {l:?}: {e}"))
        })
        .collect()
}

/// The log filter that makes workers log every acknowledged commit.
pub const COMMIT_LOG: &str = "warn,taskpool_pipeline::worker=info";

/// The running tasks whose lease a process `pid` holds.
fn held_by(tasks: &[Task], pid: u32) -> Vec<&Task> {
    tasks
        .iter()
        .filter(|t| {
            t.lease
                .as_ref()
                .is_some_and(|l| owner_pid(&l.owner) == Some(pid))
        })
        .collect()
}

fn start(fx: &WorkerFixture, started: &mut usize) -> (String, Child) {
    let name = format!("w{started}");
    *started += 1;
    let args = [
        "--json",
        "worker",
        "--follow",
        "--concurrency",
        "2",
        "--lease",
        "2s",
        "--max-poll",
        "100ms",
        "--",
        ECHO[0],
        ECHO[1],
        ECHO[2],
    ];
    let child = fx.spawn(&name, &args);
    (name, child)
}

/// 4 workers drain 1,000 tasks while 12 workers holding tasks are SIGKILLed
/// (a new worker starts after each kill): every task ends `done` with the
/// result of the attempt that held the lease last, every commit the store
/// acknowledged is there and no task was acknowledged twice, every orphaned
/// lease cost one more claim, and `stat` agrees with the tasks a query
/// returns.
#[test]
fn mongodb_killed_workers_drain_a_thousand_tasks_exactly_once() {
    let Some(mut fx) =
        WorkerFixture::atomic_mongodb("mongodb_killed_workers_drain_a_thousand_tasks_exactly_once")
    else {
        return;
    };
    fx.log(COMMIT_LOG);
    let clock = Instant::now();
    let defs: Vec<Value> = (0..TASKS).map(|i| json!({"i": i})).collect();
    let created: HashSet<TaskId> = fx.create(defs, 100).into_iter().collect();
    assert_eq!(created.len(), TASKS);
    let mut started = 0;
    let mut workers: Vec<(String, Child)> =
        (0..WORKERS).map(|_| start(&fx, &mut started)).collect();
    let mut kills = 0;
    let mut orphaned: HashSet<TaskId> = HashSet::new();
    let mut victim = 0usize;
    let mut ticks = 0u32;
    loop {
        ticks += 1;
        assert!(ticks < 12_000, "the drain did not finish in 10 minutes");
        std::thread::sleep(std::time::Duration::from_millis(50));
        let done = fx.stat().done as usize;
        if done == TASKS {
            break;
        }
        // Kill number k once k/16 of the tasks are done: spread over the run.
        if kills == KILLS || done < kills * TASKS / 16 {
            continue;
        }
        let running = fx.running();
        victim = (victim + 1) % WORKERS;
        let Some(slot) = (0..WORKERS)
            .map(|i| (victim + i) % WORKERS)
            .find(|&slot| !held_by(&running, workers[slot].1.id()).is_empty())
        else {
            continue;
        };
        let pid = workers[slot].1.id();
        send(&workers[slot].1, libc::SIGKILL);
        wait_exit(&mut workers[slot].1);
        // The dead worker's leases are final now.
        let held: Vec<TaskId> = held_by(&fx.running(), pid)
            .into_iter()
            .map(|t| t.id)
            .collect();
        if !held.is_empty() {
            kills += 1;
            orphaned.extend(held);
        }
        workers[slot] = start(&fx, &mut started);
    }
    for (_, child) in &workers {
        send(child, libc::SIGTERM);
    }
    for (name, child) in &mut workers {
        assert_eq!(wait_exit(child).code(), Some(130), "{}", fx.stderr_of(name));
    }
    assert_eq!(
        kills, KILLS,
        "only {kills} kills hit a worker holding tasks"
    );

    let tasks = fx.tasks();
    assert_eq!(tasks.len(), TASKS);
    let by_id: HashMap<TaskId, &Task> = tasks.iter().map(|t| (t.id, t)).collect();
    for task in &tasks {
        assert!(created.contains(&task.id));
        assert_eq!(task.status, Status::Done, "{}", task.id);
        assert!(task.lease.is_none(), "{}", task.id);
        let res = task.res.as_ref().unwrap();
        assert_eq!(res["id"], json!(task.id.to_string()));
        assert_eq!(res["def"], task.def);
        // The stored result was produced by the attempt that held the lease
        // last: no worker wrote after losing its lease.
        assert_eq!(res["attempt"], json!(task.attempts), "task {}", task.id);
    }
    // Every orphaned lease was taken over by a later claim.
    for id in &orphaned {
        assert!(
            by_id[id].attempts >= 2,
            "orphaned task {id} was not claimed again"
        );
    }
    let extra_claims: u32 = tasks.iter().map(|t| t.attempts - 1).sum();
    assert!(
        extra_claims as usize >= orphaned.len(),
        "{extra_claims} extra claims for {} orphaned leases",
        orphaned.len()
    );

    // Every acknowledged commit is in the store, and no task was
    // acknowledged twice (a commit after a lost lease would be).
    let mut acknowledged: HashMap<TaskId, String> = HashMap::new();
    for n in 0..started {
        let name = format!("w{n}");
        for id in acknowledged_commits(&fx.stderr_of(&name)) {
            if let Some(first) = acknowledged.insert(id, name.clone()) {
                panic!("task {id} was acknowledged to {first} and to {name}");
            }
            assert_eq!(by_id[&id].status, Status::Done);
        }
    }
    // A kill between a commit and its log line loses at most one line per
    // running task of the killed worker.
    assert!(
        acknowledged.len() >= TASKS - 2 * KILLS,
        "{} commits acknowledged in the logs",
        acknowledged.len()
    );

    // stat agrees with what a query returns, through the store and the CLI.
    let stat = fx.stat();
    let mut counted: HashMap<Status, u64> = HashMap::new();
    for task in &tasks {
        *counted.entry(task.status).or_default() += 1;
    }
    assert_eq!(stat.done, counted[&Status::Done]);
    assert_eq!(stat.total(), tasks.len() as u64);
    let done_only = fx.on(async |s| {
        s.stat(crate::support::POOL, &Query::status(Status::Done))
            .await
            .expect("stat")
    });
    assert_eq!(
        (done_only.done, done_only.total()),
        (TASKS as u64, TASKS as u64)
    );
    let cli_stat: Value = serde_json::from_str(&{
        let out = crate::support::taskpool_process()
            .args([
                "--store",
                &fx.url,
                "-t",
                crate::support::POOL,
                "--json",
                "stat",
            ])
            .output()
            .expect("taskpool stat");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    })
    .unwrap();
    assert_eq!(cli_stat["done"], json!(TASKS));
    assert_eq!(cli_stat["total"], json!(TASKS));
    eprintln!(
        "mongodb drain ({:?}): {kills} kills holding tasks ({} leases orphaned), {started} workers \
         started, {extra_claims} extra claims, {} commits acknowledged in the logs",
        clock.elapsed(),
        orphaned.len(),
        acknowledged.len()
    );
}
