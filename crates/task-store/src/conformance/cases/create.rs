//! `create`: idempotent by content key, batch reports, defaults, dry run.

use std::time::Duration;

use serde_json::{Value, json};

use crate::conformance::{Ctx, LEASE};
use crate::key::content_key;
use crate::params::{CreateParams, NewTask};
use crate::query::Query;
use crate::task::{DEFAULT_MAX_ATTEMPTS, Status};

/// create: new keys are reported new, existing keys (and repeats) are not.
pub async fn create_reports_new_and_existing(ctx: &Ctx) {
    let first = ctx
        .create([json!({"a": 1}), json!({"a": 2}), json!({"a": 1})])
        .await;
    assert_eq!(
        first.iter().map(|c| c.new).collect::<Vec<_>>(),
        [true, true, false]
    );
    assert_eq!(first[0].id, first[2].id);
    let second = ctx.create([json!({"a": 2}), json!({"a": 3})]).await;
    assert!(!second[0].new && second[1].new);
    assert_eq!(second[0].id, first[1].id);
    assert_eq!(second[0].status, Status::Waiting);
    assert_eq!(ctx.stat().await.waiting, 3);
}

/// create: a key already in the pool is reused whatever its status, and the
/// report carries the existing task's id and status.
pub async fn create_reuses_key_in_any_status(ctx: &Ctx) {
    let mut params = CreateParams::new([json!({"t": "done"}), json!({"t": "failed"})]);
    params.max_attempts = 1;
    ctx.create_with(params).await;
    let done = ctx.claim_one("w").await;
    ctx.commit(&done, Status::Done, json!(1)).await.unwrap();
    let failed = ctx.claim_one("w").await;
    ctx.return_task(&failed, Some("boom"), None).await.unwrap();
    let running = ctx.create([json!({"t": "running"})]).await;
    ctx.claim_one("w").await;
    ctx.create([json!({"t": "part_done"})]).await;
    let part = ctx.claim_one("w").await;
    ctx.commit(&part, Status::PartDone, json!(2)).await.unwrap();
    let before = ctx.all().await;

    let again = ctx
        .create([
            json!({"t": "done"}),
            json!({"t": "failed"}),
            json!({"t": "running"}),
            json!({"t": "part_done"}),
        ])
        .await;
    assert!(again.iter().all(|c| !c.new));
    assert_eq!(
        again.iter().map(|c| c.id).collect::<Vec<_>>(),
        [done.id, failed.id, running[0].id, part.id]
    );
    assert_eq!(
        again.iter().map(|c| c.status).collect::<Vec<_>>(),
        [
            Status::Done,
            Status::Failed,
            Status::Running,
            Status::PartDone
        ]
    );
    assert_eq!(ctx.all().await, before, "a repeated create changes nothing");
}

