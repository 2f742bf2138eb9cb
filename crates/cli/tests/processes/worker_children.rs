//! Issue 18, point 19: the command a worker started dies with the worker,
//! even when the worker is killed with SIGKILL (Linux, PR_SET_PDEATHSIG).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{WorkerFixture, alive, eventually, send, wait_exit};

#[test]
fn sigkill_of_the_worker_kills_its_command() {
    let Some(fx) = WorkerFixture::sqlite() else {
        return;
    };
    fx.create(vec![json!({"x": 1})], 3);
    let pid_file = fx.dir().join("child.pid");
    // The command writes its own pid, then becomes `sleep` (same process).
    let script = format!("echo $$ > {}; exec sleep 600", pid_file.display());
    let mut worker = fx.spawn("w", &["worker", "--", "sh", "-c", &script]);
    eventually("the command started", || {
        std::fs::read_to_string(&pid_file).is_ok_and(|s| s.trim().parse::<u32>().is_ok())
    });
    let child: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(child));
    send(&worker, libc::SIGKILL);
    wait_exit(&mut worker);
    let killed = Instant::now();
    while alive(child) && killed.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let still_alive = alive(child);
    if still_alive {
        let _ = taskpool::pipeline::worker::signal_process(child, libc::SIGKILL);
    }
    assert!(
        !still_alive,
        "the command outlived its SIGKILLed worker by 2 s"
    );
}
