//! `heartbeat`, `commit` and `return_task`: lease fencing, results, attempts
//! and the error history.

use std::time::Duration;

use serde_json::json;

use crate::conformance::{Ctx, LEASE, claim_params};
use crate::error::ErrorKind;
use crate::params::CreateParams;
use crate::query::Query;
use crate::task::{ErrorEntry, MAX_ERROR_MESSAGE_BYTES, MAX_ERRORS, Status, Task};
use crate::transition::truncate_message;

/// Create one task with an attempt limit and claim it as `w`.
async fn one_claimed(ctx: &Ctx, max_attempts: u32) -> Task {
    let mut params = CreateParams::new([json!({"x": 1})]);
    params.max_attempts = max_attempts;
    ctx.create_with(params).await;
    ctx.claim_one("w").await
}

/// heartbeat: the lease now ends at now + lease (returned); nothing else
/// changes, and the task is not reclaimable before the new expiry.
pub async fn heartbeat_extends_lease(ctx: &Ctx) {
    let task = one_claimed(ctx, 3).await;
    ctx.clock.advance(Duration::from_secs(20));
    let until = ctx.heartbeat(&task, Duration::from_secs(60)).await.unwrap();
    assert_eq!(until, ctx.now() + Duration::from_secs(60));
    let mut expected = task.clone();
    expected.lease.as_mut().unwrap().expires_at = until;
    assert_eq!(ctx.get(task.id).await, expected);
    ctx.clock.advance(Duration::from_secs(59));
    assert!(ctx.claim(1).await.is_empty(), "the lease was extended");
    ctx.clock.advance(Duration::from_secs(1));
    assert_eq!(ctx.claim(1).await.len(), 1, "the new expiry holds too");
}

/// heartbeat: works after expiry while nobody reclaimed the task.
pub async fn heartbeat_revives_expired_unclaimed_lease(ctx: &Ctx) {
    let task = one_claimed(ctx, 3).await;
    ctx.clock.advance(LEASE + Duration::from_secs(5));
    let until = ctx.heartbeat(&task, LEASE).await.unwrap();
    assert_eq!(until, ctx.now() + LEASE);
    assert!(ctx.claim(1).await.is_empty());
    assert_eq!(ctx.get(task.id).await.attempts, 1);
}

/// heartbeat: a stale token (the task was reclaimed) fails with LeaseLost
/// and changes nothing.
pub async fn heartbeat_with_stale_lease_fails(ctx: &Ctx) {
    let old = one_claimed(ctx, 3).await;
    ctx.clock.advance(LEASE);
    let new = ctx.claim_one("w2").await;
    let err = ctx.heartbeat(&old, LEASE).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LeaseLost);
    assert_eq!(ctx.get(new.id).await, new);
}

/// heartbeat: a committed task is no longer running: LeaseLost.
pub async fn heartbeat_after_commit_fails(ctx: &Ctx) {
    let task = one_claimed(ctx, 3).await;
    ctx.commit(&task, Status::Done, json!(1)).await.unwrap();
    let done = ctx.get(task.id).await;
    let err = ctx.heartbeat(&task, LEASE).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LeaseLost);
    assert_eq!(ctx.get(task.id).await, done);
}

/// commit done: stores `res`, drops the lease, finished_at = updated_at =
/// now, attempts kept.
pub async fn commit_done_stores_result(ctx: &Ctx) {
    let task = one_claimed(ctx, 3).await;
    ctx.clock.advance(Duration::from_secs(7));
    let result = json!({"ic": 0.05, "pred": "artifact://pred", "n": [1, 2.5]});
    ctx.commit(&task, Status::Done, result.clone())
        .await
        .unwrap();
    let got = ctx.get(task.id).await;
    let mut expected = task.clone();
    expected.status = Status::Done;
    expected.res = Some(result);
    expected.lease = None;
    expected.finished_at = Some(ctx.now());
    expected.updated_at = ctx.now();
    assert_eq!(got, expected);
}

