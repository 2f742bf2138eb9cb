//! The MongoDB test server (`TASKPOOL_TEST_MONGODB_URL`, its kind in
//! `TASKPOOL_TEST_MONGODB_SERVER`): tests skip, with the reason printed, when
//! it is not set, except under CI (`CI` set and non-empty), where they fail.

use std::sync::atomic::{AtomicU32, Ordering};

/// The MongoDB test server's URL, or `None` (with the reason printed).
///
/// # Panics
/// Under CI when the URL is not set: CI must run the MongoDB tests.
pub fn mongodb_server() -> Option<String> {
    match std::env::var("TASKPOOL_TEST_MONGODB_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| !v.is_empty()) => panic!(
            "TASKPOOL_TEST_MONGODB_URL is not set but CI is: CI must run the MongoDB tests \
             (start a server with `eval \"$(bash ci/mongo-java-server/start.sh)\"`)"
        ),
        _ => {
            eprintln!(
                "skipped: TASKPOOL_TEST_MONGODB_URL is not set (start ci/ferretdb/start.sh \
                 or ci/mongo-java-server/start.sh)"
            );
            None
        }
    }
}

/// The kind of server at the test URL (`TASKPOOL_TEST_MONGODB_SERVER`):
/// `ferretdb`, `mongo-java-server`, or `mongodb` (a real MongoDB, the
/// default).
pub fn mongodb_server_kind() -> String {
    std::env::var("TASKPOOL_TEST_MONGODB_SERVER")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "mongodb".to_string())
}

/// The test server's URL if its writes to one document are atomic (every
/// server but FerretDB v1, whose `findAndModify` is a read then a write
/// without a lock): the multi-process tests need that. `None`, with the
/// reason printed, otherwise.
///
/// # Panics
/// As [`mongodb_server`].
pub fn atomic_mongodb_server(test: &str) -> Option<String> {
    let url = mongodb_server()?;
    let kind = mongodb_server_kind();
    if kind == "ferretdb" {
        eprintln!(
            "[{kind}] skipping {test} on {kind}: its findAndModify is a read then a write \
             without a lock, so two workers can claim one task (it runs on mongo-java-server)"
        );
        return None;
    }
    eprintln!("[{kind}] {test} runs against {kind}");
    Some(url)
}

/// A database name no other test uses.
pub fn mongodb_test_database() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "taskpool_cli_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The test server's URL with `db` as its database.
pub fn mongodb_url(db: &str) -> Option<String> {
    Some(with_database(&mongodb_server()?, db))
}

/// A server URL (`mongodb://host:port/?options`) with `db` as its database.
pub fn with_database(server: &str, db: &str) -> String {
    let (base, options) = server.split_once('?').unwrap_or((server, ""));
    format!("{}/{db}?{options}", base.trim_end_matches('/'))
}

/// The database a `mongodb://` URL names.
pub fn database_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let path = rest.split_once('/')?.1;
    let db = path.split('?').next()?;
    (!db.is_empty()).then(|| db.to_string())
}

/// Drop a test database on the test server (best effort).
pub fn drop_mongodb_database(db: &str) {
    let Some(server) = mongodb_server() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        if let Ok(client) = mongodb::Client::with_uri_str(&server).await {
            let _ = client.database(db).drop().await;
            // Ends the client's sessions before the runtime stops (dropped,
            // the driver does it from a task the shutdown may cut short).
            client.shutdown().await;
        }
    });
}
