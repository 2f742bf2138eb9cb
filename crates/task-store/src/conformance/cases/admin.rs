//! `get`, `query` paging, `stat`, `remove`, `reset_status` (and
//! `reset_waiting`), `prioritize`, `replace`, `pools` and `drop_pool`.

use std::time::Duration;

use serde_json::json;

use crate::conformance::{Ctx, LEASE, query};
use crate::error::ErrorKind;
use crate::key::content_key;
use crate::order::{Cursor, Order};
use crate::params::{CreateParams, NewTask, QueryParams, ReplaceParams, ResetParams};
use crate::query::Query;
use crate::store::TaskStoreExt;
use crate::task::{Stat, Status};

/// get: the stored record, every field as the last write left it.
pub async fn get_returns_stored_record(ctx: &Ctx) {
    let created = ctx.create([json!({"x": 1})]).await;
    ctx.clock.advance(Duration::from_secs(1));
    let claimed = ctx.claim_one("w").await;
    assert_eq!(ctx.get(created[0].id).await, claimed);
    ctx.clock.advance(Duration::from_secs(1));
    ctx.return_task(&claimed, Some("e"), None).await.unwrap();
    let got = ctx.get(created[0].id).await;
    assert_eq!(got.status, Status::Waiting);
    assert_eq!(got.errors.len(), 1);
    assert_eq!(got.updated_at, ctx.now());
    assert_eq!(ctx.all().await, [got]);
}

/// query: sorted by `_id` whatever the priority, after `skip`, at most `limit`.
pub async fn query_sorts_by_id_with_skip_and_limit(ctx: &Ctx) {
    let tasks = (0..10).map(|i| NewTask {
        priority: Some((i * 7) % 5),
        ..NewTask::from(json!({"i": i}))
    });
    let created = ctx.create_with(CreateParams::new(tasks)).await;
    let ids: Vec<_> = created.iter().map(|c| c.id).collect();
    ctx.claim(3).await;
    let page = |skip, limit| QueryParams {
        query: Query::All,
        limit,
        skip,
        ..QueryParams::default()
    };
    let run = |params: QueryParams| async move {
        let got = ctx.store.query(&ctx.pool, params).await.unwrap();
        got.iter().map(|t| t.id).collect::<Vec<_>>()
    };
    assert_eq!(run(page(0, None)).await, ids);
    assert_eq!(run(page(3, Some(4))).await, ids[3..7]);
    assert_eq!(run(page(8, Some(5))).await, ids[8..]);
    assert!(run(page(20, None)).await.is_empty());
    assert!(run(page(0, Some(0))).await.is_empty());
    let filtered = QueryParams {
        query: query(json!({"filter.i": {"$gte": 5}})),
        limit: Some(2),
        skip: 1,
        ..QueryParams::default()
    };
    assert_eq!(run(filtered).await, ids[6..8]);
}

