//! Collectors over a real record store (the reference MemoryStore): keys,
//! status and tag filters, the duplicate-key rule, missing artifacts,
//! merging, and the §5.4 collection shape end to end.

use std::sync::Arc;
use std::time::Duration;

use jiff::civil::date;
use serde_json::json;
use task_store::{
    ErrorKind, ManualClock, MemoryStore, NewRecord, Record, RecordId, RecordStatus, RecordStore,
    Result, Timestamp,
};
use taskpool_pipeline::collect::{
    Collection, Collector, DuplicateRule, Key, MergeCollector, Node, Process, RecorderCollector,
};
use taskpool_pipeline::ensemble::{AverageEnsemble, RollingEnsemble, RollingGroup};
use taskpool_pipeline::frame::Frame;

const EXP: &str = "rolling_exp";

struct Fixture {
    store: Arc<MemoryStore>,
    clock: ManualClock,
}

impl Fixture {
    fn new() -> Fixture {
        let clock = ManualClock::new(Timestamp::from_millis(1_767_225_600_000));
        let store = Arc::new(MemoryStore::with_clock(Arc::new(clock.clone())));
        Fixture { store, clock }
    }

    fn dyn_store(&self) -> Arc<dyn RecordStore> {
        self.store.clone()
    }

    /// A record of `exp` for `model` tested from `test_start`, with a `pred`
    /// frame (unless `pred` is `None`); the clock moves 1 s after.
    async fn record(
        &self,
        exp: &str,
        status: RecordStatus,
        model: &str,
        test_start: &str,
        pred: Option<&Frame>,
    ) -> RecordId {
        let new = NewRecord {
            status,
            task: json!({"model": {"class": model}, "segments": {"test": [test_start, null]}}),
            ..NewRecord::default()
        };
        let r = self.store.create_record(exp, new).await.unwrap();
        if let Some(f) = pred {
            self.store
                .put_artifact(exp, r.id, "pred", f.encode())
                .await
                .unwrap();
        }
        self.clock.advance(Duration::from_secs(1));
        r.id
    }
}

/// The key of §5.4: (model class, test start).
fn model_and_test(r: &Record) -> Result<Key> {
    let class = r.task["model"]["class"].as_str().unwrap_or_default();
    let start = r.task["segments"]["test"][0].as_str().unwrap_or_default();
    Ok(Key::from([class, start]))
}

/// A one-column frame of `(day of January 2020, instrument, value)` rows.
fn frame(rows: &[(i8, &str, f64)]) -> Frame {
    let mut f = Frame::new(["score"]).unwrap();
    for &(d, i, v) in rows {
        f.push_row(date(2020, 1, d), i, &[v]).unwrap();
    }
    f
}

fn leaves(c: &Collection<Frame>, artifact: &str) -> Vec<(Key, Frame)> {
    match &c[&Key::from(artifact)] {
        Node::Map(m) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into_leaf().unwrap()))
            .collect(),
        Node::Leaf(_) => panic!("{artifact} is not a collection"),
    }
}

#[tokio::test]
async fn recorder_collects_finished_records_in_creation_order() {
    let fx = Fixture::new();
    let (f1, f2, f3) = (
        frame(&[(1, "X", 1.0)]),
        frame(&[(2, "X", 2.0)]),
        frame(&[(3, "X", 3.0)]),
    );
    let a = fx
        .record(EXP, RecordStatus::Finished, "LGB", "2020-01-01", Some(&f1))
        .await;
    fx.record(EXP, RecordStatus::Running, "LGB", "2020-01-02", Some(&f2))
        .await;
    fx.record(EXP, RecordStatus::Failed, "LGB", "2020-01-03", Some(&f3))
        .await;
    let b = fx
        .record(EXP, RecordStatus::Finished, "XGB", "2020-01-01", Some(&f3))
        .await;
    let got = RecorderCollector::new(fx.dyn_store(), EXP)
        .collect()
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        leaves(&got, "pred"),
        [
            (Key::from(a.to_string()), f1.clone()),
            (Key::from(b.to_string()), f3.clone())
        ]
    );
    let any = RecorderCollector::new(fx.dyn_store(), EXP)
        .any_status()
        .key_fn(model_and_test)
        .collect()
        .await
        .unwrap();
    assert_eq!(leaves(&any, "pred").len(), 4);
}

