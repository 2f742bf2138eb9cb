//! Crash safety under `SIGKILL`.
//!
//! A child process (this test binary again, in child mode) runs several
//! workers that create, prioritize, claim, heartbeat, return and commit tasks
//! in one sled database, and append every acknowledged create and `done`
//! commit to a log, fsync'd, after the store call returned. After some
//! commits a worker also creates a record and puts an artifact of up to
//! 1.25 MiB (up to two chunks), sometimes replacing it: it logs its intent
//! (length and seed of the bytes) before each put and the acknowledgement
//! after. The parent kills the child with `SIGKILL` at random points, many
//! times, on the same database. After every kill it reopens the database and
//! checks that every logged create exists, every logged commit is `done` with
//! exactly its result, every artifact holds exactly its last acknowledged
//! bytes or the bytes of a put begun after it (never a mix, never missing
//! once acknowledged), `stat` (read from the pool's task counts) equals a
//! count of the records, and the integrity check (which compares the counts
//! with the claim index too) finds nothing.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Value, json};
use task_store::query::Query;
use task_store::{
    ClaimParams, CommitParams, CreateParams, ErrorKind, HeartbeatParams, NewRecord, RecordId,
    RecordStore, ReturnParams, Stat, Status, SystemClock, TaskId, TaskStore, TaskStoreExt,
};
use task_store_sled::SledStore;

use crate::support;

const TEST_NAME: &str = "crash::acknowledged_writes_survive_sigkill";
const CHILD_ENV: &str = "TASKPOOL_SLED_CRASH_CHILD";
/// Kills per run of the test; `TASKPOOL_SLED_CRASH_KILLS` overrides it.
const KILLS: usize = 30;
const POOL: &str = "crash";
const EXPERIMENT: &str = "crash";
/// Artifacts are up to this long: up to two chunks.
const MAX_ARTIFACT: usize = (5 << 20) / 4;
const WORKERS: u64 = 4;
/// Leases of killed children run out and their tasks are claimed again.
const LEASE: Duration = Duration::from_secs(1);
/// Turns a child that stopped making progress into a failure instead of a hang.
const HANG_GUARD: Duration = Duration::from_secs(120);

#[test]
fn acknowledged_writes_survive_sigkill() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let (dir, run) = spec.rsplit_once('|').expect("spec is DIR|RUN");
        run_child(Path::new(dir), run.parse().expect("run is a number"));
        return;
    }
    let dir = support::fresh_dir("crash");
    let log = dir.join("acks.log");
    let mut rng = rand::rng();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let kills = std::env::var("TASKPOOL_SLED_CRASH_KILLS").map_or(KILLS, |n| {
        n.parse().expect("TASKPOOL_SLED_CRASH_KILLS is a number")
    });
    let mut checked = Checked::default();
    for run in 0..kills {
        let target = commit_count(&log) + rng.random_range(1..=12);
        let child_log = File::create(dir.join(format!("child-{run}.log"))).unwrap();
        let mut child = support::child_of_this_test(
            TEST_NAME,
            (CHILD_ENV, &format!("{}|{run}", dir.display())),
        )
        .stdout(Stdio::from(child_log.try_clone().unwrap()))
        .stderr(Stdio::from(child_log))
        .spawn()
        .unwrap();
        let started = Instant::now();
        while commit_count(&log) < target {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "child {run} exited by itself ({status}): see {}",
                    dir.display()
                );
            }
            assert!(
                started.elapsed() < HANG_GUARD,
                "child {run} made no progress: see {}",
                dir.display()
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        // Move the kill point off the log boundary, into whatever the
        // workers are doing next.
        std::thread::sleep(Duration::from_millis(rng.random_range(0..20)));
        child.kill().unwrap();
        child.wait().unwrap();
        checked = runtime.block_on(verify(&dir, &log));
        checked.kills = run + 1;
    }
    println!(
        "crash test: {} SIGKILLs; after the last, {} acknowledged creates, {} acknowledged \
         commits and {} acknowledged artifacts ({} in-flight puts found whole, {} absent) checked, \
         all present; {} integrity and count checks passed ({} tasks, {} index entries, {} artifact chunks at the end)",
        checked.kills,
        checked.creates,
        checked.commits,
        checked.artifacts,
        checked.in_flight_whole,
        checked.in_flight_absent,
        checked.kills,
        checked.tasks,
        checked.index_entries,
        checked.artifact_chunks
    );
    assert!(checked.commits >= kills, "too few commits to mean anything");
    assert!(checked.artifacts > 0, "no artifact was acknowledged");
}