/// query: every order is a total order (ties by `_id`) with unfinished
/// tasks last by finish time, and a cursor continues a page exactly after
/// the task it was taken from, with and without a query, `skip` and `limit`.
pub async fn query_orders_page_by_keyset(ctx: &Ctx) {
    let tasks = [0, 5, 0, 5, -1, 0]
        .into_iter()
        .enumerate()
        .map(|(i, p)| NewTask {
            priority: Some(p),
            ..NewTask::from(json!({"i": i}))
        });
    let created = ctx.create_with(CreateParams::new(tasks)).await;
    let ids: Vec<_> = created.iter().map(|c| c.id).collect();
    // Claimed in priority order: 1 and 3 finish at one time, then 0.
    ctx.clock.advance(Duration::from_secs(1));
    for _ in 0..2 {
        let task = ctx.claim_one("w").await;
        ctx.commit(&task, Status::Done, json!(null)).await.unwrap();
    }
    ctx.clock.advance(Duration::from_secs(1));
    let task = ctx.claim_one("w").await;
    assert_eq!(task.id, ids[0]);
    ctx.commit(&task, Status::Done, json!(null)).await.unwrap();

    let positions = &ids;
    let run = |order, query, after, skip, limit| async move {
        let params = QueryParams {
            query,
            limit,
            skip,
            order,
            after,
        };
        let got = ctx.store.query(&ctx.pool, params).await.unwrap();
        got.iter()
            .map(|t| positions.iter().position(|id| *id == t.id).unwrap())
            .collect::<Vec<_>>()
    };
    let waiting = || Query::status(Status::Waiting);
    for (order, all, only_waiting) in [
        (Order::Created, vec![0, 1, 2, 3, 4, 5], vec![2, 4, 5]),
        (Order::CreatedDesc, vec![5, 4, 3, 2, 1, 0], vec![5, 4, 2]),
        (Order::Priority, vec![1, 3, 0, 2, 5, 4], vec![2, 5, 4]),
        (Order::Finished, vec![0, 3, 1, 5, 4, 2], vec![5, 4, 2]),
    ] {
        assert_eq!(run(order, Query::All, None, 0, None).await, all, "{order}");
        assert_eq!(
            run(order, waiting(), None, 0, None).await,
            only_waiting,
            "{order}"
        );
        // Pages of two, each after the cursor of the previous page's last task.
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let page = run(order, Query::All, after, 0, Some(2)).await;
            let Some(&last) = page.last() else { break };
            paged.extend(page);
            after = Some(Cursor::of(&ctx.get(ids[last]).await));
        }
        assert_eq!(paged, all, "{order}: pages");
        let third = Cursor::of(&ctx.get(ids[all[2]]).await);
        assert_eq!(
            run(order, Query::All, Some(third), 1, Some(2)).await,
            all[4..6],
            "{order}: cursor, then skip and limit"
        );
        let first_waiting = Cursor::of(&ctx.get(ids[only_waiting[0]]).await);
        assert_eq!(
            run(order, waiting(), Some(first_waiting), 0, None).await,
            only_waiting[1..],
            "{order}: cursor and query"
        );
    }
    // A status that few tasks have (a backend may find them by status).
    ctx.create((0..10).map(|j| json!({"j": j}))).await;
    let done = || Query::status(Status::Done);
    for (order, only_done) in [
        (Order::Created, [0, 1, 3]),
        (Order::CreatedDesc, [3, 1, 0]),
        (Order::Priority, [1, 3, 0]),
        (Order::Finished, [0, 3, 1]),
    ] {
        assert_eq!(
            run(order, done(), None, 0, None).await,
            only_done,
            "{order}: done"
        );
        let first = Cursor::of(&ctx.get(ids[only_done[0]]).await);
        assert_eq!(
            run(order, done(), Some(first), 1, Some(5)).await,
            only_done[2..],
            "{order}: done after the first, skip 1"
        );
    }
}

/// stat: counts by status of the tasks matching the query.
pub async fn stat_counts_by_status(ctx: &Ctx) {
    let defs = (0..9).map(|i| json!({"i": i, "even": i % 2 == 0}));
    ctx.create(defs).await;
    let claimed = ctx.claim(6).await;
    ctx.commit(&claimed[0], Status::Done, json!(0))
        .await
        .unwrap();
    ctx.commit(&claimed[1], Status::Done, json!(1))
        .await
        .unwrap();
    ctx.commit(&claimed[2], Status::PartDone, json!(2))
        .await
        .unwrap();
    ctx.return_task(&claimed[3], None, Some(Status::Failed))
        .await
        .unwrap();
    let all = ctx.stat().await;
    assert_eq!(
        all,
        Stat {
            waiting: 3,
            running: 2,
            part_done: 1,
            done: 2,
            failed: 1
        }
    );
    assert_eq!(all.total(), 9);
    assert_eq!(all.undone(), 6);
    let even = ctx.stat_of(&query(json!({"filter.even": true}))).await;
    assert_eq!(
        even,
        Stat {
            waiting: 2,
            running: 1,
            part_done: 1,
            done: 1,
            failed: 0
        }
    );
    assert_eq!(
        ctx.stat_of(&query(json!({"status": "done"}))).await,
        Stat {
            done: 2,
            ..Stat::default()
        }
    );
}

/// stat: running tasks whose lease expired still count as running.
pub async fn stat_counts_expired_running_as_running(ctx: &Ctx) {
    let mut params = CreateParams::new([json!({"a": 1}), json!({"b": 1})]);
    params.max_attempts = 1;
    ctx.create_with(params).await;
    ctx.claim(2).await;
    ctx.clock.advance(LEASE * 10);
    assert_eq!(ctx.stat().await.running, 2);
    assert_eq!(ctx.find(&Query::status(Status::Running)).await.len(), 2);
}

