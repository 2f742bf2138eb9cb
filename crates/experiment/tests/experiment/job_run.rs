//! `taskpool run`'s library side end to end, in process: generate, create,
//! train, collect, report, on the memory and SQLite stores.

use std::sync::{Arc, Mutex};

use task_store::{MemoryStore, Store};
use taskpool_experiment::data::FEATURE_NAMES;
use taskpool_experiment::job::market::{self, DataSpec};
use taskpool_experiment::job::{
    ENSEMBLE, JobConfig, JobError, JobEvent, JobPlan, JobSummary, RunOptions, WorkerCommand,
    no_events, open_store, run_job,
};
use taskpool_experiment::metrics::evaluate;
use taskpool_experiment::model::Ridge;
use taskpool_pipeline::worker::Shutdown;

fn config(dir: &std::path::Path, extra: &str) -> JobConfig {
    let text = format!(
        "
pool: lib_test
data: {{synthetic: {{instruments: 30, days: 260, start: 2020-01-01, seed: 3}}}}
models:
  - {{name: ridge, class: ridge, kwargs: {{alpha: 1.0}}}}
  - {{name: strong, class: ridge, kwargs: {{alpha: 10000.0}}}}
segments:
  train: [null, 2020-06-30]
  valid: [2020-07-01, 2020-08-31]
  test: [2020-09-01, null]
rolling: {{step: 30, trunc_days: 2}}
trainer: {{mode: in_process, workers: 2}}
report: {{dir: {}}}
{extra}",
        dir.join("report").display()
    );
    JobConfig::from_yaml(&text).unwrap()
}

fn options(fresh: bool) -> RunOptions {
    RunOptions {
        fresh,
        worker_command: None,
        events: no_events(),
        shutdown: Shutdown::new(),
    }
}

async fn run(plan: &JobPlan, store: Arc<dyn Store>, fresh: bool) -> JobSummary {
    run_job(plan, store, options(fresh)).await.unwrap()
}

/// Per-window test IC computed directly from the data and the model, without the job.
fn direct_test_ic(plan: &JobPlan, alpha: f64, segs: [[Option<jiff::civil::Date>; 2]; 3]) -> f64 {
    let data = market::load(&plan.data).unwrap();
    let rows = |[s, e]: [Option<jiff::civil::Date>; 2]| data.dataset.rows(s, e);
    let train = rows(segs[0]);
    let model = Ridge { alpha }
        .fit(train.features, FEATURE_NAMES.len(), &train.norm_labels)
        .unwrap();
    let test = rows(segs[2]);
    let pred = model.predict(test.features);
    evaluate(test.dates, &pred, &test.labels, &test.norm_labels)
        .1
        .ic
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_job_trains_collects_and_reports_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let plan = JobPlan::new(&config(dir.path(), ""), None).unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let summary = run(&plan, Arc::clone(&store), false).await;
    assert_eq!(summary.models, ["ridge", "strong"]);
    assert!(summary.tasks.total >= 6, "{:?}", summary.tasks);
    assert_eq!(summary.tasks.new, summary.tasks.total);
    assert_eq!(summary.windows.len(), summary.tasks.total);
    let names: Vec<&str> = summary.overall.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["ridge", "strong", ENSEMBLE]);
    for file in ["report.md", "summary.json", "ic.png", "signals.csv"] {
        assert!(summary.report_dir.join(file).is_file(), "{file}");
    }
    let signals = std::fs::read_to_string(summary.report_dir.join("signals.csv")).unwrap();
    assert!(
        signals.starts_with("date,instrument,score\n"),
        "{signals:.80}"
    );
    // Every test date (the data's last one has no label, so no IC day).
    assert_eq!(
        signals.lines().count(),
        1 + 30 * (summary.overall[2].days + 1)
    );
    let data = market::load(&plan.data).unwrap();
    for w in &summary.windows {
        let alpha = if w.model == "ridge" { 1.0 } else { 10000.0 };
        let task = summary
            .windows
            .iter()
            .find(|x| x.record == w.record)
            .unwrap();
        let record = store
            .get_record("lib_test", task.record.parse().unwrap())
            .await
            .unwrap();
        let def: taskpool_experiment::job::task_def::TaskDef =
            serde_json::from_value(record.task.clone()).unwrap();
        let s = def.dataset.kwargs.segments;
        let direct = direct_test_ic(&plan, alpha, [s.train, s.valid, s.test]);
        assert!(
            (w.metrics["test_ic"] - direct).abs() < 1e-12,
            "{} {}",
            w.metrics["test_ic"],
            direct
        );
        assert_eq!(data.calendar.len(), 260);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_job_again_trains_nothing_and_fresh_starts_over() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), "");
    config.store = Some(format!("sqlite://{}", dir.path().join("t.db").display()));
    let plan = JobPlan::new(&config, None).unwrap();
    let store = open_store(&plan).await.unwrap();
    let first = run(&plan, Arc::clone(&store), false).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let second = run_job(
        &plan,
        Arc::clone(&store),
        RunOptions {
            events: Arc::new(move |e| sink.lock().unwrap().push(e)),
            ..options(false)
        },
    )
    .await
    .unwrap();
    assert_eq!(second.tasks.reused, first.tasks.total);
    assert_eq!((second.tasks.new, second.tasks.trained), (0, 0));
    assert!(
        !seen
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, JobEvent::Training { .. }))
    );
    assert_eq!(second.windows, first.windows);
    assert_eq!(second.overall, first.overall);
    let fresh = run(&plan, Arc::clone(&store), true).await;
    assert_eq!(fresh.tasks.new, first.tasks.total);
    assert_eq!(
        store
            .list_records("lib_test", &Default::default())
            .await
            .unwrap()
            .len(),
        first.tasks.total
    );
    assert_eq!(fresh.overall, first.overall);
}

