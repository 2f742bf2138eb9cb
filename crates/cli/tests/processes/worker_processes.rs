//! Several `taskpool worker` processes on one SQLite pool: draining a pool
//! exactly once, and surviving SIGKILLed and stalled workers.

use std::collections::{HashMap, HashSet};
use std::process::Child;
use std::time::Instant;

use serde_json::{Value, json};
use taskpool::store::{Status, Task, TaskId, Timestamp};

use crate::support::{WorkerFixture, owner_pid, send, wait_exit};

/// 4 workers, 1,000 tasks: every task is done once, on its first attempt.
#[test]
fn four_workers_drain_a_thousand_tasks_exactly_once() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    let clock = Instant::now();
    let ids = fx.create((0..1000).map(|i| json!({"i": i})).collect(), 3);
    let mut workers: Vec<Child> = (0..4)
        .map(|n| {
            let name = format!("w{n}");
            fx.spawn(
                &name,
                &["--json", "worker", "--concurrency", "2", "--", "cat"],
            )
        })
        .collect();
    for (n, worker) in workers.iter_mut().enumerate() {
        assert!(
            wait_exit(worker).success(),
            "{}",
            fx.stderr_of(&format!("w{n}"))
        );
    }
    let reports: Vec<Value> = (0..4)
        .map(|n| serde_json::from_str(&fx.stdout_of(&format!("w{n}"))).unwrap())
        .collect();
    let total = |field: &str| {
        reports
            .iter()
            .map(|r| r[field].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!((total("claimed"), total("committed")), (1000, 1000));
    assert_eq!(
        total("retried") + total("failed") + total("lease_lost") + total("handed_back"),
        0
    );
    let tasks = fx.tasks();
    assert_eq!(tasks.len(), 1000);
    let created: HashSet<TaskId> = ids.into_iter().collect();
    for task in tasks {
        assert!(created.contains(&task.id));
        assert_eq!(
            (task.status, task.attempts),
            (Status::Done, 1),
            "{}",
            task.id
        );
        // `cat` echoes the envelope: the result was produced for this task's only attempt.
        let res = task.res.unwrap();
        assert_eq!(
            (res["id"].as_str(), res["attempt"].as_u64()),
            (Some(task.id.to_string().as_str()), Some(1))
        );
        assert_eq!(res["def"], task.def);
        assert!(task.errors.is_empty());
    }
    eprintln!("drain test: 4 workers, 1000 tasks, {:?}", clock.elapsed());
}

/// Each task echoes its envelope (so the result names the attempt that
/// produced it), then holds its slot for 0.3 s. A shell is light enough to
/// keep the CPU free for the workers on a small machine.
const SLOW_ECHO: [&str; 3] = ["sh", "-c", "cat && sleep 0.3"];

/// Ticks (50 ms) after which a stalled worker is resumed even if nobody took
/// its tasks over (it was stopped while holding the database's write lock).
const STALL_GIVE_UP_TICKS: u32 = 240;

/// The lease of a killed worker on one task, until someone reclaims it.
struct Orphan {
    id: TaskId,
    token: String,
    expires_at: Timestamp,
}

/// A worker stopped with SIGSTOP until its tasks were reclaimed.
struct Stalled {
    slot: usize,
    held: Vec<(TaskId, String)>,
    since_tick: u32,
}

struct Pack<'a> {
    fx: &'a WorkerFixture,
    workers: Vec<(String, Child)>,
    started: usize,
}

impl Pack<'_> {
    fn start(&mut self, slot: usize) {
        let name = format!("crash{}", self.started);
        self.started += 1;
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
            "--grace",
            "30s",
            "--",
            SLOW_ECHO[0],
            SLOW_ECHO[1],
            SLOW_ECHO[2],
        ];
        let child = self.fx.spawn(&name, &args);
        if slot == self.workers.len() {
            self.workers.push((name, child));
        } else {
            self.workers[slot] = (name, child);
        }
    }

    fn pid(&self, slot: usize) -> u32 {
        self.workers[slot].1.id()
    }
}

fn held_by(tasks: &[Task], pid: u32) -> Vec<&Task> {
    tasks
        .iter()
        .filter(|t| t.status == Status::Running)
        .filter(|t| {
            t.lease
                .as_ref()
                .is_some_and(|l| owner_pid(&l.owner) == Some(pid))
        })
        .collect()
}

/// Tasks of the crash test.
const TASKS: usize = 400;

