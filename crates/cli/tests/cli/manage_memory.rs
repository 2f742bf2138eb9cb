//! The manage commands on `memory://`: each process has its own empty store,
//! so these check what one invocation can show.

use serde_json::{Value, json};

use crate::support::{assert_one_line_error, taskpool};

fn run(args: &[&str]) -> std::process::Output {
    taskpool()
        .args(["--store", "memory://", "-t", "p"])
        .args(args)
        .output()
        .expect("run taskpool")
}

fn json(args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = run(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

#[test]
fn create_reports_new_and_repeats_on_memory() {
    let out = taskpool()
        .args(["--store", "memory://", "-t", "p", "--json", "create", "-"])
        .write_stdin("[{\"a\": 1}, {\"a\": 2}, {\"a\": 1.0}]")
        .output()
        .unwrap();
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            report["total"].clone(),
            report["new"].clone(),
            report["existing"].clone()
        ),
        (json!(3), json!(2), json!(1))
    );
}

#[test]
fn read_commands_see_an_empty_store_on_memory() {
    assert_eq!(json(&["list"]), json!([]));
    assert_eq!(json(&["stat"])["total"], 0);
    assert_eq!(json(&["lost"]), json!({"lost": [], "requeued": null}));
    let out = run(&["--json", "query"]);
    assert!(out.status.success() && out.stdout.is_empty());
    assert_one_line_error(&run(&["get", "615498be837d0053acbc5d58"]), 3);
}

#[test]
fn write_commands_match_nothing_on_memory() {
    assert_eq!(json(&["reset-waiting"])["matched"], 0);
    assert_eq!(json(&["reset-status", "{}", "waiting"])["matched"], 0);
    assert_eq!(json(&["remove", "--all"])["removed"], 0);
    assert_eq!(json(&["prioritize", "{}", "4"])["matched"], 0);
    assert_eq!(json(&["lost", "--requeue"])["requeued"], 0);
    assert_eq!(
        json(&["prune", "--status", "failed", "--older-than", "1d"]),
        json!({"removed": 0, "dry_run": false})
    );
    assert_one_line_error(&run(&["prioritize", "615498be837d0053acbc5d58", "4"]), 3);
    assert_one_line_error(&run(&["drop-pool", "p"]), 3);
}
