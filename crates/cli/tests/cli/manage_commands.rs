//! Every manage command, run as the `taskpool` binary against persistent
//! stores (SQLite, sled, and MongoDB when `TASKPOOL_TEST_MONGODB_URL` names a
//! test server), one process per command.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use taskpool::store::{
    ClaimParams, CommitParams, ManualClock, Query, ReturnParams, Status, TaskStoreExt, Timestamp,
};

use crate::support::{Fixture, POOL};

/// Expand each case into one test on the backend of `scheme`.
macro_rules! backend_tests {
    ($backend:ident, $scheme:literal: $($case:ident),* $(,)?) => {
        mod $backend {
            $( #[test] fn $case() { if let Some(f) = super::Fixture::new($scheme) { super::$case(&f) } } )*
        }
    };
}

/// Every case.
macro_rules! all_cases {
    ($backend:ident, $scheme:literal) => {
        backend_tests!($backend, $scheme:
            create_reports_new_and_existing,
            create_dry_run_writes_nothing,
            create_reads_every_format_and_stdin,
            create_applies_priority_and_max_attempts,
            query_filters_limits_and_projects,
            query_streams_past_one_page,
            query_human_output_is_a_table,
            get_returns_the_task,
            get_unknown_id_is_not_found,
            stat_counts_by_status,
            reset_status_forces_a_status,
            reset_waiting_resets_only_running,
            remove_deletes_matching_and_needs_all_for_everything,
            prioritize_takes_an_id_or_a_query,
            lost_requeues_only_expired_leases,
            prune_removes_only_old_finished_tasks,
            drop_pool_deletes_the_pool,
        );
    };
}

all_cases!(sqlite, "sqlite");
all_cases!(sled, "sled");

// MongoDB: a test server named by TASKPOOL_TEST_MONGODB_URL.
all_cases!(mongodb, "mongodb");

fn stat(f: &Fixture) -> Value {
    f.json(&["stat"])
}

fn create_reports_new_and_existing(f: &Fixture) {
    let file = f.write(
        "t.yaml",
        "- model: {class: LGBModel}\n- model: {class: Linear}\n- model: {class: LGBModel}\n",
    );
    let first = f.json(&["create", &file]);
    assert_eq!(
        (first["total"].clone(), first["new"].clone()),
        (json!(3), json!(2))
    );
    assert_eq!(first["existing"], 1);
    assert_eq!(first["tasks"][0]["_id"], first["tasks"][2]["_id"]);
    let again = f.json(&["create", &file]);
    assert_eq!(
        (again["new"].clone(), again["existing"].clone()),
        (json!(0), json!(3))
    );
    assert_eq!(again["tasks"][1]["_id"], first["tasks"][1]["_id"]);
    assert_eq!(stat(f)["waiting"], 2);
    let human = f.ok(&["create", &file]);
    assert!(human.contains("created 0 new task(s)"), "{human}");
}

fn create_dry_run_writes_nothing(f: &Fixture) {
    f.seed();
    let file = f.write(
        "more.json",
        r#"[{"model": {"class": "Linear"}, "segments": {"test": ["2017-01-01", "2017-06-30"]}}, {"model": {"class": "MLP"}}]"#,
    );
    let before = f.snapshot();
    let report = f.json(&["create", "--dry-run", &file]);
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["tasks"][0]["new"], false);
    assert_eq!(report["tasks"][1]["new"], true);
    assert_eq!(f.snapshot(), before);
    let human = f.ok(&["create", "--dry-run", &file]);
    assert!(
        human.contains("existing") && human.contains("new"),
        "{human}"
    );
    assert!(human.contains("1 new, 1 existing"), "{human}");
}

