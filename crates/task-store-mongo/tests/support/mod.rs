//! Finding the test server and opening a fresh store per test.
//!
//! `TASKPOOL_TEST_MONGODB_URL` points at the server (CI starts FerretDB with
//! `ci/ferretdb/start.sh`). Without it a test prints why and skips, except
//! under CI (`CI` set and non-empty), where it fails.
//! `TASKPOOL_TEST_MONGODB_REAL=1` says the server is a real MongoDB, which
//! enables the cases FerretDB cannot honour.
//!
//! Each test binary includes this module and uses a part of it.
#![allow(dead_code)]

use std::sync::Arc;

use task_store::SharedClock;
use task_store_mongo::{MongoStore, OpenOptions};

/// The variable holding the test server's URL.
pub const URL_VAR: &str = "TASKPOOL_TEST_MONGODB_URL";

/// The variable that marks the server as a real MongoDB.
pub const REAL_VAR: &str = "TASKPOOL_TEST_MONGODB_REAL";

/// The server URL, or `None` (after printing why) when it is not configured.
///
/// # Panics
/// Under CI when the variable is unset: CI must run these tests.
pub fn server_url(test: &str) -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| !v.is_empty()) => panic!(
            "{URL_VAR} is not set but CI is: CI must run the MongoDB tests \
             (start a server with `eval \"$(bash ci/ferretdb/start.sh)\"`)"
        ),
        _ => {
            println!(
                "skipping {test}: set {URL_VAR} to a MongoDB URL to run it \
                 (`eval \"$(bash ci/ferretdb/start.sh)\"` starts FerretDB)"
            );
            None
        }
    }
}

/// Whether the server is a real MongoDB (not FerretDB).
pub fn server_is_real() -> bool {
    std::env::var(REAL_VAR).is_ok_and(|v| v == "1")
}

/// A database name for `test`: stable across runs (so a rerun reuses and
/// cleans it instead of leaving another one behind) and within MongoDB's
/// 63-byte limit.
pub fn database_for(test: &str) -> String {
    let digest = blake3::hash(test.as_bytes()).to_hex();
    let mut readable: String = test
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    readable.truncate(40);
    format!("tp_{readable}_{}", &digest[..8])
}

/// A store on `test`'s own database, emptied of every pool.
///
/// # Panics
/// If the server cannot be reached: the URL was given, so this is a failure.
pub async fn fresh_store(url: &str, test: &str, clock: SharedClock) -> Arc<MongoStore> {
    let options = OpenOptions {
        database: Some(database_for(test)),
        ..OpenOptions::default()
    };
    let store = MongoStore::open(url, clock, options)
        .await
        .unwrap_or_else(|e| panic!("{URL_VAR} is set but the server is not usable: {e}"));
    for pool in task_store::TaskStore::pools(&store).await.unwrap() {
        task_store::TaskStore::drop_pool(&store, &pool)
            .await
            .unwrap();
    }
    Arc::new(store)
}

/// A store on `test`'s own database, dropped entirely first (pools, records,
/// artifacts).
///
/// # Panics
/// If the server cannot be reached: the URL was given, so this is a failure.
pub async fn empty_store(url: &str, test: &str, clock: SharedClock) -> Arc<MongoStore> {
    let client = mongodb::Client::with_uri_str(url)
        .await
        .unwrap_or_else(|e| panic!("{URL_VAR} is set but is not a usable URL: {e}"));
    client
        .database(&database_for(test))
        .drop()
        .await
        .unwrap_or_else(|e| panic!("{URL_VAR} is set but the server is not usable: {e}"));
    fresh_store(url, test, clock).await
}
