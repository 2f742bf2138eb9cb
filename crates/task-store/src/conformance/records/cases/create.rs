//! Record cases: create and get.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use super::super::ctx::{RecordCtx, sample};
use crate::conformance::START;
use crate::error::ErrorKind;
use crate::record::{NewRecord, Record, RecordStatus, RecordStore, UpdateRecord};

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
