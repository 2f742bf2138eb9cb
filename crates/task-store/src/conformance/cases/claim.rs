//! `claim`: priority order, leases, attempts, reclaiming expired leases,
//! failing exhausted tasks, queries.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;

use crate::conformance::{Ctx, LEASE, claim_params, query, token};
use crate::params::{CreateParams, NewTask};
use crate::query::Query;
use crate::task::{ErrorEntry, Status};
use crate::transition::LEASE_EXPIRED_MESSAGE;

/// claim: highest priority first (negative priorities last), ties by creation order.
pub async fn claim_respects_priority(ctx: &Ctx) {
    let tasks = [(1, 0), (2, -5), (3, 5), (4, 0), (5, 10)].map(|(n, p)| NewTask {
        priority: Some(p),
        ..NewTask::from(json!({"n": n}))
    });
    let created = ctx.create_with(CreateParams::new(tasks)).await;
    let got = ctx.claim(5).await;
    let ids: Vec<_> = got.iter().map(|t| t.id).collect();
    assert_eq!(
        ids,
        [
            created[4].id,
            created[2].id,
            created[0].id,
            created[3].id,
            created[1].id
        ]
    );
}

/// claim: equal priorities are claimed in creation (`_id`) order, across batches.
pub async fn claim_ties_by_creation_order(ctx: &Ctx) {
    let mut ids = Vec::new();
    for batch in 0..3 {
        let defs = (0..3).map(|i| json!({"batch": batch, "i": i}));
        ids.extend(ctx.create(defs).await.iter().map(|c| c.id));
        ctx.clock.advance(Duration::from_millis(1500));
    }
    let mut claimed = Vec::new();
    for _ in 0..ids.len() {
        claimed.push(ctx.claim_one("w").await.id);
    }
    assert_eq!(claimed, ids);
}

/// claim: the task becomes running under a lease `{owner, token,
/// expires_at = now + lease, from_status}`, attempts + 1, started_at =
/// updated_at = now; created_at is kept.
pub async fn claim_sets_lease_and_attempt(ctx: &Ctx) {
    let created = ctx.create([json!({"x": 1})]).await;
    let created_at = ctx.get(created[0].id).await.created_at;
    ctx.clock.advance(Duration::from_secs(3));
    let mut params = claim_params("host:1:0", 1, Status::Waiting, Query::All);
    params.lease = Duration::from_millis(45_500);
    let task = ctx.claim_with(params).await.remove(0);
    assert_eq!(task.id, created[0].id);
    assert_eq!(task.status, Status::Running);
    assert_eq!(task.attempts, 1);
    let lease = task.lease.as_ref().expect("a claimed task has a lease");
    assert_eq!(lease.owner, "host:1:0");
    assert!(!lease.token.is_empty());
    assert_eq!(lease.expires_at, ctx.now() + Duration::from_millis(45_500));
    assert_eq!(lease.from_status, Status::Waiting);
    assert_eq!(task.started_at, Some(ctx.now()));
    assert_eq!(task.updated_at, ctx.now());
    assert_eq!(task.created_at, created_at);
    assert_eq!(task.finished_at, None);
    assert_eq!(task.res, None);
}

/// claim: returns the tasks as stored after the claim.
pub async fn claim_returns_stored_records(ctx: &Ctx) {
    ctx.create((0..4).map(|i| json!({"i": i}))).await;
    let got = ctx.claim(3).await;
    assert_eq!(got.len(), 3);
    for task in &got {
        assert_eq!(&ctx.get(task.id).await, task);
    }
}

