//! The worker loop on the MemoryStore: claims, concurrency, failures,
//! leases, shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use task_store::{ClaimParams, ErrorKind, Query, ResetParams, Status, TaskStore};
use taskpool_pipeline::worker::{
    Phase, Shutdown, TaskError, TaskFn, TaskInput, Worker, WorkerConfig, blocking, from_async,
};
use tokio::sync::{Barrier, Notify};

use crate::support::{POOL, TestStore, all_tasks, config, create, eventually};

fn defs(n: usize) -> Vec<Value> {
    (0..n).map(|i| json!({"i": i})).collect()
}

fn double() -> Arc<dyn TaskFn> {
    blocking(|input: TaskInput| Ok::<_, String>(json!(input.payload["i"].as_i64().unwrap() * 2)))
}

async fn run_drains_the_pool_committing_each_task_once(t: TestStore) {
    let store = t.store.clone();
    create(&store, defs(50), 3).await;
    let worker = Worker::new(
        store.clone(),
        WorkerConfig {
            concurrency: 4,
            ..config()
        },
        double(),
    )
    .unwrap();
    let report = worker.run(&Shutdown::new()).await.unwrap();
    assert_eq!((report.claimed, report.committed), (50, 50));
    assert!(!report.interrupted);
    for task in all_tasks(&store).await {
        assert_eq!(task.status, Status::Done);
        assert_eq!(task.attempts, 1);
        assert_eq!(task.res, Some(json!(task.def["i"].as_i64().unwrap() * 2)));
    }
}

async fn run_keeps_concurrency_tasks_in_flight(t: TestStore) {
    let store = t.store.clone();
    create(&store, defs(12), 3).await;
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(3));
    let task_fn = {
        let (in_flight, peak, barrier) = (in_flight.clone(), peak.clone(), barrier.clone());
        from_async(move |input: TaskInput| {
            let (in_flight, peak, barrier) = (in_flight.clone(), peak.clone(), barrier.clone());
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                // The first three tasks can only pass together.
                if input.payload["i"].as_u64().unwrap() < 3 {
                    barrier.wait().await;
                }
                tokio::task::yield_now().await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, String>(Value::Null)
            }
        })
    };
    let worker = Worker::new(
        store.clone(),
        WorkerConfig {
            concurrency: 3,
            ..config()
        },
        task_fn,
    )
    .unwrap();
    let report = worker.run(&Shutdown::new()).await.unwrap();
    assert_eq!(report.committed, 12);
    assert_eq!(peak.load(Ordering::SeqCst), 3);
}

async fn run_fails_a_poison_task_after_max_attempts_and_finishes_the_others(t: TestStore) {
    let store = t.store.clone();
    let ids = create(&store, defs(5), 3).await;
    let task_fn = blocking(|input: TaskInput| {
        if input.payload["i"] == 2 {
            Err(format!("poison on attempt {}", input.attempt))
        } else {
            Ok(json!("ok"))
        }
    });
    let worker = Worker::new(store.clone(), config(), task_fn).unwrap();
    let report = worker.run(&Shutdown::new()).await.unwrap();
    assert_eq!((report.committed, report.retried, report.failed), (4, 2, 1));
    let poison = store.get(POOL, ids[2]).await.unwrap();
    assert_eq!(poison.status, Status::Failed);
    assert_eq!(poison.attempts, 3);
    let recorded: Vec<(u32, &str)> = poison
        .errors
        .iter()
        .map(|e| (e.attempt, e.message.as_str()))
        .collect();
    assert_eq!(
        recorded,
        vec![
            (1, "poison on attempt 1"),
            (2, "poison on attempt 2"),
            (3, "poison on attempt 3")
        ]
    );
    assert!(poison.errors.iter().all(|e| e.owner == worker.id()));
    let done = all_tasks(&store)
        .await
        .into_iter()
        .filter(|t| t.status == Status::Done)
        .count();
    assert_eq!(done, 4);
}

