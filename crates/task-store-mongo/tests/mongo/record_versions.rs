//! The records collection: versions, emptied superseded versions, escaped
//! names, experiments after an interrupted delete, and concurrent writers in
//! separate stores (separate connection pools, as separate processes have).

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use mongodb::error::WriteFailure;
use serde_json::json;
use task_store::{NewRecord, RecordFilter, RecordStore, SystemClock, TaskStore, UpdateRecord};
use task_store_mongo::{MongoOptions, MongoStore, RECORD_COLLECTION};

use super::support;

const EXP: &str = "exp.v1";

struct Fixture {
    url: String,
    store: Arc<MongoStore>,
    records: mongodb::Collection<Document>,
}

impl Fixture {
    async fn new(test: &str) -> Option<Fixture> {
        let url = support::server_url(test)?;
        let store = support::empty_store(&url, test, Arc::new(SystemClock)).await;
        let client = mongodb::Client::with_uri_str(&url).await.unwrap();
        let records = client
            .database(store.database())
            .collection(RECORD_COLLECTION);
        Some(Fixture {
            url,
            store,
            records,
        })
    }

    /// Another store on the same database.
    async fn second_store(&self) -> Arc<MongoStore> {
        let options = MongoOptions::default().database(self.store.database().to_string());
        Arc::new(
            MongoStore::open(&self.url, Arc::new(SystemClock), options)
                .await
                .unwrap(),
        )
    }