/// ≥ 20 SIGKILLs of workers holding tasks, plus workers stalled (SIGSTOP)
/// past their lease and resumed: every task ends done, every result comes
/// from the attempt that held the lease last, and orphaned tasks are
/// reclaimed within lease expiry + 1 s (store timestamps).
#[test]
fn killed_and_stalled_workers_lose_nothing_and_their_tasks_are_reclaimed() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    let clock = Instant::now();
    let defs: Vec<Value> = (0..TASKS).map(|i| json!({"i": i})).collect();
    fx.create(defs, 1000);
    let mut pack = Pack {
        fx: &fx,
        workers: Vec::new(),
        started: 0,
    };
    for slot in 0..4 {
        pack.start(slot);
    }
    let mut rng = 0x9e37_79b9_u64;
    let mut next = move |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n as u64) as usize
    };
    let mut kills_holding = 0;
    let mut orphans: Vec<Orphan> = Vec::new();
    let mut orphaned_leases = 0;
    let mut reclaim_delays_ms: Vec<i64> = Vec::new();
    let mut stalled: Option<Stalled> = None;
    let mut stalls_done = 0;
    let mut resumed = Vec::new();
    let mut ticks = 0u32;
    loop {
        ticks += 1;
        assert!(ticks < 60_000, "the crash test did not converge");
        std::thread::sleep(std::time::Duration::from_millis(50));
        // Only running tasks and the tasks being watched are read, to keep the
        // monitor's load on the shared database small.
        let tasks = fx.running();
        let watched: Vec<TaskId> = orphans
            .iter()
            .map(|o| o.id)
            .chain(stalled.iter().flat_map(|s| s.held.iter().map(|h| h.0)))
            .collect();
        let by_id: HashMap<TaskId, Task> = fx
            .tasks_by_id(&watched)
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
        // A new claim replaced an orphaned lease: how long after its expiry?
        orphans.retain(|o| {
            let task = &by_id[&o.id];
            let same_lease = task.lease.as_ref().is_some_and(|l| l.token == o.token);
            if same_lease {
                return true;
            }
            let started = task.started_at.expect("reclaimed tasks were claimed");
            reclaim_delays_ms.push(started.as_millis() - o.expires_at.as_millis());
            false
        });
        // A stalled worker whose every task was taken over is resumed.
        if let Some(s) = &stalled {
            let taken_over = s
                .held
                .iter()
                .all(|(id, token)| by_id[id].lease.as_ref().is_none_or(|l| &l.token != token));
            if taken_over {
                send(&pack.workers[s.slot].1, libc::SIGCONT);
                resumed.push(pack.workers[s.slot].0.clone());
                stalls_done += 1;
                stalled = None;
            } else if ticks - s.since_tick > STALL_GIVE_UP_TICKS {
                // Stopped while holding SQLite's write lock: nobody can take over.
                send(&pack.workers[s.slot].1, libc::SIGCONT);
                stalled = None;
            }
        }
        if fx.stat().done == TASKS as u64 {
            break;
        }
        let busy: Vec<usize> = (0..pack.workers.len())
            .filter(|&slot| stalled.as_ref().is_none_or(|s| s.slot != slot))
            .filter(|&slot| !held_by(&tasks, pack.pid(slot)).is_empty())
            .collect();
        if busy.is_empty() {
            continue;
        }
        let slot = busy[next(busy.len())];
        if kills_holding < 24 && ticks.is_multiple_of(5) {
            let pid = pack.pid(slot);
            send(&pack.workers[slot].1, libc::SIGKILL);
            wait_exit(&mut pack.workers[slot].1);
            // The dead worker's leases are final now.
            let after = fx.running();
            let held = held_by(&after, pid);
            if !held.is_empty() {
                kills_holding += 1;
            }
            for task in held {
                orphaned_leases += 1;
                let lease = task.lease.as_ref().unwrap();
                orphans.push(Orphan {
                    id: task.id,
                    token: lease.token.clone(),
                    expires_at: lease.expires_at,
                });
            }
            pack.start(slot);
        } else if kills_holding >= 24
            && orphans.is_empty()
            && stalled.is_none()
            && stalls_done < 3
            && ticks % 5 == 3
        {
            send(&pack.workers[slot].1, libc::SIGSTOP);
            let after = fx.running();
            let held: Vec<(TaskId, String)> = held_by(&after, pack.pid(slot))
                .into_iter()
                .map(|t| (t.id, t.lease.as_ref().unwrap().token.clone()))
                .collect();
            if held.is_empty() {
                send(&pack.workers[slot].1, libc::SIGCONT);
            } else {
                stalled = Some(Stalled {
                    slot,
                    held,
                    since_tick: ticks,
                });
            }
        }
    }
    for (_, child) in &pack.workers {
        send(child, libc::SIGTERM);
    }
    for (name, child) in &mut pack.workers {
        // Stopped by a signal: exit 130 (issue 18).
        assert_eq!(wait_exit(child).code(), Some(130), "{}", fx.stderr_of(name));
    }

    assert!(
        kills_holding >= 20,
        "only {kills_holding} kills hit a worker holding tasks"
    );
    assert!(stalls_done >= 1, "no worker was stalled past its lease");
    assert!(orphans.is_empty());
    let tasks = fx.tasks();
    assert_eq!(tasks.len(), TASKS);
    for task in &tasks {
        assert_eq!(task.status, Status::Done);
        let res = task.res.as_ref().unwrap();
        assert_eq!(res["id"], json!(task.id.to_string()));
        // The stored result was produced by the attempt that held the lease last:
        // no worker wrote after losing its lease.
        assert_eq!(res["attempt"], json!(task.attempts), "task {}", task.id);
    }
    // Every orphaned lease cost its task one more claim.
    let extra_claims: u32 = tasks.iter().map(|t| t.attempts - 1).sum();
    assert!(
        extra_claims as usize >= orphaned_leases,
        "{extra_claims} extra claims for {orphaned_leases} orphaned leases"
    );
    assert_eq!(reclaim_delays_ms.len(), orphaned_leases);
    assert!(!reclaim_delays_ms.is_empty());
    reclaim_delays_ms.sort_unstable();
    eprintln!("reclaim delays after expiry (ms): {reclaim_delays_ms:?}");
    for delay in &reclaim_delays_ms {
        assert!(
            (0..=1000).contains(delay),
            "reclaimed {delay} ms after the lease expired"
        );
    }
    for name in resumed {
        let report: Value = serde_json::from_str(&fx.stdout_of(&name)).unwrap();
        assert!(
            report["lease_lost"].as_u64().unwrap() >= 1,
            "{name}: {report}"
        );
    }
    eprintln!(
        "crash test ({:?}): {kills_holding} kills holding tasks ({orphaned_leases} leases orphaned), {} workers \
         started, {stalls_done} stalls, {extra_claims} extra claims, reclaim delays after expiry (ms): \
         min {} max {}",
        clock.elapsed(),
        pack.started,
        reclaim_delays_ms.iter().min().unwrap(),
        reclaim_delays_ms.iter().max().unwrap(),
    );
}