/// commit part_done: result stored, attempts reset to 0 for the next phase,
/// no finished_at.
pub async fn commit_part_done_resets_attempts(ctx: &Ctx) {
    let first = one_claimed(ctx, 3).await;
    ctx.clock.advance(LEASE);
    let task = ctx.claim_one("w2").await;
    assert_eq!(task.attempts, 2);
    ctx.commit(&task, Status::PartDone, json!("phase1"))
        .await
        .unwrap();
    let got = ctx.get(first.id).await;
    let mut expected = task.clone();
    expected.status = Status::PartDone;
    expected.res = Some(json!("phase1"));
    expected.lease = None;
    expected.attempts = 0;
    expected.updated_at = ctx.now();
    assert_eq!(got, expected);
}

/// commit waiting: result stored, attempts reset, claimable again.
pub async fn commit_waiting_requeues_task(ctx: &Ctx) {
    let task = one_claimed(ctx, 3).await;
    ctx.clock.advance(Duration::from_secs(1));
    ctx.commit(&task, Status::Waiting, json!({"progress": 0.5}))
        .await
        .unwrap();
    let got = ctx.get(task.id).await;
    assert_eq!(got.status, Status::Waiting);
    assert_eq!(got.attempts, 0);
    assert_eq!(got.lease, None);
    assert_eq!(got.finished_at, None);
    assert_eq!(got.updated_at, ctx.now());
    assert_eq!(got.res, Some(json!({"progress": 0.5})));
    let again = ctx.claim_one("w2").await;
    assert_eq!(again.id, task.id);
    assert_eq!(again.attempts, 1);
    assert_eq!(again.lease.as_ref().unwrap().from_status, Status::Waiting);
}

/// commit part_done then claim from part_done: the second phase receives the
/// first phase's result and its commit replaces it.
pub async fn part_done_second_phase_gets_result(ctx: &Ctx) {
    let phase1 = one_claimed(ctx, 3).await;
    let res1 = json!({"model": "trained", "rid": "abc"});
    ctx.commit(&phase1, Status::PartDone, res1.clone())
        .await
        .unwrap();
    ctx.clock.advance(Duration::from_secs(2));
    let phase2 = ctx
        .claim_with(claim_params("w2", 1, Status::PartDone, Query::All))
        .await
        .remove(0);
    assert_eq!(phase2.id, phase1.id);
    assert_eq!(phase2.res, Some(res1));
    assert_eq!(phase2.attempts, 1);
    assert_eq!(phase2.lease.as_ref().unwrap().from_status, Status::PartDone);
    assert_eq!(phase2.started_at, Some(ctx.now()));
    ctx.commit(&phase2, Status::Done, json!({"ic": 0.1}))
        .await
        .unwrap();
    let done = ctx.get(phase1.id).await;
    assert_eq!(done.status, Status::Done);
    assert_eq!(done.res, Some(json!({"ic": 0.1})));
    assert_eq!(done.finished_at, Some(ctx.now()));
}

