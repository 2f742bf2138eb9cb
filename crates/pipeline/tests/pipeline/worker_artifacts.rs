//! Artifact directories become records: commands and closures, experiments,
//! metrics, lost leases, failures, in-process and store trainers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use task_store::{
    ClaimParams, ErrorKind, ManualClock, MemoryStore, Record, RecordFilter, RecordStatus,
    RecordStore, Status, TaskStore, Timestamp,
};
use taskpool_pipeline::trainer::{
    DelayTrainerR, StoreTrainerOptions, Trainer, TrainerR, TrainerRM,
};
use taskpool_pipeline::worker::{
    Backoff, Phase, Shutdown, TaskFn, TaskInput, WaitOptions, Worker, WorkerConfig, WorkerReport,
    blocking, from_async,
};
use tokio::sync::Notify;

use crate::support::{POOL, config, create, python};

/// A MemoryStore seen as both a task store and a record store.
struct Stores {
    tasks: Arc<dyn TaskStore>,
    records: Arc<dyn RecordStore>,
    clock: ManualClock,
}

fn stores() -> Stores {
    let clock = ManualClock::new(Timestamp::from_millis(1_800_000_000_000));
    let store = Arc::new(MemoryStore::with_clock(Arc::new(clock.clone())));
    Stores {
        tasks: store.clone(),
        records: store,
        clock,
    }
}

impl Stores {
    async fn work(&self, cfg: WorkerConfig, task_fn: Arc<dyn TaskFn>) -> WorkerReport {
        Worker::new(self.tasks.clone(), cfg, task_fn)
            .unwrap()
            .with_records(self.records.clone())
            .run(&Shutdown::new())
            .await
            .unwrap()
    }

    async fn records_of(&self, experiment: &str) -> Vec<Record> {
        self.records
            .list_records(experiment, &RecordFilter::all())
            .await
            .unwrap()
    }

    async fn artifacts(&self, record: &Record) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        for info in self
            .records
            .list_artifacts(&record.experiment, record.id)
            .await
            .unwrap()
        {
            let bytes = self
                .records
                .get_artifact(&record.experiment, record.id, &info.name)
                .await
                .unwrap();
            assert_eq!(info.len, bytes.len() as u64);
            out.insert(info.name, bytes);
        }
        out
    }
}

/// Writes `pred.bin` (every byte value) and `report/summary.txt`, then
/// prints a result with metrics.
const TWO_FILES: &str = r#"
import json, os, sys
task = json.load(sys.stdin)
art = os.environ["TASKPOOL_ARTIFACT_DIR"]
with open(os.path.join(art, "pred.bin"), "wb") as f:
    f.write(bytes(range(256)) * 3)
os.mkdir(os.path.join(art, "report"))
with open(os.path.join(art, "report", "summary.txt"), "w") as f:
    f.write("alpha=%s\n" % task["def"]["model"]["alpha"])
json.dump({"metrics": {"ic": 0.125, "rows": 40, "label": "not a number"}, "ok": True}, sys.stdout)
"#;

