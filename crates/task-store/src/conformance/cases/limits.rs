//! The contract's limits ([`limits`](crate::limits)): the same on every
//! backend. A field at the limit is stored and read back whole; one byte
//! over is `InvalidInput` and nothing is written (a commit keeps its lease).
//! Documents that one backend might treat specially (keys with `.` or `$`,
//! NUL characters, deep nesting) are stored exactly or refused everywhere.

use serde_json::{Value, json};

use crate::conformance::{Ctx, claim_params};
use crate::error::ErrorKind;
use crate::limits::{MAX_DEPTH, MAX_FIELD_BYTES, MAX_OWNER_BYTES, encoded_len};
use crate::params::{CreateParams, NewTask, ReplaceParams};
use crate::query::Query;
use crate::task::Status;

/// `{"s": "x…"}` with an encoded size of exactly `len` bytes.
fn doc_of_size(len: usize) -> Value {
    // 4 (length) + 1 (type) + "s\0" (2) + 4 (string length) + text + NUL + 1
    let value = json!({"s": "x".repeat(len - 13)});
    assert_eq!(encoded_len(&value), len);
    value
}

/// A definition at the size limit is created and read back whole; one byte
/// over is refused and the pool stays as it was.
pub async fn create_def_size_limit_is_exact(ctx: &Ctx) {
    let s = &ctx.store;
    let at = doc_of_size(MAX_FIELD_BYTES);
    let created = ctx.create([at.clone()]).await;
    assert_eq!(ctx.get(created[0].id).await.def, at);
    let err = s
        .create(
            &ctx.pool,
            CreateParams::new([doc_of_size(MAX_FIELD_BYTES + 1)]),
        )
        .await
        .expect_err("one byte over the limit");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("tasks[0].def"), "{err}");
    assert_eq!(ctx.all().await.len(), 1);
}

/// A filter at the size limit is stored; one byte over is refused.
pub async fn create_filter_size_limit_is_exact(ctx: &Ctx) {
    let s = &ctx.store;
    let with_filter = |filter: Value| {
        CreateParams::new([NewTask {
            filter: Some(filter),
            ..NewTask::from(json!({"k": 1}))
        }])
    };
    let at = doc_of_size(MAX_FIELD_BYTES);
    let created = ctx.create_with(with_filter(at.clone())).await;
    assert_eq!(ctx.get(created[0].id).await.filter, at);
    let err = s
        .create(&ctx.pool, with_filter(doc_of_size(MAX_FIELD_BYTES + 1)))
        .await
        .expect_err("one byte over the limit");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("tasks[0].filter"), "{err}");
    assert_eq!(ctx.all().await.len(), 1);
}

/// A result at the size limit is committed; one byte over is refused, the
/// task keeps its lease and a later commit with the same token succeeds.
pub async fn commit_result_size_limit_is_exact(ctx: &Ctx) {
    ctx.create([json!({"k": 1}), json!({"k": 2})]).await;
    let first = ctx.claim_one("w").await;
    let at = doc_of_size(MAX_FIELD_BYTES);
    ctx.commit(&first, Status::Done, at.clone()).await.unwrap();
    assert_eq!(ctx.get(first.id).await.res, Some(at));

    let second = ctx.claim_one("w").await;
    let err = ctx
        .commit(&second, Status::Done, doc_of_size(MAX_FIELD_BYTES + 1))
        .await
        .expect_err("one byte over the limit");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("artifacts"), "{err}");
    assert_eq!(ctx.get(second.id).await, second);
    ctx.commit(&second, Status::Done, json!({"ok": true}))
        .await
        .unwrap();
}

/// replace checks the new definition and filter like create.
pub async fn replace_size_limit_is_exact(ctx: &Ctx) {
    let s = &ctx.store;
    let created = ctx.create([json!({"k": 1})]).await;
    let before = ctx.get(created[0].id).await;
    let over = ReplaceParams {
        id: before.id,
        def: doc_of_size(MAX_FIELD_BYTES + 1),
        filter: None,
    };
    let err = s
        .replace(&ctx.pool, over)
        .await
        .expect_err("over the limit");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(ctx.get(before.id).await, before);
    let at = ReplaceParams {
        id: before.id,
        def: doc_of_size(MAX_FIELD_BYTES),
        filter: None,
    };
    s.replace(&ctx.pool, at).await.unwrap();
}

/// Documents nested [`MAX_DEPTH`] levels are stored; one level more is
/// refused.
pub async fn create_depth_limit_is_exact(ctx: &Ctx) {
    let s = &ctx.store;
    let mut deep = json!("leaf");
    for i in 0..MAX_DEPTH {
        deep = if i % 2 == 0 {
            json!([deep])
        } else {
            json!({"a": deep})
        };
    }
    let created = ctx.create([deep.clone()]).await;
    assert_eq!(ctx.get(created[0].id).await.def, deep);
    let err = s
        .create(&ctx.pool, CreateParams::new([json!({"over": deep})]))
        .await
        .expect_err("one level too deep");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(ctx.all().await.len(), 1);
}

/// Keys holding `.`, `$`, `%` or NUL, NUL inside strings and any Unicode are
/// stored and read back exactly on every backend.
pub async fn create_stores_special_keys_and_strings_exactly(ctx: &Ctx) {
    let def = json!({
        "a.b": 1,
        "$where": "x",
        "100%": {"%2E": [["nested"], []]},
        "nul\u{0}key": "nul\u{0}value",
        "ünïcödé ✓": "日本語 🚀",
        "": "empty key",
    });
    let created = ctx.create([def.clone()]).await;
    let got = ctx.get(created[0].id).await;
    assert_eq!(got.def, def);
    assert_eq!(got.filter, def);
}

/// A claim owner longer than [`MAX_OWNER_BYTES`] is `InvalidInput`; one at
/// the limit claims.
pub async fn claim_owner_length_limit_is_exact(ctx: &Ctx) {
    let s = &ctx.store;
    ctx.create([json!({"k": 1})]).await;
    let long = "o".repeat(MAX_OWNER_BYTES + 1);
    let err = s
        .claim(
            &ctx.pool,
            claim_params(&long, 1, Status::Waiting, Query::default()),
        )
        .await
        .expect_err("owner too long");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(ctx.stat().await.waiting, 1);
    let owner = "o".repeat(MAX_OWNER_BYTES);
    let claimed = ctx
        .claim_with(claim_params(&owner, 1, Status::Waiting, Query::default()))
        .await;
    assert_eq!(claimed[0].lease.as_ref().unwrap().owner, owner);
}