async fn run_records_a_panic_as_a_failed_attempt(t: TestStore) {
    let store = t.store.clone();
    let ids = create(&store, defs(1), 1).await;
    let task_fn = blocking(|_: TaskInput| -> Result<Value, String> { panic!("kaboom") });
    let worker = Worker::new(store.clone(), config(), task_fn).unwrap();
    let report = worker.run(&Shutdown::new()).await.unwrap();
    assert_eq!(report.failed, 1);
    let task = store.get(POOL, ids[0]).await.unwrap();
    assert_eq!(task.status, Status::Failed);
    assert!(task.errors[0].message.contains("panicked: kaboom"));
}

async fn run_records_an_async_panic_as_a_failed_attempt(t: TestStore) {
    let store = t.store.clone();
    let ids = create(&store, defs(1), 1).await;
    let task_fn = from_async(|_: TaskInput| async move {
        if true {
            panic!("async kaboom");
        }
        Ok::<Value, String>(Value::Null)
    });
    let worker = Worker::new(store.clone(), config(), task_fn).unwrap();
    worker.run(&Shutdown::new()).await.unwrap();
    let task = store.get(POOL, ids[0]).await.unwrap();
    assert_eq!(task.status, Status::Failed);
    assert!(task.errors[0].message.contains("panicked: async kaboom"));
}

/// A task function that signals when it starts and finishes when released.
fn gated(started: Arc<Notify>, release: Arc<Notify>) -> Arc<dyn TaskFn> {
    from_async(move |_: TaskInput| {
        let (started, release) = (started.clone(), release.clone());
        async move {
            started.notify_one();
            release.notified().await;
            Ok::<_, String>(json!("late result"))
        }
    })
}

async fn commit_after_the_lease_was_reclaimed_is_abandoned(t: TestStore) {
    let (store, clock) = (t.store.clone(), t.clock.clone());
    let ids = create(&store, defs(1), 5).await;
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    // A lease of an hour: no heartbeat fires during the test.
    let cfg = WorkerConfig {
        lease: Duration::from_secs(3600),
        ..config()
    };
    let worker = Worker::new(store.clone(), cfg, gated(started.clone(), release.clone())).unwrap();
    let run = tokio::spawn(async move { worker.run(&Shutdown::new()).await });
    started.notified().await;
    clock.advance(Duration::from_secs(7200));
    let reclaimed = store
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
    let task = store.get(POOL, ids[0]).await.unwrap();
    assert_eq!(task.status, Status::Running);
    assert_eq!(task.res, None);
    assert_eq!(task.lease.unwrap().owner, "other-worker");
}

async fn heartbeat_that_finds_the_lease_lost_abandons_the_task(t: TestStore) {
    let store = t.store.clone();
    let ids = create(&store, defs(1), 5).await;
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let cfg = WorkerConfig {
        lease: Duration::from_millis(60),
        max_tasks: Some(1),
        ..config()
    };
    let worker = Worker::new(store.clone(), cfg, gated(started.clone(), release)).unwrap();
    let run = tokio::spawn(async move { worker.run(&Shutdown::new()).await });
    started.notified().await;
    let reset = ResetParams {
        query: Query::All,
        status: Status::Waiting,
    };
    assert_eq!(store.reset_status(POOL, reset).await.unwrap(), 1);
    // The task function is never released: only the heartbeat can end the run.
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.lease_lost, 1);
    let task = store.get(POOL, ids[0]).await.unwrap();
    assert_eq!(
        (task.status, task.attempts, task.res),
        (Status::Waiting, 0, None)
    );
}

async fn heartbeat_extends_the_lease_while_the_task_runs(t: TestStore) {
    let (store, clock) = (t.store.clone(), t.clock.clone());
    let ids = create(&store, defs(1), 5).await;
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let cfg = WorkerConfig {
        lease: Duration::from_millis(60),
        ..config()
    };
    let worker = Worker::new(store.clone(), cfg, gated(started.clone(), release.clone())).unwrap();
    let run = tokio::spawn(async move { worker.run(&Shutdown::new()).await });
    started.notified().await;
    let id = ids[0];
    let first = store.get(POOL, id).await.unwrap().lease.unwrap().expires_at;
    clock.advance(Duration::from_secs(10));
    let store2 = store.clone();
    eventually("a heartbeat after the clock moved", || {
        let store = store2.clone();
        async move {
            let lease = store.get(POOL, id).await.unwrap().lease.unwrap();
            lease.expires_at >= first + Duration::from_secs(10)
        }
    })
    .await;
    release.notify_one();
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.committed, 1);
    assert_eq!(store.get(POOL, ids[0]).await.unwrap().attempts, 1);
}

