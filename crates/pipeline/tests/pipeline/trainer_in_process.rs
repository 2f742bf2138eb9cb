//! TrainerR and DelayTrainerR: in process, in order, no store.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use task_store::Status;
use taskpool_pipeline::trainer::{DelayTrainerR, TrainError, TrainedTask, Trainer, TrainerR};
use taskpool_pipeline::worker::{Phase, Shutdown, TaskInput, blocking};

use crate::support::python;

#[tokio::test]
async fn trainer_r_returns_results_in_input_order() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let task_fn = {
        let seen = seen.clone();
        blocking(move |input: TaskInput| {
            assert_eq!(
                (input.id, input.pool.as_deref(), input.attempt),
                (None, None, 1)
            );
            assert!(input.artifact_dir.is_dir());
            seen.lock().unwrap().push(input.payload["i"].clone());
            Ok::<_, String>(json!({"sq": input.payload["i"].as_i64().unwrap().pow(2)}))
        })
    };
    let trainer = TrainerR::new(task_fn);
    let defs: Vec<Value> = (0..5).map(|i| json!({"i": i})).collect();
    let trained = trainer.train_all(defs.clone()).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        (0..5).map(|i| json!(i)).collect::<Vec<_>>()
    );
    for (i, t) in trained.iter().enumerate() {
        assert_eq!(t.def, defs[i]);
        assert_eq!((t.status, t.id), (Status::Done, None));
        assert_eq!(t.res, json!({"sq": i * i}));
    }
    assert!(!trainer.is_delay());
}

#[tokio::test]
async fn trainer_r_stops_at_the_first_failure() {
    let calls = Arc::new(AtomicUsize::new(0));
    let task_fn = {
        let calls = calls.clone();
        blocking(move |input: TaskInput| {
            calls.fetch_add(1, Ordering::SeqCst);
            if input.payload == json!(1) {
                Err("bad task")
            } else {
                Ok(json!(null))
            }
        })
    };
    let error = TrainerR::new(task_fn)
        .train(vec![json!(0), json!(1), json!(2)])
        .await
        .unwrap_err();
    let TrainError::TasksFailed(failures) = error else {
        panic!("{error:?}")
    };
    assert_eq!((failures.len(), failures[0].index), (1, 1));
    assert_eq!(failures[0].message, "bad task");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// B13: each task runs in exactly one child process started by the trainer
/// itself, never inside nested process pools.
#[tokio::test]
async fn trainer_r_command_runs_each_task_one_process_deep() {
    let script = "import json, os, sys; json.load(sys.stdin); print(json.dumps(os.getppid()))";
    let trainer = TrainerR::new(Arc::new(python(script)));
    let trained = trainer
        .train((0..4).map(|i| json!(i)).collect())
        .await
        .unwrap();
    for t in trained {
        assert_eq!(t.res, json!(std::process::id()));
    }
}

fn two_phase() -> DelayTrainerR {
    let begin = blocking(|input: TaskInput| {
        assert_eq!(input.phase, Phase::First);
        Ok::<_, String>(json!({"stage1": input.payload["x"]}))
    });
    let end = blocking(|input: TaskInput| {
        assert_eq!(input.phase, Phase::Second);
        Ok::<_, String>(json!({"final": input.payload["stage1"].as_i64().unwrap() * 10}))
    });
    DelayTrainerR::new(begin, end)
}

#[tokio::test]
async fn delay_trainer_r_ends_with_the_first_phase_result_as_input() {
    let trainer = two_phase();
    assert!(trainer.is_delay());
    let started = trainer
        .train(vec![json!({"x": 1}), json!({"x": 2})])
        .await
        .unwrap();
    assert!(started.iter().all(|t| t.status == Status::PartDone));
    assert_eq!(started[1].res, json!({"stage1": 2}));
    let ended = trainer.end_train(started).await.unwrap();
    assert!(ended.iter().all(|t| t.status == Status::Done));
    assert_eq!(ended[1].res, json!({"final": 20}));
    let again = trainer.end_train(ended.clone()).await.unwrap();
    assert_eq!(again, ended);
}

/// B15: a task that is not part_done or done is rejected, not a crash.
#[tokio::test]
async fn delay_trainer_r_end_train_rejects_tasks_that_cannot_end() {
    let trainer = two_phase();
    let stray = TrainedTask {
        id: None,
        def: json!(1),
        status: Status::Waiting,
        res: json!(null),
    };
    let done = TrainedTask {
        status: Status::Done,
        ..stray.clone()
    };
    let error = trainer.end_train(vec![done, stray]).await.unwrap_err();
    assert!(
        matches!(error, TrainError::InvalidModel { index: 1, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn in_process_trainers_have_no_worker() {
    let trainer = two_phase();
    assert!(!trainer.has_worker());
    let error = trainer.worker(&Shutdown::new()).await.unwrap_err();
    assert!(matches!(error, TrainError::NoWorker));
}
