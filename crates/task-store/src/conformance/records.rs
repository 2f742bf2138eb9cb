//! The record and artifact conformance cases: the behaviour every
//! [`RecordStore`] must show, one case per `# Behavior` bullet and error.
//!
//! [`record_conformance_tests!`](crate::record_conformance_tests) expands,
//! in the calling module, one `#[test]` per case, each on a fresh store:
//!
//! ```ignore
//! task_store::record_conformance_tests!(|clock: task_store::SharedClock, _case: &'static str| async move {
//!     Some(std::sync::Arc::new(task_store::MemoryStore::with_clock(clock))
//!         as std::sync::Arc<dyn task_store::RecordStore>)
//! });
//! ```
//!
//! The factory follows the same contract as the task suite's: a fresh,
//! isolated store reading time only from `clock`, or `None` (after printing
//! why) to skip the case.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::START;
use crate::error::ErrorKind;
use crate::id::TaskId;
use crate::record::{
    ArtifactInfo, NewRecord, Record, RecordFilter, RecordStatus, RecordStore, UpdateRecord,
};
use crate::time::{Clock, ManualClock, SharedClock};

/// What a record case gets: a fresh store, its clock and an experiment name.
pub struct RecordCtx {
    /// The store under test.
    pub store: Arc<dyn RecordStore>,
    /// The store's clock.
    pub clock: ManualClock,
    /// An experiment name unique to this case.
    pub experiment: String,
}

impl RecordCtx {
    /// Build a context from a factory; `None` if the factory skips the case.
    pub async fn new<F, Fut>(factory: F, case: &'static str) -> Option<RecordCtx>
    where
        F: FnOnce(SharedClock, &'static str) -> Fut,
        Fut: std::future::Future<Output = Option<Arc<dyn RecordStore>>>,
    {
        let clock = ManualClock::new(START);
        let store = factory(Arc::new(clock.clone()), case).await?;
        Some(RecordCtx {
            store,
            clock,
            experiment: RecordCtx::experiment_for(case),
        })
    }

    /// The experiment a case works in.
    pub fn experiment_for(case: &str) -> String {
        format!("rec_{case}")
    }

    /// Create a record that the case expects to succeed.
    pub async fn create(&self, new: NewRecord) -> Record {
        self.store
            .create_record(&self.experiment, new)
            .await
            .unwrap_or_else(|e| panic!("create_record failed: {e}"))
    }
}

/// Run one case's future on a fresh multi-thread runtime (used by the macro).
///
/// # Panics
/// If the runtime cannot be built: the test cannot run.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("build a tokio runtime for a record conformance test")
        .block_on(future)
}

/// Expand every record conformance case into a `#[test]` of the calling module.
///
/// `$factory` is a closure `|clock: SharedClock, case: &'static str| async move { Option<Arc<dyn RecordStore>> }`.
#[macro_export]
macro_rules! record_conformance_tests {
    ($factory:expr) => {
        $crate::__record_case_list!([$crate::record_conformance_tests] (@cases $factory;));
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::conformance::records::block_on(async {
                    if let Some(ctx) =
                        $crate::conformance::records::RecordCtx::new($factory, stringify!($case)).await
                    {
                        $crate::conformance::records::$case(&ctx).await;
                    }
                });
            }
        )*
    };
}

/// Call `$callback! { prefix… case, case, … }` with the list of record cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __record_case_list {
    ([$($callback:tt)*] ( $($prefix:tt)* )) => {
        $($callback)*! {
            $($prefix)*
            create_record_assigns_id_and_timestamps,
            create_record_keeps_given_fields,
            create_record_with_taken_id_fails,
            create_record_rejects_bad_input,
            record_integer_beyond_i64_is_invalid_input,
            get_record_missing_fails,
            update_record_merges_maps,
            update_record_tracks_finished_at,
            update_record_missing_or_invalid_fails,
            update_record_concurrent_updates_are_not_lost,
            list_records_filters_by_status_tags_and_task,
            list_records_is_scoped_by_experiment,
            experiments_lists_names_with_records,
            delete_record_removes_artifacts,
            put_artifact_round_trips_bytes,
            put_artifact_replaces_existing,
            put_artifact_over_16_mb_round_trips,
            put_artifact_on_missing_record_fails,
            get_artifact_missing_fails,
            delete_artifact_reports_existence,
        }
    };
}