#[derive(Debug, Default)]
struct Checked {
    kills: usize,
    creates: usize,
    commits: usize,
    tasks: u64,
    index_entries: u64,
    artifacts: usize,
    in_flight_whole: usize,
    in_flight_absent: usize,
    artifact_chunks: u64,
}

/// One artifact's log: the bytes of its last acknowledged put, and of a put
/// begun after that (at most one: each artifact has one writer).
#[derive(Debug, Default)]
struct ArtifactLog {
    acked: Option<(usize, u8)>,
    pending: Option<(usize, u8)>,
}

/// Reopen the database and check every acknowledged write, and integrity.
async fn verify(dir: &Path, log: &Path) -> Checked {
    let store = support::try_open(db_dir(dir), Arc::new(SystemClock))
        .await
        .expect("reopens after a kill");
    let mut checked = Checked::default();
    let mut commits: HashMap<TaskId, Value> = HashMap::new();
    let mut artifacts: HashMap<RecordId, ArtifactLog> = HashMap::new();
    for line in ack_lines(log) {
        let mut parts = line.splitn(3, ' ');
        let (kind, id) = (parts.next().unwrap(), parts.next().unwrap());
        if let "I" | "A" = kind {
            let record: RecordId = id.parse().unwrap();
            let (len, seed) = parts.next().unwrap().split_once(' ').unwrap();
            let bytes = (len.parse().unwrap(), seed.parse().unwrap());
            let entry = artifacts.entry(record).or_default();
            if kind == "I" {
                entry.pending = Some(bytes);
            } else {
                assert_eq!(entry.pending.take(), Some(bytes), "ack without intent");
                entry.acked = Some(bytes);
            }
            continue;
        }
        let id: TaskId = id.parse().unwrap();
        match kind {
            "C" => {
                store
                    .get(POOL, id)
                    .await
                    .unwrap_or_else(|e| panic!("acknowledged create of {id} lost: {e}"));
                checked.creates += 1;
            }
            "D" => {
                let result = serde_json::from_str(parts.next().unwrap()).unwrap();
                assert!(commits.insert(id, result).is_none(), "{id} committed twice");
            }
            other => panic!("unknown log line kind {other}"),
        }
    }
    for (id, result) in &commits {
        let task = store.get(POOL, *id).await.unwrap();
        assert_eq!(
            task.status,
            Status::Done,
            "acknowledged commit of {id} lost"
        );
        assert_eq!(task.res.as_ref(), Some(result), "result of {id} changed");
    }
    checked.commits = commits.len();
    for (record, logged) in &artifacts {
        let stored = match store.get_artifact(EXPERIMENT, *record, "pred").await {
            Ok(data) => Some(data),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => panic!("artifact of record {record} unreadable: {e}"),
        };
        let is = |v: Option<(usize, u8)>| {
            v.is_some_and(|(len, seed)| {
                stored.as_ref() == Some(&support::artifact_bytes(len, seed))
            })
        };
        if is(logged.pending) {
            checked.in_flight_whole += 1;
        } else if is(logged.acked) {
            checked.artifacts += 1;
        } else if stored.is_none() && logged.acked.is_none() {
            checked.in_flight_absent += 1;
        } else {
            panic!(
                "artifact of record {record}: {:?} bytes stored, acknowledged {:?}, in flight {:?}",
                stored.map(|d| d.len()),
                logged.acked,
                logged.pending
            );
        }
    }
    let counted = store.stat(POOL, &Query::All).await.unwrap();
    let mut scanned = Stat::default();
    for task in store.query_all(POOL, Query::All).await.unwrap() {
        scanned.add(task.status, 1);
    }
    assert_eq!(counted, scanned, "task counts disagree with the records");
    let report = store.check_integrity().await.unwrap();
    assert!(report.is_consistent(), "{:#?}", report.problems);
    checked.tasks = report.tasks;
    checked.index_entries = report.index_entries;
    checked.artifact_chunks = report.artifact_chunks;
    checked
}

fn db_dir(dir: &Path) -> PathBuf {
    dir.join("db")
}

/// How many commits the log acknowledges.
fn commit_count(log: &Path) -> usize {
    ack_lines(log)
        .iter()
        .filter(|l| l.starts_with("D "))
        .count()
}

/// The complete lines of the log (a line cut by the kill is not an ack).
fn ack_lines(log: &Path) -> Vec<String> {
    let text = match std::fs::read_to_string(log) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("cannot read {}: {e}", log.display()),
    };
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete.lines().map(str::to_string).collect()
}

