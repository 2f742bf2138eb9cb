//! `taskpool import-qlib` against a MongoDB-wire server holding a
//! Qlib-shaped collection written as raw BSON (pickles included, which must
//! never be loaded). Needs `TASKPOOL_TEST_MONGODB_URL` (CI starts FerretDB
//! with `ci/ferretdb/start.sh`); skipped with a printed reason otherwise.

use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{Binary, Bson, DateTime, Document, doc, oid::ObjectId};
use serde_json::{Value, json};

use crate::support::{
    Fixture, assert_one_line_error, drop_mongodb_database, mongodb_server, mongodb_test_database,
    mongodb_url, taskpool,
};

/// A Qlib collection in its own database, dropped when done.
struct QlibPool {
    url: String,
    db: String,
}

impl QlibPool {
    /// A fresh database holding `docs` in collection `rolling_task`; `None`
    /// (test skipped) without a server.
    fn seed(docs: Vec<Document>) -> Option<QlibPool> {
        let url = mongodb_server()?;
        let pool = QlibPool {
            url,
            db: mongodb_test_database(),
        };
        pool.with_db(async |db| {
            let coll = db.collection::<Document>("rolling_task");
            if !docs.is_empty() {
                coll.insert_many(docs).await.expect("seed Qlib documents");
            }
        });
        Some(pool)
    }

    fn with_db(&self, f: impl AsyncFnOnce(mongodb::Database)) {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let client = mongodb::Client::with_uri_str(&self.url)
                .await
                .expect("connect to the test server");
            f(client.database(&self.db)).await;
            // Before the runtime stops (see `TaskStore::close`).
            client.shutdown().await;
        });
    }

    /// The server URL with the database in its path.
    fn url_with_db(&self) -> String {
        mongodb_url(&self.db).expect("server URL")
    }
}

impl Drop for QlibPool {
    fn drop(&mut self) {
        drop_mongodb_database(&self.db);
    }
}

fn pickle(text: &str) -> Bson {
    // A pickle that would run `os.system` if anything ever unpickled it.
    let mut bytes = b"\x80\x04\x95\x00cos\nsystem\n(S'echo pwned'\ntR.".to_vec();
    bytes.extend_from_slice(text.as_bytes());
    Bson::Binary(Binary {
        subtype: BinarySubtype::Generic,
        bytes,
    })
}

fn date(y_m_d: &str) -> DateTime {
    let t: taskpool::store::Timestamp = format!("{y_m_d}T00:00:00Z").parse().unwrap();
    DateTime::from_millis(t.as_millis())
}

fn qlib_task(class: &str, status: &str) -> Document {
    doc! {
        "_id": ObjectId::new(),
        "def": pickle(class),
        "filter": {
            "model": {"class": class, "module_path": "qlib.contrib.model", "kwargs": {"lr": 0.05, "num_leaves": 210_i32}},
            "dataset": {"segments": {"train": [date("2008-01-01"), date("2014-12-31")], "test": [date("2017-01-03"), date("2017-06-30")]}},
        },
        "status": status,
    }
}

/// The six documents, in `_id` order: four distinct tasks, one without a
/// filter, one duplicate of the first (Qlib's check-then-insert race).
fn standard_docs() -> (Vec<Document>, Vec<String>) {
    let lgb = qlib_task("LGBModel", "waiting");
    let linear = qlib_task("Linear", "running");
    let mut done = qlib_task("MLP", "done");
    done.insert("priority", 5_i32);
    done.insert("res", pickle("recorder"));
    let gru = qlib_task("GRU", "part_done");
    let mut no_filter = qlib_task("Broken", "waiting");
    no_filter.remove("filter");
    let duplicate = qlib_task("LGBModel", "waiting");
    let docs = vec![lgb, linear, done, gru, no_filter, duplicate];
    let ids: Vec<String> = docs
        .iter()
        .map(|d| d.get_object_id("_id").unwrap().to_hex())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    (docs, ids)
}

fn import(f: &Fixture, q: &QlibPool, extra: &[&str]) -> (Option<i32>, Value) {
    let out = f
        .cmd()
        .args([
            "--json",
            "-t",
            "imported",
            "import-qlib",
            &q.url,
            "rolling_task",
            "--db",
            &q.db,
        ])
        .args(extra)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not one JSON document ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), report)
}