#[tokio::test]
async fn run_stores_command_artifacts_as_a_finished_record() {
    let s = stores();
    let def = json!({"experiment": "exp_a", "model": {"alpha": 0.5, "class": "ridge"}});
    let ids = create(&s.tasks, vec![def.clone()], 3).await;
    let report = s.work(config(), Arc::new(python(TWO_FILES))).await;
    assert_eq!(report.committed, 1);
    let task = s.tasks.get(POOL, ids[0]).await.unwrap();
    assert_eq!(task.status, Status::Done);
    assert_eq!(s.records.experiments().await.unwrap(), ["exp_a"]);
    let records = s.records_of("exp_a").await;
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(
        (r.pool.as_deref(), r.task_id, &r.task),
        (Some(POOL), Some(ids[0]), &def)
    );
    assert_eq!(r.status, RecordStatus::Finished);
    assert!(r.finished_at.is_some());
    assert_eq!(
        r.params,
        BTreeMap::from([
            ("experiment".to_string(), json!("exp_a")),
            ("model.alpha".to_string(), json!(0.5)),
            ("model.class".to_string(), json!("ridge")),
        ])
    );
    assert_eq!(
        r.metrics,
        BTreeMap::from([("ic".to_string(), 0.125), ("rows".to_string(), 40.0)])
    );
    assert_eq!(
        r.tags,
        BTreeMap::from([("phase".to_string(), "first".to_string())])
    );
    let pred: Vec<u8> = (0..=255u8).cycle().take(768).collect();
    assert_eq!(
        s.artifacts(r).await,
        BTreeMap::from([
            ("pred.bin".to_string(), pred),
            ("report/summary.txt".to_string(), b"alpha=0.5\n".to_vec()),
        ])
    );
}

#[tokio::test]
async fn run_stores_closure_artifacts_under_the_pool_name() {
    let s = stores();
    let ids = create(&s.tasks, vec![json!({"i": 7})], 3).await;
    let task_fn = blocking(|input: TaskInput| {
        std::fs::write(input.artifact_dir.join("model.txt"), b"weights")
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(json!({"metrics": {"mse": 1.5}}))
    });
    s.work(config(), task_fn).await;
    let records = s.records_of(POOL).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].task_id, Some(ids[0]));
    assert_eq!(records[0].metrics["mse"], 1.5);
    assert_eq!(
        s.artifacts(&records[0]).await,
        BTreeMap::from([("model.txt".to_string(), b"weights".to_vec())])
    );
}

#[tokio::test]
async fn run_without_artifact_files_stores_no_record() {
    let s = stores();
    create(&s.tasks, vec![json!({"i": 1})], 3).await;
    let task_fn = blocking(|input: TaskInput| {
        std::fs::create_dir(input.artifact_dir.join("empty")).map_err(|e| e.to_string())?;
        Ok::<_, String>(json!({"metrics": {"ic": 0.1}}))
    });
    let report = s.work(config(), task_fn).await;
    assert_eq!(report.committed, 1);
    assert!(s.records.experiments().await.unwrap().is_empty());
}

#[tokio::test]
async fn run_of_a_failing_command_stores_no_record() {
    let s = stores();
    let ids = create(&s.tasks, vec![json!({"i": 1})], 2).await;
    let script = r#"
import os, sys
art = os.environ["TASKPOOL_ARTIFACT_DIR"]
open(os.path.join(art, "half.bin"), "wb").write(b"partial")
sys.exit(1)
"#;
    let report = s.work(config(), Arc::new(python(script))).await;
    assert_eq!((report.committed, report.failed), (0, 1));
    assert_eq!(
        s.tasks.get(POOL, ids[0]).await.unwrap().status,
        Status::Failed
    );
    assert!(s.records.experiments().await.unwrap().is_empty());
}

#[tokio::test]
async fn commit_after_the_lease_was_lost_deletes_the_record() {
    let s = stores();
    let ids = create(&s.tasks, vec![json!({"i": 1})], 5).await;
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let task_fn = {
        let (started, release) = (started.clone(), release.clone());
        from_async(move |input: TaskInput| {
            let (started, release) = (started.clone(), release.clone());
            async move {
                std::fs::write(input.artifact_dir.join("late.bin"), b"late")
                    .map_err(|e| e.to_string())?;
                started.notify_one();
                release.notified().await;
                Ok::<_, String>(json!("late result"))
            }
        })
    };
    // A lease of an hour: no heartbeat fires during the test.
    let cfg = WorkerConfig {
        lease: Duration::from_secs(3600),
        ..config()
    };
    let worker = Worker::new(s.tasks.clone(), cfg, task_fn)
        .unwrap()
        .with_records(s.records.clone());
    let run = tokio::spawn(async move { worker.run(&Shutdown::new()).await });
    started.notified().await;
    s.clock.advance(Duration::from_secs(7200));
    let reclaimed = s
        .tasks
        .claim(
            POOL,
            ClaimParams::new("other-worker", Duration::from_secs(60)),
        )
        .await
        .unwrap();
    assert_eq!(reclaimed.len(), 1);
    release.notify_one();
    let report = run.await.unwrap().unwrap();
    assert_eq!((report.lease_lost, report.committed), (1, 0));
    let task = s.tasks.get(POOL, ids[0]).await.unwrap();
    assert_eq!((task.status, task.res), (Status::Running, None));
    assert!(s.records.experiments().await.unwrap().is_empty());
}

