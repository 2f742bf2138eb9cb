//! A password in a store URL never appears in any output, log line or error.

use crate::support::taskpool;

const PASSWORD: &str = "Pa55w0rdNeverShown";

fn assert_hidden(args: &[&str]) {
    let out = taskpool().args(args).output().expect("run taskpool");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(!stdout.contains(PASSWORD), "stdout of {args:?}: {stdout}");
    assert!(!stderr.contains(PASSWORD), "stderr of {args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn mongodb_password_is_hidden_from_errors_and_logs() {
    let url = format!(
        "mongodb://alice:{PASSWORD}@127.0.0.1:1/taskpool?serverSelectionTimeoutMS=500&connectTimeoutMS=500"
    );
    for args in [
        &["-vvv", "--store", &url, "-t", "p", "stat"][..],
        &["-vvv", "--store", &url, "list"][..],
        &[
            "-vvv",
            "--store",
            &url,
            "-t",
            "p",
            "create",
            "/nonexistent.yaml",
        ][..],
        &["--json", "--store", &url, "-t", "p", "query"][..],
    ] {
        assert_hidden(args);
    }
}

#[test]
fn mongodb_password_is_hidden_from_environment_urls() {
    let url = format!("mongodb+srv://bob:{PASSWORD}@cluster.invalid/taskpool");
    let out = taskpool()
        .env("TASKPOOL_STORE", &url)
        .env("TASKPOOL_LOG", "trace")
        .args(["-t", "p", "stat"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains(PASSWORD));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(PASSWORD));
}

/// A `mongodb+srv://` URL is accepted and redacted; its SRV record cannot
/// resolve here (`.invalid`): exit 4, one line naming the host and the DNS
/// lookup, no panic.
#[test]
fn mongodb_srv_url_that_does_not_resolve_is_one_clear_line() {
    let url = format!("mongodb+srv://bob:{PASSWORD}@cluster0.taskpool.invalid/research");
    let out = taskpool()
        .args(["--store", &url, "-t", "p", "stat"])
        .output()
        .unwrap();
    crate::support::assert_one_line_error(&out, 4);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "cannot resolve the MongoDB host cluster0.taskpool.invalid: the DNS lookup of its \
             SRV record _mongodb._tcp.cluster0.taskpool.invalid failed"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains(PASSWORD), "{stderr}");
}

#[test]
fn password_in_an_unknown_scheme_is_hidden() {
    let url = format!("redis://carol:{PASSWORD}@127.0.0.1:6379/0");
    assert_hidden(&["-vvv", "--store", &url, "-t", "p", "stat"]);
}

#[test]
fn qlib_import_source_password_is_hidden() {
    let unreachable = format!(
        "mongodb://alice:{PASSWORD}@127.0.0.1:1/qlib?serverSelectionTimeoutMS=500&connectTimeoutMS=500"
    );
    assert_hidden(&[
        "-vvv",
        "--store",
        "memory://",
        "import-qlib",
        &unreachable,
        "rolling_task",
    ]);
    assert_hidden(&[
        "--json",
        "--store",
        "memory://",
        "import-qlib",
        &unreachable,
        "rolling_task",
    ]);
}

#[test]
fn qlib_import_password_rejected_by_a_server_is_hidden() {
    let Ok(url) = std::env::var("TASKPOOL_TEST_MONGODB_URL") else {
        eprintln!("skipped: TASKPOOL_TEST_MONGODB_URL is not set (start ci/ferretdb/start.sh)");
        return;
    };
    // The test server has no users: the credentials are refused, and the
    // server's refusal is reported.
    let with_user = url.replacen("mongodb://", &format!("mongodb://alice:{PASSWORD}@"), 1);
    let out = taskpool()
        .args([
            "-vvv",
            "--store",
            "memory://",
            "import-qlib",
            &with_user,
            "rolling_task",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(PASSWORD), "{stderr}");
    assert!(stderr.contains("alice:***@"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(PASSWORD));
}