/// Turn the case list into `&[&str]` (used for [`RECORD_CASES`]).
#[doc(hidden)]
#[macro_export]
macro_rules! __record_case_names {
    ($($case:ident),* $(,)?) => {
        &[$(stringify!($case)),*]
    };
}

/// Every record case, in the order the macro expands them.
pub const RECORD_CASES: &[&str] = crate::__record_case_list!([crate::__record_case_names]());

fn sample() -> NewRecord {
    let task = json!({"model": {"class": "LGBModel", "kwargs": {"alpha": 0.1}}});
    NewRecord {
        pool: Some("rolling_task".into()),
        task_id: Some(TaskId::generate(START)),
        params: crate::record::flatten_params(&task),
        task,
        metrics: BTreeMap::from([("ic".into(), 0.1 + 0.2), ("loss".into(), -1e-300)]),
        tags: BTreeMap::from([("online".into(), "yes".into())]),
        ..NewRecord::default()
    }
}

/// create: a fresh id, created_at = updated_at = now, running, no finished_at;
/// later records get larger ids; get returns what create returned.
pub async fn create_record_assigns_id_and_timestamps(ctx: &RecordCtx) {
    let first = ctx.create(NewRecord::default()).await;
    assert_eq!(first.experiment, ctx.experiment);
    assert_eq!((first.created_at, first.updated_at), (START, START));
    assert_eq!(first.status, RecordStatus::Running);
    assert_eq!(first.finished_at, None);
    ctx.clock.advance(Duration::from_secs(1));
    let second = ctx.create(NewRecord::default()).await;
    assert!(second.id > first.id);
    assert_eq!(
        ctx.store
            .get_record(&ctx.experiment, first.id)
            .await
            .unwrap(),
        first
    );
}

/// create: every given field is stored as given, metrics bit for bit; a final
/// status sets finished_at.
pub async fn create_record_keeps_given_fields(ctx: &RecordCtx) {
    let new = NewRecord {
        status: RecordStatus::Finished,
        ..sample()
    };
    let created = ctx.create(new.clone()).await;
    let got = ctx
        .store
        .get_record(&ctx.experiment, created.id)
        .await
        .unwrap();
    assert_eq!(got, created);
    assert_eq!((got.pool, got.task_id), (new.pool, new.task_id));
    assert_eq!((got.task, got.params), (new.task, new.params));
    assert_eq!(got.tags, new.tags);
    assert_eq!(got.metrics["ic"].to_bits(), (0.1f64 + 0.2).to_bits());
    assert_eq!(got.metrics["loss"].to_bits(), (-1e-300f64).to_bits());
    assert_eq!(got.finished_at, Some(START));
}

/// create: an id already in the experiment fails with AlreadyExists and
/// changes nothing.
pub async fn create_record_with_taken_id_fails(ctx: &RecordCtx) {
    let first = ctx.create(sample()).await;
    let again = NewRecord {
        id: Some(first.id),
        ..NewRecord::default()
    };
    let err = ctx
        .store
        .create_record(&ctx.experiment, again)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert_eq!(
        ctx.store
            .get_record(&ctx.experiment, first.id)
            .await
            .unwrap(),
        first
    );
}