#[tokio::test]
async fn run_that_cannot_store_its_record_fails_the_attempt() {
    let s = stores();
    let ids = create(
        &s.tasks,
        vec![json!({"experiment": "not a name", "i": 1})],
        2,
    )
    .await;
    let task_fn = blocking(|input: TaskInput| {
        std::fs::write(input.artifact_dir.join("a.txt"), b"a").map_err(|e| e.to_string())?;
        Ok::<_, String>(json!(1))
    });
    let report = s.work(config(), task_fn).await;
    assert_eq!((report.committed, report.retried, report.failed), (0, 1, 1));
    let task = s.tasks.get(POOL, ids[0]).await.unwrap();
    assert_eq!((task.status, task.errors.len()), (Status::Failed, 2));
    assert!(s.records.experiments().await.unwrap().is_empty());
}

#[tokio::test]
async fn run_rejects_a_symlink_escaping_the_artifact_directory() {
    let s = stores();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, b"do not store").unwrap();
    let ids = create(&s.tasks, vec![json!({"i": 1})], 1).await;
    let script = format!(
        r#"
import os
art = os.environ["TASKPOOL_ARTIFACT_DIR"]
open(os.path.join(art, "ok.txt"), "w").write("fine")
os.symlink({secret:?}, os.path.join(art, "leak.txt"))
print("1")
"#,
        secret = secret.to_str().unwrap()
    );
    let report = s.work(config(), Arc::new(python(&script))).await;
    assert_eq!((report.committed, report.failed), (0, 1));
    assert_eq!(
        s.tasks.get(POOL, ids[0]).await.unwrap().status,
        Status::Failed
    );
    assert!(s.records.experiments().await.unwrap().is_empty());
}

#[tokio::test]
async fn run_without_a_record_store_discards_the_files() {
    let s = stores();
    create(&s.tasks, vec![json!({"model": {"alpha": 1}})], 3).await;
    let report = Worker::new(s.tasks.clone(), config(), Arc::new(python(TWO_FILES)))
        .unwrap()
        .run(&Shutdown::new())
        .await
        .unwrap();
    assert_eq!(report.committed, 1);
    assert!(s.records.experiments().await.unwrap().is_empty());
}

#[tokio::test]
async fn second_phase_records_are_tagged_and_keep_the_definition() {
    let s = stores();
    let def = json!({"i": 3});
    let ids = create(&s.tasks, vec![def.clone()], 3).await;
    let first = WorkerConfig {
        after_status: Status::PartDone,
        ..config()
    };
    let begin = blocking(|input: TaskInput| Ok::<_, String>(json!({"stage1": input.payload["i"]})));
    s.work(first, begin).await;
    assert!(s.records.experiments().await.unwrap().is_empty());
    let second = WorkerConfig {
        phase: Phase::Second,
        ..config()
    };
    let end = blocking(|input: TaskInput| {
        std::fs::write(
            input.artifact_dir.join("final.txt"),
            input.payload.to_string(),
        )
        .map_err(|e| e.to_string())?;
        Ok::<_, String>(json!("done"))
    });
    s.work(second, end).await;
    let records = s.records_of(POOL).await;
    assert_eq!(records.len(), 1);
    assert_eq!((&records[0].task, records[0].task_id), (&def, Some(ids[0])));
    assert_eq!(records[0].tags["phase"], "second");
    assert_eq!(
        s.artifacts(&records[0]).await["final.txt"],
        br#"{"stage1":3}"#.to_vec()
    );
}