#[tokio::test]
async fn run_job_with_worker_processes_on_a_one_process_store_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let sled = format!("sled://{}", dir.path().join("sled").display());
    for url in ["memory://", sled.as_str()] {
        let mut config = config(dir.path(), "");
        config.trainer.mode = taskpool_experiment::job::config::TrainerMode::Workers;
        config.store = Some(url.to_string());
        let plan = JobPlan::new(&config, None).unwrap();
        let store = open_store(&plan).await.unwrap();
        let err = run_job(
            &plan,
            store,
            RunOptions {
                worker_command: Some(WorkerCommand {
                    program: "/bin/false".into(),
                    args: Vec::new(),
                }),
                ..options(false)
            },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, JobError::Config { ref key, .. } if key == "trainer.mode"),
            "{url}: {err}"
        );
    }
}

#[test]
fn data_spec_of_the_plan_is_synthetic() {
    let dir = tempfile::tempdir().unwrap();
    let plan = JobPlan::new(&config(dir.path(), ""), None).unwrap();
    assert!(matches!(
        plan.data,
        DataSpec::Synthetic {
            instruments: 30,
            ..
        }
    ));
}

/// A CSV file of 5 synthetic instruments over 120 weekdays of 2021; returns its text.
fn write_bars_csv(path: &std::path::Path) -> String {
    let bars = taskpool_experiment::data::synthetic::generate(
        &taskpool_experiment::data::synthetic::SyntheticSpec {
            instruments: 5,
            days: 120,
            start: jiff::civil::date(2021, 1, 1),
            seed: 2,
        },
    );
    let mut text = String::from("date,instrument,open,high,low,close,volume\n");
    for b in &bars.bars {
        text.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            b.date,
            bars.instruments[b.instrument as usize],
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume
        ));
    }
    std::fs::write(path, &text).unwrap();
    text
}

