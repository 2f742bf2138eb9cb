//! Helpers shared by the integration tests: opening stores, running this
//! test binary again as a child process, and per-test directories.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use task_store::{Result, SharedClock, SystemClock};
use task_store_sled::{SledOptions, SledStore};

/// The `sled://` URL of directory `dir`.
pub fn url(dir: impl AsRef<Path>) -> String {
    format!("sled://{}", dir.as_ref().display())
}

/// Open the store in `dir` on `clock`, with default options.
pub async fn try_open(dir: impl AsRef<Path>, clock: SharedClock) -> Result<SledStore> {
    SledStore::open(&url(dir), clock, SledOptions::default()).await
}

/// Open the store in `dir` on the system clock; panics if it cannot.
pub async fn open(dir: impl AsRef<Path>) -> SledStore {
    let dir = dir.as_ref();
    try_open(dir, Arc::new(SystemClock))
        .await
        .unwrap_or_else(|e| panic!("open the sled store in {}: {e}", dir.display()))
}

/// A store on the fresh directory [`fresh_dir`]`(name)`, on `clock`.
pub async fn fresh_store(name: &str, clock: SharedClock) -> SledStore {
    let dir = fresh_dir(name);
    try_open(&dir, clock)
        .await
        .unwrap_or_else(|e| panic!("open a fresh sled store in {}: {e}", dir.display()))
}

/// A command that runs only the test `name` (its full path, `module::test`)
/// of the current test binary, with `env` set: the test sees the variable and
/// plays the child's part.
pub fn child_of_this_test(name: &str, env: (&str, &str)) -> Command {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let mut cmd = Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(env.0, env.1);
    cmd
}

/// An empty directory `CARGO_TARGET_TMPDIR/<name>` (kept afterwards for inspection).
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("cannot empty {}: {e}", dir.display()),
    }
    std::fs::create_dir_all(&dir).expect("the test directory can be created");
    dir
}

/// `len` bytes that differ with `seed` and with position (artifact contents
/// a test can regenerate from `(len, seed)`).
pub fn artifact_bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 11)) as u8 ^ seed)
        .collect()
}

/// sled opened directly on `dir` (no taskpool store), waiting up to 2 s for
/// the file lock that a store dropped a moment ago still holds through
/// sled's background flusher.
pub fn open_raw(dir: &Path) -> task_store_sled::sled::Db {
    let started = Instant::now();
    loop {
        match task_store_sled::sled::open(dir) {
            Ok(db) => return db,
            Err(_) if started.elapsed() < Duration::from_secs(2) => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("open sled at {}: {e}", dir.display()),
        }
    }
}