async fn run_reclaims_a_task_whose_worker_died(t: TestStore) {
    let (store, clock) = (t.store.clone(), t.clock.clone());
    let ids = create(&store, defs(1), 5).await;
    let ghost = store
        .claim(
            POOL,
            ClaimParams::new("dead-worker", Duration::from_secs(30)),
        )
        .await
        .unwrap();
    assert_eq!(ghost.len(), 1);
    clock.advance(Duration::from_secs(31));
    let worker = Worker::new(store.clone(), config(), double()).unwrap();
    let report = worker.run(&Shutdown::new()).await.unwrap();
    assert_eq!(report.committed, 1);
    let task = store.get(POOL, ids[0]).await.unwrap();
    assert_eq!((task.status, task.attempts), (Status::Done, 2));
}

async fn shutdown_hands_back_tasks_still_running_after_the_grace_period(t: TestStore) {
    let store = t.store.clone();
    let ids = create(&store, defs(2), 3).await;
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let cfg = WorkerConfig {
        concurrency: 2,
        grace: Duration::from_millis(20),
        ..config()
    };
    let worker = Worker::new(store.clone(), cfg, gated(started.clone(), release)).unwrap();
    let shutdown = Shutdown::new();
    let run = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { worker.run(&shutdown).await })
    };
    // `Notify` keeps one permit: when both tasks start before the first
    // `notified()`, a second `notified()` would wait for ever. The store
    // tells that both are claimed (they never finish: nothing releases them).
    started.notified().await;
    eventually("both tasks are running", || async {
        store.stat(POOL, &Query::All).await.unwrap().running == 2
    })
    .await;
    shutdown.request(None);
    let report = run.await.unwrap().unwrap();
    assert!(report.interrupted);
    assert_eq!((report.handed_back, report.committed), (2, 0));
    for id in ids {
        let task = store.get(POOL, id).await.unwrap();
        assert_eq!((task.status, task.attempts), (Status::Waiting, 0));
        assert!(task.errors.is_empty() && task.lease.is_none());
    }
}

async fn shutdown_lets_a_task_finish_within_the_grace_period(t: TestStore) {
    let store = t.store.clone();
    let ids = create(&store, defs(3), 3).await;
    let started = Arc::new(Notify::new());
    let task_fn = {
        let started = started.clone();
        from_async(move |input: TaskInput| {
            let started = started.clone();
            async move {
                started.notify_one();
                input.shutdown.requested().await;
                Ok::<_, String>(json!("finished during grace"))
            }
        })
    };
    let cfg = WorkerConfig {
        grace: Duration::from_secs(3600),
        ..config()
    };
    let worker = Worker::new(store.clone(), cfg, task_fn).unwrap();
    let shutdown = Shutdown::new();
    let run = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { worker.run(&shutdown).await })
    };
    started.notified().await;
    shutdown.request(None);
    let report = run.await.unwrap().unwrap();
    assert_eq!((report.claimed, report.committed), (1, 1));
    let first = store.get(POOL, ids[0]).await.unwrap();
    assert_eq!(first.status, Status::Done);
    assert_eq!(
        store.get(POOL, ids[1]).await.unwrap().status,
        Status::Waiting
    );
}

async fn force_ends_the_grace_period_at_once(t: TestStore) {
    let store = t.store.clone();
    let ids = create(&store, defs(1), 3).await;
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let cfg = WorkerConfig {
        grace: Duration::from_secs(3600),
        ..config()
    };
    let worker = Worker::new(store.clone(), cfg, gated(started.clone(), release)).unwrap();
    let shutdown = Shutdown::new();
    let run = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { worker.run(&shutdown).await })
    };
    started.notified().await;
    shutdown.request(None);
    shutdown.force();
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.handed_back, 1);
    assert_eq!(
        store.get(POOL, ids[0]).await.unwrap().status,
        Status::Waiting
    );
}

