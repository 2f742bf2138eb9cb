//! The contract's size limits at the command line: `create` refuses an
//! oversized definition before writing anything, naming its index in the
//! file; a worker whose command prints an oversized result fails the attempt
//! and the error history says why.

use serde_json::json;
use taskpool::store::{MAX_FIELD_BYTES, Status};

use crate::support::{Fixture, POOL, WorkerFixture, assert_one_line_error, taskpool_process};

#[test]
fn create_oversized_definition_is_bad_input_naming_its_index() {
    for scheme in ["sqlite", "sled", "mongodb"] {
        let Some(f) = Fixture::new(scheme) else {
            continue;
        };
        f.seed();
        let before = f.snapshot();
        let mut lines: Vec<String> = (0..10).map(|i| format!("{{\"n\": {i}}}")).collect();
        lines.push(json!({"blob": "x".repeat(MAX_FIELD_BYTES)}).to_string());
        let file = f.write("big.jsonl", &lines.join("\n"));
        let out = f.cmd().args(["create", &file]).output().unwrap();
        assert_one_line_error(&out, 2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("tasks[10].def"), "{scheme}: {stderr}");
        assert!(
            stderr.contains(&MAX_FIELD_BYTES.to_string()),
            "{scheme}: {stderr}"
        );
        assert!(stderr.contains("artifacts"), "{scheme}: {stderr}");
        assert_eq!(f.snapshot(), before, "{scheme}: store changed");
    }
}

#[test]
fn worker_with_oversized_result_fails_the_attempt_with_the_limit() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    let ids = fx.create(vec![json!({"x": 1})], 1);
    let script = format!("import json; print(json.dumps({{'blob': 'x' * {MAX_FIELD_BYTES}}}))");
    let out = taskpool_process()
        .args([
            "--store", &fx.url, "-t", POOL, "worker", "--", "python3", "-c", &script,
        ])
        .output()
        .expect("run taskpool");
    assert!(
        out.status.code().is_some(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let task = fx.get(ids[0]);
    assert_eq!(task.status, Status::Failed);
    assert_eq!(task.res, None);
    let message = &task.errors.last().expect("an error entry").message;
    assert!(message.contains("result is"), "{message}");
    assert!(message.contains("over the limit"), "{message}");
}
