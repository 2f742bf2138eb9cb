//! Errors by kind: bad pool names, missing pools and tasks, invalid
//! parameters. Every rejected call must leave the store unchanged.

use std::time::Duration;

use serde_json::json;

use crate::conformance::{Ctx, LEASE, claim_params, query, token};
use crate::error::{ErrorKind, Result};
use crate::id::TaskId;
use crate::params::{
    ClaimParams, CommitParams, CreateParams, HeartbeatParams, NewTask, QueryParams, ReplaceParams,
    ResetParams, ReturnParams,
};
use crate::query::Query;
use crate::task::{Status, Task};

fn kind<T: std::fmt::Debug>(result: Result<T>) -> ErrorKind {
    result.expect_err("the call must fail").kind()
}

/// Every operation rejects an invalid pool name with Config, before looking
/// at its other parameters.
pub async fn invalid_pool_name_is_config_error(ctx: &Ctx) {
    let s = &ctx.store;
    let id = TaskId::generate(ctx.now());
    let bad_lease = Duration::ZERO;
    for pool in [
        "",
        "has space",
        "x/y",
        ".hidden",
        "system.users",
        &"p".repeat(65),
    ] {
        let mut create = CreateParams::new([json!({"x": 1})]);
        create.max_attempts = 0;
        assert_eq!(kind(s.create(pool, create).await), ErrorKind::Config);
        let mut claim = claim_params("", 1, Status::Done, query(json!({"status": "waiting"})));
        claim.lease = bad_lease;
        assert_eq!(kind(s.claim(pool, claim).await), ErrorKind::Config);
        let heartbeat = HeartbeatParams {
            id,
            token: "t".into(),
            lease: bad_lease,
        };
        assert_eq!(kind(s.heartbeat(pool, heartbeat).await), ErrorKind::Config);
        let commit = CommitParams {
            id,
            token: "t".into(),
            result: json!(1),
            status: Status::Running,
        };
        assert_eq!(kind(s.commit(pool, commit).await), ErrorKind::Config);
        let ret = ReturnParams {
            id,
            token: "t".into(),
            error: None,
            status: Some(Status::Done),
        };
        assert_eq!(kind(s.return_task(pool, ret).await), ErrorKind::Config);
        assert_eq!(kind(s.get(pool, id).await), ErrorKind::Config);
        let params = QueryParams::default();
        assert_eq!(kind(s.query(pool, params).await), ErrorKind::Config);
        assert_eq!(kind(s.stat(pool, &Query::All).await), ErrorKind::Config);
        assert_eq!(kind(s.remove(pool, &Query::All).await), ErrorKind::Config);
        let reset = ResetParams {
            query: Query::All,
            status: Status::Running,
        };
        assert_eq!(kind(s.reset_status(pool, reset).await), ErrorKind::Config);
        let prioritize = s.prioritize(pool, &Query::All, 1).await;
        assert_eq!(kind(prioritize), ErrorKind::Config);
        let replace = ReplaceParams {
            id,
            def: json!({}),
            filter: None,
        };
        assert_eq!(kind(s.replace(pool, replace).await), ErrorKind::Config);
        assert_eq!(kind(s.drop_pool(pool).await), ErrorKind::Config);
    }
    assert!(
        s.pools()
            .await
            .unwrap()
            .iter()
            .all(|p| !p.contains(' ') && !p.is_empty())
    );
}

