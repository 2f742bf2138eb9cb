//! Opening stores: URLs, the in-memory form, reopening, and files that must
//! be refused with a clear error and left exactly as they were.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use serde_json::json;
use task_store::{ErrorKind, Query, TaskStore, TaskStoreExt};
use task_store_sqlite::{MEMORY_URL, SqliteOptions, SqliteStore};

use crate::support::{open_blocking, open_file, system_clock as clock, url};

const POOL: &str = "p";

/// The sibling files SQLite may create next to `path`.
fn siblings(path: &Path) -> Vec<PathBuf> {
    ["-wal", "-shm", "-journal"]
        .iter()
        .map(|s| PathBuf::from(format!("{}{s}", path.display())))
        .collect()
}

/// Assert that opening `path` fails with `kind` and leaves the file's bytes
/// as they were and no journal files behind.
fn assert_refused(path: &Path, kind: ErrorKind) {
    let before = std::fs::read(path).ok();
    let err = open_blocking(&url(path), clock(), SqliteOptions::default())
        .expect_err("the open must fail");
    assert_eq!(err.kind(), kind, "{err}");
    assert_eq!(std::fs::read(path).ok(), before, "the file changed");
    for sibling in siblings(path) {
        assert!(!sibling.exists(), "{} was created", sibling.display());
    }
}

/// A closed taskpool store holding one task.
async fn make_store(path: &Path) {
    let store = open_file(path, clock()).await;
    store.create_one(POOL, json!({"x": 1})).await.unwrap();
}

#[tokio::test]
async fn open_memory_url_gives_a_private_store() {
    let a = SqliteStore::open(MEMORY_URL, clock(), SqliteOptions::default())
        .await
        .unwrap();
    let b = SqliteStore::open(MEMORY_URL, clock(), SqliteOptions::default())
        .await
        .unwrap();
    a.create_one(POOL, json!({"x": 1})).await.unwrap();
    assert_eq!(a.pools().await.unwrap(), [POOL]);
    assert!(b.pools().await.unwrap().is_empty());
    assert_eq!(a.to_string(), "sqlite://:memory:");
}

#[tokio::test]
async fn open_accepts_relative_and_absolute_paths() {
    let dir = tempfile::tempdir().unwrap();
    let absolute = dir.path().join("abs.db");
    let store = open_file(&absolute, clock()).await;
    assert_eq!(store.to_string(), url(&absolute));
    drop(store);
    assert!(absolute.exists());

    // The same directory reached by a path relative to the working directory.
    let cwd = std::env::current_dir().unwrap();
    let up = "../".repeat(cwd.components().count() - 1);
    let relative = format!("{up}{}", dir.path().join("rel.db").display());
    let relative = relative.replacen("//", "/", 1);
    let store = SqliteStore::open(
        &format!("sqlite://{relative}"),
        clock(),
        SqliteOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(store.to_string(), format!("sqlite://{relative}"));
    drop(store);
    assert!(dir.path().join("rel.db").exists());

    // A plain path is not a URL: refused, nothing created.
    let plain = dir.path().join("plain.db");
    let err = SqliteStore::open(plain.to_str().unwrap(), clock(), SqliteOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(!plain.exists());
}

#[tokio::test]
async fn open_rejects_other_forms_as_config() {
    for bad in [
        "mongodb://host/db",
        "sqlite:x.db",
        "sqlite://",
        "sqlite::memory:",
        "x.db",
    ] {
        let err = SqliteStore::open(bad, clock(), SqliteOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
    }
}

#[tokio::test]
async fn reopen_keeps_pools_and_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    make_store(&path).await;
    let store = open_file(&path, clock()).await;
    assert_eq!(store.pools().await.unwrap(), [POOL]);
    assert_eq!(store.stat(POOL, &Query::All).await.unwrap().waiting, 1);
}

#[test]
fn open_non_sqlite_file_is_config_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    let text: String = (0..400)
        .map(|i| format!("line {i} of a text file\n"))
        .collect();
    std::fs::write(&path, text).unwrap();
    assert_refused(&path, ErrorKind::Config);
}

#[tokio::test]
async fn open_newer_schema_is_config_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    make_store(&path).await;
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    assert_refused(&path, ErrorKind::Config);
}

#[test]
fn open_foreign_database_is_config_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi');")
        .unwrap();
    drop(conn);
    assert_refused(&path, ErrorKind::Config);
}

#[tokio::test]
async fn open_read_only_file_is_config_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.db");
    make_store(&path).await;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    assert_refused(&path, ErrorKind::Config);
}

#[tokio::test]
async fn open_in_read_only_directory_is_config() {
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("kept.db");
    make_store(&existing).await;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    assert_refused(&existing, ErrorKind::Config);
    let err = SqliteStore::open(
        &url(&dir.path().join("new.db")),
        clock(),
        SqliteOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(!dir.path().join("new.db").exists());
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn open_directory_or_missing_parent_is_config() {
    let dir = tempfile::tempdir().unwrap();
    let err = open_blocking(&url(dir.path()), clock(), SqliteOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let missing = dir.path().join("no/such/dir/x.db");
    let err = open_blocking(&url(&missing), clock(), SqliteOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

/// Options with a short busy timeout, so lock waits end quickly.
fn impatient() -> SqliteOptions {
    SqliteOptions {
        busy_timeout: Duration::from_millis(50),
        ..SqliteOptions::default()
    }
}

#[tokio::test]
async fn write_while_locked_is_unavailable_and_reads_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    make_store(&path).await;
    let store = SqliteStore::open(&url(&path), clock(), impatient())
        .await
        .unwrap();
    let holder = Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();

    let err = store.create_one(POOL, json!({"x": 2})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let err = store
        .claim_one(
            POOL,
            task_store::Status::Waiting,
            "w",
            Duration::from_secs(9),
            Query::All,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(store.stat(POOL, &Query::All).await.unwrap().waiting, 1);

    holder.execute_batch("COMMIT").unwrap();
    assert!(store.create_one(POOL, json!({"x": 2})).await.unwrap().new);
}

#[test]
fn open_while_locked_for_migration_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.db");
    let holder = Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let err = open_blocking(&url(&path), clock(), impatient()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    holder.execute_batch("COMMIT").unwrap();
    open_blocking(&url(&path), clock(), SqliteOptions::default()).unwrap();
}
