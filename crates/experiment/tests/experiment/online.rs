//! Online serving (`taskpool online`) end to end in process: the invariant
//! against the offline run, idempotent routines, two routines at once, no
//! look-ahead, data growth, and Qlib's known online problems.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use jiff::civil::{Date, date};
use task_store::{MemoryStore, Query, RecordFilter, Store, TaskStore, TaskStoreExt};
use taskpool_experiment::data::synthetic::{SyntheticSpec, generate};
use taskpool_experiment::job::ridge_task;
use taskpool_experiment::job::{JobConfig, JobError, JobPlan, RunOptions, no_events, run_job};
use taskpool_experiment::online::{
    KIND_ROUTINE, OnlineManager, OnlineOptions, OnlinePlan, TAG_KIND,
};
use taskpool_pipeline::frame::Frame;
use taskpool_pipeline::trainer::{DelayTrainerRM, StoreTrainerOptions};
use taskpool_pipeline::worker::{Shutdown, TaskInput, from_async};

const BUILTIN: &str = include_str!("../../../../examples/rolling.yaml");

/// A small configuration on `data` (a YAML flow mapping), quarterly windows.
fn small(dir: &Path, data: &str, models: &str) -> JobConfig {
    let text = format!(
        "
pool: online_test
data: {data}
models: {models}
segments:
  train: [null, 2020-06-30]
  valid: [2020-07-01, 2020-09-30]
  test: [2020-10-01, null]
rolling: {{step: 3m, trunc_days: 2}}
trainer: {{mode: in_process, workers: 2, max_attempts: 1}}
report: {{dir: {}, plot: false}}
",
        dir.join("report").display()
    );
    JobConfig::from_yaml(&text).unwrap()
}

const SYNTHETIC: &str = "{synthetic: {instruments: 20, days: 660, start: 2019-01-01, seed: 5}}";
const TWO_RIDGES: &str =
    "[{name: ridge, class: ridge}, {name: strong, class: ridge, kwargs: {alpha: 1000.0}}]";

fn options() -> OnlineOptions {
    OnlineOptions {
        worker_command: None,
        events: no_events(),
        shutdown: Shutdown::new(),
    }
}

fn manager(config: &JobConfig, store: &Arc<dyn Store>) -> OnlineManager {
    let plan = OnlinePlan::new(config, None).unwrap();
    OnlineManager::new(plan, Arc::clone(store), options()).unwrap()
}

fn memory() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

/// `(date, instrument) → score` of a frame's `score` column.
fn scores(frame: &Frame) -> HashMap<(Date, String), f64> {
    let column = frame.column("score").unwrap();
    frame
        .datetimes()
        .iter()
        .zip(frame.instruments())
        .zip(column)
        .map(|((d, i), s)| ((*d, i.to_string()), *s))
        .collect()
}

/// The rows of a `date,instrument,score` file.
fn read_signals(path: &Path) -> HashMap<(Date, String), f64> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["date", "instrument", "score"]
    );
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let score = if r[2].is_empty() {
                f64::NAN
            } else {
                r[2].parse().unwrap()
            };
            ((r[0].parse().unwrap(), r[1].to_string()), score)
        })
        .collect()
}

