//! `wait`: finishing, timeouts (on tokio's paused clock), expired leases.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use task_store::{ClaimParams, Query, ResetParams, Status, TaskStore};
use taskpool_pipeline::worker::{
    ExpiredLease, Shutdown, TaskInput, WaitOptions, WaitOutcome, Worker, blocking, wait,
};

use crate::support::{POOL, config, create, memory_store};

fn options(clock: &task_store::ManualClock) -> WaitOptions {
    WaitOptions {
        poll: Duration::from_secs(1),
        clock: Arc::new(clock.clone()),
        ..WaitOptions::default()
    }
}

#[tokio::test]
async fn wait_returns_once_no_task_is_pending() {
    let (store, clock) = memory_store();
    create(&store, (0..4).map(|i| json!({"i": i})).collect(), 3).await;
    let task_fn = blocking(|_: TaskInput| Ok::<_, String>(json!(1)));
    let worker = Worker::new(store.clone(), config(), task_fn).unwrap();
    let run = tokio::spawn(async move { worker.run(&Shutdown::new()).await });
    let mut looks = Vec::new();
    let opts = WaitOptions {
        poll: Duration::from_millis(10),
        ..options(&clock)
    };
    let outcome = wait(&*store, POOL, &Query::All, &opts, |p| looks.push(p.clone()))
        .await
        .unwrap();
    run.await.unwrap().unwrap();
    let WaitOutcome::Finished(stat) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(stat.done, 4);
    let last = looks.last().unwrap();
    assert_eq!((last.pending, last.finished(), last.total()), (0, 4, 4));
}

#[tokio::test(start_paused = true)]
async fn wait_times_out_with_the_last_look() {
    let (store, clock) = memory_store();
    create(&store, vec![json!(1), json!(2)], 3).await;
    let opts = WaitOptions {
        timeout: Some(Duration::from_secs(5)),
        ..options(&clock)
    };
    let mut looks = 0;
    let outcome = wait(&*store, POOL, &Query::All, &opts, |_| looks += 1)
        .await
        .unwrap();
    let WaitOutcome::TimedOut(last) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!((last.pending, last.stat.waiting), (2, 2));
    // Looks at t = 0, 1, 2, 3, 4 and 5 seconds of tokio's paused clock.
    assert_eq!(looks, 6);
}

#[tokio::test(start_paused = true)]
async fn wait_reports_running_tasks_whose_lease_expired() {
    let (store, clock) = memory_store();
    let ids = create(&store, vec![json!(1), json!(2)], 3).await;
    let claimed = store
        .claim(
            POOL,
            ClaimParams::new("dead-worker", Duration::from_secs(30)),
        )
        .await
        .unwrap();
    let expires_at = claimed[0].lease.as_ref().unwrap().expires_at;
    let opts = WaitOptions {
        timeout: Some(Duration::from_secs(2)),
        ..options(&clock)
    };
    let mut first = None;
    wait(&*store, POOL, &Query::All, &opts, |p| {
        first.get_or_insert(p.expired.clone());
    })
    .await
    .unwrap();
    assert_eq!(first, Some(Vec::new()), "the lease is still live");

    clock.advance(Duration::from_secs(31));
    let mut expired = Vec::new();
    let outcome = wait(&*store, POOL, &Query::All, &opts, |p| {
        expired = p.expired.clone()
    })
    .await
    .unwrap();
    assert!(matches!(outcome, WaitOutcome::TimedOut(_)));
    assert_eq!(
        expired,
        vec![ExpiredLease {
            id: ids[0],
            owner: "dead-worker".into(),
            expired_at: expires_at,
            from_status: Status::Waiting,
        }]
    );
}

#[tokio::test]
async fn wait_with_first_phase_pending_ignores_part_done_tasks() {
    let (store, clock) = memory_store();
    create(&store, vec![json!(1)], 3).await;
    let reset = ResetParams {
        query: Query::All,
        status: Status::PartDone,
    };
    store.reset_status(POOL, reset).await.unwrap();
    let opts = WaitOptions {
        pending: vec![Status::Waiting, Status::Running],
        ..options(&clock)
    };
    let outcome = wait(&*store, POOL, &Query::All, &opts, |_| {})
        .await
        .unwrap();
    let WaitOutcome::Finished(stat) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(stat.part_done, 1);
}

#[tokio::test]
async fn wait_on_a_query_matching_nothing_returns_at_once() {
    let (store, clock) = memory_store();
    create(&store, vec![json!({"k": 1})], 3).await;
    let query = Query::parse(&json!({"filter.k": 2})).unwrap();
    let outcome = wait(&*store, POOL, &query, &options(&clock), |_| {})
        .await
        .unwrap();
    assert_eq!(outcome, WaitOutcome::Finished(Default::default()));
}

#[tokio::test(start_paused = true)]
async fn wait_backs_off_from_the_first_poll_to_poll() {
    let (store, clock) = memory_store();
    create(&store, vec![json!(1)], 3).await;
    let opts = WaitOptions {
        poll: Duration::from_secs(8),
        first_poll: Some(Duration::from_secs(1)),
        timeout: Some(Duration::from_secs(20)),
        ..options(&clock)
    };
    let began = tokio::time::Instant::now();
    let mut looks = Vec::new();
    let outcome = wait(&*store, POOL, &Query::All, &opts, |_| {
        looks.push(began.elapsed().as_secs())
    })
    .await
    .unwrap();
    assert!(matches!(outcome, WaitOutcome::TimedOut(_)), "{outcome:?}");
    // Pauses of 1, 2, 4, 8 (the longest), then the 5 seconds left.
    assert_eq!(looks, [0, 1, 3, 7, 15, 20]);
}

#[tokio::test(start_paused = true)]
async fn a_worker_of_this_process_wakes_the_wait_when_it_settles_tasks() {
    let (store, clock) = memory_store();
    create(&store, (0..3).map(|i| json!({"i": i})).collect(), 3).await;
    let task_fn =
        taskpool_pipeline::worker::from_async(|_: TaskInput| async { Ok::<_, String>(json!(1)) });
    let worker = Worker::new(store.clone(), config(), task_fn).unwrap();
    let wake = Arc::new(tokio::sync::Notify::new());
    // Without the wake-up this wait would look again only after an hour
    // (of tokio's paused clock, which moves only when everything is idle).
    let opts = WaitOptions {
        poll: Duration::from_secs(3600),
        wake: Some(Arc::clone(&wake)),
        ..options(&clock)
    };
    let began = tokio::time::Instant::now();
    let shutdown = Shutdown::new();
    let (worked, outcome) = tokio::join!(
        worker.run_waking(&shutdown, &wake),
        wait(&*store, POOL, &Query::All, &opts, |_| {})
    );
    assert_eq!(worked.unwrap().committed, 3);
    let WaitOutcome::Finished(stat) = outcome.unwrap() else {
        panic!("the wait did not finish")
    };
    assert_eq!(stat.done, 3);
    assert!(began.elapsed() < opts.poll, "{:?}", began.elapsed());
}
