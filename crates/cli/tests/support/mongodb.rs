//! The MongoDB test server (`TASKPOOL_TEST_MONGODB_URL`): tests skip, with
//! the reason printed, when it is not set.

use std::sync::atomic::{AtomicU32, Ordering};

/// The MongoDB test server's URL, or `None` (with the reason printed).
pub fn mongodb_server() -> Option<String> {
    let url = std::env::var("TASKPOOL_TEST_MONGODB_URL").ok();
    if url.is_none() {
        eprintln!("skipped: TASKPOOL_TEST_MONGODB_URL is not set (start ci/ferretdb/start.sh)");
    }
    url
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
    let server = mongodb_server()?;
    let (base, options) = server.split_once('?').unwrap_or((&server, ""));
    Some(format!("{}/{db}?{options}", base.trim_end_matches('/')))
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
        }
    });
}