fn assert_same(offline: &HashMap<(Date, String), f64>, online: &HashMap<(Date, String), f64>) {
    assert_eq!(offline.len(), online.len(), "row counts differ");
    for (key, a) in offline {
        let b = online
            .get(key)
            .unwrap_or_else(|| panic!("online has no {key:?}"));
        assert!(
            (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9,
            "{key:?}: offline {a}, online {b}"
        );
    }
}

/// The test starts of the rolling windows of `config` on all its data.
fn test_starts(config: &JobConfig) -> Vec<Date> {
    let plan = JobPlan::new(config, None).unwrap();
    let data = taskpool_experiment::job::market::load(&plan.data).unwrap();
    let mut starts: Vec<Date> = plan
        .generate(&data.calendar)
        .unwrap()
        .iter()
        .map(|t| {
            taskpool_experiment::job::task_def::TaskDef::from_value(t)
                .unwrap()
                .dataset
                .kwargs
                .segments
                .test[0]
                .unwrap()
        })
        .collect();
    starts.sort();
    starts.dedup();
    starts
}

/// THE INVARIANT: on the built-in configuration, routines at the rolling
/// windows' test starts give the offline run's ensemble signal on every
/// date (within 1e-9).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_at_test_starts_equals_the_offline_signal() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = JobConfig::from_yaml(BUILTIN).unwrap();
    config.trainer.mode = taskpool_experiment::job::config::TrainerMode::InProcess;
    config.report.dir = Some(dir.path().join("report"));
    config.report.plot = false;
    let store = memory();
    let plan = JobPlan::new(&config, None).unwrap();
    let options = RunOptions {
        fresh: false,
        worker_command: None,
        events: no_events(),
        shutdown: Shutdown::new(),
    };
    let summary = run_job(&plan, Arc::clone(&store), options).await.unwrap();
    let offline = read_signals(&summary.report_dir.join("signals.csv"));

    let starts = test_starts(&config);
    assert_eq!(
        starts.len(),
        12,
        "the built-in data has 12 quarterly windows"
    );
    let online = manager(&config, &store);
    let end = taskpool_experiment::job::market::load(&plan.data)
        .unwrap()
        .calendar
        .last();
    let simulated = online.simulate(starts[0], end).await.unwrap();
    assert_eq!(
        simulated.routines.len(),
        13,
        "12 test starts and the data's end"
    );
    assert_eq!(simulated.trained, 24);
    let signal = online.signal().await.unwrap().unwrap();
    assert_same(&offline, &scores(&signal));

    // The online page and the CSV.
    let (report, files) = taskpool_experiment::online::report::write(&online)
        .await
        .unwrap();
    assert_eq!(files, ["report.md", "signals.csv"]);
    assert_same(&offline, &read_signals(&report.join("signals.csv")));
    let page = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(page.contains("Which model was online when"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routine_twice_with_the_same_as_of_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = small(dir.path(), SYNTHETIC, TWO_RIDGES);
    let store = memory();
    let online = manager(&config, &store);
    assert!(matches!(
        online.routine(Some(date(2021, 1, 4)), false).await,
        Err(JobError::Online(_))
    ));
    let first = online.init(Some(date(2020, 10, 1))).await.unwrap();
    assert!(first.ran);
    assert_eq!(first.trained.len(), 2);
    assert_eq!(first.online.len(), 2);
    let routine = online.routine(Some(date(2021, 1, 6)), false).await.unwrap();
    assert_eq!(routine.trained.len(), 2, "one new window per model");
    assert_eq!(routine.taken_offline.len(), 2);
    let records = store
        .list_records("online_test.online", &RecordFilter::all())
        .await
        .unwrap();
    let signal = online.signal().await.unwrap().unwrap();
    let again = online.routine(Some(date(2021, 1, 6)), false).await.unwrap();
    assert!(!again.ran && again.trained.is_empty(), "{again:?}");
    assert_eq!(
        store
            .list_records("online_test.online", &RecordFilter::all())
            .await
            .unwrap(),
        records,
        "nothing changed"
    );
    assert_eq!(online.signal().await.unwrap().unwrap(), signal);
    assert!(matches!(online.init(None).await, Err(JobError::Online(_))));
    let status = online.status().await.unwrap();
    assert_eq!(status.routines, 2);
    assert_eq!(status.last_as_of, Some(date(2021, 1, 6)));
    assert_eq!(status.signal_end, Some(date(2021, 1, 6)));
    assert!(status.online.values().all(Option::is_some));
}

/// Two routines started at once on one store: one trains, the other waits
/// for it and finds nothing left (the lock task's lease), and every window
/// is trained exactly once (the pool's dedupe and leases).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_routines_at_once_train_each_window_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = small(dir.path(), SYNTHETIC, TWO_RIDGES);
    let url = format!("sqlite://{}", dir.path().join("online.db").display());
    let a: Arc<dyn Store> = taskpool::open(&url).await.unwrap();
    let b: Arc<dyn Store> = taskpool::open(&url).await.unwrap();
    let (first, second) = (manager(&config, &a), manager(&config, &b));
    let as_of = Some(date(2021, 4, 1));
    let (x, y) = tokio::join!(first.init(as_of), second.init(as_of));
    let (x, y) = (x.unwrap(), y.unwrap());
    assert!(x.ran != y.ran, "exactly one ran: {x:?} {y:?}");
    assert_eq!(x.trained.len() + y.trained.len(), 6, "3 windows × 2 models");
    let tasks = a.query_all("online_test.online", Query::All).await.unwrap();
    assert_eq!(tasks.len(), 6);
    assert!(tasks.iter().all(|t| t.attempts == 1), "each trained once");
    let models = a
        .list_records("online_test.online", &RecordFilter::all())
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.tags.get(TAG_KIND).map(String::as_str) != Some(KIND_ROUTINE))
        .count();
    assert_eq!(models, 6);
    let routines = a
        .list_records(
            "online_test.online",
            &RecordFilter::all().tag(TAG_KIND, KIND_ROUTINE),
        )
        .await
        .unwrap();
    assert_eq!(routines.len(), 1, "one routine record");
}

