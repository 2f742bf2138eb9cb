//! Importing a Qlib task pool: the MongoDB backend's reader of collections
//! that Qlib's `TaskManager` wrote, for applications that may name no
//! backend crate (`taskpool import-qlib`).

use task_store::Result;
pub use task_store_mongo::qlib_import::{QlibPool, QlibTask, SkippedDocument};

/// Read the Qlib pool `collection` at the MongoDB `url`, from `database`
/// if given, else from the database the URL names. Definitions come from
/// each document's `filter`; pickles are never loaded.
///
/// # Errors
/// `Config` for a bad URL or database name; `Unavailable` if no server
/// answers; `NotFound` if the database has no such collection; `Backend` for
/// other server failures. Messages never contain the URL's password.
pub async fn read_qlib_pool(
    url: &str,
    collection: &str,
    database: Option<String>,
) -> Result<QlibPool> {
    let mut options = task_store_mongo::MongoOptions::default();
    if let Some(database) = database {
        options = options.database(database);
    }
    task_store_mongo::qlib_import::read_qlib_pool(url, collection, options).await
}
