//! What the shared record suite cannot see: how records and artifacts are
//! laid out in the file (chunk rows, nothing orphaned), concurrency between
//! stores sharing a file, reopening, and exact tag matching compared with
//! the MemoryStore.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde_json::json;
use task_store::{
    ErrorKind, ManualClock, MemoryStore, NewRecord, RecordFilter, RecordId, RecordStatus,
    RecordStore, SharedClock, TaskStore, TaskStoreExt, Timestamp, UpdateRecord,
};
use task_store_sqlite::{MEMORY_URL, SqliteOptions, SqliteStore};

use crate::support::open_file;

const EXP: &str = "exp";
const MIB: usize = 1 << 20;

fn clock() -> SharedClock {
    Arc::new(ManualClock::new(Timestamp::from_millis(1_767_225_600_000)))
}

fn db(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("store.db")
}

async fn open(path: &Path) -> SqliteStore {
    open_file(path, clock()).await
}

fn bytes(len: usize, seed: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(seed) ^ (i >> 11)) as u8)
        .collect()
}

/// `SELECT count(*), max(length(data)), total(length(data)) FROM artifact_chunks`.
fn chunk_stats(path: &Path) -> (i64, Option<i64>, f64) {
    Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT count(*), max(length(data)), total(length(data)) FROM artifact_chunks",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
}

fn count(path: &Path, table: &str) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn put_artifact_stores_rows_of_at_most_one_mib() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let store = open(&path).await;
    let r = store
        .create_record(EXP, NewRecord::default())
        .await
        .unwrap();
    let len = 17 * MIB + 3;
    store
        .put_artifact(EXP, r.id, "pred", bytes(len, 31))
        .await
        .unwrap();
    let (chunks, largest, total) = chunk_stats(&path);
    assert_eq!(chunks, 18);
    assert_eq!(largest, Some(MIB as i64));
    assert_eq!(total, len as f64);
}

#[tokio::test]
async fn put_artifact_round_trips_lengths_around_chunk_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db(&dir)).await;
    let r = store
        .create_record(EXP, NewRecord::default())
        .await
        .unwrap();
    let lens = [1, MIB - 1, MIB, MIB + 1, 2 * MIB, 2 * MIB + 1];
    for (i, len) in lens.into_iter().enumerate() {
        let data = bytes(len, 7 + i);
        let name = format!("a{i}");
        store
            .put_artifact(EXP, r.id, &name, data.clone())
            .await
            .unwrap();
        let back = store.get_artifact(EXP, r.id, &name).await.unwrap();
        assert!(back == data, "length {len} came back different");
    }
    let listed: Vec<u64> = store
        .list_artifacts(EXP, r.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.len)
        .collect();
    assert_eq!(listed, lens.map(|l| l as u64));
}

#[tokio::test]
async fn put_artifact_replacing_leaves_no_old_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let store = open(&path).await;
    let r = store
        .create_record(EXP, NewRecord::default())
        .await
        .unwrap();
    store
        .put_artifact(EXP, r.id, "pred", bytes(3 * MIB, 5))
        .await
        .unwrap();
    store
        .put_artifact(EXP, r.id, "pred", vec![9; 10])
        .await
        .unwrap();
    assert_eq!(chunk_stats(&path), (1, Some(10), 10.0));
    assert_eq!(count(&path, "artifacts"), 1);
}

#[tokio::test]
async fn delete_record_leaves_no_artifact_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let store = open(&path).await;
    let keep = store
        .create_record(EXP, NewRecord::default())
        .await
        .unwrap();
    let gone = store
        .create_record(EXP, NewRecord::default())
        .await
        .unwrap();
    store
        .put_artifact(EXP, keep.id, "pred", vec![1; 10])
        .await
        .unwrap();
    for name in ["pred", "label", "sig/ic"] {
        store
            .put_artifact(EXP, gone.id, name, bytes(MIB + 1, 3))
            .await
            .unwrap();
    }
    assert!(store.delete_record(EXP, gone.id).await.unwrap());
    assert_eq!(count(&path, "artifacts"), 1);
    assert_eq!(chunk_stats(&path), (1, Some(10), 10.0));
    assert_eq!(
        store.get_artifact(EXP, keep.id, "pred").await.unwrap(),
        [1; 10]
    );
}

#[tokio::test]
async fn get_artifact_with_a_missing_chunk_fails_with_backend() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let store = open(&path).await;
    let r = store
        .create_record(EXP, NewRecord::default())
        .await
        .unwrap();
    store
        .put_artifact(EXP, r.id, "pred", bytes(2 * MIB + 1, 3))
        .await
        .unwrap();
    Connection::open(&path)
        .unwrap()
        .execute("DELETE FROM artifact_chunks WHERE seq = 1", [])
        .unwrap();
    let err = store.get_artifact(EXP, r.id, "pred").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Backend);
}