/// create: the key is the hash of the canonical JSON, so field order and
/// number spelling do not make a new task.
pub async fn create_key_ignores_field_order_and_number_spelling(ctx: &Ctx) {
    let a = json!({"model": {"class": "LGB", "lr": 0.1}, "n": 1});
    let b: Value =
        serde_json::from_str(r#"{"n": 1.0, "model": {"lr": 1e-1, "class": "LGB"}}"#).unwrap();
    let first = ctx.create([a.clone()]).await;
    let second = ctx.create([b]).await;
    assert!(first[0].new && !second[0].new);
    assert_eq!(first[0].id, second[0].id);
    assert_eq!(first[0].key, content_key(&a));
    assert_eq!(second[0].key, first[0].key);
    let third = ctx
        .create([json!({"model": {"class": "LGB", "lr": 0.2}, "n": 1})])
        .await;
    assert!(third[0].new);
    assert_ne!(third[0].key, first[0].key);
    assert_eq!(ctx.get(first[0].id).await.key, content_key(&a));
}

/// create: repeats within one batch map to their first occurrence.
pub async fn create_maps_batch_repeats_to_first(ctx: &Ctx) {
    let x = json!({"x": 1});
    let y = json!({"y": 1});
    let got = ctx.create([x.clone(), y, x.clone(), x]).await;
    assert_eq!(
        got.iter().map(|c| c.new).collect::<Vec<_>>(),
        [true, true, false, false]
    );
    assert_eq!(got[0].id, got[2].id);
    assert_eq!(got[0].id, got[3].id);
    assert_ne!(got[0].id, got[1].id);
    assert!(got.iter().all(|c| c.status == Status::Waiting));
    assert_eq!(ctx.all().await.len(), 2);
}

/// create: new tasks are waiting, 0 attempts, batch priority and attempt
/// limit, `filter` = `def`, created_at = updated_at = now, nothing else set;
/// the definition is stored exactly.
pub async fn create_sets_initial_fields(ctx: &Ctx) {
    ctx.clock.advance(Duration::from_millis(1234));
    let def = json!({
        "model": {"class": "LGB", "kwargs": {"lr": 0.05, "leaves": 210, "flag": true}},
        "segments": [["2008-01-01", "2014-12-31"], ["2015-01-01", null]],
        "unicode": "données ✓ 😀",
        "big": 9_007_199_254_740_993_i64,
        "neg": -42,
        "float_one": 1.0,
        "tiny": 1e-300,
        "empty": {},
        "none": null,
    });
    let mut params = CreateParams::new([def.clone()]);
    params.priority = 7;
    params.max_attempts = 5;
    let created = ctx.create_with(params).await;
    assert!(created[0].new);
    assert_eq!(created[0].status, Status::Waiting);
    assert_eq!(created[0].key, content_key(&def));
    let task = ctx.get(created[0].id).await;
    assert_eq!(task.id, created[0].id);
    assert_eq!(task.def, def);
    assert_eq!(task.filter, def);
    assert_eq!(task.key, content_key(&def));
    assert_eq!(task.status, Status::Waiting);
    assert_eq!(task.priority, 7);
    assert_eq!(task.res, None);
    assert_eq!(task.attempts, 0);
    assert_eq!(task.max_attempts, 5);
    assert_eq!(task.lease, None);
    assert!(task.errors.is_empty());
    assert_eq!(task.created_at, ctx.now());
    assert_eq!(task.updated_at, ctx.now());
    assert_eq!(task.started_at, None);
    assert_eq!(task.finished_at, None);

    let plain = ctx.create([json!({"plain": 1})]).await;
    let plain = ctx.get(plain[0].id).await;
    assert_eq!(plain.priority, 0);
    assert_eq!(plain.max_attempts, DEFAULT_MAX_ATTEMPTS);
}

/// create: a task's own priority, attempt limit and filter win over the batch's.
pub async fn create_task_options_override_batch(ctx: &Ctx) {
    let own = NewTask {
        def: json!({"own": 1}),
        filter: Some(json!({"model": "MLP", "horizon": 5})),
        priority: Some(-3),
        max_attempts: Some(1),
    };
    let mut params = CreateParams::new([NewTask::from(json!({"batch": 1})), own]);
    params.priority = 4;
    params.max_attempts = 6;
    let created = ctx.create_with(params).await;
    let batch = ctx.get(created[0].id).await;
    let own = ctx.get(created[1].id).await;
    assert_eq!((batch.priority, batch.max_attempts), (4, 6));
    assert_eq!(batch.filter, json!({"batch": 1}));
    assert_eq!((own.priority, own.max_attempts), (-3, 1));
    assert_eq!(own.def, json!({"own": 1}));
    assert_eq!(own.filter, json!({"model": "MLP", "horizon": 5}));
    assert_eq!(
        own.key,
        content_key(&json!({"own": 1})),
        "the key hashes def"
    );
}

/// create: one report per input, in input order; new tasks get ids in input order.
pub async fn create_reports_in_input_order(ctx: &Ctx) {
    ctx.create([json!({"i": 3}), json!({"i": 7})]).await;
    let defs: Vec<Value> = (0..12).map(|i| json!({"i": i})).collect();
    let got = ctx.create(defs.clone()).await;
    assert_eq!(got.len(), defs.len());
    for (def, c) in defs.iter().zip(&got) {
        assert_eq!(c.key, content_key(def));
        assert_eq!(c.new, def["i"] != 3 && def["i"] != 7);
    }
    let new_ids: Vec<_> = got.iter().filter(|c| c.new).map(|c| c.id).collect();
    assert!(new_ids.windows(2).all(|w| w[0] < w[1]));
    let stored: Vec<_> = ctx.all().await.iter().map(|t| t.def.clone()).collect();
    assert_eq!(stored.len(), 12);
}

/// create: keys are unique within a pool only; another pool gets its own task.
pub async fn create_dedups_within_pool_only(ctx: &Ctx) {
    let other = format!("{}_b", ctx.pool);
    let here = ctx.create([json!({"same": 1})]).await;
    let there = ctx
        .store
        .create(&other, CreateParams::new([json!({"same": 1})]))
        .await
        .unwrap();
    assert!(here[0].new && there[0].new);
    assert_ne!(here[0].id, there[0].id);
    assert_eq!(here[0].key, there[0].key);
    let stat = ctx.store.stat(&other, &Query::All).await.unwrap();
    assert_eq!(stat.waiting, 1);
    assert_eq!(ctx.stat().await.waiting, 1);
}

/// create: a non-dry-run create makes the pool exist, even with an empty batch.
pub async fn create_empty_batch_creates_pool(ctx: &Ctx) {
    assert!(!ctx.store.pools().await.unwrap().contains(&ctx.pool));
    let got = ctx.create(Vec::<Value>::new()).await;
    assert!(got.is_empty());
    assert!(ctx.store.pools().await.unwrap().contains(&ctx.pool));
    assert_eq!(ctx.stat().await.total(), 0);
}

/// create: `dry_run` writes nothing (not even the pool) but reports the same
/// new/existing split, with fresh ids for new tasks.
pub async fn dry_run_writes_nothing(ctx: &Ctx) {
    let mut dry = CreateParams::new([json!({"a": 1})]);
    dry.dry_run = true;
    let got = ctx.create_with(dry).await;
    assert!(got[0].new);
    assert!(!ctx.store.pools().await.unwrap().contains(&ctx.pool));

    let existing = ctx.create([json!({"a": 1})]).await;
    let claimed = ctx.claim_one("w").await;
    let before = ctx.all().await;
    let mut dry = CreateParams::new([json!({"a": 1}), json!({"b": 2}), json!({"b": 2})]);
    dry.dry_run = true;
    dry.priority = 9;
    let got = ctx.create_with(dry).await;
    assert_eq!(
        got.iter().map(|c| c.new).collect::<Vec<_>>(),
        [false, true, false]
    );
    assert_eq!(got[0].id, existing[0].id);
    assert_eq!(got[0].status, Status::Running);
    assert_eq!(got[1].id, got[2].id);
    assert_eq!(got[1].status, Status::Waiting);
    assert_eq!(got[1].key, content_key(&json!({"b": 2})));
    assert_ne!(got[1].id, claimed.id);
    assert_eq!(ctx.all().await, before, "a dry run writes nothing");
    assert_eq!(
        ctx.store
            .get(&ctx.pool, got[1].id)
            .await
            .unwrap_err()
            .kind(),
        crate::ErrorKind::NotFound
    );

    ctx.clock.advance(LEASE);
    let real = ctx.create([json!({"b": 2})]).await;
    assert!(real[0].new, "the dry run left no task behind");
}