/// commit: a stale token fails with LeaseLost and changes nothing.
pub async fn commit_with_stale_lease_fails(ctx: &Ctx) {
    let old = one_claimed(ctx, 3).await;
    ctx.clock.advance(LEASE);
    let new = ctx.claim_one("w2").await;
    let err = ctx
        .commit(&old, Status::Done, json!("stale"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LeaseLost);
    assert_eq!(ctx.get(new.id).await, new);
    ctx.commit(&new, Status::Done, json!("fresh"))
        .await
        .unwrap();
    let err = ctx
        .commit(&old, Status::Done, json!("stale"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LeaseLost);
    assert_eq!(ctx.get(new.id).await.res, Some(json!("fresh")));
}

/// commit: a second commit with the same token fails (the lease is gone).
pub async fn commit_twice_fails(ctx: &Ctx) {
    let task = one_claimed(ctx, 3).await;
    ctx.commit(&task, Status::Done, json!(1)).await.unwrap();
    let done = ctx.get(task.id).await;
    ctx.clock.advance(Duration::from_secs(1));
    let err = ctx.commit(&task, Status::Done, json!(2)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LeaseLost);
    assert_eq!(ctx.get(task.id).await, done);
}

/// commit: an expired lease nobody reclaimed still commits.
pub async fn commit_after_expiry_without_reclaim_succeeds(ctx: &Ctx) {
    let task = one_claimed(ctx, 3).await;
    ctx.clock.advance(LEASE * 3);
    ctx.commit(&task, Status::Done, json!("late"))
        .await
        .unwrap();
    let got = ctx.get(task.id).await;
    assert_eq!(got.status, Status::Done);
    assert_eq!(got.res, Some(json!("late")));
}

/// return with an error: an entry {attempt, at, owner, message} is appended,
/// the lease dropped, and the task goes back to its from_status with its
/// attempts counted.
pub async fn return_with_error_records_entry(ctx: &Ctx) {
    let task = one_claimed(ctx, 3).await;
    ctx.clock.advance(Duration::from_secs(4));
    let status = ctx
        .return_task(&task, Some("ValueError: boom"), None)
        .await
        .unwrap();
    assert_eq!(status, Status::Waiting);
    let got = ctx.get(task.id).await;
    let mut expected = task.clone();
    expected.status = Status::Waiting;
    expected.lease = None;
    expected.updated_at = ctx.now();
    expected.errors = vec![ErrorEntry {
        attempt: 1,
        at: ctx.now(),
        owner: "w".into(),
        message: "ValueError: boom".into(),
    }];
    assert_eq!(got, expected);
}

/// return with an error once attempts >= max_attempts: the task fails, with
/// finished_at = now.
pub async fn return_after_max_attempts_fails_task(ctx: &Ctx) {
    let task = one_claimed(ctx, 2).await;
    let status = ctx.return_task(&task, Some("e1"), None).await.unwrap();
    assert_eq!(status, Status::Waiting);
    ctx.clock.advance(Duration::from_secs(1));
    let task = ctx.claim_one("w2").await;
    assert_eq!(task.attempts, 2);
    let status = ctx.return_task(&task, Some("e2"), None).await.unwrap();
    assert_eq!(status, Status::Failed);
    let got = ctx.get(task.id).await;
    assert_eq!(got.status, Status::Failed);
    assert_eq!(got.finished_at, Some(ctx.now()));
    assert_eq!(got.lease, None);
    assert_eq!(
        got.errors
            .iter()
            .map(|e| (e.attempt, e.owner.as_str()))
            .collect::<Vec<_>>(),
        [(1, "w"), (2, "w2")]
    );
    assert!(ctx.claim(1).await.is_empty());
}

/// return without an error (graceful shutdown): the attempt is given back
/// and nothing is recorded.
pub async fn return_without_error_gives_back_attempt(ctx: &Ctx) {
    let task = one_claimed(ctx, 1).await;
    ctx.clock.advance(Duration::from_secs(1));
    let status = ctx.return_task(&task, None, None).await.unwrap();
    assert_eq!(status, Status::Waiting);
    let got = ctx.get(task.id).await;
    assert_eq!(got.attempts, 0);
    assert!(got.errors.is_empty());
    assert_eq!(got.lease, None);
    assert_eq!(got.updated_at, ctx.now());
    let again = ctx.claim_one("w2").await;
    assert_eq!(again.attempts, 1, "the single attempt is still available");
}

/// return: without a target the task goes back to the status it was claimed
/// from (part_done keeps its result).
pub async fn return_goes_back_to_from_status(ctx: &Ctx) {
    let phase1 = one_claimed(ctx, 3).await;
    ctx.commit(&phase1, Status::PartDone, json!("r1"))
        .await
        .unwrap();
    let phase2 = ctx
        .claim_with(claim_params("w", 1, Status::PartDone, Query::All))
        .await
        .remove(0);
    let status = ctx.return_task(&phase2, Some("oops"), None).await.unwrap();
    assert_eq!(status, Status::PartDone);
    let got = ctx.get(phase1.id).await;
    assert_eq!(got.status, Status::PartDone);
    assert_eq!(got.res, Some(json!("r1")));
    assert_eq!(got.attempts, 1);
    assert_eq!(got.finished_at, None);
}

/// return: an explicit target status is honoured; `failed` sets finished_at.
pub async fn return_to_requested_status(ctx: &Ctx) {
    ctx.create([json!({"a": 1}), json!({"b": 1})]).await;
    let a = ctx.claim_one("w").await;
    let b = ctx.claim_one("w").await;
    ctx.clock.advance(Duration::from_secs(2));
    let status = ctx
        .return_task(&a, Some("skip phase"), Some(Status::PartDone))
        .await
        .unwrap();
    assert_eq!(status, Status::PartDone);
    let got = ctx.get(a.id).await;
    assert_eq!(got.status, Status::PartDone);
    assert_eq!(got.finished_at, None);
    assert_eq!(got.errors.len(), 1);

    let status = ctx
        .return_task(&b, None, Some(Status::Failed))
        .await
        .unwrap();
    assert_eq!(status, Status::Failed);
    let got = ctx.get(b.id).await;
    assert_eq!(got.status, Status::Failed);
    assert_eq!(got.finished_at, Some(ctx.now()));
    assert_eq!(got.attempts, 0, "no error: the attempt is given back");
    assert!(got.errors.is_empty());
}

/// return: the error history keeps the last 10 entries, oldest dropped.
pub async fn return_keeps_last_ten_errors(ctx: &Ctx) {
    let total = MAX_ERRORS as u32 + 2;
    let mut task = one_claimed(ctx, total + 5).await;
    for i in 1..=total {
        ctx.return_task(&task, Some(&format!("error {i}")), None)
            .await
            .unwrap();
        ctx.clock.advance(Duration::from_millis(10));
        if i < total {
            task = ctx.claim_one("w").await;
        }
    }
    let got = ctx.get(task.id).await;
    assert_eq!(got.errors.len(), MAX_ERRORS);
    let attempts: Vec<u32> = got.errors.iter().map(|e| e.attempt).collect();
    assert_eq!(attempts, (3..=total).collect::<Vec<_>>());
    assert_eq!(got.errors[0].message, "error 3");
    assert_eq!(got.errors[MAX_ERRORS - 1].message, format!("error {total}"));
}

/// return: an error message longer than the limit keeps its tail, cut on a
/// character boundary (as `transition::truncate_message`).
pub async fn return_truncates_long_error_message(ctx: &Ctx) {
    let task = one_claimed(ctx, 3).await;
    let message = format!(
        "Traceback head {}{} the real cause at the end",
        "é".repeat(MAX_ERROR_MESSAGE_BYTES / 2),
        "x".repeat(101)
    );
    ctx.return_task(&task, Some(&message), None).await.unwrap();
    let stored = ctx.get(task.id).await.errors.remove(0).message;
    assert_eq!(stored, truncate_message(&message));
    assert!(stored.ends_with("the real cause at the end"));
    assert!(!stored.contains("Traceback head"));
}

/// return: a stale token fails with LeaseLost and changes nothing.
pub async fn return_with_stale_lease_fails(ctx: &Ctx) {
    let old = one_claimed(ctx, 3).await;
    ctx.clock.advance(LEASE);
    let new = ctx.claim_one("w2").await;
    let err = ctx
        .return_task(&old, Some("late failure"), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LeaseLost);
    assert_eq!(ctx.get(new.id).await, new);
}
