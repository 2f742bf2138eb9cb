//! Record cases: list records and experiments.

use std::collections::BTreeMap;

use super::super::ctx::{RecordCtx, sample};
use crate::conformance::START;
use crate::error::ErrorKind;
use crate::id::TaskId;
use crate::record::{NewRecord, Record, RecordFilter, RecordStatus, RecordStore};

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
