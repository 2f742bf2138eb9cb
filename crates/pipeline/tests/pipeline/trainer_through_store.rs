//! TrainerRM and DelayTrainerRM on every embedded backend: dedupe, running
//! alongside other workers, dead workers, failures, two phases.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use task_store::{ClaimParams, CommitParams, Query, Status, TaskStore};
use taskpool_pipeline::trainer::{
    DelayTrainerRM, StoreTrainerOptions, TrainError, TrainedTask, Trainer, TrainerRM,
};
use taskpool_pipeline::worker::{
    Backoff, Phase, Shutdown, TaskFn, TaskInput, WaitOptions, blocking,
};

use crate::support::{POOL, TestStore, all_tasks, eventually};

fn options(t: &TestStore) -> StoreTrainerOptions {
    StoreTrainerOptions {
        concurrency: 2,
        backoff: Backoff {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(20),
        },
        wait: WaitOptions {
            poll: Duration::from_millis(10),
            clock: Arc::new(t.clock.clone()),
            ..WaitOptions::default()
        },
        ..StoreTrainerOptions::default()
    }
}

/// Squares `def.i`, counting calls; fails for `def.poison`.
fn square(calls: &Arc<AtomicUsize>) -> Arc<dyn TaskFn> {
    let calls = calls.clone();
    blocking(move |input: TaskInput| {
        calls.fetch_add(1, Ordering::SeqCst);
        if input.payload.get("poison").is_some() {
            return Err(format!("poisoned on attempt {}", input.attempt));
        }
        Ok(json!(input.payload["i"].as_i64().unwrap().pow(2)))
    })
}

fn defs(n: i64) -> Vec<Value> {
    (0..n).map(|i| json!({"i": i})).collect()
}

async fn count(store: &Arc<dyn TaskStore>, status: Status) -> u64 {
    store.stat(POOL, &Query::All).await.unwrap().get(status)
}

