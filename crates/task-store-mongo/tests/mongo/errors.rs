//! Opening errors (no server needed) and error kinds that need one: an
//! unreachable server, bad URLs, rejected credentials, oversize documents,
//! and passwords kept out of every message.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use task_store::{
    ClaimParams, CommitParams, CreateParams, ErrorKind, SharedClock, Status, SystemClock,
    TaskStore, TaskStoreExt,
};
use task_store_mongo::{DEFAULT_TIMEOUT, MAX_DOCUMENT_BYTES, MongoOptions, MongoStore};

use super::support;

const PASSWORD: &str = "hunter2-Secret";

fn clock() -> SharedClock {
    Arc::new(SystemClock)
}

/// A local port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    listener.local_addr().expect("local address").port()
}

fn quick() -> MongoOptions {
    MongoOptions::default().timeout(Duration::from_millis(300))
}

/// `url` with `user:password@` inserted and the given query options added.
fn with_credentials(url: &str, options: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let sep = if rest.contains('?') { '&' } else { '?' };
    let rest = if rest.contains('/') {
        rest.to_string()
    } else {
        format!("{rest}/")
    };
    format!("{scheme}://alice:{PASSWORD}@{rest}{sep}{options}")
}

#[test]
fn default_timeout_is_at_most_ten_seconds() {
    assert!(DEFAULT_TIMEOUT <= Duration::from_secs(10));
}

#[tokio::test]
async fn open_unreachable_server_is_unavailable() {
    let url = format!(
        "mongodb://127.0.0.1:{}/?directConnection=true",
        closed_port()
    );
    let err = MongoStore::open(&url, clock(), quick()).await.unwrap_err();
    println!("{err}");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn open_unreachable_server_error_hides_password() {
    let url = format!(
        "mongodb://alice:{PASSWORD}@127.0.0.1:{}/db?directConnection=true",
        closed_port()
    );
    let err = MongoStore::open(&url, clock(), quick()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(!err.to_string().contains(PASSWORD), "{err}");
    assert!(!format!("{err:?}").contains(PASSWORD), "{err:?}");
}

#[tokio::test]
async fn open_unresolvable_srv_url_is_unavailable() {
    // The URL parses and is redacted like a mongodb:// one; its SRV record
    // cannot resolve (.invalid never does): Unavailable, naming the host and
    // the DNS lookup, never a panic.
    let url = format!("mongodb+srv://alice:{PASSWORD}@cluster.taskpool.invalid/db");
    let err = MongoStore::open(&url, clock(), quick()).await.unwrap_err();
    println!("{err}");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(!err.to_string().contains(PASSWORD), "{err}");
    assert!(!format!("{err:?}").contains(PASSWORD), "{err:?}");
    assert!(err.message().contains("alice:***@"), "{err}");
    assert!(
        err.message()
            .contains("DNS lookup of the SRV record _mongodb._tcp.cluster.taskpool.invalid"),
        "{err}"
    );
    assert_eq!(
        task_store::redact_url(&url),
        "mongodb+srv://alice:***@cluster.taskpool.invalid/db"
    );
}

#[tokio::test]
async fn open_invalid_url_is_config() {
    for url in [
        "http://127.0.0.1/".to_string(),
        "127.0.0.1:27017".to_string(),
        "mongodb://".to_string(),
        format!("mongodb://alice:{PASSWORD}@127.0.0.1:notaport/"),
        format!("mongodb://alice:{PASSWORD}@127.0.0.1/?w=majority&wtimeoutMS=nope"),
        "mongodb://127.0.0.1/bad.name".to_string(),
        "mongodb://127.0.0.1/has space".to_string(),
    ] {
        let err = MongoStore::open(&url, clock(), quick()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{url}: {err}");
        assert!(!err.to_string().contains(PASSWORD), "{err}");
    }
}

#[tokio::test]
async fn open_database_option_overrides_url_path() {
    let url = format!("mongodb://127.0.0.1:{}/bad.name", closed_port());
    let options = quick().database("good_name");
    let err = MongoStore::open(&url, clock(), options).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn open_rejected_credentials_is_config_without_password() {
    let Some(url) = support::server_url("open_rejected_credentials_is_config_without_password")
    else {
        return;
    };
    // FerretDB refuses SCRAM; a real MongoDB refuses an unknown user.
    let bad = with_credentials(&url, "authMechanism=SCRAM-SHA-256");
    let err = MongoStore::open(&bad, clock(), quick()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(!err.to_string().contains(PASSWORD), "{err}");
}

#[tokio::test]
async fn display_debug_and_errors_hide_password() {
    let Some(url) = support::server_url("display_debug_and_errors_hide_password") else {
        return;
    };
    // FerretDB's SQLite handler accepts any user with PLAIN.
    let url = with_credentials(&url, "authMechanism=PLAIN");
    let options = MongoOptions::default().database(support::database_for(
        "display_debug_and_errors_hide_password",
    ));
    let store = MongoStore::open(&url, clock(), options).await.unwrap();
    let shown = store.to_string();
    assert!(shown.starts_with("mongodb://alice:***@"), "{shown}");
    assert!(!shown.contains(PASSWORD));
    assert!(!format!("{store:?}").contains(PASSWORD));
    let err = store
        .get("p", "000000000000000000000000".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(!format!("{err} {err:?}").contains(PASSWORD));
}

/// A JSON string that makes a document larger than MongoDB accepts.
fn oversize() -> serde_json::Value {
    json!("x".repeat(MAX_DOCUMENT_BYTES + 1))
}

#[tokio::test]
async fn commit_oversize_result_is_invalid_input() {
    let test = "commit_oversize_result_is_invalid_input";
    let Some(url) = support::server_url(test) else {
        return;
    };
    let store = support::fresh_store(&url, test, clock()).await;
    store.create_one("p", json!({"n": 1})).await.unwrap();
    let task = store
        .claim("p", ClaimParams::new("w", Duration::from_secs(60)))
        .await
        .unwrap()
        .remove(0);
    let err = store
        .commit(
            "p",
            CommitParams {
                id: task.id,
                token: task.lease.clone().unwrap().token,
                result: oversize(),
                status: Status::Done,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("bytes"), "{err}");
    assert_eq!(store.get("p", task.id).await.unwrap(), task);
}

#[tokio::test]
async fn create_oversize_definition_is_invalid_input() {
    let test = "create_oversize_definition_is_invalid_input";
    let Some(url) = support::server_url(test) else {
        return;
    };
    let store = support::fresh_store(&url, test, clock()).await;
    let defs = [json!({"ok": 1}), json!({"big": oversize()})];
    let err = store
        .create("p", CreateParams::new(defs))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        store
            .query_all("p", Default::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn create_integer_beyond_i64_is_invalid_input() {
    let test = "create_integer_beyond_i64_is_invalid_input";
    let Some(url) = support::server_url(test) else {
        return;
    };
    let store = support::fresh_store(&url, test, clock()).await;
    let err = store
        .create_one("p", json!({"seed": u64::MAX}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
