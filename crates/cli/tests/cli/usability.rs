//! Issue 18, the CLI as a new user meets it: one or more tests per point
//! (point 2 is `docs.rs`, point 7 `manage_memory.rs`, point 19
//! `tests/processes/worker_children.rs`).

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use serde_json::{Value, json};

use crate::support::{
    Fixture, POOL, assert_one_line_error, send, taskpool, taskpool_process, wait_exit,
};

fn sqlite() -> Fixture {
    Fixture::new("sqlite").expect("sqlite:// is always wired in")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn examples() -> PathBuf {
    repo().join("examples")
}

/// One JSON document per line.
fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

/// The keys of a JSON object, sorted.
fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    names.sort();
    names
}

/// `--json records` without a pool: the experiments of the store.
fn experiments(f: &Fixture) -> Vec<Value> {
    let out = f
        .cmd()
        .env_remove("TASKPOOL_POOL")
        .args(["--json", "records"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    lines(&stdout(&out))
}

// 1. The install step.

#[test]
fn readme_quick_start_gives_the_install_step_and_where_the_binary_is() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let quick_start = &readme[readme.find("## Quick start").unwrap()..];
    assert!(quick_start.contains("cargo install --path crates/cli"));
    assert!(quick_start.contains("target/release/taskpool"));
    let manifest = std::fs::read_to_string(repo().join("crates/cli/Cargo.toml")).unwrap();
    assert!(
        manifest.contains("[[bin]]\nname = \"taskpool\""),
        "{manifest}"
    );
}

// 3. The installed binary is small.

#[test]
fn release_profile_strips_debug_info_and_symbols() {
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let release = &manifest[manifest.find("[profile.release]").unwrap()..];
    let release = &release[..release.find("\n[").unwrap_or(release.len())];
    assert!(release.contains("debug = false"), "{release}");
    assert!(release.contains("strip = true"), "{release}");
}

// 4. Each hint produces a working command.

#[test]
fn query_hints_name_paths_that_work() {
    let f = sqlite();
    f.seed();
    let out = f
        .cmd()
        .args(["query", r#"{"def.model.class": "Linear"}"#])
        .output()
        .unwrap();
    assert_one_line_error(&out, 2);
    let hint = stderr(&out);
    let path = hint.rsplit("use ").next().unwrap().trim().to_string();
    assert_eq!(path, "filter.model.class", "{hint}");
    let found = f.tasks(&[&format!(r#"{{"{path}": "Linear"}}"#)]);
    assert_eq!(found.len(), 1);

    let out = f
        .cmd()
        .args(["query", r#"{"res.ic": 1}"#])
        .output()
        .unwrap();
    assert_one_line_error(&out, 2);
    assert!(
        stderr(&out).contains("--fields res.<path>"),
        "{}",
        stderr(&out)
    );
    let shown = f.tasks(&["--fields", "_id,res.ic,def.model.class"]);
    assert_eq!(shown.len(), 3);
    assert_eq!(
        keys(&shown[0]),
        sorted(&["_id", "res.ic", "def.model.class"])
    );
}

#[test]
fn fields_accept_every_path_a_query_names() {
    let f = sqlite();
    f.seed();
    let fields = "_id,status,priority,attempts,filter.model.class";
    for task in f.tasks(&["--fields", fields]) {
        for field in fields.split(',') {
            assert!(!task[field].is_null(), "{field} missing in {task}");
        }
    }
}

// 5. Typos are not found, never zeros.

#[test]
fn commands_on_an_unknown_pool_exit_3_naming_the_closest() {
    let f = sqlite();
    f.seed();
    for args in [
        &["stat"][..],
        &["query"],
        &["wait", "--timeout", "1s"],
        &["get", "615498be837d0053acbc5d58"],
        &["lost"],
        &["reset-waiting"],
        &["remove", "--all"],
        &["prioritize", "{}", "1"],
        &["prune", "--status", "done", "--older-than", "1d"],
        &["worker", "--", "cat"],
    ] {
        let out = f.cmd().args(["-t", "rollin"]).args(args).output().unwrap();
        assert_one_line_error(&out, 3);
        assert!(
            stderr(&out).contains(r#"did you mean "rolling"?"#),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn records_of_an_unknown_experiment_exit_3_listing_them() {
    let f = sqlite();
    f.seed();
    let out = f.cmd().args(["records", "-e", "nope"]).output().unwrap();
    assert_one_line_error(&out, 3);
    assert!(
        stderr(&out).contains("no experiments yet"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_unknown_field_is_an_error() {
    let f = sqlite();
    f.seed();
    let out = f
        .cmd()
        .args(["query", "--fields", "_id,nosuch"])
        .output()
        .unwrap();
    assert_one_line_error(&out, 2);
    assert!(stderr(&out).contains("\"nosuch\""), "{}", stderr(&out));
}

#[test]
fn worker_follow_on_a_new_pool_says_once_that_it_waits_and_exits_130_on_sigterm() {
    let f = sqlite();
    f.seed();
    let dir = tempfile::tempdir().unwrap();
    let err_path = dir.path().join("stderr");
    let mut worker = taskpool_process()
        .args([
            "--store", &f.url, "-t", "later", "worker", "--follow", "--", "cat",
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    crate::support::eventually("the waiting message", || {
        std::fs::read_to_string(&err_path).is_ok_and(|s| s.contains("does not exist yet"))
    });
    send(&worker, libc::SIGTERM);
    assert_eq!(wait_exit(&mut worker).code(), Some(130));
    let text = std::fs::read_to_string(&err_path).unwrap();
    assert_eq!(text.matches("does not exist yet").count(), 1, "{text}");
    assert!(
        text.contains("taskpool: interrupted: worker interrupted"),
        "{text}"
    );
}

// 6. Read commands never create a store.

#[test]
fn read_commands_never_create_a_store() {
    let dir = tempfile::tempdir().unwrap();
    for (scheme, name) in [("sqlite", "typo.db"), ("sled", "typo.sled")] {
        let url = format!("{scheme}://{}", dir.path().join(name).display());
        for args in [
            &["list"][..],
            &["-t", "p", "stat"],
            &["-t", "p", "query"],
            &["-t", "p", "wait"],
            &["records"],
            &["drop-pool", "p"],
            &["-t", "p", "worker", "--", "cat"],
        ] {
            let out = taskpool()
                .args(["--store", &url])
                .args(args)
                .output()
                .unwrap();
            assert_one_line_error(&out, 3);
            assert!(stderr(&out).contains(name), "{}", stderr(&out));
            assert!(!dir.path().join(name).exists(), "{args:?} created {name}");
        }
    }
}

#[test]
fn create_makes_a_new_store_and_says_so_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("new.db").display());
    let tasks = examples().join("tasks.jsonl");
    let create = || {
        taskpool()
            .args(["--store", &url, "-t", "demo", "create"])
            .arg(&tasks)
            .output()
            .unwrap()
    };
    let first = create();
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(stderr(&first).matches("created a new store").count(), 1);
    let second = create();
    assert!(!stderr(&second).contains("created a new store"));
}

// 8. Feedback while things run (the wait bar's numbers are checked by a
// unit test of `bar_counts` in commands/wait.rs).

/// `taskpool ARGS` on a pseudo-terminal (util-linux `script`); what it drew.
fn on_a_terminal(f: &Fixture, args: &str) -> Option<String> {
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(script) = script else {
        eprintln!("skipped: util-linux `script` is not installed");
        return None;
    };
    let command = format!(
        "{} --store {} -t {POOL} {args}",
        env!("CARGO_BIN_EXE_taskpool"),
        f.url
    );
    let out = std::process::Command::new(script)
        .args(["-qefc", &command, "/dev/null"])
        .env("NO_COLOR", "1")
        .env_remove("TASKPOOL_STORE")
        .env_remove("TASKPOOL_POOL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stdout(&out));
    Some(stdout(&out))
}

#[test]
fn worker_shows_live_counts_on_a_terminal_only() {
    let f = sqlite();
    f.seed();
    let slow = "sh -c 'sleep 0.3; cat'";
    let Some(drawn) = on_a_terminal(&f, &format!("worker -- {slow}")) else {
        return;
    };
    assert!(drawn.contains("in flight"), "{drawn}");
    assert!(drawn.contains("3 claimed, 3 committed"), "{drawn}");
    f.ok(&["reset-status", "{}", "waiting"]);
    let piped = f.cmd().args(["worker", "--", "cat"]).output().unwrap();
    assert!(!stderr(&piped).contains("in flight"), "{}", stderr(&piped));
}

// 9. No colour off a terminal, no Debug structs.

#[test]
fn logs_have_no_colour_off_a_terminal_and_no_debug_structs() {
    let f = sqlite();
    f.seed();
    let out = f
        .cmd()
        .args(["-v", "worker", "--", "cat"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = stderr(&out);
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(!text.contains("WorkerReport {"), "{text}");
    assert!(
        text.contains("worker stopped: 3 claimed, 3 committed"),
        "{text}"
    );
    let memory = taskpool()
        .args(["--store", "memory://", "list"])
        .output()
        .unwrap();
    assert!(stderr(&memory).contains("WARN"));
    assert!(!stderr(&memory).contains('\u{1b}'));
}

// 10. `get` is readable.

#[test]
fn get_shows_status_attempts_and_tracebacks_as_lines() {
    let f = sqlite();
    let file = f.write("one.jsonl", "{\"model\": \"m\"}\n");
    f.ok(&["create", &file, "--max-attempts", "1"]);
    let failing = r#"printf 'Traceback (most recent call last):\n  File "train.py", line 3\nValueError: bad\n' >&2; exit 1"#;
    f.ok(&["worker", "--", "sh", "-c", failing]);
    let id = f.tasks(&[])[0]["_id"].as_str().unwrap().to_string();
    let view = f.ok(&["get", &id]);
    for line in [
        "status    failed",
        "attempts  1 of 1",
        "errors (1, oldest first):",
        "    Traceback (most recent call last):",
        "      File \"train.py\", line 3",
        "    ValueError: bad",
        "definition:",
        "    \"model\": \"m\"",
    ] {
        assert!(
            view.lines().any(|l| l == line),
            "{line:?} missing in:\n{view}"
        );
    }
    let raw = f.json(&["get", &id]);
    let message = raw["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("line 3\nValueError: bad"), "{message}");
    assert_eq!(raw["status"], "failed");
}

// 11. The query table shows what differs.

#[test]
fn query_table_shows_the_part_of_gen_tasks_that_differs() {
    let f = sqlite();
    let gen_out = f
        .cmd()
        .args(["gen", "--template"])
        .arg(examples().join("gen/template.yaml"))
        .arg("--calendar")
        .arg(examples().join("gen/day.txt"))
        .args(["--step", "20"])
        .output()
        .unwrap();
    assert!(gen_out.status.success());
    let file = f.write("gen.json", &stdout(&gen_out));
    f.ok(&["create", &file]);
    let table = f.ok(&["query"]);
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert!(rows.len() > 2, "{table}");
    let filters: std::collections::HashSet<&str> = rows
        .iter()
        .map(|r| {
            r.split("  ")
                .filter(|c| !c.is_empty())
                .last()
                .unwrap()
                .trim()
        })
        .collect();
    assert_eq!(
        filters.len(),
        rows.len(),
        "every row shows its own window:\n{table}"
    );
    assert!(rows[0].contains(" test=[\""), "{table}");
}

// 12. One JSON rule, every command.

#[test]
fn every_command_prints_json_by_the_one_rule() {
    let f = sqlite();
    let tasks = examples().join("tasks.jsonl");
    let tasks = tasks.to_str().unwrap();
    let one = |args: &[&str]| f.json(args);
    let many = |args: &[&str]| {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        lines(&f.ok(&all))
    };
    let create = one(&["create", tasks]);
    assert_eq!(
        keys(&create),
        sorted(&["total", "new", "existing", "dry_run", "tasks"])
    );
    assert_eq!(
        keys(&create["tasks"][0]),
        sorted(&["_id", "key", "new", "status"])
    );
    assert_eq!(many(&["list"]), vec![json!({ "pool": POOL })]);
    let counts = ["waiting", "running", "part_done", "done", "failed", "total"];
    assert_eq!(keys(&one(&["stat"])), sorted(&counts));
    let task_keys = sorted(&[
        "_id",
        "def",
        "filter",
        "key",
        "status",
        "priority",
        "res",
        "attempts",
        "max_attempts",
        "lease",
        "errors",
        "created_at",
        "updated_at",
        "started_at",
        "finished_at",
    ]);
    let listed = many(&["query"]);
    assert_eq!(listed.len(), 5);
    assert_eq!(keys(&listed[0]), task_keys);
    let id = listed[0]["_id"].as_str().unwrap().to_string();
    assert_eq!(keys(&one(&["get", &id])), task_keys);
    assert_eq!(keys(&one(&["prioritize", &id, "3"])), sorted(&["matched"]));
    let keep = examples().join("workers/keep_pred.py");
    let worker = one(&["worker", "--", "python3", keep.to_str().unwrap()]);
    assert_eq!(
        keys(&worker),
        sorted(&[
            "worker",
            "claimed",
            "committed",
            "retried",
            "failed",
            "handed_back",
            "lease_lost",
            "store_errors",
            "interrupted",
        ])
    );
    let mut wait_keys = counts.to_vec();
    wait_keys.extend(["outcome", "pending"]);
    assert_eq!(keys(&one(&["wait"])), sorted(&wait_keys));
    assert_eq!(keys(&one(&["lost"])), sorted(&["lost", "requeued"]));
    assert_eq!(keys(&one(&["reset-waiting"])), sorted(&["matched"]));
    assert_eq!(
        keys(&one(&["reset-status", "{}", "done"])),
        sorted(&["matched"])
    );
    let removed = sorted(&["removed", "dry_run"]);
    assert_eq!(
        keys(&one(&["prune", "--status", "done", "--older-than", "1d"])),
        removed
    );
    assert_eq!(
        keys(&one(&["remove", &format!(r#"{{"_id": "{id}"}}"#)])),
        removed
    );
    assert_eq!(experiments(&f), vec![json!({ "experiment": POOL })]);
    let records = many(&["records", "-e", POOL]);
    assert_eq!(records.len(), 5);
    let record_keys = sorted(&[
        "_id",
        "experiment",
        "pool",
        "task_id",
        "task",
        "params",
        "metrics",
        "tags",
        "status",
        "created_at",
        "updated_at",
        "finished_at",
        "artifacts",
    ]);
    assert_eq!(keys(&records[0]), record_keys);
    let record = records[0]["_id"].as_str().unwrap();
    assert_eq!(keys(&one(&["records", "--record", record])), record_keys);
    let fetched = one(&[
        "records",
        "--record",
        record,
        "--artifact",
        "pred.csv",
        "-o",
        "p.csv",
    ]);
    assert_eq!(
        keys(&fetched),
        sorted(&["record", "artifact", "bytes", "output", "format"])
    );
    let generated = many(&[
        "gen",
        "--template",
        examples().join("gen/template.yaml").to_str().unwrap(),
        "--calendar",
        examples().join("gen/day.txt").to_str().unwrap(),
    ]);
    assert!(generated.len() > 1 && generated.iter().all(Value::is_object));
    let rows = many(&[
        "ensemble",
        "average",
        examples().join("ensemble/lgb.csv").to_str().unwrap(),
        examples().join("ensemble/xgb.csv").to_str().unwrap(),
    ]);
    assert_eq!(rows.len(), 6);
    assert_eq!(keys(&rows[0]), sorted(&["datetime", "instrument", "score"]));
    assert_eq!(keys(&one(&["drop-pool", POOL])), sorted(&["dropped"]));
    let completions = f
        .cmd()
        .args(["--json", "completions", "bash"])
        .output()
        .unwrap();
    assert_one_line_error(&completions, 2);
}

// 13, 15. `run`'s predictions as CSV, stored frames in `ensemble`, `-q run`.

#[test]
fn stored_predictions_are_written_as_csv_and_ensembled() {
    let f = sqlite();
    let config = examples().join("run/csv.yaml");
    let quiet = f
        .cmd()
        .args(["-q", "-t", "csv_demo", "run"])
        .arg(&config)
        .args(["--report-dir", "report"])
        .output()
        .unwrap();
    assert!(quiet.status.success(), "{}", stderr(&quiet));
    assert_eq!(
        (stdout(&quiet), stderr(&quiet)),
        (String::new(), String::new()),
        "-q: errors only"
    );

    assert_eq!(experiments(&f), vec![json!({"experiment": "csv_demo"})]);
    let records = lines(&f.ok(&["--json", "records", "-e", "csv_demo"]));
    let record = records[0]["_id"].as_str().unwrap();
    let fetch = |output: &str, extra: &[&str]| {
        f.ok(&[
            &[
                "records",
                "-e",
                "csv_demo",
                "--record",
                record,
                "--artifact",
                "pred",
                "-o",
                output,
            ][..],
            extra,
        ]
        .concat())
    };
    fetch("pred.csv", &[]);
    fetch("pred.bin", &["--format", "raw"]);
    fetch("pred.txt", &["--format", "csv"]);
    let dir = Path::new(f.url.strip_prefix("sqlite://").unwrap())
        .parent()
        .unwrap();
    let csv = std::fs::read_to_string(dir.join("pred.csv")).unwrap();
    assert!(
        csv.starts_with("datetime,instrument,"),
        "{}",
        &csv[..csv.len().min(200)]
    );
    assert_eq!(std::fs::read_to_string(dir.join("pred.txt")).unwrap(), csv);
    assert!(
        std::fs::read(dir.join("pred.bin"))
            .unwrap()
            .starts_with(b"TPFR")
    );
    let from_frame = f.ok(&["ensemble", "rolling", "pred.bin"]);
    let from_csv = f.ok(&["ensemble", "rolling", "pred.csv"]);
    assert_eq!(from_frame, from_csv);
    assert!(from_frame.lines().count() > 10);
}

// 15. `-q` prints nothing but errors.

#[test]
fn quiet_prints_nothing_but_errors() {
    let f = sqlite();
    let tasks = examples().join("tasks.jsonl");
    for args in [
        &["create", tasks.to_str().unwrap()][..],
        &["stat"],
        &["query"],
        &["worker", "--", "cat"],
        &["wait"],
    ] {
        let out = f.cmd().arg("-q").args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_eq!(
            (stdout(&out), stderr(&out)),
            (String::new(), String::new()),
            "{args:?}"
        );
    }
    let failed = f.cmd().args(["-q", "-t", "nope", "stat"]).output().unwrap();
    assert_one_line_error(&failed, 3);
}

// 16. A dry run shows no ids that will not exist.

#[test]
fn create_dry_run_shows_no_ids_for_new_tasks() {
    let f = sqlite();
    let ids = f.seed();
    let file = f.write(
        "more.jsonl",
        &format!(
            "{}{{\"model\": {{\"class\": \"MLP\"}}}}\n",
            crate::support::SEED
        ),
    );
    let dry = f.json(&["create", "--dry-run", &file]);
    let shown: Vec<Value> = dry["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["_id"].clone())
        .collect();
    assert_eq!(
        shown,
        vec![json!(ids[0]), json!(ids[1]), json!(ids[2]), Value::Null]
    );
    let human = f.ok(&["create", "--dry-run", &file]);
    assert!(human.contains("(new)"), "{human}");
    let real = f.json(&["create", &file]);
    let new_id = real["tasks"][3]["_id"].as_str().unwrap();
    assert!(!human.contains(new_id), "{human}");
}

// 17. Global options under their own heading, hidden where ignored.

#[test]
fn help_lists_global_options_apart_and_hides_the_ignored_ones() {
    let help = |command: &str| stdout(&taskpool().args([command, "--help"]).output().unwrap());
    for command in ["gen", "ensemble", "completions"] {
        let text = help(command);
        assert!(
            !text.contains("--store") && !text.contains("--pool"),
            "{command}:\n{text}"
        );
    }
    let stat = help("stat");
    let global = stat
        .find("Global options:")
        .expect("a Global options heading");
    assert!(stat.find("--store").unwrap() > global, "{stat}");
    let gen_help = help("gen");
    assert!(gen_help.find("--template").unwrap() < gen_help.find("--calendar").unwrap());
    let accepted = taskpool()
        .args(["--store", "sqlite://x.db", "gen", "--help"])
        .output()
        .unwrap();
    assert!(
        accepted.status.success(),
        "a global option before gen is still accepted"
    );
}

// 18. An unreachable MongoDB server: one line.

#[test]
fn unreachable_mongodb_is_one_short_line_naming_host_and_timeout() {
    let url = "mongodb://127.0.0.1:9/taskpool_none?serverSelectionTimeoutMS=300";
    let out = taskpool()
        .args(["--store", url, "-t", "p", "stat"])
        .output()
        .unwrap();
    assert_one_line_error(&out, 4);
    let line = stderr(&out);
    assert!(line.len() < 220, "{line}");
    assert!(
        line.contains("127.0.0.1:9") && line.contains("300ms"),
        "{line}"
    );
    let verbose = taskpool()
        .args(["-v", "--store", url, "-t", "p", "stat"])
        .output()
        .unwrap();
    assert!(
        stderr(&verbose).len() > line.len() + 50,
        "-v shows the driver's detail"
    );
}