#[tokio::test]
async fn recorder_duplicate_keys_newest_wins_by_default() {
    let fx = Fixture::new();
    let (old, new) = (frame(&[(1, "X", 1.0)]), frame(&[(1, "X", 2.0)]));
    fx.record(EXP, RecordStatus::Finished, "LGB", "2020-01-01", Some(&old))
        .await;
    fx.record(EXP, RecordStatus::Finished, "XGB", "2020-01-01", Some(&old))
        .await;
    fx.record(EXP, RecordStatus::Finished, "LGB", "2020-01-01", Some(&new))
        .await;
    let collect = |rule| {
        RecorderCollector::new(fx.dyn_store(), EXP)
            .key_fn(model_and_test)
            .duplicates(rule)
    };
    let newest = collect(DuplicateRule::Newest).collect().await.unwrap();
    let lgb = Key::from(["LGB", "2020-01-01"]);
    let xgb = Key::from(["XGB", "2020-01-01"]);
    // The key appears where its winning (newest) record is: after XGB.
    assert_eq!(
        leaves(&newest, "pred"),
        [(xgb.clone(), old.clone()), (lgb.clone(), new.clone())]
    );
    let default = RecorderCollector::new(fx.dyn_store(), EXP)
        .key_fn(model_and_test)
        .collect()
        .await
        .unwrap();
    assert_eq!(default, newest);
    let oldest = collect(DuplicateRule::Oldest).collect().await.unwrap();
    assert_eq!(leaves(&oldest, "pred"), [(lgb, old.clone()), (xgb, old)]);
    let err = collect(DuplicateRule::Error).collect().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
}

#[tokio::test]
async fn recorder_duplicate_created_in_the_same_millisecond_orders_by_id() {
    let fx = Fixture::new();
    let (first, second) = (frame(&[(1, "X", 1.0)]), frame(&[(1, "X", 2.0)]));
    for f in [&first, &second] {
        let new = NewRecord {
            status: RecordStatus::Finished,
            ..NewRecord::default()
        };
        let r = fx.store.create_record(EXP, new).await.unwrap();
        fx.store
            .put_artifact(EXP, r.id, "pred", f.encode())
            .await
            .unwrap();
    }
    let got = RecorderCollector::new(fx.dyn_store(), EXP)
        .key_fn(|_| Ok(Key::from("same")))
        .collect()
        .await
        .unwrap();
    assert_eq!(leaves(&got, "pred"), [(Key::from("same"), second)]);
}