/// claim: only tasks in `from` are claimed (waiting or part_done).
pub async fn claim_takes_only_from_status(ctx: &Ctx) {
    let created = ctx.create([json!({"p": 1}), json!({"w": 1})]).await;
    let first = ctx.claim_one("w").await;
    assert_eq!(first.id, created[0].id);
    ctx.commit(&first, Status::PartDone, json!("half"))
        .await
        .unwrap();
    ctx.create([json!({"third": 1})]).await;
    let waiting = ctx.claim(10).await;
    assert_eq!(
        waiting.iter().map(|t| t.id).collect::<Vec<_>>(),
        [created[1].id, ctx.all().await[2].id]
    );
    let part = ctx
        .claim_with(claim_params("w", 10, Status::PartDone, Query::All))
        .await;
    assert_eq!(part.len(), 1);
    assert_eq!(part[0].id, created[0].id);
    assert_eq!(
        part[0].lease.as_ref().unwrap().from_status,
        Status::PartDone
    );
    assert!(
        ctx.claim_with(claim_params("w", 10, Status::PartDone, Query::All))
            .await
            .is_empty()
    );
}

/// claim: at most `n` tasks; an empty vector when nothing is claimable.
pub async fn claim_respects_n(ctx: &Ctx) {
    ctx.create((0..5).map(|i| json!({"i": i}))).await;
    assert_eq!(ctx.claim(2).await.len(), 2);
    assert_eq!(ctx.claim(0).await.len(), 0);
    assert_eq!(ctx.claim(10).await.len(), 3);
    assert!(ctx.claim(10).await.is_empty());
    assert_eq!(ctx.stat().await.running, 5);
}

/// claim: a task under a live lease is not claimable, up to its expiry.
pub async fn claim_skips_live_leases(ctx: &Ctx) {
    ctx.create([json!({"x": 1})]).await;
    let held = ctx.claim_one("w1").await;
    ctx.clock.advance(LEASE - Duration::from_millis(1));
    assert!(ctx.claim(1).await.is_empty());
    assert_eq!(ctx.get(held.id).await, held);
}

/// claim: a running task whose lease expired (expires_at <= now) is claimable
/// again as if it were in its from_status: new owner, new token, one more attempt.
pub async fn claim_reclaims_expired_lease(ctx: &Ctx) {
    ctx.create([json!({"x": 1})]).await;
    let first = ctx.claim_one("w1").await;
    ctx.clock.advance(LEASE);
    let second = ctx.claim_one("w2").await;
    assert_eq!(second.id, first.id);
    assert_eq!(second.attempts, 2);
    let lease = second.lease.as_ref().unwrap();
    assert_eq!(lease.owner, "w2");
    assert_ne!(lease.token, token(&first));
    assert_eq!(lease.from_status, Status::Waiting);
    assert_eq!(lease.expires_at, ctx.now() + LEASE);
    assert_eq!(second.started_at, Some(ctx.now()));
    assert!(second.errors.is_empty(), "a reclaim records no error");
}

/// claim: an expired lease taken from part_done is reclaimed only by a
/// part_done claim, and keeps part_done as its from_status.
pub async fn claim_reclaims_expired_lease_only_from_its_status(ctx: &Ctx) {
    ctx.create([json!({"x": 1})]).await;
    let phase1 = ctx.claim_one("w").await;
    ctx.commit(&phase1, Status::PartDone, json!({"half": true}))
        .await
        .unwrap();
    let phase2 = ctx
        .claim_with(claim_params("w1", 1, Status::PartDone, Query::All))
        .await;
    assert_eq!(phase2.len(), 1);
    ctx.clock.advance(LEASE);
    assert!(ctx.claim(1).await.is_empty(), "a waiting claim skips it");
    let again = ctx
        .claim_with(claim_params("w2", 1, Status::PartDone, Query::All))
        .await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, phase1.id);
    assert_eq!(again[0].attempts, 2);
    assert_eq!(again[0].res, Some(json!({"half": true})));
    assert_eq!(
        again[0].lease.as_ref().unwrap().from_status,
        Status::PartDone
    );
}