/// The child: workers run until the parent kills the process.
fn run_child(dir: &Path, run: usize) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = Arc::new(support::open(db_dir(dir)).await);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("acks.log"))
            .unwrap();
        let log = Arc::new(Mutex::new(log));
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| tokio::spawn(worker(store.clone(), log.clone(), run, w)))
            .collect();
        for w in workers {
            w.await.unwrap();
        }
    });
}

/// Append acknowledged writes to the log and make them durable.
fn ack(log: &Mutex<File>, lines: impl IntoIterator<Item = String>) {
    let mut text = String::new();
    for line in lines {
        text.push_str(&line);
        text.push('\n');
    }
    if text.is_empty() {
        return;
    }
    let mut file = log.lock().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file.sync_data().unwrap();
}

async fn worker(store: Arc<SledStore>, log: Arc<Mutex<File>>, run: usize, w: u64) {
    let owner = format!("run{run}-w{w}");
    for i in 0u64.. {
        let defs = (0..3).map(|j| json!({"run": run, "worker": w, "i": i, "j": j}));
        let mut params = CreateParams::new(defs);
        params.max_attempts = 1000;
        let created = store.create(POOL, params).await.unwrap();
        ack(
            &log,
            created
                .iter()
                .filter(|c| c.new)
                .map(|c| format!("C {}", c.id)),
        );
        if i % 5 == 0 {
            let mine = Query::parse(&json!({"filter.worker": w})).unwrap();
            store.prioritize(POOL, &mine, (i % 7) as i64).await.unwrap();
        }
        for from in [Status::Waiting, Status::PartDone] {
            let claim = ClaimParams {
                from,
                n: 3,
                ..ClaimParams::new(owner.clone(), LEASE)
            };
            for task in store.claim(POOL, claim).await.unwrap() {
                let token = task.lease.as_ref().unwrap().token.clone();
                let beat = HeartbeatParams {
                    id: task.id,
                    token: token.clone(),
                    lease: LEASE,
                };
                if lost(store.heartbeat(POOL, beat).await) {
                    continue;
                }
                if rand::rng().random_ratio(1, 6) {
                    let back = ReturnParams {
                        id: task.id,
                        token,
                        error: Some("flaky".into()),
                        status: None,
                    };
                    lost(store.return_task(POOL, back).await);
                    continue;
                }
                let two_phase = from == Status::Waiting && task.def["j"] == 0;
                let (status, result) = if two_phase {
                    (Status::PartDone, json!({"phase": 1}))
                } else {
                    (Status::Done, json!({"by": owner, "token": token}))
                };
                let commit = CommitParams {
                    id: task.id,
                    token,
                    result: result.clone(),
                    status,
                };
                if !lost(store.commit(POOL, commit).await) && status == Status::Done {
                    ack(&log, [format!("D {} {result}", task.id)]);
                    if rand::rng().random_ratio(1, 6) {
                        put_artifacts(&store, &log, &owner, task.id).await;
                    }
                }
            }
        }
    }
}

/// Create a record for `task` and put its `pred` artifact, sometimes twice,
/// logging each put's intent before it and its acknowledgement after.
async fn put_artifacts(store: &SledStore, log: &Mutex<File>, owner: &str, task: TaskId) {
    let record = store
        .create_record(
            EXPERIMENT,
            NewRecord {
                task_id: Some(task),
                tags: [("owner".to_string(), owner.to_string())].into(),
                ..NewRecord::default()
            },
        )
        .await
        .unwrap();
    let puts = rand::rng().random_range(1..=2);
    for _ in 0..puts {
        let (len, seed) = {
            let mut rng = rand::rng();
            (rng.random_range(0..=MAX_ARTIFACT), rng.random::<u8>())
        };
        let line = |kind: &str| format!("{kind} {} {len} {seed}", record.id);
        ack(log, [line("I")]);
        let data = support::artifact_bytes(len, seed);
        store
            .put_artifact(EXPERIMENT, record.id, "pred", data)
            .await
            .unwrap();
        ack(log, [line("A")]);
    }
}

/// Whether the call lost its lease (another worker reclaimed the task after
/// it expired); any other error fails the child.
fn lost<T>(result: task_store::Result<T>) -> bool {
    match result {
        Ok(_) => false,
        Err(e) if e.kind() == ErrorKind::LeaseLost => true,
        Err(e) => panic!("store call failed: {e}"),
    }
}