/// remove: deletes the matching tasks and returns how many; their keys are
/// free again; the pool remains.
pub async fn remove_deletes_matching_tasks(ctx: &Ctx) {
    let created = ctx
        .create((0..6).map(|i| json!({"i": i, "odd": i % 2 == 1})))
        .await;
    ctx.claim(1).await;
    let n = ctx
        .store
        .remove(&ctx.pool, &query(json!({"filter.odd": true})))
        .await
        .unwrap();
    assert_eq!(n, 3);
    let left: Vec<_> = ctx.all().await.iter().map(|t| t.id).collect();
    assert_eq!(left, [created[0].id, created[2].id, created[4].id]);
    assert_eq!(
        ctx.store
            .get(&ctx.pool, created[1].id)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let again = ctx.create([json!({"i": 1, "odd": true})]).await;
    assert!(again[0].new, "a removed key can be created again");
    assert_ne!(again[0].id, created[1].id);
    let none = ctx
        .store
        .remove(&ctx.pool, &query(json!({"filter.i": 99})))
        .await
        .unwrap();
    assert_eq!(none, 0);
    assert_eq!(ctx.stat().await.total(), 4);
}

/// remove with `Query::All` empties the pool, which still exists.
pub async fn remove_all_empties_pool(ctx: &Ctx) {
    ctx.create((0..5).map(|i| json!({"i": i}))).await;
    ctx.claim(2).await;
    assert_eq!(ctx.store.remove(&ctx.pool, &Query::All).await.unwrap(), 5);
    assert_eq!(ctx.stat().await.total(), 0);
    assert!(ctx.store.pools().await.unwrap().contains(&ctx.pool));
}

/// reset_status: drops any lease (the worker gets LeaseLost); waiting and
/// part_done reset attempts to 0 and clear finished_at.
pub async fn reset_status_drops_lease(ctx: &Ctx) {
    ctx.create([json!({"x": 1}), json!({"y": 1})]).await;
    let x = ctx.claim_one("w").await;
    let y = ctx.claim_one("w").await;
    ctx.clock.advance(Duration::from_secs(3));
    let n = ctx
        .store
        .reset_status(
            &ctx.pool,
            ResetParams {
                query: Query::id(x.id),
                status: Status::Waiting,
            },
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let got = ctx.get(x.id).await;
    assert_eq!(got.status, Status::Waiting);
    assert_eq!(got.lease, None);
    assert_eq!(got.attempts, 0);
    assert_eq!(got.finished_at, None);
    assert_eq!(got.updated_at, ctx.now());
    assert_eq!(got.started_at, x.started_at);
    let err = ctx.commit(&x, Status::Done, json!(1)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LeaseLost);
    let err = ctx.heartbeat(&x, LEASE).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LeaseLost);
    assert_eq!(ctx.get(x.id).await, got);

    ctx.store
        .reset_status(
            &ctx.pool,
            ResetParams {
                query: Query::id(y.id),
                status: Status::PartDone,
            },
        )
        .await
        .unwrap();
    let err = ctx.return_task(&y, Some("e"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LeaseLost);
    let got = ctx.get(y.id).await;
    assert_eq!(
        (got.status, got.attempts, got.lease),
        (Status::PartDone, 0, None)
    );
}

/// reset_status: done/failed set finished_at = now and keep attempts; a later
/// reset to waiting clears finished_at.
pub async fn reset_status_sets_finished_at(ctx: &Ctx) {
    let created = ctx.create([json!({"a": 1}), json!({"b": 1})]).await;
    ctx.claim(2).await;
    ctx.clock.advance(Duration::from_secs(5));
    for (i, status) in [(0, Status::Done), (1, Status::Failed)] {
        ctx.store
            .reset_status(
                &ctx.pool,
                ResetParams {
                    query: Query::id(created[i].id),
                    status,
                },
            )
            .await
            .unwrap();
        let got = ctx.get(created[i].id).await;
        assert_eq!(got.status, status);
        assert_eq!(got.finished_at, Some(ctx.now()));
        assert_eq!(got.updated_at, ctx.now());
        assert_eq!(got.attempts, 1);
        assert_eq!(got.lease, None);
    }
    ctx.clock.advance(Duration::from_secs(5));
    ctx.store
        .reset_status(
            &ctx.pool,
            ResetParams {
                query: Query::All,
                status: Status::Waiting,
            },
        )
        .await
        .unwrap();
    for c in &created {
        let got = ctx.get(c.id).await;
        assert_eq!((got.status, got.attempts), (Status::Waiting, 0));
        assert_eq!(got.finished_at, None);
        assert_eq!(got.updated_at, ctx.now());
    }
}

/// reset_status: returns how many tasks matched, including those already in
/// the target status.
pub async fn reset_status_counts_matched_tasks(ctx: &Ctx) {
    ctx.create((0..5).map(|i| json!({"i": i}))).await;
    ctx.claim(2).await;
    let reset = |query: Query, status| ResetParams { query, status };
    let n = ctx
        .store
        .reset_status(&ctx.pool, reset(Query::All, Status::Waiting))
        .await
        .unwrap();
    assert_eq!(n, 5);
    let n = ctx
        .store
        .reset_status(
            &ctx.pool,
            reset(query(json!({"filter.i": {"$lt": 2}})), Status::Done),
        )
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(ctx.stat().await.done, 2);
    let n = ctx
        .store
        .reset_status(
            &ctx.pool,
            reset(query(json!({"filter.i": 42})), Status::Failed),
        )
        .await
        .unwrap();
    assert_eq!(n, 0);
}

/// reset_waiting (Qlib's): running tasks go back to waiting; others are untouched.
pub async fn reset_waiting_resets_only_running(ctx: &Ctx) {
    ctx.create((0..4).map(|i| json!({"i": i}))).await;
    let claimed = ctx.claim(3).await;
    ctx.commit(&claimed[0], Status::Done, json!(0))
        .await
        .unwrap();
    ctx.commit(&claimed[1], Status::PartDone, json!(1))
        .await
        .unwrap();
    let n = ctx
        .store
        .reset_waiting(&ctx.pool, Query::All)
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        ctx.stat().await,
        Stat {
            waiting: 2,
            part_done: 1,
            done: 1,
            ..Stat::default()
        }
    );
    let got = ctx.get(claimed[2].id).await;
    assert_eq!(
        (got.status, got.lease, got.attempts),
        (Status::Waiting, None, 0)
    );
}

/// prioritize: only priority and updated_at change, and claim order follows.
pub async fn prioritize_changes_only_priority(ctx: &Ctx) {
    let created = ctx.create((0..4).map(|i| json!({"i": i}))).await;
    let claimed = ctx.claim_one("w").await;
    ctx.clock.advance(Duration::from_secs(2));
    let before = ctx.all().await;
    let n = ctx
        .store
        .prioritize(&ctx.pool, &query(json!({"filter.i": {"$gte": 2}})), 5)
        .await
        .unwrap();
    assert_eq!(n, 2);
    let after = ctx.all().await;
    for (old, new) in before.iter().zip(&after) {
        let mut expected = old.clone();
        if new.id == created[2].id || new.id == created[3].id {
            expected.priority = 5;
            expected.updated_at = ctx.now();
        }
        assert_eq!(new, &expected);
    }
    assert_eq!(ctx.get(claimed.id).await, claimed);
    let next = ctx.claim_one("w").await;
    assert_eq!(next.id, created[2].id);
    let n = ctx
        .store
        .prioritize(&ctx.pool, &Query::id(created[1].id), -1)
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(ctx.claim_one("w").await.id, created[3].id);
    assert_eq!(ctx.claim_one("w").await.id, created[1].id);
}

/// replace: new def, filter and key; the task starts over (waiting, no
/// result, lease, attempts or errors); id, priority, limit and created_at stay.
pub async fn replace_starts_task_over(ctx: &Ctx) {
    let mut params = CreateParams::new([json!({"v": 1})]);
    params.priority = 3;
    params.max_attempts = 4;
    let created = ctx.create_with(params).await;
    let claimed = ctx.claim_one("w").await;
    ctx.return_task(&claimed, Some("e"), None).await.unwrap();
    let claimed = ctx.claim_one("w").await;
    ctx.clock.advance(Duration::from_secs(9));
    let new_def = json!({"v": 2, "fixed": true});
    let got = ctx
        .store
        .replace(
            &ctx.pool,
            ReplaceParams {
                id: created[0].id,
                def: new_def.clone(),
                filter: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(got.id, created[0].id);
    assert_eq!(got.def, new_def);
    assert_eq!(got.filter, new_def);
    assert_eq!(got.key, content_key(&new_def));
    assert_eq!(got.status, Status::Waiting);
    assert_eq!(got.res, None);
    assert_eq!(got.lease, None);
    assert_eq!(got.attempts, 0);
    assert!(got.errors.is_empty());
    assert_eq!(got.started_at, None);
    assert_eq!(got.finished_at, None);
    assert_eq!(got.updated_at, ctx.now());
    assert_eq!(got.created_at, claimed.created_at);
    assert_eq!((got.priority, got.max_attempts), (3, 4));
    assert_eq!(ctx.get(got.id).await, got);
    let err = ctx
        .commit(&claimed, Status::Done, json!(1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LeaseLost);
    let again = ctx.create([new_def, json!({"v": 1})]).await;
    assert!(!again[0].new && again[0].id == got.id);
    assert!(again[1].new, "the old key is free");
}

/// replace: a given filter is stored instead of the definition.
pub async fn replace_uses_given_filter(ctx: &Ctx) {
    let created = ctx.create([json!({"v": 1})]).await;
    let got = ctx
        .store
        .replace(
            &ctx.pool,
            ReplaceParams {
                id: created[0].id,
                def: json!({"v": 2}),
                filter: Some(json!({"model": "LGB"})),
            },
        )
        .await
        .unwrap();
    assert_eq!(got.filter, json!({"model": "LGB"}));
    assert_eq!(got.key, content_key(&json!({"v": 2})));
    assert_eq!(
        ctx.find(&query(json!({"filter.model": "LGB"}))).await,
        [got]
    );
}

/// replace: the task's own key is not a conflict (the task simply starts over).
pub async fn replace_with_own_key_succeeds(ctx: &Ctx) {
    let created = ctx.create([json!({"v": 1})]).await;
    let claimed = ctx.claim_one("w").await;
    ctx.commit(&claimed, Status::Done, json!("r"))
        .await
        .unwrap();
    let got = ctx
        .store
        .replace(
            &ctx.pool,
            ReplaceParams {
                id: created[0].id,
                def: json!({"v": 1.0}),
                filter: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(got.status, Status::Waiting);
    assert_eq!(got.res, None);
    assert_eq!(got.key, created[0].key);
    assert_eq!(ctx.all().await.len(), 1);
}

/// replace: a new key held by another task fails with AlreadyExists and
/// changes nothing.
pub async fn replace_to_existing_key_fails(ctx: &Ctx) {
    let created = ctx.create([json!({"v": 1}), json!({"v": 2})]).await;
    let before = ctx.all().await;
    let err = ctx
        .store
        .replace(
            &ctx.pool,
            ReplaceParams {
                id: created[0].id,
                def: json!({"v": 2}),
                filter: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert_eq!(ctx.all().await, before);
}

/// pools: every pool from its first non-dry-run create, sorted by name.
pub async fn pools_lists_created_pools(ctx: &Ctx) {
    let names = [
        format!("{}_c", ctx.pool),
        format!("{}_a", ctx.pool),
        format!("{}_b", ctx.pool),
    ];
    for name in &names[..2] {
        ctx.store
            .create(name, CreateParams::new([json!({"x": 1})]))
            .await
            .unwrap();
    }
    let mut dry = CreateParams::new([json!({"x": 1})]);
    dry.dry_run = true;
    ctx.store.create(&names[2], dry).await.unwrap();
    let listed: Vec<String> = ctx
        .store
        .pools()
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.starts_with(&ctx.pool))
        .collect();
    assert_eq!(listed, [names[1].clone(), names[0].clone()]);
    let all = ctx.store.pools().await.unwrap();
    assert!(all.windows(2).all(|w| w[0] < w[1]), "pools are sorted");
}

/// drop_pool: deletes the pool and its tasks; afterwards it is not listed and
/// behaves as empty; a second drop reports false.
pub async fn drop_pool_removes_everything(ctx: &Ctx) {
    let other = format!("{}_keep", ctx.pool);
    ctx.store
        .create(&other, CreateParams::new([json!({"x": 1})]))
        .await
        .unwrap();
    let created = ctx.create((0..3).map(|i| json!({"i": i}))).await;
    ctx.claim(1).await;
    assert!(ctx.store.drop_pool(&ctx.pool).await.unwrap());
    let pools = ctx.store.pools().await.unwrap();
    assert!(!pools.contains(&ctx.pool));
    assert!(pools.contains(&other));
    assert_eq!(ctx.stat().await.total(), 0);
    assert!(ctx.all().await.is_empty());
    assert_eq!(
        ctx.store
            .get(&ctx.pool, created[0].id)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert!(!ctx.store.drop_pool(&ctx.pool).await.unwrap());
    let again = ctx.create([json!({"i": 0})]).await;
    assert!(again[0].new);
    assert_eq!(
        ctx.store.stat(&other, &Query::All).await.unwrap().waiting,
        1
    );
}
