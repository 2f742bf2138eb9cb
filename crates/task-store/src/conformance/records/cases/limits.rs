//! The contract's size limits ([`limits`](crate::limits)) on records: a
//! record's `task`, `params`, `metrics` and `tags` at the limit are stored;
//! one byte over is `InvalidInput` and nothing changes — on create, and on
//! update for the merged maps.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::super::ctx::RecordCtx;
use crate::error::ErrorKind;
use crate::limits::{MAX_FIELD_BYTES, encoded_len};
use crate::record::{MAX_FIELD_NAME_LEN, NewRecord, RecordStore, UpdateRecord};

/// `{"s": "x…"}` with an encoded size of exactly `len` bytes.
fn doc_of_size(len: usize) -> Value {
    let value = json!({"s": "x".repeat(len - 13)});
    assert_eq!(encoded_len(&value), len);
    value
}

/// A one-entry map (`{name: "x…"}`) of exactly `len` encoded bytes.
fn tag_map(name: &str, len: usize) -> BTreeMap<String, String> {
    // 4 + (1 + name + 1 + (4 + text + 1)) + 1
    let text = len - 12 - name.len();
    BTreeMap::from([(name.to_string(), "x".repeat(text))])
}

/// A record's task at the size limit is stored; one byte over is refused
/// and no record is created.
pub async fn create_record_task_size_limit_is_exact(ctx: &RecordCtx) {
    let s = &ctx.store;
    let exp = &ctx.experiment;
    let at = ctx
        .create(NewRecord {
            task: doc_of_size(MAX_FIELD_BYTES),
            ..NewRecord::default()
        })
        .await;
    assert_eq!(s.get_record(exp, at.id).await.unwrap().task, at.task);
    let over = NewRecord {
        task: doc_of_size(MAX_FIELD_BYTES + 1),
        ..NewRecord::default()
    };
    let err = s.create_record(exp, over).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("task"), "{err}");
    assert_eq!(
        s.list_records(exp, &Default::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Params, metrics and tags at the size limit are stored; one byte over is
/// refused on create.
pub async fn create_record_maps_size_limit_is_exact(ctx: &RecordCtx) {
    let s = &ctx.store;
    let exp = &ctx.experiment;
    // {"p": {"s": "x…"}}: the outer document adds 4 + 1 + "p\0" + 1 bytes.
    let params_at = BTreeMap::from([("p".to_string(), doc_of_size(MAX_FIELD_BYTES - 8))]);
    let params_over = BTreeMap::from([("p".to_string(), doc_of_size(MAX_FIELD_BYTES - 7))]);
    let tags_at = tag_map("t", MAX_FIELD_BYTES);
    let tags_over = tag_map("t", MAX_FIELD_BYTES + 1);
    // Metrics are 8 bytes each, under names of the longest allowed length.
    let metrics = |n: usize| -> BTreeMap<String, f64> {
        (0..n)
            .map(|i| (format!("{i:0>width$}", width = MAX_FIELD_NAME_LEN), 0.5))
            .collect()
    };
    // 4 + n * (1 + name + 1 + 8) + 1
    let fit = (MAX_FIELD_BYTES - 5) / (MAX_FIELD_NAME_LEN + 10);
    for (params, tags, metrics_n, ok) in [
        (params_at, BTreeMap::new(), 0, true),
        (params_over, BTreeMap::new(), 0, false),
        (BTreeMap::new(), tags_at, 0, true),
        (BTreeMap::new(), tags_over, 0, false),
        (BTreeMap::new(), BTreeMap::new(), fit, true),
        (BTreeMap::new(), BTreeMap::new(), fit + 1, false),
    ] {
        let new = NewRecord {
            params,
            tags,
            metrics: metrics(metrics_n),
            ..NewRecord::default()
        };
        let result = s.create_record(exp, new).await;
        if ok {
            result.unwrap();
        } else {
            assert_eq!(result.unwrap_err().kind(), ErrorKind::InvalidInput);
        }
    }
    assert_eq!(
        s.list_records(exp, &Default::default())
            .await
            .unwrap()
            .len(),
        3
    );
}

/// An update whose merged tags would pass the limit is refused and the
/// record is unchanged; one that stays at the limit is applied.
pub async fn update_record_merged_size_limit_is_exact(ctx: &RecordCtx) {
    let s = &ctx.store;
    let exp = &ctx.experiment;
    let half = MAX_FIELD_BYTES / 2;
    let r = ctx
        .create(NewRecord {
            tags: tag_map("a", half),
            ..NewRecord::default()
        })
        .await;
    // Two entries: 4 + (entry a) + (entry b) + 1, each entry 1 + 1 + 1 + 4 + text + 1.
    let a_entry = half - 5;
    let b_text_at = MAX_FIELD_BYTES - 5 - a_entry - 8;
    let over = UpdateRecord {
        tags: BTreeMap::from([("b".to_string(), "x".repeat(b_text_at + 1))]),
        ..UpdateRecord::new(r.id)
    };
    let err = s.update_record(exp, over).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(s.get_record(exp, r.id).await.unwrap(), r);
    let at = UpdateRecord {
        tags: BTreeMap::from([("b".to_string(), "x".repeat(b_text_at))]),
        ..UpdateRecord::new(r.id)
    };
    let updated = s.update_record(exp, at).await.unwrap();
    assert_eq!(updated.tags.len(), 2);
}