/// Bars of `spec` as a CSV file sorted by date; `change` edits the close of
/// rows dated after it (a different future).
fn write_csv(path: &Path, spec: &SyntheticSpec, until: Option<Date>, change: Option<Date>) {
    let bars = generate(spec);
    let mut rows: Vec<_> = bars
        .bars
        .iter()
        .filter(|b| until.is_none_or(|u| b.date <= u))
        .collect();
    rows.sort_by_key(|b| (b.date, b.instrument));
    let mut out = String::from("date,instrument,open,high,low,close,volume\n");
    for b in rows {
        let factor = if change.is_some_and(|c| b.date > c) {
            1.05
        } else {
            1.0
        };
        out.push_str(&format!(
            "{},{},{:?},{:?},{:?},{:?},{:?}\n",
            b.date,
            bars.instruments[b.instrument as usize],
            b.open,
            b.high * factor,
            b.low,
            b.close * factor,
            b.volume
        ));
    }
    std::fs::write(path, out).unwrap();
}

fn spec() -> SyntheticSpec {
    SyntheticSpec {
        instruments: 20,
        days: 660,
        start: date(2019, 1, 1),
        seed: 5,
    }
}

fn file_config(dir: &Path, file: &Path) -> JobConfig {
    small(dir, &format!("{{file: {}}}", file.display()), TWO_RIDGES)
}

/// No look-ahead: a routine sees only the data up to its as-of, so changing
/// the data after a routine date does not move the signal up to that date.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routines_do_not_look_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, changed) = (dir.path().join("plain.csv"), dir.path().join("changed.csv"));
    let cut = date(2021, 1, 4);
    write_csv(&plain, &spec(), None, None);
    write_csv(&changed, &spec(), None, Some(cut));
    let mut signals = Vec::new();
    for file in [&plain, &changed] {
        let config = file_config(dir.path(), file);
        let online = manager(&config, &memory());
        online
            .simulate(date(2020, 10, 1), date(2021, 6, 30))
            .await
            .unwrap();
        signals.push(scores(&online.signal().await.unwrap().unwrap()));
    }
    let (a, b) = (&signals[0], &signals[1]);
    let mut before = 0;
    let mut after_differ = 0;
    for (key, x) in a {
        let y = b[key];
        if key.0 <= cut {
            before += 1;
            assert!(
                x == &y || (x.is_nan() && y.is_nan()),
                "{key:?} moved: {x} vs {y}"
            );
        } else if (x - y).abs() > 1e-12 {
            after_differ += 1;
        }
    }
    assert!(before > 0 && after_differ > 0, "{before} {after_differ}");
}

/// Data growth: a file that gained rows at the end is accepted (and its new
/// calendar read: Qlib's routines kept the first calendar); one whose rows
/// changed is refused, naming the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grown_file_is_accepted_and_a_changed_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bars.csv");
    write_csv(&file, &spec(), Some(date(2020, 12, 31)), None);
    let config = file_config(dir.path(), &file);
    let store = memory();
    let first = manager(&config, &store).init(None).await.unwrap();
    assert_eq!(first.as_of, date(2020, 12, 31));
    assert_eq!(first.trained.len(), 2);

    // One more quarter of rows at the end.
    write_csv(&file, &spec(), Some(date(2021, 3, 31)), None);
    let config = file_config(dir.path(), &file);
    let grown = manager(&config, &store).routine(None, false).await.unwrap();
    assert_eq!(grown.as_of, date(2021, 3, 31));
    assert_eq!(grown.trained.len(), 2, "exactly the new quarter's windows");
    assert_eq!(grown.signal_end, Some(date(2021, 3, 31)));

    // The same rows with one changed value, and one more quarter.
    write_csv(
        &file,
        &spec(),
        Some(date(2021, 6, 30)),
        Some(date(2019, 6, 1)),
    );
    let config = file_config(dir.path(), &file);
    match manager(&config, &store).routine(None, false).await {
        Err(e @ JobError::Data(_)) => {
            let text = e.to_string();
            assert!(
                text.contains("bars.csv") && text.contains("appended"),
                "{text}"
            );
            assert!(e.is_bad_input());
        }
        other => panic!("expected a data error, got {other:?}"),
    }
}

