//! One process per database: a second opener fails at once with
//! `Unavailable` naming the path, whether it is another process or this one.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use task_store::{ErrorKind, SystemClock};

use crate::support;

const CHILD_ENV: &str = "TASKPOOL_SLED_LOCK_CHILD";

/// The longest the parent waits for the child before declaring it hung. Far
/// above the expected few milliseconds: it only turns a hang into a failure.
const HANG_GUARD: Duration = Duration::from_secs(60);

#[tokio::test]
async fn open_from_second_process_is_unavailable() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        let started = Instant::now();
        let err = support::try_open(&dir, Arc::new(SystemClock))
            .await
            .unwrap_err();
        println!(
            "second process: open failed after {:?}: {err}",
            started.elapsed()
        );
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.to_string().contains(&dir), "the error names the path");
        return;
    }
    let dir = support::fresh_dir("lock_second_process");
    let store = support::open(&dir).await;
    let mut child = support::child_of_this_test(
        "lock::open_from_second_process_is_unavailable",
        (CHILD_ENV, dir.to_str().unwrap()),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > HANG_GUARD {
            child.kill().unwrap();
            panic!("the second process hung opening a locked database");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let output = child.wait_with_output().unwrap();
    // Only the child's own report, not its test harness's summary lines.
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if line.contains("second process:") {
            println!("{line}");
        }
    }
    assert!(
        status.success(),
        "the second process saw a wrong error: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    drop(store);
}

#[tokio::test]
async fn open_twice_in_one_process_is_unavailable() {
    let dir = support::fresh_dir("lock_same_process");
    let _store = support::open(&dir).await;
    let err = support::try_open(&dir, Arc::new(SystemClock))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.to_string().contains(dir.to_str().unwrap()));
}

#[tokio::test]
async fn open_after_close_succeeds() {
    let dir = support::fresh_dir("lock_reopen");
    let store = support::open(&dir).await;
    drop(store);
    support::open(&dir).await;
}