#[test]
fn import_qlib_converts_filter_and_requeues_every_status() {
    let Some(f) = Fixture::new("sqlite") else {
        return;
    };
    let (docs, qlib_ids) = standard_docs();
    let Some(q) = QlibPool::seed(docs) else {
        return;
    };

    let (code, report) = import(&f, &q, &[]);
    assert_eq!(code, Some(1), "one document could not be imported");
    assert_eq!(report["read"], 6);
    assert_eq!(
        (report["new"].clone(), report["existing"].clone()),
        (json!(4), json!(1))
    );
    assert_eq!(report["skipped"].as_array().unwrap().len(), 1);
    assert_eq!(report["skipped"][0]["qlib_id"], qlib_ids[4].as_str());
    let imported = report["tasks"].as_array().unwrap();
    assert_eq!(imported[0]["qlib_id"], qlib_ids[0].as_str());
    assert_eq!(
        imported[4]["_id"], imported[0]["_id"],
        "the duplicate maps to the first"
    );

    let tasks = f.tasks(&["-t", "imported"]);
    assert_eq!(tasks.len(), 4);
    assert!(tasks.iter().all(|t| t["status"] == "waiting"));
    assert_eq!(
        tasks[0]["def"],
        json!({
            "model": {"class": "LGBModel", "module_path": "qlib.contrib.model", "kwargs": {"lr": 0.05, "num_leaves": 210}},
            "dataset": {"segments": {"train": ["2008-01-01", "2014-12-31"], "test": ["2017-01-03", "2017-06-30"]}},
        })
    );
    let mlp: Vec<&Value> = tasks
        .iter()
        .filter(|t| t["def"]["model"]["class"] == "MLP")
        .collect();
    assert_eq!(mlp[0]["priority"], 5);
    assert!(
        tasks.iter().all(|t| t["res"].is_null()),
        "no result is imported"
    );

    let (code, again) = import(&f, &q, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(
        (again["new"].clone(), again["existing"].clone()),
        (json!(0), json!(5))
    );
}

#[test]
fn import_qlib_human_output_explains_reruns() {
    let Some(f) = Fixture::new("sqlite") else {
        return;
    };
    let (docs, _) = standard_docs();
    let Some(q) = QlibPool::seed(docs) else {
        return;
    };
    let out = f
        .cmd()
        .env_remove("TASKPOOL_POOL")
        .args(["import-qlib", &q.url_with_db(), "rolling_task"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("NOT IMPORTED BECAUSE"), "{stdout}");
    assert!(stdout.contains("will run again"), "{stdout}");
    // One error line (beside the one-time notice that the store was created).
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.contains("created a new store"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert_eq!(
        f.json(&["-t", "rolling_task", "stat"])["waiting"],
        4,
        "target pool defaults to the collection"
    );
}

#[test]
fn import_qlib_dry_run_writes_nothing_and_skip_done_leaves_done_out() {
    let Some(f) = Fixture::new("sqlite") else {
        return;
    };
    let docs = vec![
        qlib_task("LGBModel", "waiting"),
        qlib_task("MLP", "done"),
        qlib_task("GRU", "part_done"),
    ];
    let Some(q) = QlibPool::seed(docs) else {
        return;
    };
    let (code, dry) = import(&f, &q, &["--dry-run"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        (dry["new"].clone(), dry["dry_run"].clone()),
        (json!(3), json!(true))
    );
    assert_nothing_written(&f);
    let (code, report) = import(&f, &q, &["--skip-done"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        (report["new"].clone(), report["skipped_done"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(f.json(&["-t", "imported", "stat"])["waiting"], 2);
}

#[test]
fn import_qlib_missing_collection_is_not_found() {
    let Some(f) = Fixture::new("sqlite") else {
        return;
    };
    let Some(q) = QlibPool::seed(vec![]) else {
        return;
    };
    let out = f
        .cmd()
        .args([
            "-t",
            "imported",
            "import-qlib",
            &q.url,
            "rolling_task",
            "--db",
            &q.db,
        ])
        .output()
        .unwrap();
    assert_one_line_error(&out, 3);
    assert_nothing_written(&f);
}

#[test]
fn import_qlib_unreachable_server_is_unavailable() {
    let out = taskpool()
        .args(["--store", "memory://", "import-qlib"])
        .arg("mongodb://127.0.0.1:1/qlib?serverSelectionTimeoutMS=500&connectTimeoutMS=500")
        .arg("rolling_task")
        .output()
        .unwrap();
    assert_one_line_error(&out, 4);
}

#[test]
fn import_qlib_collection_that_is_no_pool_name_needs_a_target() {
    let out = taskpool()
        .args([
            "--store",
            "memory://",
            "import-qlib",
            "mongodb://127.0.0.1:1/qlib",
            "rolling task",
        ])
        .output()
        .unwrap();
    assert_one_line_error(&out, 2);
}

/// No pool was written: `list` shows none, or (a read command never creates
/// a store) the store does not exist at all (exit 3).
fn assert_nothing_written(f: &Fixture) {
    let out = f.cmd().args(["--json", "list"]).output().unwrap();
    match out.status.code() {
        // `list --json` prints one line per pool: none.
        Some(0) => assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), ""),
        Some(3) => {}
        other => panic!(
            "list exited {other:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}