/// Qlib #2068 (NaT from an open handler end): the model trained on a
/// routine at its window's start has an open test end; the next routine
/// predicts every date up to the next window with it, then serves the next
/// window — no date is missing, none is duplicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_window_end_leaves_no_gap() {
    let dir = tempfile::tempdir().unwrap();
    let config = small(dir.path(), SYNTHETIC, "[{name: ridge, class: ridge}]");
    let store = memory();
    let online = manager(&config, &store);
    online.init(Some(date(2020, 10, 1))).await.unwrap();
    let state = online.state().await.unwrap();
    assert_eq!(state.models.len(), 1);
    assert_eq!(
        state.models[0].test_end, None,
        "open: past the data of its routine"
    );
    let routine = online
        .routine(Some(date(2021, 2, 15)), false)
        .await
        .unwrap();
    assert_eq!(routine.trained.len(), 1);
    // The old model predicted up to the day before the new window (the
    // new one predicted its rows up to as-of when it was trained).
    assert_eq!(routine.updated.len(), 1);
    assert_eq!(routine.updated[0].to, date(2020, 12, 31));
    let signal = online.signal().await.unwrap().unwrap();
    let mut dates: Vec<Date> = signal.datetimes().to_vec();
    dates.dedup();
    let calendar =
        taskpool_experiment::job::market::load(&OnlinePlan::new(&config, None).unwrap().job.data)
            .unwrap()
            .calendar
            .clone();
    let expected: Vec<Date> = calendar
        .days()
        .iter()
        .copied()
        .filter(|d| *d >= date(2020, 10, 1) && *d <= date(2021, 2, 15))
        .collect();
    assert_eq!(dates, expected);
    assert_eq!(
        signal.len(),
        expected.len() * 20,
        "one row per instrument and date"
    );
}

/// Qlib's PredUpdater failed with delay trainers (no model yet when the
/// predictions were updated): here a routine ends training before anything
/// reads the models, so a delayed trainer gives the same signal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delay_trainer_works_with_prediction_updates() {
    let dir = tempfile::tempdir().unwrap();
    let config = small(dir.path(), SYNTHETIC, TWO_RIDGES);
    let reference = {
        let online = manager(&config, &memory());
        online
            .simulate(date(2020, 10, 1), date(2021, 6, 30))
            .await
            .unwrap();
        online.signal().await.unwrap().unwrap()
    };
    let store = memory();
    let online = manager(&config, &store);
    // First phase: nothing but the definition; second: the real training.
    let begin = from_async(|input: TaskInput| async move { Ok::<_, String>(input.payload) });
    let records: Arc<dyn task_store::RecordStore> = store.clone();
    let tasks: Arc<dyn TaskStore> = store.clone();
    let trainer = DelayTrainerRM::new(
        tasks,
        online.plan().job.pool.clone(),
        begin,
        ridge_task::task_fn(records),
        StoreTrainerOptions::default(),
    );
    let online = online.with_trainer(Arc::new(trainer));
    online
        .simulate(date(2020, 10, 1), date(2021, 6, 30))
        .await
        .unwrap();
    assert_eq!(online.signal().await.unwrap().unwrap(), reference);
}

/// `class: command` models serve online too: trained through the worker
/// protocol, their predictions updated by running the program again on the
/// new dates; the numpy ridge predicts what the built-in ridge predicts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_model_serves_online() {
    if !crate::support::numpy_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let models = format!(
        "[{{name: ridge, class: ridge}}, {{name: numpy_ridge, class: command, command: [python3, {}], kwargs: {{alpha: 1.0}}}}]",
        crate::support::numpy_ridge().display()
    );
    let config = small(dir.path(), SYNTHETIC, &models);
    let store = memory();
    let online = manager(&config, &store);
    let simulated = online
        .simulate(date(2020, 10, 1), date(2021, 2, 15))
        .await
        .unwrap();
    assert_eq!(simulated.trained, 4);
    let updated: Vec<&str> = simulated
        .routines
        .iter()
        .flat_map(|r| &r.updated)
        .map(|u| u.model.strategy.as_str())
        .collect();
    assert!(updated.contains(&"numpy_ridge"), "{updated:?}");
    let state = online.state().await.unwrap();
    let experiment = &online.plan().job.experiment;
    for start in [date(2020, 10, 1), date(2021, 1, 1)] {
        let pred = |name: &'static str| {
            let model = state
                .models
                .iter()
                .find(|m| m.strategy == name && m.test_start == start)
                .unwrap()
                .id;
            let store = Arc::clone(&store);
            async move {
                Frame::decode(&store.get_artifact(experiment, model, "pred").await.unwrap())
                    .unwrap()
            }
        };
        let (built_in, numpy) = (pred("ridge").await, pred("numpy_ridge").await);
        assert_eq!(built_in.len(), numpy.len());
        let (a, b) = (scores(&built_in), scores(&numpy));
        for (key, x) in &a {
            assert!((x - b[key]).abs() < 1e-6, "{key:?}: {x} vs {}", b[key]);
        }
    }
}