async fn train_returns_results_in_input_order_deduplicated(t: TestStore) {
    let calls = Arc::new(AtomicUsize::new(0));
    let trainer = TrainerRM::new(t.store.clone(), POOL, square(&calls), options(&t));
    let input = vec![
        json!({"i": 3}),
        json!({"i": 1}),
        json!({"i": 3}),
        json!({"i": 2}),
    ];
    let trained = trainer.train(input.clone()).await.unwrap();
    let res: Vec<Value> = trained.iter().map(|t| t.res.clone()).collect();
    assert_eq!(res, vec![json!(9), json!(1), json!(9), json!(4)]);
    assert_eq!(trained[0].id, trained[2].id);
    assert!(
        trained
            .iter()
            .all(|t| t.status == Status::Done && t.id.is_some())
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(trainer.end_train(trained.clone()).await.unwrap(), trained);
}

async fn train_reuses_done_tasks_without_running_them_again(t: TestStore) {
    let calls = Arc::new(AtomicUsize::new(0));
    let trainer = TrainerRM::new(t.store.clone(), POOL, square(&calls), options(&t));
    let first = trainer.train(defs(3)).await.unwrap();
    let second = trainer.train(defs(3)).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

async fn train_waits_for_a_task_another_worker_is_running(t: TestStore) {
    let calls = Arc::new(AtomicUsize::new(0));
    let trainer = TrainerRM::new(t.store.clone(), POOL, square(&calls), options(&t));
    // Another worker holds task i = 5 (created beforehand so it can claim it).
    let other = t
        .store
        .create(POOL, task_store::CreateParams::new([json!({"i": 5})]))
        .await
        .unwrap();
    let held = t
        .store
        .claim(
            POOL,
            ClaimParams::new("other-worker", Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    assert_eq!(held[0].id, other[0].id);
    let run = tokio::spawn(async move { trainer.train(defs(6)).await });
    let store = t.store.clone();
    eventually("the other five tasks done", || {
        let store = store.clone();
        async move { count(&store, Status::Done).await == 5 }
    })
    .await;
    assert!(!run.is_finished());
    let commit = CommitParams {
        id: held[0].id,
        token: held[0].lease.as_ref().unwrap().token.clone(),
        result: json!("from the other worker"),
        status: Status::Done,
    };
    t.store.commit(POOL, commit).await.unwrap();
    let trained = run.await.unwrap().unwrap();
    assert_eq!(trained[5].res, json!("from the other worker"));
    assert_eq!(trained[4].res, json!(16));
}

async fn train_reclaims_the_task_of_a_dead_worker(t: TestStore) {
    let calls = Arc::new(AtomicUsize::new(0));
    let ids: Vec<_> = t
        .store
        .create(POOL, task_store::CreateParams::new(defs(4)))
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    let dead = t
        .store
        .claim(
            POOL,
            ClaimParams::new("dead-worker", Duration::from_secs(30)),
        )
        .await
        .unwrap();
    assert_eq!(dead[0].id, ids[0]);
    let trainer = TrainerRM::new(t.store.clone(), POOL, square(&calls), options(&t));
    let run = tokio::spawn(async move { trainer.train(defs(4)).await });
    let store = t.store.clone();
    eventually("the three live tasks done", || {
        let store = store.clone();
        async move { count(&store, Status::Done).await == 3 }
    })
    .await;
    t.clock.advance(Duration::from_secs(31));
    let trained = run.await.unwrap().unwrap();
    assert_eq!(trained[0].res, json!(0));
    let task = t.store.get(POOL, ids[0]).await.unwrap();
    assert_eq!((task.status, task.attempts), (Status::Done, 2));
}

async fn train_reports_failed_tasks_after_the_others_finish(t: TestStore) {
    let calls = Arc::new(AtomicUsize::new(0));
    let opts = StoreTrainerOptions {
        max_attempts: 2,
        ..options(&t)
    };
    let trainer = TrainerRM::new(t.store.clone(), POOL, square(&calls), opts);
    let mut input = defs(4);
    input.insert(1, json!({"poison": true}));
    let error = trainer.train(input).await.unwrap_err();
    let TrainError::TasksFailed(failures) = error else {
        panic!("{error:?}")
    };
    assert_eq!(failures.len(), 1);
    assert_eq!(
        (failures[0].index, failures[0].message.as_str()),
        (1, "poisoned on attempt 2")
    );
    assert_eq!(count(&t.store, Status::Done).await, 4);
    let poisoned = t.store.get(POOL, failures[0].id.unwrap()).await.unwrap();
    assert_eq!(
        (poisoned.status, poisoned.errors.len()),
        (Status::Failed, 2)
    );
}

async fn skip_run_task_waits_for_a_separate_worker(t: TestStore) {
    let calls = Arc::new(AtomicUsize::new(0));
    let opts = StoreTrainerOptions {
        skip_run_task: true,
        ..options(&t)
    };
    let submitter = TrainerRM::new(t.store.clone(), POOL, square(&calls), opts);
    let run = tokio::spawn(async move { submitter.train(defs(5)).await });
    let store = t.store.clone();
    eventually("the tasks created", || {
        let store = store.clone();
        async move { count(&store, Status::Waiting).await == 5 }
    })
    .await;
    assert!(!run.is_finished());
    let worker_side = TrainerRM::new(t.store.clone(), POOL, square(&calls), options(&t));
    assert!(worker_side.has_worker());
    let report = worker_side.worker(&Shutdown::new()).await.unwrap();
    assert_eq!(report.committed, 5);
    let trained = run.await.unwrap().unwrap();
    assert_eq!(trained[4].res, json!(16));
}

async fn train_times_out_when_nobody_works(t: TestStore) {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut opts = StoreTrainerOptions {
        skip_run_task: true,
        ..options(&t)
    };
    opts.wait.timeout = Some(Duration::from_millis(100));
    let trainer = TrainerRM::new(t.store.clone(), POOL, square(&calls), opts);
    let error = trainer.train(defs(2)).await.unwrap_err();
    let TrainError::TimedOut(last) = error else {
        panic!("{error:?}")
    };
    assert_eq!(last.pending, 2);
}

fn two_phase(t: &TestStore, opts: StoreTrainerOptions) -> DelayTrainerRM {
    let begin = blocking(|input: TaskInput| {
        assert_eq!(input.phase, Phase::First);
        Ok::<_, String>(json!({"stage1": input.payload["i"].as_i64().unwrap() + 1}))
    });
    let end = blocking(|input: TaskInput| {
        assert_eq!(input.phase, Phase::Second);
        Ok::<_, String>(json!({"final": input.payload["stage1"].as_i64().unwrap() * 100}))
    });
    DelayTrainerRM::new(t.store.clone(), POOL, begin, end, opts)
}

async fn delay_trainer_moves_tasks_waiting_part_done_done(t: TestStore) {
    let trainer = two_phase(&t, options(&t));
    assert!(trainer.is_delay());
    let started = trainer.train(defs(3)).await.unwrap();
    for (i, task) in started.iter().enumerate() {
        assert_eq!(task.status, Status::PartDone);
        assert_eq!(task.res, json!({"stage1": i + 1}));
        let stored = t.store.get(POOL, task.id.unwrap()).await.unwrap();
        assert_eq!(
            (stored.status, stored.res.clone()),
            (Status::PartDone, Some(task.res.clone()))
        );
    }
    let ended = trainer.end_train(started).await.unwrap();
    for (i, task) in ended.iter().enumerate() {
        assert_eq!(task.status, Status::Done);
        assert_eq!(task.res, json!({"final": (i + 1) * 100}));
    }
    assert!(
        all_tasks(&t.store)
            .await
            .iter()
            .all(|t| t.status == Status::Done && t.attempts == 1)
    );
}

/// B14: `train` waits for a first phase that another worker is running.
async fn delay_train_waits_for_a_first_phase_run_elsewhere(t: TestStore) {
    let created = t
        .store
        .create(POOL, task_store::CreateParams::new(defs(1)))
        .await
        .unwrap();
    let held = t
        .store
        .claim(
            POOL,
            ClaimParams::new("other-worker", Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    let trainer = two_phase(&t, options(&t));
    let run = tokio::spawn(async move { trainer.train(defs(4)).await });
    let store = t.store.clone();
    eventually("three first phases done", || {
        let store = store.clone();
        async move { count(&store, Status::PartDone).await == 3 }
    })
    .await;
    assert!(!run.is_finished());
    let commit = CommitParams {
        id: created[0].id,
        token: held[0].lease.as_ref().unwrap().token.clone(),
        result: json!({"stage1": 1}),
        status: Status::PartDone,
    };
    t.store.commit(POOL, commit).await.unwrap();
    let started = run.await.unwrap().unwrap();
    assert!(started.iter().all(|t| t.status == Status::PartDone));
    assert_eq!(started[0].res, json!({"stage1": 1}));
}

async fn delay_end_train_with_skip_run_task_waits_for_second_phase_workers(t: TestStore) {
    let opts = StoreTrainerOptions {
        skip_run_task: true,
        ..options(&t)
    };
    let trainer = Arc::new(two_phase(&t, opts));
    // The first phase still runs here (as in Qlib).
    let started = trainer.train(defs(3)).await.unwrap();
    let ender = trainer.clone();
    let run = tokio::spawn(async move { ender.end_train(started).await });
    let report = two_phase(&t, options(&t))
        .worker(&Shutdown::new())
        .await
        .unwrap();
    assert_eq!(report.committed, 3);
    let ended = run.await.unwrap().unwrap();
    assert_eq!(ended[2].res, json!({"final": 300}));
}

async fn delay_end_train_rejects_tasks_without_an_id(t: TestStore) {
    let trainer = two_phase(&t, options(&t));
    let stray = TrainedTask {
        id: None,
        def: json!(1),
        status: Status::PartDone,
        res: json!({}),
    };
    let error = trainer.end_train(vec![stray]).await.unwrap_err();
    assert!(
        matches!(error, TrainError::InvalidModel { index: 0, .. }),
        "{error:?}"
    );
}

store_tests!(
    train_returns_results_in_input_order_deduplicated,
    train_reuses_done_tasks_without_running_them_again,
    train_waits_for_a_task_another_worker_is_running,
    train_reclaims_the_task_of_a_dead_worker,
    train_reports_failed_tasks_after_the_others_finish,
    skip_run_task_waits_for_a_separate_worker,
    train_times_out_when_nobody_works,
    delay_trainer_moves_tasks_waiting_part_done_done,
    delay_train_waits_for_a_first_phase_run_elsewhere,
    delay_end_train_with_skip_run_task_waits_for_second_phase_workers,
    delay_end_train_rejects_tasks_without_an_id,
);