/// claim: a running task with an expired lease and no attempts left becomes
/// failed (with a lease-expired error entry) instead of being claimed, at the
/// latest at a claim 10 s after the expiry (the clock moves 30 s here).
pub async fn claim_fails_expired_exhausted_task(ctx: &Ctx) {
    let mut params = CreateParams::new([json!({"x": 1})]);
    params.max_attempts = 2;
    let created = ctx.create_with(params).await;
    ctx.claim_one("w1").await;
    ctx.clock.advance(LEASE);
    let second = ctx.claim_one("w2").await;
    assert_eq!(second.attempts, 2);
    ctx.clock.advance(LEASE + Duration::from_secs(1));
    assert!(ctx.claim(1).await.is_empty());
    let task = ctx.get(created[0].id).await;
    assert_eq!(task.status, Status::Failed);
    assert_eq!(task.lease, None);
    assert_eq!(task.attempts, 2);
    assert_eq!(task.finished_at, Some(ctx.now()));
    assert_eq!(task.updated_at, ctx.now());
    assert_eq!(
        task.errors,
        [ErrorEntry {
            attempt: 2,
            at: ctx.now(),
            owner: "w2".into(),
            message: LEASE_EXPIRED_MESSAGE.into(),
        }]
    );
    assert_eq!(ctx.stat().await.failed, 1);
}

/// claim: the expiry sweep covers the whole pool, whatever the claim's
/// `from`, query or `n`, at the latest at a claim 10 s after the expiry (the
/// clock moves 30 s here).
pub async fn claim_expires_exhausted_tasks_outside_query(ctx: &Ctx) {
    let mut params = CreateParams::new([json!({"kind": "a"}), json!({"kind": "b"})]);
    params.max_attempts = 1;
    let created = ctx.create_with(params).await;
    ctx.claim(2).await;
    ctx.clock.advance(LEASE);
    let other = ctx
        .claim_with(claim_params(
            "w",
            0,
            Status::PartDone,
            query(json!({"filter.kind": "zzz"})),
        ))
        .await;
    assert!(other.is_empty());
    for c in &created {
        let task = ctx.get(c.id).await;
        assert_eq!(task.status, Status::Failed);
        assert_eq!(task.errors.len(), 1);
        assert_eq!(task.finished_at, Some(ctx.now()));
    }
}

/// claim: only tasks matching the query are claimed, still in priority order.
pub async fn claim_query_filters(ctx: &Ctx) {
    let tasks = [
        ("LGB", 0),
        ("MLP", 9),
        ("LGB", 3),
        ("Linear", 1),
        ("LGB", 3),
    ]
    .iter()
    .enumerate()
    .map(|(i, (class, p))| NewTask {
        priority: Some(*p),
        ..NewTask::from(json!({"model": {"class": class}, "i": i}))
    });
    let created = ctx.create_with(CreateParams::new(tasks)).await;
    let lgb = query(json!({"filter.model.class": "LGB"}));
    let got = ctx
        .claim_with(claim_params("w", 10, Status::Waiting, lgb.clone()))
        .await;
    assert_eq!(
        got.iter().map(|t| t.id).collect::<Vec<_>>(),
        [created[2].id, created[4].id, created[0].id]
    );
    let by_id = Query::id(created[3].id);
    let got = ctx
        .claim_with(claim_params("w", 10, Status::Waiting, by_id))
        .await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, created[3].id);
    let rest = ctx.claim(10).await;
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].id, created[1].id);
}

/// claim: every claim hands out a fresh token.
pub async fn claim_tokens_are_unique(ctx: &Ctx) {
    ctx.create((0..10).map(|i| json!({"i": i}))).await;
    let mut tokens: HashSet<String> = ctx.claim(10).await.iter().map(token).collect();
    assert_eq!(tokens.len(), 10);
    ctx.clock.advance(LEASE);
    for task in ctx.claim(10).await {
        assert!(tokens.insert(token(&task)), "a reclaim reuses a token");
    }
    assert_eq!(tokens.len(), 20);
}

/// claim: a pool that does not exist has nothing to claim (and is not created).
pub async fn claim_from_missing_pool_returns_nothing(ctx: &Ctx) {
    assert!(ctx.claim(5).await.is_empty());
    assert!(!ctx.store.pools().await.unwrap().contains(&ctx.pool));
}
