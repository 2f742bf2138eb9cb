//! `class: command`: a model that is a program. The numpy example matches
//! the built-in ridge; bad programs fail their tasks with a message naming
//! the problem, and nothing else is lost.

use std::path::Path;
use std::sync::Arc;

use task_store::{MemoryStore, Query, Status, Store, TaskStore, TaskStoreExt};
use taskpool_experiment::job::{JobConfig, JobError, JobPlan, RunOptions, no_events, run_job};
use taskpool_pipeline::worker::Shutdown;

use crate::support::{numpy_available, numpy_ridge};

/// A small job: the built-in ridge and `model` (a YAML flow mapping).
fn config(dir: &Path, model: &str) -> JobConfig {
    let text = format!(
        "
pool: command_model
data: {{synthetic: {{instruments: 30, days: 260, start: 2020-01-01, seed: 3}}}}
models:
  - {{name: ridge, class: ridge, kwargs: {{alpha: 1.0}}}}
  - {model}
segments:
  train: [null, 2020-06-30]
  valid: [2020-07-01, 2020-08-31]
  test: [2020-09-01, null]
rolling: {{step: 30, trunc_days: 2}}
trainer: {{mode: in_process, workers: 2, max_attempts: 1}}
report: {{dir: {}, plot: false}}
",
        dir.join("report").display()
    );
    JobConfig::from_yaml(&text).unwrap()
}

fn options() -> RunOptions {
    RunOptions {
        fresh: false,
        worker_command: None,
        events: no_events(),
        shutdown: Shutdown::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numpy_ridge_matches_the_built_in_ridge() {
    if !numpy_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = format!(
        "{{name: numpy_ridge, class: command, command: [python3, {}], kwargs: {{alpha: 1.0}}}}",
        numpy_ridge().display()
    );
    let plan = JobPlan::new(&config(dir.path(), &model), None).unwrap();
    let summary = run_job(&plan, Arc::new(MemoryStore::new()), options())
        .await
        .unwrap();
    let of = |model: &str| {
        let mut windows: Vec<_> = summary
            .windows
            .iter()
            .filter(|w| w.model == model)
            .map(|w| (w.test_start, w.metrics.clone()))
            .collect();
        windows.sort_by_key(|w| w.0);
        windows
    };
    let (builtin, numpy) = (of("ridge"), of("numpy_ridge"));
    assert!(builtin.len() >= 2, "{builtin:?}");
    assert_eq!(builtin.len(), numpy.len());
    for ((start, b), (start_n, n)) in builtin.iter().zip(&numpy) {
        assert_eq!(start, start_n);
        for metric in ["test_ic", "test_rank_ic"] {
            let (b, n) = (b[metric], n[metric]);
            assert!((b - n).abs() < 1e-6, "{start} {metric}: {b} vs {n}");
        }
    }
}

/// Run the job with a bad `sh -c SCRIPT` model: its tasks fail with a
/// message containing `expect`, the ridge tasks are all done.
async fn assert_bad_model(script: &str, expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    let quoted = script.replace('\'', "''");
    let model = format!("{{name: bad, class: command, command: [sh, -c, '{quoted}']}}");
    let plan = JobPlan::new(&config(dir.path(), &model), None).unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let err = run_job(&plan, Arc::clone(&store), options())
        .await
        .unwrap_err();
    let JobError::TasksFailed { count, first } = &err else {
        panic!("{script}: {err}");
    };
    assert!(first.contains(expect), "{script}: {first}");
    let tasks: Arc<dyn TaskStore> = store;
    let all = tasks.query_all(&plan.pool, Query::All).await.unwrap();
    let (bad, good): (Vec<_>, Vec<_>) = all.iter().partition(|t| t.def["model"]["name"] == "bad");
    assert_eq!(*count, bad.len(), "{script}");
    assert!(bad.iter().all(|t| t.status == Status::Failed), "{script}");
    assert!(!good.is_empty() && good.iter().all(|t| t.status == Status::Done));
}

/// Writes `ROWS` (printf format) as pred.csv, then prints `{}`.
fn writes(rows: &str) -> String {
    format!("printf '{rows}' > \"$TASKPOOL_ARTIFACT_DIR/pred.csv\"; echo '{{}}'")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_model_exiting_nonzero_fails_its_tasks() {
    assert_bad_model("echo cannot fit >&2; exit 3", "cannot fit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_model_without_pred_csv_fails_its_tasks() {
    assert_bad_model("echo '{}'", "wrote no pred.csv").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_model_with_wrong_columns_fails_its_tasks() {
    assert_bad_model(
        &writes("datetime,instrument,score\\n"),
        "the header must be date,instrument,score",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_model_with_nan_scores_fails_its_tasks() {
    // Every test window starts in or after September 2020.
    assert_bad_model(
        &writes("date,instrument,score\\n2020-12-01,SYN0000,NaN\\n"),
        "is not a finite number",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_model_with_dates_outside_the_test_segment_fails_its_tasks() {
    assert_bad_model(
        &writes("date,instrument,score\\n2020-01-02,SYN0000,0.5\\n"),
        "outside the test segment",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_model_missing_test_rows_fails_its_tasks() {
    assert_bad_model(&writes("date,instrument,score\\n"), "has no score for").await;
}
