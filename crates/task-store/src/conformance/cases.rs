//! The named cases. Each asserts one `# Behavior` bullet of [`TaskStore`](crate::TaskStore).

use serde_json::json;

use super::{Ctx, LEASE};
use crate::error::ErrorKind;
use crate::params::{ClaimParams, CommitParams, CreateParams, NewTask};
use crate::store::TaskStoreExt;
use crate::task::Status;

/// create: new keys are reported new, existing keys (and repeats) are not.
pub async fn create_reports_new_and_existing(ctx: &Ctx) {
    let s = &ctx.store;
    let first = s
        .create(
            &ctx.pool,
            CreateParams::new([json!({"a": 1}), json!({"a": 2}), json!({"a": 1})]),
        )
        .await
        .unwrap();
    assert_eq!(
        first.iter().map(|c| c.new).collect::<Vec<_>>(),
        [true, true, false]
    );
    assert_eq!(first[0].id, first[2].id);
    let second = s
        .create(
            &ctx.pool,
            CreateParams::new([json!({"a": 2}), json!({"a": 3})]),
        )
        .await
        .unwrap();
    assert!(!second[0].new && second[1].new);
    assert_eq!(second[0].id, first[1].id);
}

/// claim: highest priority first, ties by creation order.
pub async fn claim_respects_priority(ctx: &Ctx) {
    let s = &ctx.store;
    let mut params = CreateParams::new([json!({"n": 1}), json!({"n": 2})]);
    params.tasks.push(NewTask {
        priority: Some(5),
        ..NewTask::from(json!({"n": 3}))
    });
    let created = s.create(&ctx.pool, params).await.unwrap();
    let mut claim = ClaimParams::new("w", LEASE);
    claim.n = 3;
    let got = s.claim(&ctx.pool, claim).await.unwrap();
    let ids: Vec<_> = got.iter().map(|t| t.id).collect();
    assert_eq!(ids, [created[2].id, created[0].id, created[1].id]);
}

/// claim: a running task whose lease expired is claimable again.
pub async fn claim_reclaims_expired_lease(ctx: &Ctx) {
    let s = &ctx.store;
    s.create_one(&ctx.pool, json!({"x": 1})).await.unwrap();
    let first = s
        .claim(&ctx.pool, ClaimParams::new("w1", LEASE))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        s.claim(&ctx.pool, ClaimParams::new("w2", LEASE))
            .await
            .unwrap()
            .is_empty()
    );
    ctx.clock.advance(LEASE);
    let second = s
        .claim(&ctx.pool, ClaimParams::new("w2", LEASE))
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].id, first[0].id);
    assert_eq!(second[0].attempts, 2);
    assert_eq!(
        second[0].lease.as_ref().unwrap().from_status,
        Status::Waiting
    );
}

/// commit: a stale token fails with LeaseLost and changes nothing.
pub async fn commit_with_stale_lease_fails(ctx: &Ctx) {
    let s = &ctx.store;
    s.create_one(&ctx.pool, json!({"x": 1})).await.unwrap();
    let old = s
        .claim(&ctx.pool, ClaimParams::new("w1", LEASE))
        .await
        .unwrap()
        .remove(0);
    ctx.clock.advance(LEASE);
    let new = s
        .claim(&ctx.pool, ClaimParams::new("w2", LEASE))
        .await
        .unwrap()
        .remove(0);
    let err = s
        .commit(
            &ctx.pool,
            CommitParams {
                id: old.id,
                token: old.lease.unwrap().token,
                result: json!("stale"),
                status: Status::Done,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LeaseLost);
    assert_eq!(s.get(&ctx.pool, new.id).await.unwrap(), new);
}