#[tokio::test]
async fn recorder_newest_without_artifact_does_not_fall_back() {
    let fx = Fixture::new();
    let old = frame(&[(1, "X", 1.0)]);
    fx.record(EXP, RecordStatus::Finished, "LGB", "2020-01-01", Some(&old))
        .await;
    fx.record(EXP, RecordStatus::Finished, "LGB", "2020-01-01", None)
        .await;
    let c = RecorderCollector::new(fx.dyn_store(), EXP).key_fn(model_and_test);
    let got = c.collect().await.unwrap();
    assert!(leaves(&got, "pred").is_empty());
    let strict = RecorderCollector::new(fx.dyn_store(), EXP)
        .key_fn(model_and_test)
        .only_exist(false);
    assert_eq!(
        strict.collect().await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn recorder_filters_by_tag_and_closure() {
    let fx = Fixture::new();
    let f = frame(&[(1, "X", 1.0)]);
    let a = fx
        .record(EXP, RecordStatus::Finished, "LGB", "2020-01-01", Some(&f))
        .await;
    let b = fx
        .record(EXP, RecordStatus::Finished, "XGB", "2020-01-01", Some(&f))
        .await;
    fx.store
        .update_record(EXP, task_store::UpdateRecord::new(b).tag("online", "yes"))
        .await
        .unwrap();
    let tagged = RecorderCollector::new(fx.dyn_store(), EXP)
        .tag("online", "yes")
        .collect()
        .await
        .unwrap();
    assert_eq!(
        leaves(&tagged, "pred"),
        [(Key::from(b.to_string()), f.clone())]
    );
    let lgb_only = RecorderCollector::new(fx.dyn_store(), EXP)
        .rec_filter(|r| r.task["model"]["class"] == "LGB")
        .collect()
        .await
        .unwrap();
    assert_eq!(leaves(&lgb_only, "pred"), [(Key::from(a.to_string()), f)]);
}

#[tokio::test]
async fn recorder_lists_every_requested_artifact() {
    let fx = Fixture::new();
    let f = frame(&[(1, "X", 1.0)]);
    fx.record(EXP, RecordStatus::Finished, "LGB", "2020-01-01", Some(&f))
        .await;
    let got = RecorderCollector::new(fx.dyn_store(), EXP)
        .artifacts(["pred", "label"])
        .collect()
        .await
        .unwrap();
    let keys: Vec<_> = got.keys().cloned().collect();
    assert_eq!(keys, [Key::from("pred"), Key::from("label")]);
    assert_eq!(leaves(&got, "pred").len(), 1);
    assert!(leaves(&got, "label").is_empty());
}

#[tokio::test]
async fn recorder_undecodable_artifact_fails() {
    let fx = Fixture::new();
    let id = fx
        .record(EXP, RecordStatus::Finished, "LGB", "2020-01-01", None)
        .await;
    fx.store
        .put_artifact(EXP, id, "pred", b"not a frame".to_vec())
        .await
        .unwrap();
    let err = RecorderCollector::new(fx.dyn_store(), EXP)
        .collect()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn recorder_with_loader_collects_raw_bytes() {
    let fx = Fixture::new();
    let id = fx
        .record(EXP, RecordStatus::Finished, "LGB", "2020-01-01", None)
        .await;
    fx.store
        .put_artifact(EXP, id, "model", vec![1, 2])
        .await
        .unwrap();
    let got = RecorderCollector::with_loader(fx.dyn_store(), EXP, |_, _, bytes| Ok(bytes))
        .artifacts(["model"])
        .collect()
        .await
        .unwrap();
    let Node::Map(m) = &got[&Key::from("model")] else {
        panic!("not a collection")
    };
    assert_eq!(m[&Key::from(id.to_string())], Node::Leaf(vec![1, 2]));
}

/// Reference §5.4: rolling windows per model, grouped and concatenated,
/// merged under a strategy name, then averaged.
#[tokio::test]
async fn rolling_collection_shape_end_to_end() {
    let fx = Fixture::new();
    let lgb1 = frame(&[(1, "X", 1.0), (1, "Y", 2.0), (2, "X", 3.0), (2, "Y", 5.0)]);
    let lgb2 = frame(&[(2, "X", 9.0), (2, "Y", 7.0), (3, "X", 1.0), (3, "Y", 4.0)]);
    let xgb1 = frame(&[(1, "X", 2.0), (1, "Y", 1.0), (2, "X", 0.0), (2, "Y", 8.0)]);
    let xgb2 = frame(&[(3, "X", 6.0), (3, "Y", 5.0)]);
    fx.record(
        EXP,
        RecordStatus::Finished,
        "LGBModel",
        "2020-01-01",
        Some(&lgb1),
    )
    .await;
    fx.record(
        EXP,
        RecordStatus::Finished,
        "XGBModel",
        "2020-01-01",
        Some(&xgb1),
    )
    .await;
    fx.record(
        EXP,
        RecordStatus::Finished,
        "LGBModel",
        "2020-01-02",
        Some(&lgb2),
    )
    .await;
    fx.record(
        EXP,
        RecordStatus::Finished,
        "XGBModel",
        "2020-01-03",
        Some(&xgb2),
    )
    .await;
    let rolling = RecorderCollector::new(fx.dyn_store(), EXP)
        .key_fn(model_and_test)
        .process(RollingGroup::new());
    let grouped = rolling.call().await.unwrap();
    let lgb = RollingEnsemble.combine(&[lgb1, lgb2]).unwrap();
    let xgb = RollingEnsemble.combine(&[xgb1, xgb2]).unwrap();
    assert_eq!(
        leaves(&grouped, "pred"),
        [
            (Key::from("LGBModel"), lgb.clone()),
            (Key::from("XGBModel"), xgb.clone())
        ]
    );
    let merged = MergeCollector::new([(
        "LGB_strategy".to_string(),
        Box::new(rolling) as Box<dyn Collector<Frame>>,
    )]);
    let collected = merged.call().await.unwrap();
    let keys: Vec<_> = collected.keys().cloned().collect();
    assert_eq!(keys, [Key::from(["LGB_strategy", "pred"])]);
    let signals = AverageEnsemble
        .process(Node::Map(collected))
        .and_then(Node::into_leaf)
        .unwrap();
    assert_eq!(signals, AverageEnsemble.combine(&[lgb, xgb]).unwrap());
}

#[tokio::test]
async fn merge_collector_custom_merge_fn_and_later_duplicates_win() {
    let fx = Fixture::new();
    let (f1, f2) = (frame(&[(1, "X", 1.0)]), frame(&[(1, "X", 2.0)]));
    fx.record(
        "exp_a",
        RecordStatus::Finished,
        "LGB",
        "2020-01-01",
        Some(&f1),
    )
    .await;
    fx.record(
        "exp_b",
        RecordStatus::Finished,
        "LGB",
        "2020-01-01",
        Some(&f2),
    )
    .await;
    let child = |exp: &str| {
        Box::new(RecorderCollector::new(fx.dyn_store(), exp).key_fn(|_| Ok(Key::from("only"))))
            as Box<dyn Collector<Frame>>
    };
    let merged = MergeCollector::new([
        ("a".to_string(), child("exp_a")),
        ("b".to_string(), child("exp_b")),
    ])
    .merge_fn(|_, k| k.clone());
    let got = merged.call().await.unwrap();
    assert_eq!(leaves(&got, "pred"), [(Key::from("only"), f2)]);
}