fn csv_plan(dir: &std::path::Path, train_end: &str) -> JobPlan {
    let yaml = format!(
        "
pool: csv
data: {{file: bars.csv}}
models: [{{name: ridge, class: ridge}}]
segments: {{train: [null, {train_end}], valid: [2021-04-01, 2021-04-30], test: [2021-05-03, null]}}
rolling: {{step: 20}}
trainer: {{mode: in_process, max_attempts: 1}}
report: {{dir: {}}}
",
        dir.join("report").display()
    );
    JobPlan::new(&JobConfig::from_yaml(&yaml).unwrap(), Some(dir)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_job_reports_failed_tasks_and_retries_them_next_time() {
    let dir = tempfile::tempdir().unwrap();
    write_bars_csv(&dir.path().join("bars.csv"));
    // The first window's train segment ends inside the features' warm-up:
    // it has no rows, so its task fails (later windows have rows).
    let plan = csv_plan(dir.path(), "2021-01-15");
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    for run in 0..2 {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let err = run_job(
            &plan,
            Arc::clone(&store),
            RunOptions {
                events: Arc::new(move |e| sink.lock().unwrap().push(e)),
                ..options(false)
            },
        )
        .await
        .unwrap_err();
        let retried = seen.lock().unwrap().iter().find_map(|e| match e {
            JobEvent::Created { retried, .. } => Some(*retried),
            _ => None,
        });
        assert_eq!(retried, Some(run), "run {run}");
        match &err {
            JobError::TasksFailed { count, first } => {
                assert_eq!(*count, 1, "run {run}");
                assert!(first.contains("no training rows"), "{first}");
            }
            other => panic!("{other}"),
        }
        assert!(!err.is_bad_input());
    }
}

#[tokio::test]
async fn run_job_refuses_a_data_file_changed_since_planning() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bars.csv");
    let text = write_bars_csv(&csv);
    let plan = csv_plan(dir.path(), "2021-03-31");
    std::fs::write(&csv, text.replace(",SYN0000,", ",SYN0009,")).unwrap();
    let err = run_job(&plan, Arc::new(MemoryStore::new()), options(false))
        .await
        .unwrap_err();
    assert!(matches!(err, JobError::Data(_)), "{err}");
    assert!(err.is_bad_input());
}

/// The job's tasks in the pool.
async fn pool_tasks(store: &Arc<dyn Store>) -> Vec<task_store::Task> {
    let tasks: Arc<dyn task_store::TaskStore> = store.clone();
    task_store::TaskStoreExt::query_all(&*tasks, "lib_test", task_store::Query::All)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_job_shutdown_while_training_hands_tasks_back_and_a_rerun_finishes() {
    let dir = tempfile::tempdir().unwrap();
    // 50 tasks (2 models × 25 windows), 2 at a time, handed back at once.
    let yaml = format!(
        "
pool: lib_test
data: {{synthetic: {{instruments: 100, days: 300, start: 2020-01-01, seed: 3}}}}
models:
  - {{name: ridge, class: ridge, kwargs: {{alpha: 1.0}}}}
  - {{name: strong, class: ridge, kwargs: {{alpha: 10000.0}}}}
segments: {{train: [null, 2020-06-30], valid: [2020-07-01, 2020-08-31], test: [2020-09-01, null]}}
rolling: {{step: 5}}
trainer: {{mode: in_process, workers: 2, grace: 0s}}
report: {{dir: {}}}
",
        dir.path().join("report").display()
    );
    let plan = JobPlan::new(&JobConfig::from_yaml(&yaml).unwrap(), None).unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let shutdown = Shutdown::new();
    let pull = shutdown.clone();
    // Pulled (as by SIGINT) at the first look at the pool that sees a task running.
    let events = Arc::new(move |e| {
        if matches!(e, JobEvent::Progress { running, .. } if running > 0) {
            pull.request(Some(libc::SIGINT));
        }
    });
    let err = run_job(
        &plan,
        Arc::clone(&store),
        RunOptions {
            events,
            shutdown,
            ..options(false)
        },
    )
    .await
    .unwrap_err();
    let JobError::Interrupted {
        signal,
        stat: Some(stat),
    } = err
    else {
        panic!("{err}");
    };
    assert_eq!(signal, Some(libc::SIGINT));
    let tasks = pool_tasks(&store).await;
    assert_eq!(stat.running, 0);
    assert_eq!(stat.done + stat.waiting, tasks.len() as u64);
    for task in &tasks {
        match task.status {
            task_store::Status::Done => assert_eq!(task.attempts, 1),
            task_store::Status::Waiting => {
                assert_eq!((task.attempts, task.errors.len()), (0, 0), "{task:?}");
            }
            other => panic!("task {} is {other}", task.id),
        }
    }
    let again = run(&plan, Arc::clone(&store), false).await;
    assert_eq!(again.tasks.reused as u64, stat.done);
    assert_eq!(again.tasks.trained as u64, stat.waiting);
    assert!(
        pool_tasks(&store)
            .await
            .iter()
            .all(|t| t.status == task_store::Status::Done)
    );
}

#[tokio::test]
async fn run_job_shutdown_before_training_claims_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let plan = JobPlan::new(&config(dir.path(), ""), None).unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let shutdown = Shutdown::new();
    shutdown.request(Some(libc::SIGTERM));
    let err = run_job(
        &plan,
        Arc::clone(&store),
        RunOptions {
            shutdown,
            ..options(false)
        },
    )
    .await
    .unwrap_err();
    let tasks = pool_tasks(&store).await;
    assert!(
        matches!(err, JobError::Interrupted { signal: Some(libc::SIGTERM), stat: Some(ref s) } if s.waiting > 0 && s.waiting == tasks.len() as u64),
        "{err}"
    );
    assert!(tasks.iter().all(|t| t.started_at.is_none()));
}
