//! Bad input: each case exits with its code and a one-line message, never a
//! panic, and leaves the store as it was.

use crate::support::{Fixture, assert_one_line_error, taskpool, wired};

/// Run `args` on a seeded SQLite store; assert exit `code`, a one-line
/// message and an unchanged store.
fn rejects(args: &[&str], code: i32) {
    let Some(f) = Fixture::new("sqlite") else {
        return;
    };
    f.seed();
    let before = f.snapshot();
    let out = f.cmd().args(args).output().expect("run taskpool");
    assert_one_line_error(&out, code);
    assert_eq!(f.snapshot(), before, "store changed by {args:?}");
}

/// As [`rejects`] for `create` of a file with `content`.
fn create_rejects(name: &str, content: &str) {
    let Some(f) = Fixture::new("sqlite") else {
        return;
    };
    f.seed();
    let before = f.snapshot();
    let file = f.write(name, content);
    let out = f.cmd().args(["create", &file]).output().unwrap();
    assert_one_line_error(&out, 2);
    assert_eq!(f.snapshot(), before);
}

#[test]
fn create_malformed_json_is_bad_input() {
    create_rejects("t.json", r#"[{"model": "LGB"}, {"model": }]"#);
}

#[test]
fn create_malformed_json_lines_is_bad_input() {
    create_rejects("t.jsonl", "{\"a\": 1}\n{\"a\": 2\n");
}

#[test]
fn create_malformed_yaml_is_bad_input() {
    create_rejects("t.yaml", "- model: {class: LGB\n- [unclosed\n");
}

#[test]
fn create_yaml_that_is_not_a_list_is_bad_input() {
    create_rejects("t.yaml", "model:\n  class: LGB\n");
}

#[test]
fn create_non_object_definition_is_bad_input() {
    create_rejects("t.json", r#"[{"a": 1}, "just a string"]"#);
}

#[test]
fn create_missing_file_is_bad_input() {
    rejects(&["create", "/nonexistent/tasks.yaml"], 2);
}

#[test]
fn create_zero_max_attempts_is_bad_input() {
    let Some(f) = Fixture::new("sqlite") else {
        return;
    };
    f.seed();
    let before = f.snapshot();
    let file = f.write("t.jsonl", "{\"new\": 1}\n");
    let out = f
        .cmd()
        .args(["create", &file, "--max-attempts", "0"])
        .output()
        .unwrap();
    assert_one_line_error(&out, 2);
    assert_eq!(f.snapshot(), before);
}

#[test]
fn query_unknown_operator_is_bad_input() {
    rejects(&["query", r#"{"filter.model": {"$regex": "LGB"}}"#], 2);
    rejects(&["stat", r#"{"$nor": [{"status": "done"}]}"#], 2);
}

#[test]
fn remove_unknown_operator_is_bad_input() {
    rejects(&["remove", r#"{"priority": {"$mod": [2, 0]}}"#], 2);
}

#[test]
fn query_malformed_json_is_bad_input() {
    rejects(&["reset-waiting", r#"{"status": "running""#], 2);
}

#[test]
fn reset_status_unknown_status_is_bad_input() {
    rejects(&["reset-status", "{}", "finished"], 2);
    rejects(&["reset-status", "{}", "running"], 2);
}

#[test]
fn query_unknown_status_is_bad_input() {
    rejects(&["query", r#"{"status": "finished"}"#], 2);
}

#[test]
fn get_bad_id_is_bad_input() {
    rejects(&["get", "not-an-id"], 2);
    rejects(&["get", "615498be837d0053acbc5d5"], 2);
}

#[test]
fn prioritize_bad_id_is_bad_input() {
    rejects(&["prioritize", "615498be837d0053acbc5d5g", "3"], 2);
    rejects(&["prioritize", r#"{"_id": "nope"}"#, "3"], 2);
}

#[test]
fn remove_everything_without_all_is_bad_input() {
    rejects(&["remove", "{}"], 2);
}

#[test]
fn invalid_pool_name_is_bad_input() {
    rejects(&["-t", "no spaces", "stat"], 2);
    rejects(&["drop-pool", "system.users"], 2);
}

#[test]
fn missing_pool_is_bad_input() {
    let out = taskpool()
        .args(["--store", "memory://", "stat"])
        .output()
        .unwrap();
    assert_one_line_error(&out, 2);
}

#[test]
fn unknown_scheme_is_bad_input_listing_the_accepted_ones() {
    let out = taskpool()
        .args(["--store", "postgres://db/tasks", "-t", "p", "stat"])
        .output()
        .unwrap();
    assert_one_line_error(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for scheme in taskpool::URL_SCHEMES {
        assert!(stderr.contains(&format!("{scheme}://")), "{stderr}");
    }
}

#[test]
fn unreachable_mongodb_is_unavailable() {
    if !wired("mongodb") {
        return;
    }
    let url = "mongodb://127.0.0.1:1/taskpool?serverSelectionTimeoutMS=1000&connectTimeoutMS=1000";
    for args in [&["-t", "p", "stat"][..], &["list"][..]] {
        let out = taskpool()
            .arg("--store")
            .arg(url)
            .args(args)
            .output()
            .unwrap();
        assert_one_line_error(&out, 4);
    }
}

#[test]
fn sqlite_store_on_a_non_sqlite_file_is_bad_input() {
    if !wired("sqlite") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    let content = "these are my notes, not a database\n".repeat(200);
    std::fs::write(&path, &content).unwrap();
    let url = format!("sqlite://{}", path.display());
    for args in [
        &["-t", "p", "stat"][..],
        &["list"][..],
        &["-t", "p", "remove", "--all"][..],
    ] {
        let out = taskpool()
            .arg("--store")
            .arg(&url)
            .args(args)
            .output()
            .unwrap();
        assert_one_line_error(&out, 2);
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), content);
    let entries = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(entries, 1, "no journal or WAL file left beside it");
}

#[test]
fn prune_bad_duration_is_bad_usage() {
    let Some(f) = Fixture::new("sqlite") else {
        return;
    };
    f.seed();
    let before = f.snapshot();
    for age in ["7", "1mo", "soon", "-1d"] {
        let out = f
            .cmd()
            .args(["prune", "--status", "done", "--older-than", age])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{age}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
    assert_eq!(f.snapshot(), before);
}

/// An integer beyond the 64-bit signed range (no backend stores it).
const BEYOND_I64: &str = "9223372036854775808";

/// `create` of definitions holding an integer beyond `i64` exits 2 with one
/// line and writes nothing on every backend, also when the bad definition
/// comes after a full batch of good ones.
#[test]
fn create_integer_beyond_i64_is_bad_input_on_every_backend() {
    for scheme in ["sqlite", "sled", "mongodb"] {
        let Some(f) = Fixture::new(scheme) else {
            continue;
        };
        f.seed();
        let before = f.snapshot();
        let mut lines: Vec<String> = (0..1001).map(|i| format!("{{\"n\": {i}}}")).collect();
        lines.push(format!(
            "{{\"model\": {{\"kwargs\": {{\"seed\": {BEYOND_I64}}}}}}}"
        ));
        for content in [
            format!("[{{\"a\": 1}}, {{\"a\": [0, {BEYOND_I64}]}}]"),
            lines.join("\n"),
        ] {
            let file = f.write("big.jsonl", &content);
            let out = f.cmd().args(["create", &file]).output().unwrap();
            assert_one_line_error(&out, 2);
            assert_eq!(f.snapshot(), before, "{scheme}: store changed");
        }
    }
}

/// `gen | create -`: `gen` passes the integer through, `create` refuses it.
#[test]
fn gen_piped_into_create_with_integer_beyond_i64_is_bad_input() {
    let Some(f) = Fixture::new("sqlite") else {
        return;
    };
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/gen/");
    let template = std::fs::read_to_string(format!("{examples}template.yaml"))
        .unwrap()
        .replace("loss: mse", &format!("loss: mse\n    seed: {BEYOND_I64}"));
    let template = f.write("template.yaml", &template);
    let generated = f
        .cmd()
        .args(["gen", "--template", &template, "--calendar"])
        .arg(format!("{examples}day.txt"))
        .output()
        .unwrap();
    assert!(generated.status.success());
    let out = f
        .cmd()
        .args(["create", "-"])
        .write_stdin(generated.stdout)
        .output()
        .unwrap();
    assert_one_line_error(&out, 2);
    let query = f.cmd().args(["query"]).output().unwrap();
    assert_one_line_error(&query, 3);
}