/// A routine summary without what differs between two runs of the same
/// routines: record ids and timings.
fn comparable(summary: &taskpool_experiment::online::RoutineSummary) -> serde_json::Value {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.retain(|k, _| k != "record" && !k.ends_with("_seconds"));
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(summary).unwrap();
    strip(&mut value);
    value
}

/// The model records of the online experiment, without ids and times:
/// model, window, the data it saw, tags, metrics.
async fn model_records(store: &Arc<dyn Store>) -> Vec<String> {
    let mut models: Vec<String> = store
        .list_records("online_test.online", &RecordFilter::all())
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.tags.get(TAG_KIND).map(String::as_str) != Some(KIND_ROUTINE))
        .map(|r| format!("{:?} {:?} {:?} {:?}", r.status, r.tags, r.metrics, r.task))
        .collect();
    models.sort();
    models
}

/// Training ahead (the default `simulate`: every routine's windows created
/// at once and trained beside the routines) leaves exactly what routines
/// one after the other leave: the same routines, model records and signal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn training_ahead_gives_what_routine_by_routine_gives() {
    let dir = tempfile::tempdir().unwrap();
    let config = small(dir.path(), SYNTHETIC, TWO_RIDGES);
    let mut runs = Vec::new();
    for ahead in [true, false] {
        let store = memory();
        let online = manager(&config, &store).train_ahead(ahead);
        let simulated = online
            .simulate(date(2020, 10, 1), date(2021, 6, 30))
            .await
            .unwrap();
        assert_eq!(simulated.trained_ahead, ahead);
        assert_eq!(simulated.trained, 6, "3 windows × 2 models");
        let tasks = store
            .query_all("online_test.online", Query::All)
            .await
            .unwrap();
        assert_eq!(tasks.len(), 6, "no task trained twice");
        assert!(tasks.iter().all(|t| t.attempts == 1));
        runs.push((
            simulated
                .routines
                .iter()
                .map(comparable)
                .collect::<Vec<_>>(),
            model_records(&store).await,
            online.signal().await.unwrap().unwrap(),
        ));
    }
    let (ahead, one_by_one) = (&runs[0], &runs[1]);
    assert_eq!(ahead.0, one_by_one.0, "routine summaries");
    assert_eq!(ahead.1, one_by_one.1, "model records");
    assert_eq!(ahead.2, one_by_one.2, "signal");
}

/// No look-ahead with training ahead: each routine trains its windows on
/// the data up to its own as-of, and every model it puts online was trained
/// on data up to its as-of at the latest, although the tasks of later
/// routines were trained (and their records written) while it ran.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_routine_sees_a_model_trained_ahead_for_a_later_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = small(dir.path(), SYNTHETIC, TWO_RIDGES);
    let store = memory();
    let online = manager(&config, &store);
    let simulated = online
        .simulate(date(2020, 10, 1), date(2021, 6, 30))
        .await
        .unwrap();
    assert!(simulated.trained_ahead);
    let state = online.state().await.unwrap();
    let seen_until: HashMap<String, Date> = state
        .models
        .iter()
        .map(|m| (m.id.to_string(), m.data_until.unwrap()))
        .collect();
    assert_eq!(seen_until.len(), 6);
    for routine in &simulated.routines {
        for model in &routine.trained {
            assert_eq!(
                seen_until[&model.record], routine.as_of,
                "{model:?} trained for the routine as of {}",
                routine.as_of
            );
            assert!(model.test_start <= routine.as_of);
        }
        for model in routine.online.iter().chain(&routine.taken_offline) {
            assert!(
                seen_until[&model.record] <= routine.as_of,
                "{model:?} in the routine as of {}",
                routine.as_of
            );
        }
        for update in &routine.updated {
            assert!(seen_until[&update.model.record] <= routine.as_of);
            assert!(update.to <= routine.as_of);
        }
    }
}