#[tokio::test]
async fn update_record_from_two_stores_on_one_file_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let stores = [Arc::new(open(&path).await), Arc::new(open(&path).await)];
    let r = stores[0]
        .create_record(EXP, NewRecord::default())
        .await
        .unwrap();
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let store = Arc::clone(&stores[i % 2]);
            tokio::spawn(async move {
                let update = UpdateRecord::new(r.id).metric(format!("m{i}"), i as f64);
                store.update_record(EXP, update).await.unwrap();
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    let got = stores[1].get_record(EXP, r.id).await.unwrap();
    let want: BTreeMap<String, f64> = (0..20).map(|i| (format!("m{i}"), i as f64)).collect();
    assert_eq!(got.metrics, want);
}

#[tokio::test]
async fn records_and_tasks_share_the_file_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let store = open(&path).await;
    let created = store.create_one("pool", json!({"w": 1})).await.unwrap();
    let task = store.get("pool", created.id).await.unwrap();
    let record = store
        .create_record(EXP, NewRecord::for_task("pool", &task))
        .await
        .unwrap();
    store
        .put_artifact(EXP, record.id, "pred", vec![4, 2])
        .await
        .unwrap();
    drop(store);

    let store = open(&path).await;
    assert_eq!(store.get("pool", created.id).await.unwrap(), task);
    assert_eq!(store.get_record(EXP, record.id).await.unwrap(), record);
    assert!(store.drop_pool("pool").await.unwrap());
    assert_eq!(store.experiments().await.unwrap(), [EXP]);
    assert_eq!(
        store.get_artifact(EXP, record.id, "pred").await.unwrap(),
        [4, 2]
    );
}

/// Tag names and values that are awkward for JSON paths and SQL text.
fn awkward_tags() -> Vec<(String, String)> {
    [
        ("model.kwargs.alpha", "0.1"),
        ("a\"b", "q\"v"),
        ("$", "$.x"),
        ("[0]", "\\"),
        ("ключ", "значение \u{1F600}"),
        ("nul\u{0}name", "nul\u{0}value"),
        ("empty", ""),
        (" ", " "),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[tokio::test]
async fn list_records_matches_awkward_tags_like_memory() {
    let memory = MemoryStore::with_clock(clock());
    let sqlite = SqliteStore::open(MEMORY_URL, clock(), SqliteOptions::default())
        .await
        .unwrap();
    let stores: [&dyn RecordStore; 2] = [&memory, &sqlite];
    let tags = awkward_tags();
    // Record i has every tag but the i-th, and status by i.
    for (i, _) in tags.iter().enumerate() {
        let new = NewRecord {
            id: Some(task_store::RecordId::from_bytes([i as u8; 12])),
            tags: tags
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, kv)| kv.clone())
                .collect(),
            status: RecordStatus::ALL[i % 3],
            ..NewRecord::default()
        };
        for store in stores {
            store.create_record(EXP, new.clone()).await.unwrap();
        }
    }
    let mut filters = vec![RecordFilter::all()];
    for (k, v) in &tags {
        filters.push(RecordFilter::all().tag(k.clone(), v.clone()));
        filters.push(RecordFilter::all().tag(k.clone(), format!("{v}x")));
        filters.push(
            RecordFilter::all()
                .tag(k.clone(), v.clone())
                .status([RecordStatus::Finished, RecordStatus::Failed]),
        );
    }
    filters.push(RecordFilter::all().tag("model", "0.1"));
    filters.push(RecordFilter::all().tag("nul", "nul"));
    for filter in filters {
        let want = memory.list_records(EXP, &filter).await.unwrap();
        let got = sqlite.list_records(EXP, &filter).await.unwrap();
        assert_eq!(got, want, "{filter:?}");
    }
}

/// The size of `path`'s WAL file once a checkpoint has caught up: small
/// writes (each a change) until the file is at most `limit` bytes (the write after a
/// finished checkpoint starts the WAL over and truncates it), or the last
/// size seen after 60 s. Checkpoints run on the store's checkpoint thread,
/// so the caller's writes do not wait for them.
async fn wal_size_after_checkpoint(
    store: &SqliteStore,
    path: &Path,
    record: RecordId,
    limit: u64,
) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut write = 0u64;
    loop {
        write += 1;
        // A new tag value each time: an update that changes nothing writes
        // nothing.
        store
            .update_record(EXP, UpdateRecord::new(record).tag("k", write.to_string()))
            .await
            .unwrap();
        let wal = std::fs::metadata(format!("{}-wal", path.display()))
            .unwrap()
            .len();
        if wal <= limit || Instant::now() > deadline {
            return wal;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn put_artifact_does_not_leave_a_large_wal_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let store = open(&path).await;
    let r = store
        .create_record(EXP, NewRecord::default())
        .await
        .unwrap();
    store
        .put_artifact(EXP, r.id, "pred", bytes(24 * MIB, 3))
        .await
        .unwrap();
    let wal = wal_size_after_checkpoint(&store, &path, r.id, 8 * MIB as u64).await;
    assert!(wal <= 8 * MIB as u64, "the WAL file holds {wal} bytes");
}

#[tokio::test]
async fn a_stream_of_writes_keeps_the_wal_bounded() {
    // Forty 1 MiB writes, each its own commit: without checkpoints (the
    // store's hook replaces SQLite's automatic one) the WAL would hold all
    // 40 MiB.
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let store = open(&path).await;
    let r = store
        .create_record(EXP, NewRecord::default())
        .await
        .unwrap();
    for i in 0..40u8 {
        store
            .put_artifact(EXP, r.id, &format!("part-{i}"), bytes(MIB, usize::from(i)))
            .await
            .unwrap();
    }
    let wal = wal_size_after_checkpoint(&store, &path, r.id, 8 * MIB as u64).await;
    assert!(wal <= 8 * MIB as u64, "the WAL file holds {wal} bytes");
    for i in 0..40u8 {
        let got = store
            .get_artifact(EXP, r.id, &format!("part-{i}"))
            .await
            .unwrap();
        assert!(
            got == bytes(MIB, usize::from(i)),
            "part-{i} came back different"
        );
    }
}
