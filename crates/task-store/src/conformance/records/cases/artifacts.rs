//! Record cases: artifacts (put, get, list, delete) and deleting a record
//! with its artifacts.

use std::time::Duration;

use super::super::ctx::{RecordCtx, sample};
use crate::conformance::START;
use crate::error::ErrorKind;
use crate::record::{ArtifactInfo, NewRecord, RecordStore};

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