/// create: bad names and non-finite metrics fail before anything is written.
pub async fn create_record_rejects_bad_input(ctx: &RecordCtx) {
    let s = &ctx.store;
    let nan = NewRecord {
        metrics: BTreeMap::from([("ic".into(), f64::NAN)]),
        ..NewRecord::default()
    };
    let empty_tag = NewRecord {
        tags: BTreeMap::from([(String::new(), "x".into())]),
        ..NewRecord::default()
    };
    let bad_pool = NewRecord {
        pool: Some("a b".into()),
        ..NewRecord::default()
    };
    let exp = &ctx.experiment;
    let kind = |r: crate::Result<Record>| r.unwrap_err().kind();
    assert_eq!(
        kind(s.create_record(exp, nan).await),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        kind(s.create_record(exp, empty_tag).await),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        kind(s.create_record(exp, bad_pool).await),
        ErrorKind::Config
    );
    assert_eq!(
        kind(s.create_record("bad name", NewRecord::default()).await),
        ErrorKind::Config
    );
    assert!(s.experiments().await.unwrap().is_empty());
}

/// create and update: an integer beyond `i64` in the task or a parameter is
/// InvalidInput and changes nothing.
pub async fn record_integer_beyond_i64_is_invalid_input(ctx: &RecordCtx) {
    let s = &ctx.store;
    let exp = &ctx.experiment;
    let big = i64::MAX as u64 + 1;
    let in_task = NewRecord {
        task: json!({"model": {"seed": big}}),
        ..NewRecord::default()
    };
    let in_param = NewRecord {
        params: BTreeMap::from([("seed".into(), json!(big))]),
        ..NewRecord::default()
    };
    for new in [in_task, in_param] {
        assert_eq!(
            s.create_record(exp, new).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
    assert!(s.experiments().await.unwrap().is_empty());
    let r = ctx.create(sample()).await;
    let update = UpdateRecord::new(r.id).param("seed", json!([big]));
    assert_eq!(
        s.update_record(exp, update).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(s.get_record(exp, r.id).await.unwrap(), r);
}

/// get: a missing id, or an id of another experiment, fails with NotFound.
pub async fn get_record_missing_fails(ctx: &RecordCtx) {
    let r = ctx.create(sample()).await;
    let other = format!("{}_other", ctx.experiment);
    for (exp, id) in [
        (ctx.experiment.as_str(), crate::RecordId::generate(START)),
        (other.as_str(), r.id),
    ] {
        let err = ctx.store.get_record(exp, id).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }
}

/// update: maps are merged (new names added, existing names overwritten,
/// others kept), updated_at = now, created_at unchanged.
pub async fn update_record_merges_maps(ctx: &RecordCtx) {
    let r = ctx.create(sample()).await;
    ctx.clock.advance(Duration::from_secs(5));
    let update = UpdateRecord::new(r.id)
        .metric("ic", 0.25)
        .metric("rank_ic", -0.5)
        .tag("online", "no")
        .tag("window", "2017")
        .param("model.kwargs.alpha", json!(0.2));
    let updated = ctx
        .store
        .update_record(&ctx.experiment, update)
        .await
        .unwrap();
    assert_eq!(updated.metrics["ic"], 0.25);
    assert_eq!(updated.metrics["rank_ic"], -0.5);
    assert_eq!(updated.metrics["loss"], -1e-300);
    assert_eq!(updated.tags["online"], "no");
    assert_eq!(updated.tags["window"], "2017");
    assert_eq!(updated.params["model.kwargs.alpha"], json!(0.2));
    assert_eq!(updated.params["model.class"], json!("LGBModel"));
    assert_eq!(updated.created_at, START);
    assert_eq!(updated.updated_at, ctx.clock.now());
    assert_eq!(updated.status, RecordStatus::Running);
    assert_eq!(
        ctx.store.get_record(&ctx.experiment, r.id).await.unwrap(),
        updated
    );
}

/// update: entering a final status sets finished_at; going back to running
/// clears it.
pub async fn update_record_tracks_finished_at(ctx: &RecordCtx) {
    let r = ctx.create(NewRecord::default()).await;
    ctx.clock.advance(Duration::from_secs(3));
    let done_at = ctx.clock.now();
    let done = ctx
        .store
        .update_record(
            &ctx.experiment,
            UpdateRecord::new(r.id).status(RecordStatus::Finished),
        )
        .await
        .unwrap();
    assert_eq!(done.finished_at, Some(done_at));
    ctx.clock.advance(Duration::from_secs(3));
    let again = ctx
        .store
        .update_record(&ctx.experiment, UpdateRecord::new(r.id).tag("k", "v"))
        .await
        .unwrap();
    assert_eq!(again.finished_at, Some(done_at));
    let rerun = ctx
        .store
        .update_record(
            &ctx.experiment,
            UpdateRecord::new(r.id).status(RecordStatus::Running),
        )
        .await
        .unwrap();
    assert_eq!(rerun.finished_at, None);
}

/// update: a missing record fails with NotFound; a non-finite metric with
/// InvalidInput, changing nothing.
pub async fn update_record_missing_or_invalid_fails(ctx: &RecordCtx) {
    let s = &ctx.store;
    let missing = UpdateRecord::new(crate::RecordId::generate(START)).tag("k", "v");
    assert_eq!(
        s.update_record(&ctx.experiment, missing)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let r = ctx.create(sample()).await;
    let bad = UpdateRecord::new(r.id)
        .tag("k", "v")
        .metric("ic", f64::INFINITY);
    assert_eq!(
        s.update_record(&ctx.experiment, bad)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(s.get_record(&ctx.experiment, r.id).await.unwrap(), r);
}

/// update: concurrent updates of one record each take effect.
pub async fn update_record_concurrent_updates_are_not_lost(ctx: &RecordCtx) {
    let r = ctx.create(NewRecord::default()).await;
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let store = Arc::clone(&ctx.store);
            let exp = ctx.experiment.clone();
            tokio::spawn(async move {
                let update = UpdateRecord::new(r.id).metric(format!("m{i}"), f64::from(i));
                store.update_record(&exp, update).await.unwrap();
            })
        })
        .collect();
    for h in handles {
        h.await.expect("an update task panicked");
    }
    let got = ctx.store.get_record(&ctx.experiment, r.id).await.unwrap();
    let want: BTreeMap<String, f64> = (0..16).map(|i| (format!("m{i}"), f64::from(i))).collect();
    assert_eq!(got.metrics, want);
}

/// Four records: finished/yes, running/yes, finished/no, failed/yes (status/online tag).
async fn seed_for_listing(ctx: &RecordCtx) -> Vec<Record> {
    let mut out = Vec::new();
    for (status, online) in [
        (RecordStatus::Finished, "yes"),
        (RecordStatus::Running, "yes"),
        (RecordStatus::Finished, "no"),
        (RecordStatus::Failed, "yes"),
    ] {
        let new = NewRecord {
            status,
            tags: BTreeMap::from([("online".into(), online.into())]),
            task_id: Some(TaskId::generate(START)),
            ..NewRecord::default()
        };
        out.push(ctx.create(new).await);
    }
    out
}

/// list: exactly the records the filter matches (status set, tags, task), sorted by id.
pub async fn list_records_filters_by_status_tags_and_task(ctx: &RecordCtx) {
    let all = seed_for_listing(ctx).await;
    let ids = |records: Vec<Record>| records.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let list = |filter: RecordFilter| async move {
        ids(ctx
            .store
            .list_records(&ctx.experiment, &filter)
            .await
            .unwrap())
    };
    assert_eq!(list(RecordFilter::all()).await, ids(all.clone()));
    let finished = RecordFilter::all().status([RecordStatus::Finished]);
    assert_eq!(list(finished.clone()).await, [all[0].id, all[2].id]);
    assert_eq!(list(finished.tag("online", "yes")).await, [all[0].id]);
    let final_ = RecordFilter::all().status([RecordStatus::Finished, RecordStatus::Failed]);
    assert_eq!(list(final_).await, [all[0].id, all[2].id, all[3].id]);
    assert!(list(RecordFilter::all().status([])).await.is_empty());
    assert!(
        list(RecordFilter::all().tag("absent", "x"))
            .await
            .is_empty()
    );
    let by_task = RecordFilter {
        task_id: all[1].task_id,
        ..RecordFilter::all()
    };
    assert_eq!(list(by_task).await, [all[1].id]);
}

/// list: only the experiment's records; an unknown experiment has none; a bad
/// name fails with Config.
pub async fn list_records_is_scoped_by_experiment(ctx: &RecordCtx) {
    let mine = ctx.create(sample()).await;
    let other = format!("{}_other", ctx.experiment);
    let theirs = ctx.store.create_record(&other, sample()).await.unwrap();
    let all = RecordFilter::all();
    let listed = ctx.store.list_records(&ctx.experiment, &all).await.unwrap();
    assert_eq!(listed, [mine]);
    let listed = ctx.store.list_records(&other, &all).await.unwrap();
    assert_eq!(listed, [theirs]);
    assert!(
        ctx.store
            .list_records("never_used", &all)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ctx.store.list_records("", &all).await.unwrap_err().kind(),
        ErrorKind::Config
    );
}

/// experiments: the names having records, sorted; an experiment disappears
/// with its last record.
pub async fn experiments_lists_names_with_records(ctx: &RecordCtx) {
    let b = format!("{}_b", ctx.experiment);
    let a = format!("{}_a", ctx.experiment);
    let rb = ctx.store.create_record(&b, sample()).await.unwrap();
    ctx.store.create_record(&a, sample()).await.unwrap();
    assert_eq!(
        ctx.store.experiments().await.unwrap(),
        [a.clone(), b.clone()]
    );
    assert!(ctx.store.delete_record(&b, rb.id).await.unwrap());
    assert_eq!(ctx.store.experiments().await.unwrap(), [a]);
}

/// delete: the record and its artifacts go; a second delete reports false; a
/// record re-created with the same id has no artifacts.
pub async fn delete_record_removes_artifacts(ctx: &RecordCtx) {
    let s = &ctx.store;
    let exp = &ctx.experiment;
    let r = ctx.create(sample()).await;
    s.put_artifact(exp, r.id, "pred", vec![1, 2, 3])
        .await
        .unwrap();
    assert!(s.delete_record(exp, r.id).await.unwrap());
    assert_eq!(
        s.get_record(exp, r.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        s.get_artifact(exp, r.id, "pred").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(!s.delete_record(exp, r.id).await.unwrap());
    let again = NewRecord {
        id: Some(r.id),
        ..NewRecord::default()
    };
    ctx.create(again).await;
    assert!(s.list_artifacts(exp, r.id).await.unwrap().is_empty());
}

/// put/get/list artifacts: bytes round-trip (empty included), listing is
/// sorted by name with lengths, the record itself does not change.
pub async fn put_artifact_round_trips_bytes(ctx: &RecordCtx) {
    let s = &ctx.store;
    let exp = &ctx.experiment;
    let r = ctx.create(sample()).await;
    ctx.clock.advance(Duration::from_secs(1));
    let pred: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
    s.put_artifact(exp, r.id, "pred", pred.clone())
        .await
        .unwrap();
    s.put_artifact(exp, r.id, "empty", Vec::new())
        .await
        .unwrap();
    s.put_artifact(exp, r.id, "sig_analysis/ic.bin", vec![7])
        .await
        .unwrap();
    assert_eq!(s.get_artifact(exp, r.id, "pred").await.unwrap(), pred);
    assert!(s.get_artifact(exp, r.id, "empty").await.unwrap().is_empty());
    let listed = s.list_artifacts(exp, r.id).await.unwrap();
    let info = |name: &str, len| ArtifactInfo {
        name: name.into(),
        len,
    };
    assert_eq!(
        listed,
        [
            info("empty", 0),
            info("pred", 512),
            info("sig_analysis/ic.bin", 1)
        ]
    );
    assert_eq!(s.get_record(exp, r.id).await.unwrap(), r);
}

/// put artifact: a second put under the same name replaces the bytes.
pub async fn put_artifact_replaces_existing(ctx: &RecordCtx) {
    let s = &ctx.store;
    let exp = &ctx.experiment;
    let r = ctx.create(sample()).await;
    s.put_artifact(exp, r.id, "pred", vec![1; 1000])
        .await
        .unwrap();
    s.put_artifact(exp, r.id, "pred", vec![2, 3]).await.unwrap();
    assert_eq!(s.get_artifact(exp, r.id, "pred").await.unwrap(), [2, 3]);
    assert_eq!(s.list_artifacts(exp, r.id).await.unwrap().len(), 1);
}

/// put artifact: more than 16 MB (MongoDB's document limit) round-trips exactly.
pub async fn put_artifact_over_16_mb_round_trips(ctx: &RecordCtx) {
    let s = &ctx.store;
    let exp = &ctx.experiment;
    let r = ctx.create(sample()).await;
    let len = 17 * 1024 * 1024 + 3;
    let data: Vec<u8> = (0..len)
        .map(|i: usize| (i.wrapping_mul(31) ^ (i >> 9)) as u8)
        .collect();
    s.put_artifact(exp, r.id, "pred", data.clone())
        .await
        .unwrap();
    let back = s.get_artifact(exp, r.id, "pred").await.unwrap();
    assert!(back == data, "the 17 MiB artifact came back different");
    assert_eq!(
        s.list_artifacts(exp, r.id).await.unwrap()[0].len,
        len as u64
    );
}

/// put artifact: a missing record fails with NotFound, a bad name with
/// InvalidInput; nothing is written.
pub async fn put_artifact_on_missing_record_fails(ctx: &RecordCtx) {
    let s = &ctx.store;
    let exp = &ctx.experiment;
    let missing = crate::RecordId::generate(START);
    assert_eq!(
        s.put_artifact(exp, missing, "pred", vec![1])
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let r = ctx.create(sample()).await;
    for bad in ["", "/abs", "a/../b", "sp ace"] {
        assert_eq!(
            s.put_artifact(exp, r.id, bad, vec![1])
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput,
            "{bad:?}"
        );
    }
    assert!(s.list_artifacts(exp, r.id).await.unwrap().is_empty());
    assert_eq!(
        s.list_artifacts(exp, missing).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

/// get artifact: a missing name of an existing record fails with NotFound.
pub async fn get_artifact_missing_fails(ctx: &RecordCtx) {
    let r = ctx.create(sample()).await;
    let err = ctx
        .store
        .get_artifact(&ctx.experiment, r.id, "pred")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

/// delete artifact: true once, then false; other artifacts stay; a missing
/// record fails with NotFound.
pub async fn delete_artifact_reports_existence(ctx: &RecordCtx) {
    let s = &ctx.store;
    let exp = &ctx.experiment;
    let r = ctx.create(sample()).await;
    s.put_artifact(exp, r.id, "pred", vec![1]).await.unwrap();
    s.put_artifact(exp, r.id, "label", vec![2]).await.unwrap();
    assert!(s.delete_artifact(exp, r.id, "pred").await.unwrap());
    assert!(!s.delete_artifact(exp, r.id, "pred").await.unwrap());
    assert_eq!(s.get_artifact(exp, r.id, "label").await.unwrap(), [2]);
    let missing = crate::RecordId::generate(START);
    assert_eq!(
        s.delete_artifact(exp, missing, "pred")
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::validate_experiment_name;

    #[test]
    fn record_case_names_make_valid_unique_experiments() {
        let mut seen = std::collections::HashSet::new();
        for name in RECORD_CASES {
            validate_experiment_name(&RecordCtx::experiment_for(name)).unwrap();
            validate_experiment_name(&format!("{}_other", RecordCtx::experiment_for(name)))
                .unwrap();
            assert!(seen.insert(name), "{name} is listed twice");
        }
    }
}
