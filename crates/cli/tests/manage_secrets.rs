//! A password in a store URL never appears in any output, log line or error.

mod manage_support;

use manage_support::taskpool;

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

#[test]
fn password_in_an_unknown_scheme_is_hidden() {
    let url = format!("redis://carol:{PASSWORD}@127.0.0.1:6379/0");
    assert_hidden(&["-vvv", "--store", &url, "-t", "p", "stat"]);
}
