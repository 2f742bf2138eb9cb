//! `taskpool online simulate` over the built-in data (examples/rolling.yaml:
//! 300 instruments × 1,300 days, 2 models, 12 quarterly windows): wall time,
//! training vs orchestration, against `taskpool run` of the same
//! configuration in the same process (the baseline: the same 24 windows
//! trained in one go); then how many windows a routine trains after one new
//! quarter of data.
//!
//! Model work is the models fitting and predicting: the training tasks'
//! (from the `model_work` of their results) and the prediction updates'
//! `predict`, as the union of their intervals over the whole simulate (work
//! side by side counts once). Orchestration is the rest of the wall time:
//! whatever ran while no model worked (creating, claiming and waiting for
//! the tasks, storing records, prediction updates' reads and writes,
//! signals, the state, the lock). `simulate` trains ahead (the default),
//! so most of the routines' own steps run beside the training.
//!
//! `cargo bench -p taskpool-experiment --bench online` (release build; a
//! SQLite store in a temporary directory, or the store URL in
//! `ONLINE_BENCH_STORE`; tasks trained in process with the configuration's
//! 2 workers). Prints one line per measurement.

use std::sync::Arc;
use std::time::Instant;

use taskpool_experiment::job::config::TrainerMode;
use taskpool_experiment::job::{JobConfig, JobPlan, RunOptions, market, no_events, run_job};
use taskpool_experiment::online::{OnlineManager, OnlineOptions, OnlinePlan};
use taskpool_pipeline::worker::Shutdown;

const BUILTIN: &str = include_str!("../../../examples/rolling.yaml");

fn options() -> OnlineOptions {
    OnlineOptions {
        worker_command: None,
        events: no_events(),
        shutdown: Shutdown::new(),
    }
}

async fn bench() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = JobConfig::from_yaml(BUILTIN).expect("the built-in config");
    config.trainer.mode = TrainerMode::InProcess;
    config.report.dir = Some(dir.path().join("report"));
    config.report.plot = false;
    config.store = Some(
        std::env::var("ONLINE_BENCH_STORE")
            .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display())),
    );
    let plan = JobPlan::new(&config, None).expect("plan");
    let store = taskpool::open(config.store.as_deref().unwrap())
        .await
        .expect("store");
    let end = market::load(&plan.data).expect("data").calendar.last();

    let began = Instant::now();
    let run = run_job(
        &plan,
        Arc::clone(&store),
        RunOptions {
            fresh: false,
            worker_command: None,
            events: no_events(),
            shutdown: Shutdown::new(),
        },
    )
    .await
    .expect("run");
    let run_wall = began.elapsed().as_secs_f64();
    println!(
        "run (baseline): {} windows, wall {run_wall:.2}s, training step {:.2}s",
        run.tasks.total, run.train_seconds
    );

    let online = OnlineManager::new(
        OnlinePlan::new(&config, None).expect("online plan"),
        Arc::clone(&store),
        options(),
    )
    .expect("manager");
    let first = jiff::civil::date(2021, 1, 1);
    let simulated = online.simulate(first, end).await.expect("simulate");
    println!(
        "online simulate: {}; simulate/run wall ratio {:.2}",
        simulated.describe(),
        simulated.wall_seconds / run_wall
    );

    // A routine after one new quarter: a fresh experiment initialised as of
    // the second-to-last window's start, then a routine as of the last one.
    let mut later = config.clone();
    later.pool = "rolling_quarter".to_string();
    later.experiment = Some("rolling_quarter".to_string());
    let manager = OnlineManager::new(
        OnlinePlan::new(&later, None).expect("plan"),
        Arc::clone(&store),
        options(),
    )
    .expect("manager");
    let (q3, q4) = (
        jiff::civil::date(2023, 7, 3),
        jiff::civil::date(2023, 10, 2),
    );
    let init = manager.init(Some(q3)).await.expect("init");
    let began = Instant::now();
    let routine = manager.routine(Some(q4), false).await.expect("routine");
    println!(
        "routine after one new quarter ({} → {}): {} window(s) trained (init trained {}), {} prediction update(s), wall {:.2}s, model work {:.2}s, training step {:.2}s",
        init.as_of,
        routine.as_of,
        routine.trained.len(),
        init.trained.len(),
        routine.updated.len(),
        began.elapsed().as_secs_f64(),
        routine.train_seconds,
        routine.train_phase_seconds
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(bench());
}