async fn failure_during_shutdown_is_handed_back_uncounted(t: TestStore) {
    let store = t.store.clone();
    let ids = create(&store, defs(1), 1).await;
    let started = Arc::new(Notify::new());
    let task_fn = {
        let started = started.clone();
        from_async(move |input: TaskInput| {
            let started = started.clone();
            async move {
                started.notify_one();
                input.shutdown.requested().await;
                Err::<Value, _>("interrupted")
            }
        })
    };
    let worker = Worker::new(store.clone(), config(), task_fn).unwrap();
    let shutdown = Shutdown::new();
    let run = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { worker.run(&shutdown).await })
    };
    started.notified().await;
    shutdown.request(None);
    let report = run.await.unwrap().unwrap();
    assert_eq!((report.handed_back, report.failed), (1, 0));
    let task = store.get(POOL, ids[0]).await.unwrap();
    assert_eq!((task.status, task.attempts), (Status::Waiting, 0));
    assert!(task.errors.is_empty());
}

async fn follow_picks_up_tasks_created_later(t: TestStore) {
    let store = t.store.clone();
    let worker = Worker::new(
        store.clone(),
        WorkerConfig {
            follow: true,
            ..config()
        },
        double(),
    )
    .unwrap();
    let shutdown = Shutdown::new();
    let run = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { worker.run(&shutdown).await })
    };
    create(&store, defs(5), 3).await;
    let store2 = store.clone();
    eventually("five tasks done", || {
        let store = store2.clone();
        async move { store.stat(POOL, &Query::All).await.unwrap().done == 5 }
    })
    .await;
    shutdown.request(None);
    let report = run.await.unwrap().unwrap();
    assert_eq!((report.committed, report.handed_back), (5, 0));
}

async fn second_phase_receives_the_first_phase_result(t: TestStore) {
    let store = t.store.clone();
    let ids = create(&store, defs(3), 3).await;
    let first = WorkerConfig {
        after_status: Status::PartDone,
        ..config()
    };
    let begin = blocking(|input: TaskInput| {
        assert_eq!(input.phase, Phase::First);
        Ok::<_, String>(json!({"stage1": input.payload["i"]}))
    });
    Worker::new(store.clone(), first, begin)
        .unwrap()
        .run(&Shutdown::new())
        .await
        .unwrap();
    for id in &ids {
        let task = store.get(POOL, *id).await.unwrap();
        assert_eq!((task.status, task.attempts), (Status::PartDone, 0));
    }
    let second = WorkerConfig {
        phase: Phase::Second,
        ..config()
    };
    let end = blocking(|input: TaskInput| {
        assert_eq!(input.phase, Phase::Second);
        Ok::<_, String>(json!({"final": input.payload["stage1"].as_i64().unwrap() + 100}))
    });
    Worker::new(store.clone(), second, end)
        .unwrap()
        .run(&Shutdown::new())
        .await
        .unwrap();
    for id in ids {
        let task = store.get(POOL, id).await.unwrap();
        assert_eq!(task.status, Status::Done);
        assert_eq!(
            task.res,
            Some(json!({"final": task.def["i"].as_i64().unwrap() + 100}))
        );
    }
}

async fn max_tasks_stops_after_that_many_claims(t: TestStore) {
    let store = t.store.clone();
    create(&store, defs(10), 3).await;
    let cfg = WorkerConfig {
        concurrency: 3,
        max_tasks: Some(4),
        ..config()
    };
    let report = Worker::new(store.clone(), cfg, double())
        .unwrap()
        .run(&Shutdown::new())
        .await
        .unwrap();
    assert_eq!((report.claimed, report.committed), (4, 4));
    assert_eq!(store.stat(POOL, &Query::All).await.unwrap().waiting, 6);
}

