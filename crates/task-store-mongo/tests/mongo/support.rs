//! Finding the test server, naming it, gating the cases it cannot run, and
//! opening a fresh store per test.
//!
//! `TASKPOOL_TEST_MONGODB_URL` points at the server (`.ci/run` starts
//! FerretDB with `ci/ferretdb/start.sh`, then mongo-java-server with
//! `ci/mongo-java-server/start.sh`, and runs this binary once against each).
//! `TASKPOOL_TEST_MONGODB_SERVER` names it: `ferretdb`, `mongo-java-server`,
//! or `mongodb` (a real MongoDB, the default when the URL is set without
//! it). Each test prints the server it runs against. Without a URL a test
//! prints why and skips, except under CI (`CI` set and non-empty), where it
//! fails.
//!
//! A case that one server cannot run because the server deviates from
//! MongoDB's documented behaviour is listed in [`Server::gate`] with the
//! reason (the crate README documents each deviation); on that server only,
//! it prints the reason and skips.

use std::fmt;
use std::sync::Arc;

use task_store::SharedClock;
use task_store::conformance::CONCURRENCY_CASES;
use task_store_mongo::{MongoOptions, MongoStore, redact_url};

/// The variable holding the test server's URL.
pub const URL_VAR: &str = "TASKPOOL_TEST_MONGODB_URL";

/// The variable naming the kind of server at the URL.
pub const SERVER_VAR: &str = "TASKPOOL_TEST_MONGODB_SERVER";

/// The MongoDB-wire server the tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// FerretDB v1 with its SQLite handler (`ci/ferretdb`).
    FerretDb,
    /// mongo-java-server's memory backend (`ci/mongo-java-server`).
    MongoJava,
    /// A real MongoDB.
    MongoDb,
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Server::FerretDb => "ferretdb",
            Server::MongoJava => "mongo-java-server",
            Server::MongoDb => "mongodb",
        })
    }
}

impl Server {
    /// The server named by [`SERVER_VAR`].
    ///
    /// # Panics
    /// For a name that is none of the known servers.
    pub fn from_env() -> Server {
        match std::env::var(SERVER_VAR).as_deref() {
            Ok("ferretdb") => Server::FerretDb,
            Ok("mongo-java-server") => Server::MongoJava,
            Ok("mongodb") | Ok("") | Err(_) => Server::MongoDb,
            Ok(other) => panic!(
                "{SERVER_VAR}={other:?} names no known server: use ferretdb, mongo-java-server or mongodb"
            ),
        }
    }

    /// Why `case` cannot run on this server, if it cannot: each reason is a
    /// deviation of the server from MongoDB's documented behaviour,
    /// described in the crate README.
    pub fn gate(self, case: &str) -> Option<&'static str> {
        match self {
            Server::FerretDb
                if CONCURRENCY_CASES.contains(&case)
                    || case == "batch_claim_hands_each_task_out_once_to_concurrent_stores" =>
            {
                Some(
                    "FerretDB's findAndModify and update are read-then-write without a lock, \
                     so concurrent writers are not atomic per document as MongoDB's are",
                )
            }
            Server::MongoJava => match case {
                "query_large_integers_compare_exactly" | "query_translation_agrees_with_oracle" => {
                    Some(
                        "mongo-java-server compares Int64 with Double values inexactly beyond \
                         2^53 (MongoDB compares numbers of different types by their exact value)",
                    )
                }
                "query_string_order_is_bytewise" => Some(
                    "mongo-java-server orders strings by UTF-16 code units (Java's \
                     String.compareTo); MongoDB's simple collation orders them by their UTF-8 bytes",
                ),
                "display_debug_and_errors_hide_password" => Some(
                    "it logs in with PLAIN and any user name, which only FerretDB's \
                     no-auth mode accepts",
                ),
                _ => None,
            },
            Server::MongoDb if case == "display_debug_and_errors_hide_password" => Some(
                "it logs in with PLAIN and any user name, which only FerretDB's \
                     no-auth mode accepts",
            ),
            _ => None,
        }
    }
}

/// The server URL, or `None` (after printing why) when it is not configured
/// or the case is gated on this server. Prints the server the test runs
/// against.
///
/// # Panics
/// Under CI when the variable is unset: CI must run these tests.
pub fn server_url(test: &str) -> Option<String> {
    let url = match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ if std::env::var("CI").is_ok_and(|v| !v.is_empty()) => panic!(
            "{URL_VAR} is not set but CI is: CI must run the MongoDB tests \
             (start a server with `eval \"$(bash ci/ferretdb/start.sh)\"`)"
        ),
        _ => {
            println!(
                "skipping {test}: set {URL_VAR} to a MongoDB URL to run it \
                 (`eval \"$(bash ci/ferretdb/start.sh)\"` starts FerretDB)"
            );
            return None;
        }
    };
    let server = Server::from_env();
    if let Some(reason) = server.gate(test) {
        println!("[{server}] skipping {test} on {server}: {reason}");
        return None;
    }
    println!(
        "[{server}] {test} runs against {server} at {}",
        redact_url(&url)
    );
    Some(url)
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

/// The options of a test's store: `test`'s own database, and the server's
/// clock measured only when opening (the tests move their manual clocks at
/// will, which a re-measurement would take for a stepped clock and undo).
/// On mongo-java-server the lookup indexes are on, as the crate README
/// advises for that server (so the suite runs the store as it is deployed
/// there); elsewhere the default (off). The filters are the same either way.
pub fn options_for(test: &str) -> MongoOptions {
    MongoOptions::default()
        .database(database_for(test))
        .clock_refresh(None)
        .lookup_indexes(Server::from_env() == Server::MongoJava)
}

/// A store on `test`'s own database, emptied of every pool.
///
/// # Panics
/// If the server cannot be reached: the URL was given, so this is a failure.
pub async fn fresh_store(url: &str, test: &str, clock: SharedClock) -> Arc<MongoStore> {
    fresh_store_with(url, clock, options_for(test)).await
}

/// A store opened with `options`, emptied of every pool.
///
/// # Panics
/// If the server cannot be reached: the URL was given, so this is a failure.
pub async fn fresh_store_with(
    url: &str,
    clock: SharedClock,
    options: MongoOptions,
) -> Arc<MongoStore> {
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

/// The test's database through a plain driver client, to look at what the
/// store wrote.
///
/// # Panics
/// If the URL does not parse.
pub async fn raw_database(url: &str, test: &str) -> mongodb::Database {
    mongodb::Client::with_uri_str(url)
        .await
        .unwrap_or_else(|e| panic!("{URL_VAR} is set but is not a usable URL: {e}"))
        .database(&database_for(test))
}

/// A store on `test`'s own database, dropped entirely first (pools, records,
/// artifacts).
///
/// # Panics
/// If the server cannot be reached: the URL was given, so this is a failure.
pub async fn empty_store(url: &str, test: &str, clock: SharedClock) -> Arc<MongoStore> {
    let db = raw_database(url, test).await;
    db.drop()
        .await
        .unwrap_or_else(|e| panic!("{URL_VAR} is set but the server is not usable: {e}"));
    shutdown_client(&db).await;
    fresh_store(url, test, clock).await
}

/// Shut down the plain driver client behind `db`, as
/// [`TaskStore::close`](task_store::TaskStore::close) does for a store: a
/// test on a multi-thread runtime calls it (and closes its stores) before
/// the runtime stops, so that the driver's clean-up does not run while the
/// runtime shuts down (see `closing`).
pub async fn shutdown_client(db: &mongodb::Database) {
    db.client().clone().shutdown().await;
}
