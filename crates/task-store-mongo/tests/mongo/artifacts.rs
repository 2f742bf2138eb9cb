//! Artifacts in GridFS: the bucket's layout, replaced and deleted artifacts
//! leave no files behind, and readers never see a half-replaced artifact.

use std::sync::Arc;

use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use task_store::{NewRecord, Record, RecordStore, SystemClock, TaskStore};
use task_store_mongo::{ARTIFACT_BUCKET, MongoStore};

use super::support;

const EXP: &str = "exp.v1";

/// The GridFS chunk size the driver uses.
const CHUNK: usize = 255 * 1024;

struct Fixture {
    store: Arc<MongoStore>,
    db: mongodb::Database,
}

impl Fixture {
    async fn new(test: &str) -> Option<Fixture> {
        let url = support::server_url(test)?;
        let store = support::empty_store(&url, test, Arc::new(SystemClock)).await;
        let client = mongodb::Client::with_uri_str(&url).await.unwrap();
        let db = client.database(store.database());
        Some(Fixture { store, db })
    }

    /// Close the store and the plain client before a multi-thread runtime
    /// stops (see `closing`).
    async fn close(self) {
        self.store.close().await;
        support::shutdown_client(&self.db).await;
    }

    async fn record(&self) -> Record {
        self.store
            .create_record(EXP, NewRecord::default())
            .await
            .unwrap()
    }

    async fn files(&self) -> Vec<Document> {
        self.db
            .collection::<Document>(&format!("{ARTIFACT_BUCKET}.files"))
            .find(doc! {})
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
    }

    async fn chunk_count(&self) -> u64 {
        self.db
            .collection::<Document>(&format!("{ARTIFACT_BUCKET}.chunks"))
            .count_documents(doc! {})
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn put_artifact_writes_one_gridfs_file_with_metadata() {
    let Some(f) = Fixture::new("put_artifact_writes_one_gridfs_file_with_metadata").await else {
        return;
    };
    let r = f.record().await;
    let data = vec![7u8; 2 * CHUNK + 1];
    f.store
        .put_artifact(EXP, r.id, "sig/pred.bin", data)
        .await
        .unwrap();
    let files = f.files().await;
    assert_eq!(files.len(), 1);
    let file = &files[0];
    assert_eq!(file.get_i64("length").unwrap(), (2 * CHUNK + 1) as i64);
    assert_eq!(
        file.get_str("filename").unwrap(),
        format!("{EXP}/{}/sig/pred.bin", r.id)
    );
    let meta = file.get_document("metadata").unwrap();
    assert_eq!(meta.get_str("experiment").unwrap(), EXP);
    assert_eq!(
        meta.get_object_id("record").unwrap().to_hex(),
        r.id.to_string()
    );
    assert_eq!(meta.get_str("name").unwrap(), "sig/pred.bin");
    assert_eq!(f.chunk_count().await, 3);
}

#[tokio::test]
async fn put_artifact_replacement_deletes_the_old_file() {
    let Some(f) = Fixture::new("put_artifact_replacement_deletes_the_old_file").await else {
        return;
    };
    let r = f.record().await;
    f.store
        .put_artifact(EXP, r.id, "pred", vec![1; 3 * CHUNK])
        .await
        .unwrap();
    let first = f.files().await[0].get_object_id("_id").unwrap();
    f.store
        .put_artifact(EXP, r.id, "pred", vec![2; 10])
        .await
        .unwrap();
    let files = f.files().await;
    assert_eq!(files.len(), 1);
    assert_ne!(files[0].get_object_id("_id").unwrap(), first);
    assert_eq!(f.chunk_count().await, 1);
    assert_eq!(
        f.store.get_artifact(EXP, r.id, "pred").await.unwrap(),
        [2; 10]
    );
}

#[tokio::test]
async fn delete_record_and_delete_artifact_delete_their_files() {
    let Some(f) = Fixture::new("delete_record_and_delete_artifact_delete_their_files").await else {
        return;
    };
    let r = f.record().await;
    let other = f.record().await;
    for name in ["pred", "label"] {
        f.store
            .put_artifact(EXP, r.id, name, vec![3; CHUNK + 5])
            .await
            .unwrap();
    }
    f.store
        .put_artifact(EXP, other.id, "pred", vec![4; 5])
        .await
        .unwrap();
    assert!(f.store.delete_artifact(EXP, r.id, "label").await.unwrap());
    assert_eq!(f.files().await.len(), 2);
    assert_eq!(f.chunk_count().await, 3);
    assert!(f.store.delete_record(EXP, r.id).await.unwrap());
    let files = f.files().await;
    assert_eq!(files.len(), 1);
    assert_eq!(f.chunk_count().await, 1);
    assert_eq!(
        f.store.get_artifact(EXP, other.id, "pred").await.unwrap(),
        [4; 5]
    );
}

#[tokio::test]
async fn put_artifact_on_missing_record_writes_no_file() {
    let Some(f) = Fixture::new("put_artifact_on_missing_record_writes_no_file").await else {
        return;
    };
    let r = f.record().await;
    assert!(f.store.delete_record(EXP, r.id).await.unwrap());
    let err = f
        .store
        .put_artifact(EXP, r.id, "pred", vec![1; 10])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), task_store::ErrorKind::NotFound);
    assert!(f.files().await.is_empty());
    assert_eq!(f.chunk_count().await, 0);
}

/// Readers racing with replacements get one of the written contents whole:
/// every version is `len` bytes all equal to its round number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_artifact_during_replacements_reads_whole_versions() {
    let Some(f) = Fixture::new("get_artifact_during_replacements_reads_whole_versions").await
    else {
        return;
    };
    let r = f.record().await;
    let len = 2 * CHUNK + 17;
    f.store
        .put_artifact(EXP, r.id, "pred", vec![0; len])
        .await
        .unwrap();
    let rounds = 12u8;
    let writer = {
        let store = Arc::clone(&f.store);
        tokio::spawn(async move {
            for round in 1..=rounds {
                store
                    .put_artifact(EXP, r.id, "pred", vec![round; len])
                    .await
                    .unwrap();
            }
        })
    };
    let mut seen = Vec::new();
    while !writer.is_finished() {
        let bytes = f.store.get_artifact(EXP, r.id, "pred").await.unwrap();
        assert_eq!(bytes.len(), len);
        assert!(bytes.iter().all(|b| *b == bytes[0]), "a mixed artifact");
        seen.push(bytes[0]);
    }
    writer.await.unwrap();
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "went back: {seen:?}");
    assert_eq!(
        f.store.get_artifact(EXP, r.id, "pred").await.unwrap(),
        vec![rounds; len]
    );
    assert_eq!(f.files().await.len(), 1);
    f.close().await;
}

/// An artifact whose GridFS file was removed behind the store's back is
/// damage, reported as `Backend`, not as a missing artifact.
#[tokio::test]
async fn get_artifact_with_its_file_gone_is_a_backend_error() {
    let Some(f) = Fixture::new("get_artifact_with_its_file_gone_is_a_backend_error").await else {
        return;
    };
    let r = f.record().await;
    f.store
        .put_artifact(EXP, r.id, "pred", vec![1; 10])
        .await
        .unwrap();
    f.db.collection::<Document>(&format!("{ARTIFACT_BUCKET}.files"))
        .delete_many(doc! {})
        .await
        .unwrap();
    let err = f.store.get_artifact(EXP, r.id, "pred").await.unwrap_err();
    assert_eq!(err.kind(), task_store::ErrorKind::Backend);
    assert_eq!(f.store.list_artifacts(EXP, r.id).await.unwrap().len(), 1);
}