fn write_named_file() -> Arc<dyn TaskFn> {
    blocking(|input: TaskInput| {
        let name = input.payload["file"]
            .as_str()
            .unwrap_or("out.txt")
            .to_string();
        std::fs::write(input.artifact_dir.join(name), input.phase.as_str())
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(json!({"metrics": {"phase_len": input.phase.as_str().len()}}))
    })
}

#[tokio::test]
async fn trainer_r_with_records_stores_one_record_per_task() {
    let s = stores();
    let trainer = TrainerR::new(write_named_file())
        .with_records(s.records.clone(), "in_process")
        .unwrap();
    let defs = vec![
        json!({"file": "a.txt"}),
        json!({"file": "b.txt", "experiment": "named"}),
    ];
    trainer.train_all(defs.clone()).await.unwrap();
    let default = s.records_of("in_process").await;
    assert_eq!(default.len(), 1);
    assert_eq!(
        (&default[0].task, default[0].task_id, &default[0].pool),
        (&defs[0], None, &None)
    );
    assert_eq!(default[0].metrics["phase_len"], 5.0);
    assert_eq!(
        s.artifacts(&default[0]).await,
        BTreeMap::from([("a.txt".to_string(), b"first".to_vec())])
    );
    let named = s.records_of("named").await;
    assert_eq!(named.len(), 1);
    assert_eq!(s.artifacts(&named[0]).await["b.txt"], b"first".to_vec());
}

#[tokio::test]
async fn delay_trainer_r_with_records_stores_each_phase() {
    let s = stores();
    let trainer = DelayTrainerR::new(write_named_file(), write_named_file())
        .with_records(s.records.clone(), "delayed")
        .unwrap();
    trainer
        .train_all(vec![json!({"file": "x.txt"})])
        .await
        .unwrap();
    let records = s.records_of("delayed").await;
    let phases: Vec<&str> = records.iter().map(|r| r.tags["phase"].as_str()).collect();
    assert_eq!(phases, ["first", "second"]);
    // The second phase gets the first one's result, without "file".
    assert_eq!(
        s.artifacts(&records[1]).await["out.txt"],
        b"second".to_vec()
    );
}

#[tokio::test]
async fn trainer_r_with_records_rejects_a_bad_experiment_name() {
    let s = stores();
    let error = TrainerR::new(write_named_file())
        .with_records(s.records.clone(), "no spaces")
        .err()
        .unwrap();
    assert_eq!(error.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn trainer_rm_with_records_stores_records_of_its_tasks() {
    let s = stores();
    let options = StoreTrainerOptions {
        backoff: Backoff {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(20),
        },
        wait: WaitOptions {
            poll: Duration::from_millis(10),
            clock: Arc::new(s.clock.clone()),
            ..WaitOptions::default()
        },
        ..StoreTrainerOptions::default()
    };
    let trainer = TrainerRM::new(s.tasks.clone(), POOL, write_named_file(), options)
        .with_records(s.records.clone());
    let trained = trainer
        .train(vec![json!({"file": "p.txt"}), json!({"file": "q.txt"})])
        .await
        .unwrap();
    let records = s.records_of(POOL).await;
    let mut by_task: Vec<(Option<_>, Value)> = records
        .iter()
        .map(|r| (r.task_id, r.task.clone()))
        .collect();
    by_task.sort_by_key(|(id, _)| *id);
    let mut want: Vec<(Option<_>, Value)> = trained.iter().map(|t| (t.id, t.def.clone())).collect();
    want.sort_by_key(|(id, _)| *id);
    assert_eq!(by_task, want);
}
