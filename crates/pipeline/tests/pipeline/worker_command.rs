//! External-command task functions: the stdin/stdout/env protocol, failures,
//! timeouts, signal forwarding.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use task_store::{ErrorKind, Status, TaskStore};
use taskpool_pipeline::worker::{CommandTask, Shutdown, Worker, WorkerConfig};

use crate::support::{POOL, config, create, eventually, memory_store, python};

async fn run_one(
    task_fn: CommandTask,
    def: serde_json::Value,
    max_attempts: u32,
) -> task_store::Task {
    let (store, _) = memory_store();
    let ids = create(&store, vec![def], max_attempts).await;
    let worker = Worker::new(store.clone(), config(), Arc::new(task_fn)).unwrap();
    worker.run(&Shutdown::new()).await.unwrap();
    store.get(POOL, ids[0]).await.unwrap()
}

const ECHO: &str = r#"
import json, os, sys
envelope = json.load(sys.stdin)
env = {k: os.environ.get(k) for k in ["TASKPOOL_TASK_ID", "TASKPOOL_POOL", "TASKPOOL_ATTEMPT"]}
art = os.environ["TASKPOOL_ARTIFACT_DIR"]
json.dump({"envelope": envelope, "env": env, "artifact_dir_empty": os.listdir(art) == []}, sys.stdout)
"#;

#[tokio::test]
async fn command_gets_the_envelope_and_environment_and_returns_its_stdout() {
    let task = run_one(python(ECHO), json!({"model": "lgb", "n": [1, 2]}), 3).await;
    assert_eq!(task.status, Status::Done);
    let id = task.id.to_string();
    assert_eq!(
        task.res,
        Some(json!({
            "envelope": {"id": id, "pool": POOL, "attempt": 1, "phase": "first",
                         "def": {"model": "lgb", "n": [1, 2]}},
            "env": {"TASKPOOL_TASK_ID": id, "TASKPOOL_POOL": POOL, "TASKPOOL_ATTEMPT": "1"},
            "artifact_dir_empty": true,
        }))
    );
}

#[tokio::test]
async fn command_exit_code_and_stderr_tail_are_recorded() {
    let script = r#"
import sys
for i in range(30):
    print(f"line {i}", file=sys.stderr)
sys.exit(3)
"#;
    let task = run_one(python(script).with_stderr_lines(5), json!({}), 2).await;
    assert_eq!(task.status, Status::Failed);
    assert_eq!(task.errors.len(), 2);
    let message = &task.errors[1].message;
    assert!(
        message.starts_with("command exited with code 3"),
        "{message}"
    );
    assert!(
        message.contains("line 25") && message.contains("line 29"),
        "{message}"
    );
    assert!(!message.contains("line 24"), "{message}");
}

#[tokio::test]
async fn command_stdout_must_be_one_json_value() {
    let task = run_one(python("print('{\"a\": 1} trailing')"), json!({}), 1).await;
    assert_eq!(task.status, Status::Failed);
    assert!(task.errors[0].message.contains("not one JSON value"));
    let task = run_one(python("pass"), json!({}), 1).await;
    assert_eq!(task.status, Status::Failed);
}

#[tokio::test]
async fn command_killed_by_a_signal_is_a_failure() {
    let script = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)";
    let task = run_one(python(script), json!({}), 1).await;
    assert_eq!(task.status, Status::Failed);
    assert!(task.errors[0].message.contains("killed by signal 9"));
}

/// Whether a process exists and is not a zombie.
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
    })
}

#[tokio::test]
async fn timeout_kills_the_command_and_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let script = r#"
import json, subprocess, sys, time
path = json.load(sys.stdin)["def"]["pids"]
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open(path, "w") as f:
    f.write(f"{child.pid}")
time.sleep(600)
"#;
    let command = python(script).with_timeout(Some(Duration::from_secs(3)));
    let (store, _) = memory_store();
    let ids = create(&store, vec![json!({"pids": pids})], 1).await;
    let worker = Worker::new(store.clone(), config(), Arc::new(command)).unwrap();
    worker.run(&Shutdown::new()).await.unwrap();
    let task = store.get(POOL, ids[0]).await.unwrap();
    assert_eq!(task.status, Status::Failed);
    assert!(task.errors[0].message.contains("timed out"));
    let grandchild: i32 = std::fs::read_to_string(&pids).unwrap().parse().unwrap();
    // The grandchild was killed with its group (a zombie at most until reaped).
    eventually(
        "the grandchild is gone",
        || async move { !alive(grandchild) },
    )
    .await;
}

#[tokio::test]
async fn shutdown_forwards_the_signal_and_hands_the_task_back() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("got-signal");
    let started = dir.path().join("started");
    let script = r#"
import json, signal, sys, time
d = json.load(sys.stdin)["def"]
def on_term(signum, frame):
    open(d["marker"], "w").write(str(signum))
    sys.exit(1)
signal.signal(signal.SIGTERM, on_term)
open(d["started"], "w").close()
time.sleep(600)
"#;
    let (store, _) = memory_store();
    let ids = create(
        &store,
        vec![json!({"marker": marker, "started": started})],
        3,
    )
    .await;
    let cfg = WorkerConfig {
        grace: Duration::from_secs(600),
        ..config()
    };
    let worker = Worker::new(store.clone(), cfg, Arc::new(python(script))).unwrap();
    let shutdown = Shutdown::new();
    let run = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { worker.run(&shutdown).await })
    };
    let started2 = started.clone();
    eventually("the command started", || {
        let started = started2.clone();
        async move { started.exists() }
    })
    .await;
    shutdown.request(Some(libc::SIGTERM));
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.handed_back, 1);
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        libc::SIGTERM.to_string()
    );
    let task = store.get(POOL, ids[0]).await.unwrap();
    assert_eq!((task.status, task.attempts), (Status::Waiting, 0));
    assert!(task.errors.is_empty());
}

#[tokio::test]
async fn command_that_cannot_start_stops_the_worker_without_counting_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("vanishing.sh");
    std::fs::write(&program, "#!/bin/sh\necho 1\n").unwrap();
    std::fs::set_permissions(
        &program,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let command = CommandTask::new(&program, Vec::<String>::new()).unwrap();
    std::fs::remove_file(&program).unwrap();
    let (store, _) = memory_store();
    let ids = create(&store, vec![json!({"a": 1}), json!({"a": 2})], 3).await;
    let worker = Worker::new(store.clone(), config(), Arc::new(command)).unwrap();
    let error = worker.run(&Shutdown::new()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    for id in ids {
        let task = store.get(POOL, id).await.unwrap();
        assert_eq!((task.status, task.attempts), (Status::Waiting, 0));
    }
}

#[tokio::test]
async fn commands_run_concurrently_up_to_the_limit() {
    let (store, _) = memory_store();
    create(&store, (0..8).map(|i| json!({"i": i})).collect(), 3).await;
    let cfg = WorkerConfig {
        concurrency: 4,
        ..config()
    };
    let worker = Worker::new(store.clone(), cfg, Arc::new(python(ECHO))).unwrap();
    let report = worker.run(&Shutdown::new()).await.unwrap();
    assert_eq!(report.committed, 8);
    let stat = store.stat(POOL, &task_store::Query::All).await.unwrap();
    assert_eq!(stat.done, 8);
}