async fn query_restricts_what_is_claimed(t: TestStore) {
    let store = t.store.clone();
    create(&store, defs(6), 3).await;
    let query = Query::parse(&json!({"filter.i": {"$gte": 4}})).unwrap();
    let cfg = WorkerConfig { query, ..config() };
    let report = Worker::new(store.clone(), cfg, double())
        .unwrap()
        .run(&Shutdown::new())
        .await
        .unwrap();
    assert_eq!(report.committed, 2);
}

struct BrokenEnvironment;

#[async_trait::async_trait]
impl TaskFn for BrokenEnvironment {
    async fn run(&self, _: TaskInput) -> Result<Value, TaskError> {
        Err(TaskError::Worker(task_store::Error::invalid_input(
            "no such command",
        )))
    }
}

async fn worker_error_hands_the_task_back_and_stops_the_worker(t: TestStore) {
    let store = t.store.clone();
    create(&store, defs(3), 3).await;
    let worker = Worker::new(store.clone(), config(), Arc::new(BrokenEnvironment)).unwrap();
    let error = worker.run(&Shutdown::new()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    for task in all_tasks(&store).await {
        assert_eq!((task.status, task.attempts), (Status::Waiting, 0));
        assert!(task.errors.is_empty());
    }
}

async fn part_done_task_without_a_result_fails_its_second_phase(t: TestStore) {
    let store = t.store.clone();
    let ids = create(&store, defs(1), 1).await;
    let reset = ResetParams {
        query: Query::All,
        status: Status::PartDone,
    };
    store.reset_status(POOL, reset).await.unwrap();
    let cfg = WorkerConfig {
        phase: Phase::Second,
        ..config()
    };
    let report = Worker::new(store.clone(), cfg, double())
        .unwrap()
        .run(&Shutdown::new())
        .await
        .unwrap();
    assert_eq!(report.failed, 1);
    assert_eq!(
        store.get(POOL, ids[0]).await.unwrap().status,
        Status::Failed
    );
}

async fn result_the_store_refuses_fails_the_attempt_with_the_error(t: TestStore) {
    let store = t.store.clone();
    let ids = create(&store, defs(1), 2).await;
    let too_big = blocking(|_: TaskInput| Ok::<_, String>(json!({"n": u64::MAX})));
    let worker = Worker::new(store.clone(), config(), too_big).unwrap();
    let report = worker.run(&Shutdown::new()).await.unwrap();
    assert_eq!((report.claimed, report.retried, report.failed), (2, 1, 1));
    let task = store.get(POOL, ids[0]).await.unwrap();
    assert_eq!(
        (task.status, task.errors.len(), task.res),
        (Status::Failed, 2, None)
    );
}

async fn new_rejects_an_invalid_config(t: TestStore) {
    let store = t.store.clone();
    let cfg = WorkerConfig {
        concurrency: 0,
        ..config()
    };
    let error = Worker::new(store, cfg, double()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
}

store_tests!(
    run_drains_the_pool_committing_each_task_once,
    run_keeps_concurrency_tasks_in_flight,
    run_fails_a_poison_task_after_max_attempts_and_finishes_the_others,
    run_records_a_panic_as_a_failed_attempt,
    run_records_an_async_panic_as_a_failed_attempt,
    commit_after_the_lease_was_reclaimed_is_abandoned,
    heartbeat_that_finds_the_lease_lost_abandons_the_task,
    heartbeat_extends_the_lease_while_the_task_runs,
    run_reclaims_a_task_whose_worker_died,
    shutdown_hands_back_tasks_still_running_after_the_grace_period,
    shutdown_lets_a_task_finish_within_the_grace_period,
    force_ends_the_grace_period_at_once,
    failure_during_shutdown_is_handed_back_uncounted,
    follow_picks_up_tasks_created_later,
    second_phase_receives_the_first_phase_result,
    max_tasks_stops_after_that_many_claims,
    query_restricts_what_is_claimed,
    worker_error_hands_the_task_back_and_stops_the_worker,
    part_done_task_without_a_result_fails_its_second_phase,
    result_the_store_refuses_fails_the_attempt_with_the_error,
    new_rejects_an_invalid_config,
);