fn create_reads_every_format_and_stdin(f: &Fixture) {
    let json = f.write("a.json", r#"[{"n": 1}, {"n": 2}]"#);
    let jsonl = f.write("b.jsonl", "{\"n\": 2}\n\n{\"n\": 3}\n");
    let yaml = f.write("c.yml", "- n: 3\n- n: 4.0\n");
    assert_eq!(f.json(&["create", &json])["new"], 2);
    assert_eq!(f.json(&["create", &jsonl])["new"], 1);
    assert_eq!(f.json(&["create", &yaml])["new"], 1);
    let out = f
        .cmd()
        .args(["--json", "create", "-"])
        .write_stdin("- n: 4\n- n: 5\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["new"].clone(), report["existing"].clone()),
        (json!(1), json!(1)),
        "4.0 and 4 are the same definition"
    );
    assert_eq!(stat(f)["total"], 5);
}

fn create_applies_priority_and_max_attempts(f: &Fixture) {
    let file = f.write("t.jsonl", "{\"n\": 1}\n");
    f.ok(&["create", &file, "--priority", "-7", "--max-attempts", "2"]);
    let tasks = f.tasks(&[]);
    assert_eq!(tasks[0]["priority"], -7);
    assert_eq!(tasks[0]["max_attempts"], 2);
}

fn query_filters_limits_and_projects(f: &Fixture) {
    let ids = f.seed();
    let lgb = f.tasks(&[r#"{"filter.model.class": "LGBModel"}"#]);
    assert_eq!(lgb.len(), 2);
    assert_eq!(lgb[0]["_id"], ids[0].as_str());
    assert_eq!(lgb[0]["def"]["model"]["class"], "LGBModel");
    assert_eq!(f.tasks(&["--limit", "1"]).len(), 1);
    let projected = f.tasks(&[
        r#"{"filter.model.class": "Linear"}"#,
        "--fields",
        "_id,status,def.model.class,def.nope",
    ]);
    assert_eq!(
        projected,
        vec![
            json!({"_id": ids[2], "status": "waiting", "def.model.class": "Linear", "def.nope": null})
        ]
    );
    assert!(f.tasks(&[r#"{"status": "done"}"#]).is_empty());
}

fn query_streams_past_one_page(f: &Fixture) {
    let lines: String = (0..1203).map(|i| format!("{{\"i\": {i}}}\n")).collect();
    let file = f.write("many.jsonl", &lines);
    assert_eq!(f.json(&["create", &file])["new"], 1203);
    let tasks = f.tasks(&[]);
    assert_eq!(tasks.len(), 1203);
    let ids: Vec<&str> = tasks.iter().map(|t| t["_id"].as_str().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ascending and distinct"
    );
    assert_eq!(f.tasks(&["--limit", "700"]).len(), 700);
    let high = f.tasks(&[r#"{"filter.i": {"$gte": 1000}}"#]);
    assert_eq!(high.len(), 203);
}

fn query_human_output_is_a_table(f: &Fixture) {
    let ids = f.seed();
    let out = f.ok(&["query"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].starts_with("_ID") && lines[0].contains("STATUS"));
    assert!(lines[1].starts_with(&ids[0]));
    let status_col = lines[0].find("STATUS").unwrap();
    assert!(
        lines[1..]
            .iter()
            .all(|l| l[status_col..].starts_with("waiting"))
    );
}

fn get_returns_the_task(f: &Fixture) {
    let ids = f.seed();
    let task = f.json(&["get", &ids[1]]);
    assert_eq!(task["_id"], ids[1].as_str());
    assert_eq!(task["status"], "waiting");
    let upper = ids[1].to_uppercase();
    assert_eq!(f.json(&["get", &upper])["_id"], ids[1].as_str());
    let human = f.ok(&["get", &ids[1]]);
    assert!(human.contains(&format!("task      {}", ids[1])), "{human}");
    assert!(human.contains("status    waiting"), "{human}");
    assert!(human.contains("definition:\n  {"), "{human}");
}

fn get_unknown_id_is_not_found(f: &Fixture) {
    f.seed();
    let out = f
        .cmd()
        .args(["get", "615498be837d0053acbc5d58"])
        .output()
        .unwrap();
    crate::support::assert_one_line_error(&out, 3);
}

fn stat_counts_by_status(f: &Fixture) {
    let ids = f.seed();
    f.ok(&[
        "reset-status",
        &format!(r#"{{"_id": "{}"}}"#, ids[0]),
        "done",
    ]);
    assert_eq!(
        stat(f),
        json!({"waiting": 2, "running": 0, "part_done": 0, "done": 1, "failed": 0, "total": 3})
    );
    let lgb = f.json(&["stat", r#"{"filter.model.class": "LGBModel"}"#]);
    assert_eq!(
        (lgb["done"].clone(), lgb["waiting"].clone()),
        (json!(1), json!(1))
    );
    let human = f.ok(&["stat"]);
    assert!(
        human
            .lines()
            .any(|l| l.split_whitespace().eq(["done", "1"])),
        "{human}"
    );
    assert!(
        human
            .lines()
            .any(|l| l.split_whitespace().eq(["total", "3"])),
        "{human}"
    );
}

fn reset_status_forces_a_status(f: &Fixture) {
    let ids = f.seed();
    let r = f.json(&[
        "reset-status",
        r#"{"filter.model.class": "LGBModel"}"#,
        "failed",
    ]);
    assert_eq!(r["matched"], 2);
    let task = f.json(&["get", &ids[0]]);
    assert_eq!(task["status"], "failed");
    assert!(task["finished_at"].is_string());
    assert_eq!(f.json(&["reset-status", "{}", "waiting"])["matched"], 3);
    assert_eq!(stat(f)["waiting"], 3);
}

fn reset_waiting_resets_only_running(f: &Fixture) {
    let ids = f.seed();
    f.with_store_now(async |store| {
        let claimed = store
            .claim(
                POOL,
                ClaimParams {
                    n: 2,
                    ..ClaimParams::new("w1", Duration::from_secs(3600))
                },
            )
            .await
            .unwrap();
        assert_eq!(claimed.len(), 2);
    });
    f.ok(&[
        "reset-status",
        &format!(r#"{{"_id": "{}"}}"#, ids[2]),
        "done",
    ]);
    let r = f.json(&["reset-waiting"]);
    assert_eq!(r["matched"], 2);
    assert_eq!(stat(f)["waiting"], 2);
    assert_eq!(stat(f)["done"], 1);
    let task = f.json(&["get", &ids[0]]);
    assert!(task["lease"].is_null());
    assert_eq!(task["attempts"], 0);
}

fn remove_deletes_matching_and_needs_all_for_everything(f: &Fixture) {
    f.seed();
    let before = f.snapshot();
    for args in [&["remove", "{}"][..], &["remove", " "][..]] {
        let out = f.cmd().args(args).output().unwrap();
        crate::support::assert_one_line_error(&out, 2);
    }
    assert_eq!(
        f.cmd().arg("remove").output().unwrap().status.code(),
        Some(2)
    );
    assert_eq!(f.snapshot(), before);
    let r = f.json(&["remove", r#"{"filter.model.class": "Linear"}"#]);
    assert_eq!(r["removed"], 1);
    assert!(
        f.ok(&["remove", r#"{"status": "done"}"#])
            .contains("removed 0 task(s)")
    );
    assert_eq!(f.json(&["remove", "--all"])["removed"], 2);
    assert_eq!(stat(f)["total"], 0);
    assert_eq!(
        f.lines(&["list"]),
        vec![json!({ "pool": POOL })],
        "the pool remains"
    );
}

fn prioritize_takes_an_id_or_a_query(f: &Fixture) {
    let ids = f.seed();
    assert_eq!(f.json(&["prioritize", &ids[1], "10"])["matched"], 1);
    let r = f.json(&["prioritize", r#"{"filter.model.class": "LGBModel"}"#, "-3"]);
    assert_eq!(r["matched"], 2);
    let prios: Vec<Value> = f.tasks(&[]).iter().map(|t| t["priority"].clone()).collect();
    assert_eq!(prios, vec![json!(-3), json!(-3), json!(0)]);
    let missing = f
        .cmd()
        .args(["prioritize", "615498be837d0053acbc5d58", "1"])
        .output()
        .unwrap();
    crate::support::assert_one_line_error(&missing, 3);
    assert_eq!(
        f.json(&["prioritize", r#"{"status": "done"}"#, "1"])["matched"],
        0
    );
}

fn lost_requeues_only_expired_leases(f: &Fixture) {
    let ids = f.seed();
    let an_hour_ago = Timestamp::from_millis(Timestamp::now().as_millis() - 3_600_000);
    // The store opens on the present (a MongoDB store measures its clock's
    // offset from the server's at open), then the clock moves back an hour.
    let clock = ManualClock::new(Timestamp::now());
    // One in-process session: sled allows one open per process lifetime of a store.
    let live_token = f.with_store(Arc::new(clock.clone()), async |store| {
        clock.set(an_hour_ago);
        // ids[0] goes through a first phase so that its lost claim comes from part_done.
        let first = Query::id(ids[0].parse().unwrap());
        let t = store
            .claim_one(POOL, Status::Waiting, "w0", Duration::from_secs(60), first)
            .await
            .unwrap()
            .unwrap();
        let token = t.lease.unwrap().token;
        let commit = CommitParams {
            id: t.id,
            token,
            result: json!({"phase": 1}),
            status: Status::PartDone,
        };
        store.commit(POOL, commit).await.unwrap();
        let from_part_done = ClaimParams {
            from: Status::PartDone,
            ..ClaimParams::new("dead-1", Duration::from_secs(60))
        };
        store.claim(POOL, from_part_done).await.unwrap();
        store
            .claim(POOL, ClaimParams::new("dead-2", Duration::from_secs(60)))
            .await
            .unwrap();
        // Back to the present: this lease is live for an hour.
        clock.set(Timestamp::now());
        let third = Query::id(ids[2].parse().unwrap());
        let live = store
            .claim_one(
                POOL,
                Status::Waiting,
                "alive",
                Duration::from_secs(3600),
                third,
            )
            .await
            .unwrap()
            .unwrap();
        live.lease.unwrap().token
    });
    let listed = f.json(&["lost"]);
    let lost: Vec<&str> = listed["lost"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["_id"].as_str().unwrap())
        .collect();
    assert_eq!(lost, vec![ids[0].as_str(), ids[1].as_str()]);
    assert!(listed["requeued"].is_null());
    assert_eq!(stat(f)["running"], 3, "listing changes nothing");
    let human = f.ok(&["lost"]);
    assert!(
        human.contains("dead-1") && human.contains("--requeue"),
        "{human}"
    );

    let requeued = f.json(&["lost", "--requeue"]);
    assert_eq!(requeued["requeued"], 2);
    assert_eq!(f.json(&["get", &ids[0]])["status"], "part_done");
    assert_eq!(f.json(&["get", &ids[1]])["status"], "waiting");
    let live = f.json(&["get", &ids[2]]);
    assert_eq!(live["status"], "running");
    assert_eq!(live["lease"]["token"], live_token.as_str());
    assert_eq!(f.json(&["lost"])["lost"], json!([]));
    assert!(f.ok(&["lost"]).contains("no lost tasks"));
}

fn prune_removes_only_old_finished_tasks(f: &Fixture) {
    let ids = f.seed();
    let ten_days_ago = Timestamp::from_millis(Timestamp::now().as_millis() - 10 * 86_400_000);
    // Opened on the present (see lost_requeues_only_expired_leases), then moved back.
    let clock = ManualClock::new(Timestamp::now());
    f.with_store(Arc::new(clock.clone()), async |store| {
        clock.set(ten_days_ago);
        for (id, fail) in [(&ids[0], false), (&ids[1], true)] {
            let t = store
                .claim_one(
                    POOL,
                    Status::Waiting,
                    "w",
                    Duration::from_secs(60),
                    Query::id(id.parse().unwrap()),
                )
                .await
                .unwrap()
                .unwrap();
            let token = t.lease.unwrap().token;
            if fail {
                store
                    .return_task(
                        POOL,
                        ReturnParams {
                            id: t.id,
                            token,
                            error: Some("boom".into()),
                            status: Some(Status::Failed),
                        },
                    )
                    .await
                    .unwrap();
            } else {
                store
                    .commit(
                        POOL,
                        CommitParams {
                            id: t.id,
                            token,
                            result: json!(1),
                            status: Status::Done,
                        },
                    )
                    .await
                    .unwrap();
            }
        }
    });
    f.ok(&[
        "reset-status",
        &format!(r#"{{"_id": "{}"}}"#, ids[2]),
        "done",
    ]);
    let dry = f.json(&[
        "prune",
        "--status",
        "done",
        "--older-than",
        "7d",
        "--dry-run",
    ]);
    assert_eq!(dry, json!({"removed": 1, "dry_run": true}));
    assert_eq!(stat(f)["total"], 3);
    assert_eq!(
        f.json(&["prune", "--status", "done", "--older-than", "7d"])["removed"],
        1
    );
    assert_eq!(
        f.json(&["prune", "--status", "done", "--older-than", "1w"])["removed"],
        0
    );
    assert_eq!(
        f.json(&["prune", "--status", "failed", "--older-than", "11d"])["removed"],
        0
    );
    assert!(
        f.ok(&["prune", "--status", "failed", "--older-than", "9d"])
            .contains("removed 1 failed")
    );
    let left: Vec<Value> = f.tasks(&[]).iter().map(|t| t["_id"].clone()).collect();
    assert_eq!(left, vec![json!(ids[2])]);
}

fn drop_pool_deletes_the_pool(f: &Fixture) {
    f.seed();
    let file = f.write("other.jsonl", "{\"x\": 1}\n");
    f.cmd()
        .args(["-t", "other", "create", &file])
        .assert()
        .success();
    assert_eq!(
        f.lines(&["list"]),
        vec![json!({"pool": "other"}), json!({ "pool": POOL })]
    );
    assert!(f.ok(&["list"]).lines().eq(["other", POOL]));
    assert_eq!(f.json(&["drop-pool", POOL])["dropped"], POOL);
    assert_eq!(f.lines(&["list"]), vec![json!({"pool": "other"})]);
    let gone = f.cmd().args(["stat"]).output().unwrap();
    crate::support::assert_one_line_error(&gone, 3);
    let again = f.cmd().args(["drop-pool", POOL]).output().unwrap();
    crate::support::assert_one_line_error(&again, 3);
}