    /// The stored versions of every record, by version number.
    async fn versions(&self) -> Vec<Document> {
        self.records
            .find(doc! {})
            .sort(doc! {"version": 1})
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn update_record_empties_the_superseded_version() {
    let Some(f) = Fixture::new("update_record_empties_the_superseded_version").await else {
        return;
    };
    let r = f
        .store
        .create_record(EXP, NewRecord::default())
        .await
        .unwrap();
    for i in 0..3 {
        let update = UpdateRecord::new(r.id).metric("ic", f64::from(i));
        f.store.update_record(EXP, update).await.unwrap();
    }
    let versions = f.versions().await;
    let numbers: Vec<i64> = versions
        .iter()
        .map(|v| v.get_i64("version").unwrap())
        .collect();
    assert_eq!(numbers, [0, 1, 2, 3]);
    for old in &versions[..3] {
        assert!(!old.get_bool("live").unwrap());
        let mut keys: Vec<&str> = old.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["_id", "experiment", "live", "record", "version"]);
    }
    let latest = &versions[3];
    assert!(latest.get_bool("live").unwrap());
    assert_eq!(
        latest
            .get_document("metrics")
            .unwrap()
            .get_f64("ic")
            .unwrap(),
        2.0
    );
}

#[tokio::test]
async fn names_with_dots_and_dollars_are_escaped_and_round_trip() {
    let Some(f) = Fixture::new("names_with_dots_and_dollars_are_escaped_and_round_trip").await
    else {
        return;
    };
    let new = NewRecord {
        task: json!({"model": {"a.b": [[1]]}}),
        params: BTreeMap::from([("model.a.b".into(), json!([[1]]))]),
        metrics: BTreeMap::from([("ic.mean".into(), 0.5), ("$loss".into(), 1.0)]),
        tags: BTreeMap::from([("run.id".into(), "x.y".into())]),
        ..NewRecord::default()
    };
    let r = f.store.create_record(EXP, new).await.unwrap();
    assert_eq!(f.store.get_record(EXP, r.id).await.unwrap(), r);
    let filter = RecordFilter::all().tag("run.id", "x.y");
    assert_eq!(f.store.list_records(EXP, &filter).await.unwrap(), [r]);
    let stored = &f.versions().await[0];
    let metrics = stored.get_document("metrics").unwrap();
    assert!(metrics.contains_key("ic%2Emean") && metrics.contains_key("%24loss"));
    assert!(
        stored
            .get_document("tags")
            .unwrap()
            .contains_key("run%2Eid")
    );
}

/// A delete that wrote its tombstone but died before emptying the version
/// below it: the record is gone, and `experiments` empties the leftover.
#[tokio::test]
async fn experiments_ignore_a_version_left_by_an_interrupted_delete() {
    let Some(f) = Fixture::new("experiments_ignore_a_version_left_by_an_interrupted_delete").await
    else {
        return;
    };
    let kept = f
        .store
        .create_record("kept", NewRecord::default())
        .await
        .unwrap();
    let r = f
        .store
        .create_record(EXP, NewRecord::default())
        .await
        .unwrap();
    let live = f
        .versions()
        .await
        .into_iter()
        .find(|v| v.get_str("experiment").is_ok_and(|e| e == EXP));
    let record = live.unwrap().get_object_id("record").unwrap();
    f.records
        .insert_one(doc! {"experiment": EXP, "record": record, "version": 1_i64, "live": false})
        .await
        .unwrap();
    assert_eq!(f.store.experiments().await.unwrap(), ["kept"]);
    assert!(
        f.store
            .list_records(EXP, &RecordFilter::all())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        f.store.get_record(EXP, r.id).await.unwrap_err().kind(),
        task_store::ErrorKind::NotFound
    );
    let live_left = f
        .records
        .count_documents(doc! {"experiment": EXP, "live": true})
        .await
        .unwrap();
    assert_eq!(live_left, 0);
    assert_eq!(f.store.get_record("kept", kept.id).await.unwrap(), kept);
}

/// Re-creating a deleted record continues after its tombstone, so a writer
/// that read the record before the delete cannot write over it.
#[tokio::test]
async fn create_record_after_delete_continues_the_version_numbers() {
    let Some(f) = Fixture::new("create_record_after_delete_continues_the_version_numbers").await
    else {
        return;
    };
    let r = f
        .store
        .create_record(EXP, NewRecord::default())
        .await
        .unwrap();
    assert!(f.store.delete_record(EXP, r.id).await.unwrap());
    let again = NewRecord {
        id: Some(r.id),
        ..NewRecord::default()
    };
    f.store.create_record(EXP, again).await.unwrap();
    let versions = f.versions().await;
    let summary: Vec<(i64, bool)> = versions
        .iter()
        .map(|v| (v.get_i64("version").unwrap(), v.get_bool("live").unwrap()))
        .collect();
    assert_eq!(summary, [(0, false), (1, false), (2, true)]);
    let record = versions[0].get_object_id("record").unwrap();
    let stale = doc! {"experiment": EXP, "record": record, "version": 1_i64, "live": true};
    let err = f.records.insert_one(stale).await.unwrap_err();
    let code = match *err.kind {
        mongodb::error::ErrorKind::Write(WriteFailure::WriteError(ref e)) => Some(e.code),
        _ => None,
    };
    assert_eq!(code, Some(11000), "{err}");
}

/// Two stores (two connection pools, as two processes have) updating one
/// record concurrently: every update takes effect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_record_from_two_stores_loses_nothing() {
    let Some(f) = Fixture::new("update_record_from_two_stores_loses_nothing").await else {
        return;
    };
    let stores = [Arc::clone(&f.store), f.second_store().await];
    let r = f
        .store
        .create_record(EXP, NewRecord::default())
        .await
        .unwrap();
    let handles: Vec<_> = (0..24u32)
        .map(|i| {
            let store = Arc::clone(&stores[i as usize % 2]);
            tokio::spawn(async move {
                let update = UpdateRecord::new(r.id).metric(format!("m{i}"), f64::from(i));
                store.update_record(EXP, update).await.unwrap();
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    let got = stores[1].get_record(EXP, r.id).await.unwrap();
    let want: BTreeMap<String, f64> = (0..24u32)
        .map(|i| (format!("m{i}"), f64::from(i)))
        .collect();
    assert_eq!(got.metrics, want);
    // Before the multi-thread runtime stops (see `closing`).
    for store in stores {
        store.close().await;
    }
    f.records.client().clone().shutdown().await;
}
