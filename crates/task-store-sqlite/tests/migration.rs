//! Schema migration 2 (records and artifacts) upgrades a version-1 file in
//! place. The version-1 file is built from a frozen SQL fixture
//! (`fixtures/schema_v1.sql`) as the released version-1 code wrote it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use serde_json::json;
use task_store::{
    ClaimParams, ErrorEntry, ErrorKind, Lease, ManualClock, NewRecord, Query, QueryParams,
    RecordFilter, RecordStore, SharedClock, Status, Task, TaskId, TaskStore, TaskStoreExt,
    Timestamp, content_key,
};
use task_store_sqlite::SqliteStore;

const POOL: &str = "rolling";
const FIXTURE: &str = include_str!("fixtures/schema_v1.sql");
/// The fixture's creation time.
const T0: Timestamp = Timestamp::from_millis(1_767_225_600_000);
/// When the fixture's running task's lease expires.
const LEASE_EXPIRY: Timestamp = Timestamp::from_millis(1_767_225_660_000);

fn id(n: u8) -> TaskId {
    format!("6955c600000000000000000{n}").parse().unwrap()
}

fn clock_at(t: Timestamp) -> (ManualClock, SharedClock) {
    let clock = ManualClock::new(t);
    let shared: SharedClock = Arc::new(clock.clone());
    (clock, shared)
}

fn url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// A closed version-1 store built from the fixture.
fn version_1_file(dir: &Path) -> PathBuf {
    let path = dir.join("v1.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(FIXTURE).unwrap();
    assert_eq!(user_version(&conn), 1);
    path
}

fn user_version(conn: &Connection) -> i64 {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

/// The `CREATE` statements of the version-1 objects.
fn version_1_schema(conn: &Connection) -> Vec<String> {
    conn.prepare("SELECT sql FROM sqlite_schema WHERE tbl_name IN ('pools', 'tasks') ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get::<_, Option<String>>(0))
        .unwrap()
        .filter_map(|r| r.unwrap())
        .collect()
}

/// The fixture's tasks, as the store must return them.
fn fixture_tasks() -> Vec<Task> {
    let def = |w: i64| json!({"model": "lgb", "window": w});
    let task = |n: u8, w: i64| Task {
        id: id(n),
        def: def(w),
        filter: def(w),
        key: content_key(&def(w)),
        status: Status::Waiting,
        priority: 0,
        res: None,
        attempts: 0,
        max_attempts: 3,
        lease: None,
        errors: Vec::new(),
        created_at: T0,
        updated_at: T0,
        started_at: None,
        finished_at: None,
    };
    let at = |ms: i64| Timestamp::from_millis(ms);
    vec![
        Task {
            priority: 5,
            ..task(1, 1)
        },
        Task {
            filter: json!({"window": 2}),
            status: Status::Running,
            attempts: 1,
            lease: Some(Lease {
                owner: "host-a:17".into(),
                token: "9f3b2c4d5e6f7a8b9c0d1e2f3a4b5c6d".into(),
                expires_at: LEASE_EXPIRY,
                from_status: Status::Waiting,
            }),
            updated_at: at(1_767_225_600_500),
            started_at: Some(at(1_767_225_600_500)),
            ..task(2, 2)
        },
        Task {
            status: Status::Done,
            res: Some(json!({"ic": 0.05})),
            attempts: 2,
            errors: vec![ErrorEntry {
                attempt: 1,
                at: at(1_767_225_600_800),
                owner: "host-a:17".into(),
                message: "worker died".into(),
            }],
            updated_at: at(1_767_225_602_000),
            started_at: Some(at(1_767_225_601_000)),
            finished_at: Some(at(1_767_225_602_000)),
            ..task(3, 3)
        },
    ]
}

#[tokio::test]
async fn open_upgrades_a_version_1_file_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = version_1_file(dir.path());
    let schema_before = version_1_schema(&Connection::open(&path).unwrap());
    let (_, clock) = clock_at(T0);
    let store = SqliteStore::open(&url(&path), clock).unwrap();

    assert_eq!(store.pools().await.unwrap(), [POOL]);
    let tasks = store.query(POOL, QueryParams::default()).await.unwrap();
    assert_eq!(tasks, fixture_tasks());
    let stat = store.stat(POOL, &Query::All).await.unwrap();
    assert_eq!((stat.waiting, stat.running, stat.done), (1, 1, 1));
    drop(store);

    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), 2);
    assert_eq!(version_1_schema(&conn), schema_before);
}

#[tokio::test]
async fn open_upgraded_file_claims_and_deduplicates_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = version_1_file(dir.path());
    let (clock, shared) = clock_at(T0);
    let store = SqliteStore::open(&url(&path), shared).unwrap();
    clock.set(Timestamp::from_millis(LEASE_EXPIRY.as_millis() + 1));

    let claim = ClaimParams {
        n: 5,
        ..ClaimParams::new("host-b:3", Duration::from_secs(60))
    };
    let claimed = store.claim(POOL, claim).await.unwrap();
    let got: Vec<(TaskId, u32)> = claimed.iter().map(|t| (t.id, t.attempts)).collect();
    assert_eq!(got, [(id(1), 1), (id(2), 2)]);

    let again = store
        .create_one(POOL, json!({"window": 3, "model": "lgb"}))
        .await
        .unwrap();
    assert_eq!((again.id, again.new), (id(3), false));
}

#[tokio::test]
async fn open_upgraded_file_stores_records_and_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let path = version_1_file(dir.path());
    let (_, clock) = clock_at(T0);
    let store = SqliteStore::open(&url(&path), clock.clone()).unwrap();
    let done = store.get(POOL, id(3)).await.unwrap();
    let record = store
        .create_record("rolling_exp", NewRecord::for_task(POOL, &done))
        .await
        .unwrap();
    let pred: Vec<u8> = (0..3 * 1024 * 1024 + 7)
        .map(|i: u32| (i % 251) as u8)
        .collect();
    store
        .put_artifact("rolling_exp", record.id, "pred", pred.clone())
        .await
        .unwrap();
    drop(store);

    let store = SqliteStore::open(&url(&path), clock).unwrap();
    let by_task = RecordFilter {
        task_id: Some(id(3)),
        ..RecordFilter::all()
    };
    let listed = store.list_records("rolling_exp", &by_task).await.unwrap();
    assert_eq!(listed, std::slice::from_ref(&record));
    let back = store
        .get_artifact("rolling_exp", record.id, "pred")
        .await
        .unwrap();
    assert!(back == pred, "the artifact came back different");
    assert_eq!(store.get(POOL, id(3)).await.unwrap(), done);
}

#[test]
fn open_version_1_file_from_many_threads_migrates_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = version_1_file(dir.path());
    let url = url(&path);
    let opened: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| SqliteStore::open(&url, clock_at(T0).1).map(drop)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for result in opened {
        result.unwrap();
    }
    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), 2);
    let tasks: i64 = conn
        .query_row("SELECT count(*) FROM tasks", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tasks, 3);
}

#[test]
fn open_failed_migration_leaves_the_file_at_version_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = version_1_file(dir.path());
    // An object in the way of migration 2 makes it fail half way through.
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE artifacts (x)")
        .unwrap();
    let err = SqliteStore::open(&url(&path), clock_at(T0).1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Backend);

    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), 1);
    let records: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'records'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(records, 0, "migration 2 was applied in part");
    let tasks: i64 = conn
        .query_row("SELECT count(*) FROM tasks", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tasks, 3);
}
