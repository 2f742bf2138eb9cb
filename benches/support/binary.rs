//! The `taskpool` binary the process benchmarks run, and reading a running
//! process's peak memory.

use std::path::PathBuf;
use std::process::Command;

/// The `taskpool` executable: `TASKPOOL_BIN`, or `taskpool` beside the bench's
/// target directory (built with `cargo build --release -p taskpool-cli` if
/// missing).
pub fn taskpool() -> PathBuf {
    if let Some(bin) = std::env::var_os("TASKPOOL_BIN") {
        return bin.into();
    }
    let exe = std::env::current_exe().expect("the bench executable's path");
    let profile_dir = exe.ancestors().nth(2).expect("TARGET/PROFILE");
    let bin = profile_dir.join("taskpool");
    if !bin.exists() {
        eprintln!("bench: building the taskpool binary (cargo build --release -p taskpool-cli)");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let target = profile_dir.parent().expect("TARGET");
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "-p",
                "taskpool-cli",
                "--bin",
                "taskpool",
            ])
            .env("CARGO_TARGET_DIR", target)
            .status()
            .expect("run cargo");
        assert!(status.success(), "building taskpool failed");
    }
    bin
}

/// The peak RSS (`VmHWM`, KiB) of process `pid`, or `None` once it is gone.
pub fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
