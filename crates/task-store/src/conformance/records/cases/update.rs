//! Record cases: update (merged maps, finished_at, concurrent updates).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::super::ctx::{RecordCtx, sample};
use crate::conformance::START;
use crate::error::ErrorKind;
use crate::record::{NewRecord, RecordStatus, RecordStore, UpdateRecord};
use crate::time::Clock;

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
