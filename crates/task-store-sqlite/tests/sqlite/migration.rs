//! Schema migrations upgrade released files in place: a version-1 file
//! (migrations 2 and 3: records and artifacts, per-status task counts) and a
//! version-2 file (migration 3). The files are built from frozen SQL
//! fixtures (`fixtures/schema_v1.sql`, then `fixtures/schema_v2.sql`) as the
//! released code of each version wrote them.

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
use task_store_sqlite::SqliteOptions;

use crate::support::{open_blocking, open_file, url};

const POOL: &str = "rolling";
const FIXTURE: &str = include_str!("fixtures/schema_v1.sql");
const FIXTURE_V2: &str = include_str!("fixtures/schema_v2.sql");
/// The schema version this build writes.
const LATEST: i64 = 4;
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

/// A closed version-1 store built from the fixture.
fn version_1_file(dir: &Path) -> PathBuf {
    let path = dir.join("v1.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(FIXTURE).unwrap();
    assert_eq!(user_version(&conn), 1);
    path
}

/// A closed version-2 store: the version-1 fixture with the version-2 one on top.
fn version_2_file(dir: &Path) -> PathBuf {
    let path = version_1_file(dir);
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(FIXTURE_V2).unwrap();
    assert_eq!(user_version(&conn), 2);
    path
}

fn user_version(conn: &Connection) -> i64 {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

/// The indexes on `tasks` that version 4 added (the query orders).
const VERSION_4_INDEXES: [&str; 3] = ["tasks_finished", "tasks_priority", "tasks_status_id"];

/// The `CREATE` statements of the version-1 tables and indexes (later
/// versions add triggers and indexes on `tasks`, but never alter these).
fn version_1_schema(conn: &Connection) -> Vec<String> {
    conn.prepare(
        "SELECT sql FROM sqlite_schema WHERE tbl_name IN ('pools', 'tasks') \
         AND type IN ('table', 'index') \
         AND name NOT IN ('tasks_finished', 'tasks_priority', 'tasks_status_id') ORDER BY name",
    )
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
    let store = open_file(&path, clock).await;

    assert_eq!(store.pools().await.unwrap(), [POOL]);
    let tasks = store.query(POOL, QueryParams::default()).await.unwrap();
    assert_eq!(tasks, fixture_tasks());
    let stat = store.stat(POOL, &Query::All).await.unwrap();
    assert_eq!((stat.waiting, stat.running, stat.done), (1, 1, 1));
    drop(store);

    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), LATEST);
    assert_eq!(version_1_schema(&conn), schema_before);
}

#[tokio::test]
async fn open_upgraded_file_claims_and_deduplicates_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = version_1_file(dir.path());
    let (clock, shared) = clock_at(T0);
    let store = open_file(&path, shared).await;
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
    let store = open_file(&path, clock.clone()).await;
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

    let store = open_file(&path, clock).await;
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
            .map(|_| {
                s.spawn(|| open_blocking(&url, clock_at(T0).1, SqliteOptions::default()).map(drop))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for result in opened {
        result.unwrap();
    }
    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), LATEST);
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
    let err = open_blocking(&url(&path), clock_at(T0).1, SqliteOptions::default()).unwrap_err();
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

/// Every task row, every column as text, in rowid order.
fn task_rows(conn: &Connection) -> Vec<Vec<Option<String>>> {
    let mut stmt = conn.prepare("SELECT * FROM tasks ORDER BY rowid").unwrap();
    let columns = stmt.column_count();
    stmt.query_map([], |r| {
        (0..columns)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => None,
                    v => Some(format!("{v:?}")),
                })
            })
            .collect()
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// `(pool, status, n)`: the maintained counts (zeros left out) and a `GROUP BY`.
fn counts_and_group_by(conn: &Connection) -> [Vec<(String, String, i64)>; 2] {
    [
        "SELECT pool, status, n FROM task_counts WHERE n != 0 ORDER BY pool, status",
        "SELECT pool, status, count(*) FROM tasks GROUP BY pool, status ORDER BY pool, status",
    ]
    .map(|sql| {
        conn.prepare(sql)
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    })
}

#[tokio::test]
async fn open_upgrades_a_version_2_file_with_counts_of_its_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let path = version_2_file(dir.path());
    let rows_before = task_rows(&Connection::open(&path).unwrap());
    let (_, clock) = clock_at(T0);
    let store = open_file(&path, clock).await;

    let rolling = store.stat(POOL, &Query::All).await.unwrap();
    assert_eq!((rolling.waiting, rolling.running, rolling.done), (1, 1, 1));
    assert_eq!(rolling.total(), 3);
    let second = store.stat("second", &Query::All).await.unwrap();
    assert_eq!(
        [
            second.waiting,
            second.running,
            second.part_done,
            second.done,
            second.failed
        ],
        [2, 0, 1, 1, 1]
    );
    assert_eq!(
        store.query(POOL, QueryParams::default()).await.unwrap(),
        fixture_tasks()
    );
    let records = store
        .list_records("rolling_exp", &RecordFilter::all())
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    drop(store);

    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), LATEST);
    assert_eq!(task_rows(&conn), rows_before);
    let [counts, group_by] = counts_and_group_by(&conn);
    assert_eq!(counts, group_by);
    assert_eq!(counts.len(), 7);
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND name IN (?1, ?2, ?3) ORDER BY name")
        .unwrap()
        .query_map(VERSION_4_INDEXES, |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        indexes, VERSION_4_INDEXES,
        "migration 4 adds the order indexes"
    );
}

#[tokio::test]
async fn open_upgraded_version_2_file_keeps_counts_through_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = version_2_file(dir.path());
    let (clock, shared) = clock_at(T0);
    let store = open_file(&path, shared).await;
    clock.set(Timestamp::from_millis(LEASE_EXPIRY.as_millis() + 1));

    let claim = ClaimParams {
        n: 5,
        ..ClaimParams::new("host-c:9", Duration::from_secs(60))
    };
    assert_eq!(store.claim("second", claim).await.unwrap().len(), 2);
    let created = store
        .create_one(POOL, json!({"model": "lgb", "window": 4}))
        .await
        .unwrap();
    assert!(created.new);
    assert_eq!(
        store
            .remove("second", &Query::status(Status::Failed))
            .await
            .unwrap(),
        1
    );

    let second = store.stat("second", &Query::All).await.unwrap();
    assert_eq!((second.waiting, second.running, second.failed), (0, 2, 0));
    let rolling = store.stat(POOL, &Query::All).await.unwrap();
    assert_eq!((rolling.waiting, rolling.running), (2, 1));
    let [counts, group_by] = counts_and_group_by(&Connection::open(&path).unwrap());
    assert_eq!(counts, group_by);
}

#[test]
fn open_failed_migration_leaves_the_file_at_version_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = version_2_file(dir.path());
    // An object in the way of migration 3 makes it fail.
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE task_counts (x)")
        .unwrap();
    let rows_before = task_rows(&Connection::open(&path).unwrap());
    let err = open_blocking(&url(&path), clock_at(T0).1, SqliteOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Backend);

    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), 2);
    let triggers: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(triggers, 0, "migration 3 was applied in part");
    assert_eq!(task_rows(&conn), rows_before);
}
