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

/// `run` with `-q`: the memory warning is not shown, only errors.
fn quiet(args: &[&str]) -> std::process::Output {
    let mut all = vec!["-q"];
    all.extend_from_slice(args);
    run(&all)
}

#[test]
fn read_commands_find_no_pool_on_memory() {
    let out = run(&["--json", "list"]);
    assert!(out.status.success() && out.stdout.is_empty());
    for args in [
        &["stat"][..],
        &["lost"],
        &["query"],
        &["wait"],
        &["get", "615498be837d0053acbc5d58"],
    ] {
        assert_one_line_error(&quiet(args), 3);
    }
}

#[test]
fn write_commands_find_no_pool_on_memory() {
    for args in [
        &["reset-waiting"][..],
        &["reset-status", "{}", "waiting"],
        &["remove", "--all"],
        &["prioritize", "{}", "4"],
        &["lost", "--requeue"],
        &["prune", "--status", "failed", "--older-than", "1d"],
        &["prioritize", "615498be837d0053acbc5d58", "4"],
        &["drop-pool", "p"],
    ] {
        assert_one_line_error(&quiet(args), 3);
    }
}

#[test]
fn one_shot_commands_on_memory_warn_that_nothing_is_kept() {
    let out = taskpool()
        .args(["--store", "memory://", "-t", "p", "create", "-"])
        .write_stdin("[{\"a\": 1}]")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("keeps nothing after this command exits"),
        "{stderr}"
    );
}