/// A pool that does not exist behaves as an empty pool, and nothing but
/// `create` brings it into existence.
pub async fn missing_pool_behaves_as_empty(ctx: &Ctx) {
    let s = &ctx.store;
    let pool = &ctx.pool;
    assert!(
        s.query(pool, QueryParams::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.stat(pool, &Query::All).await.unwrap().total(), 0);
    assert_eq!(s.remove(pool, &Query::All).await.unwrap(), 0);
    let reset = ResetParams {
        query: Query::All,
        status: Status::Waiting,
    };
    assert_eq!(s.reset_status(pool, reset).await.unwrap(), 0);
    assert_eq!(s.prioritize(pool, &Query::All, 3).await.unwrap(), 0);
    assert!(ctx.claim(3).await.is_empty());
    assert!(!s.drop_pool(pool).await.unwrap());
    assert!(!s.pools().await.unwrap().contains(pool));
}

/// get: an id that is not in the pool is NotFound.
pub async fn get_missing_is_not_found(ctx: &Ctx) {
    let missing = TaskId::generate(ctx.now());
    assert_eq!(
        kind(ctx.store.get(&ctx.pool, missing).await),
        ErrorKind::NotFound
    );
    ctx.create([json!({"x": 1})]).await;
    assert_eq!(
        kind(ctx.store.get(&ctx.pool, missing).await),
        ErrorKind::NotFound
    );
}

/// get (and every by-id operation) sees only its own pool.
pub async fn get_is_scoped_to_pool(ctx: &Ctx) {
    let other = format!("{}_other", ctx.pool);
    ctx.store
        .create(&other, CreateParams::new([json!({"y": 1})]))
        .await
        .unwrap();
    let created = ctx.create([json!({"x": 1})]).await;
    let task = ctx.claim_one("w").await;
    assert_eq!(
        kind(ctx.store.get(&other, created[0].id).await),
        ErrorKind::NotFound
    );
    let commit = CommitParams {
        id: task.id,
        token: token(&task),
        result: json!(1),
        status: Status::Done,
    };
    assert_eq!(
        kind(ctx.store.commit(&other, commit).await),
        ErrorKind::NotFound
    );
    assert_eq!(ctx.get(task.id).await, task);
}

/// heartbeat, commit and return of a task that does not exist are NotFound
/// (also for a task that was removed).
pub async fn lease_ops_on_missing_task_are_not_found(ctx: &Ctx) {
    ctx.create([json!({"x": 1})]).await;
    let task = ctx.claim_one("w").await;
    ctx.store
        .remove(&ctx.pool, &Query::id(task.id))
        .await
        .unwrap();
    let ghost = TaskId::generate(ctx.now());
    for id in [task.id, ghost] {
        let t = Task { id, ..task.clone() };
        assert_eq!(kind(ctx.heartbeat(&t, LEASE).await), ErrorKind::NotFound);
        assert_eq!(
            kind(ctx.commit(&t, Status::Done, json!(1)).await),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(ctx.return_task(&t, Some("e"), None).await),
            ErrorKind::NotFound
        );
    }
}

/// replace: an id that is not in the pool is NotFound.
pub async fn replace_missing_is_not_found(ctx: &Ctx) {
    ctx.create([json!({"x": 1})]).await;
    let params = ReplaceParams {
        id: TaskId::generate(ctx.now()),
        def: json!({"x": 2}),
        filter: None,
    };
    assert_eq!(
        kind(ctx.store.replace(&ctx.pool, params).await),
        ErrorKind::NotFound
    );
    assert_eq!(ctx.all().await.len(), 1);
}

/// create: an attempt limit of 0 (batch or task) is InvalidInput and writes nothing.
pub async fn create_zero_max_attempts_is_invalid_input(ctx: &Ctx) {
    let mut params = CreateParams::new([json!({"x": 1})]);
    params.max_attempts = 0;
    assert_eq!(
        kind(ctx.store.create(&ctx.pool, params).await),
        ErrorKind::InvalidInput
    );
    let params = CreateParams::new([
        NewTask::from(json!({"ok": 1})),
        NewTask {
            max_attempts: Some(0),
            ..NewTask::from(json!({"bad": 1}))
        },
    ]);
    assert_eq!(
        kind(ctx.store.create(&ctx.pool, params).await),
        ErrorKind::InvalidInput
    );
    assert!(!ctx.store.pools().await.unwrap().contains(&ctx.pool));
}

/// claim: `from` other than waiting/part_done, an empty owner or a lease under
/// 1 ms is InvalidInput, and nothing is claimed.
pub async fn claim_invalid_params_are_invalid_input(ctx: &Ctx) {
    ctx.create([json!({"x": 1})]).await;
    for from in [Status::Running, Status::Done, Status::Failed] {
        let params = claim_params("w", 1, from, Query::All);
        assert_eq!(
            kind(ctx.store.claim(&ctx.pool, params).await),
            ErrorKind::InvalidInput
        );
    }
    let empty_owner = claim_params("", 1, Status::Waiting, Query::All);
    assert_eq!(
        kind(ctx.store.claim(&ctx.pool, empty_owner).await),
        ErrorKind::InvalidInput
    );
    let short = ClaimParams {
        lease: Duration::from_micros(999),
        ..claim_params("w", 1, Status::Waiting, Query::All)
    };
    assert_eq!(
        kind(ctx.store.claim(&ctx.pool, short).await),
        ErrorKind::InvalidInput
    );
    assert_eq!(ctx.stat().await.waiting, 1);
}

/// claim: a query mentioning `status` (anywhere) is InvalidQuery.
pub async fn claim_query_mentioning_status_is_rejected(ctx: &Ctx) {
    ctx.create([json!({"x": 1})]).await;
    for q in [
        json!({"status": "waiting"}),
        json!({"$or": [{"filter.x": 1}, {"status": {"$ne": "done"}}]}),
    ] {
        let params = claim_params("w", 1, Status::Waiting, query(q));
        assert_eq!(
            kind(ctx.store.claim(&ctx.pool, params).await),
            ErrorKind::InvalidQuery
        );
    }
    assert_eq!(ctx.stat().await.waiting, 1);
}

/// heartbeat: a lease under 1 ms is InvalidInput and the lease is unchanged.
pub async fn heartbeat_short_lease_is_invalid_input(ctx: &Ctx) {
    ctx.create([json!({"x": 1})]).await;
    let task = ctx.claim_one("w").await;
    ctx.clock.advance(Duration::from_secs(1));
    assert_eq!(
        kind(ctx.heartbeat(&task, Duration::ZERO).await),
        ErrorKind::InvalidInput
    );
    assert_eq!(ctx.get(task.id).await, task);
}

/// commit: a target other than done/part_done/waiting is InvalidInput and
/// the task keeps its lease.
pub async fn commit_to_bad_status_is_invalid_input(ctx: &Ctx) {
    ctx.create([json!({"x": 1})]).await;
    let task = ctx.claim_one("w").await;
    for status in [Status::Running, Status::Failed] {
        assert_eq!(
            kind(ctx.commit(&task, status, json!(1)).await),
            ErrorKind::InvalidInput
        );
    }
    assert_eq!(ctx.get(task.id).await, task);
    ctx.commit(&task, Status::Done, json!(1)).await.unwrap();
}

/// return: a target other than waiting/part_done/failed is InvalidInput and
/// the task keeps its lease.
pub async fn return_to_bad_status_is_invalid_input(ctx: &Ctx) {
    ctx.create([json!({"x": 1})]).await;
    let task = ctx.claim_one("w").await;
    for status in [Status::Running, Status::Done] {
        assert_eq!(
            kind(ctx.return_task(&task, Some("e"), Some(status)).await),
            ErrorKind::InvalidInput
        );
    }
    assert_eq!(ctx.get(task.id).await, task);
}

/// reset_status: `running` is InvalidInput (only a claim makes a task running).
pub async fn reset_status_to_running_is_invalid_input(ctx: &Ctx) {
    ctx.create([json!({"x": 1})]).await;
    let before = ctx.all().await;
    let params = ResetParams {
        query: Query::All,
        status: Status::Running,
    };
    assert_eq!(
        kind(ctx.store.reset_status(&ctx.pool, params).await),
        ErrorKind::InvalidInput
    );
    assert_eq!(ctx.all().await, before);
}

/// The smallest integer beyond what every backend stores (`i64::MAX + 1`;
/// BSON has no unsigned 64-bit integer).
const BEYOND_I64: u64 = i64::MAX as u64 + 1;

/// create: an integer beyond `i64` anywhere in a definition or filter is
/// InvalidInput and writes nothing (not even the rest of the batch); the
/// `i64` bounds themselves are stored exactly.
pub async fn create_integer_beyond_i64_is_invalid_input(ctx: &Ctx) {
    for params in [
        CreateParams::new([json!({"seed": BEYOND_I64})]),
        CreateParams::new([json!({"ok": 1}), json!({"a": [{"b": u64::MAX}]})]),
        CreateParams::new([NewTask {
            filter: Some(json!({"f": {"big": BEYOND_I64}})),
            ..NewTask::from(json!({"x": 1}))
        }]),
    ] {
        assert_eq!(
            kind(ctx.store.create(&ctx.pool, params).await),
            ErrorKind::InvalidInput
        );
    }
    assert!(!ctx.store.pools().await.unwrap().contains(&ctx.pool));
    let bounds = json!({"max": i64::MAX, "min": i64::MIN, "list": [i64::MAX]});
    let created = ctx.create([bounds.clone()]).await;
    let task = ctx.get(created[0].id).await;
    assert_eq!((task.def, task.filter), (bounds.clone(), bounds));
}

/// commit: a result holding an integer beyond `i64` is InvalidInput and the
/// task keeps its lease; the same commit with `i64::MAX` succeeds.
pub async fn commit_integer_beyond_i64_is_invalid_input(ctx: &Ctx) {
    ctx.create([json!({"x": 1})]).await;
    let task = ctx.claim_one("w").await;
    assert_eq!(
        kind(
            ctx.commit(&task, Status::Done, json!({"n": [BEYOND_I64]}))
                .await
        ),
        ErrorKind::InvalidInput
    );
    assert_eq!(ctx.get(task.id).await, task);
    let result = json!({"n": [i64::MAX]});
    ctx.commit(&task, Status::Done, result.clone())
        .await
        .unwrap();
    assert_eq!(ctx.get(task.id).await.res, Some(result));
}

/// replace: a definition or filter holding an integer beyond `i64` is
/// InvalidInput and the task is unchanged (also for an id not in the pool:
/// the parameters are checked first).
pub async fn replace_integer_beyond_i64_is_invalid_input(ctx: &Ctx) {
    let created = ctx.create([json!({"x": 1})]).await;
    let before = ctx.get(created[0].id).await;
    for (id, def, filter) in [
        (before.id, json!({"x": BEYOND_I64}), None),
        (before.id, json!({"x": 2}), Some(json!({"y": u64::MAX}))),
        (TaskId::generate(ctx.now()), json!({"x": BEYOND_I64}), None),
    ] {
        let params = ReplaceParams { id, def, filter };
        assert_eq!(
            kind(ctx.store.replace(&ctx.pool, params).await),
            ErrorKind::InvalidInput
        );
    }
    assert_eq!(ctx.all().await, vec![before]);
}
