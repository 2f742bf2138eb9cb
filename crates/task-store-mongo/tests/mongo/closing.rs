//! Closing a store ([`TaskStore::close`]) before its runtime stops.
//!
//! The driver's client runs its connection pool as a task on the runtime
//! that opened the store. A client dropped unclosed sends `endSessions` from
//! another background task; when a multi-thread runtime shuts down right
//! after the drop (a store dropped at the end of `block_on`, then the
//! runtime), that task can still run after the shutdown dropped the pool's
//! task, and the driver panics in it (`connection_requester.rs`,
//! `SendError`). The tests still pass, but the panic is printed. `close`
//! ends the sessions while the runtime still runs, so nothing is left for
//! the shutdown to cut short.
//!
//! Only a server that supports sessions gets `endSessions` (FerretDB and
//! MongoDB; mongo-java-server reports no session support), so only there
//! can the first test catch the race.

use std::sync::{Arc, Mutex, OnceLock};

use serde_json::json;
use task_store::{ErrorKind, SystemClock, TaskStore, TaskStoreExt};

use task_store_mongo::MongoStore;

use super::support;

/// Rounds of open, use, close, runtime shutdown.
const ROUNDS: usize = 1_000;

/// Panics raised in the driver's code since [`watch_driver_panics`] was
/// first called (in any test of this binary).
static DRIVER_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Record every later panic raised in the driver's code (panics in a spawned
/// task do not fail a test: the runtime catches them), printing all panics as
/// before.
fn watch_driver_panics() {
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info
                .location()
                .is_some_and(|l| l.file().contains("/mongodb-"))
            {
                let mut panics = DRIVER_PANICS.lock().unwrap_or_else(|e| e.into_inner());
                panics.push(info.to_string());
            }
            previous(info);
        }));
    });
}

/// Each round opens a store on a fresh multi-thread runtime (as the
/// conformance cases and the CLI do), uses it, closes it at the end of
/// `block_on`, and drops the runtime at once: no driver task panics. With
/// the store dropped instead of closed, this failed in each of 8 runs on
/// FerretDB (3 to 13 driver panics per 1,000 rounds; two workers made the
/// race most frequent).
#[test]
fn closed_store_leaves_no_driver_panic_when_the_runtime_stops() {
    let test = "closed_store_leaves_no_driver_panic_when_the_runtime_stops";
    let Some(url) = support::server_url(test) else {
        return;
    };
    watch_driver_panics();
    let before = DRIVER_PANICS.lock().unwrap().len();
    for _ in 0..ROUNDS {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let store = MongoStore::open(&url, Arc::new(SystemClock), support::options_for(test))
                .await
                .unwrap();
            store.pools().await.unwrap();
            store.close().await;
        });
        drop(runtime);
    }
    let panics = DRIVER_PANICS.lock().unwrap();
    assert!(
        panics.len() == before,
        "the driver panicked when the runtime stopped after close: {:#?}",
        &panics[before..]
    );
}

/// After `close`, operations fail with `Unavailable` and say the store was
/// closed; closing again does nothing.
#[tokio::test]
async fn operations_after_close_fail_as_closed() {
    let test = "operations_after_close_fail_as_closed";
    let Some(url) = support::server_url(test) else {
        return;
    };
    let store = support::fresh_store(&url, test, Arc::new(SystemClock)).await;
    store.create_one("p", json!({ "a": 1 })).await.unwrap();
    store.close().await;
    let err = store.pools().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.message().contains("the store was closed"), "{err}");
    store.close().await;
}
