//! Settings read from the environment, and the shared criterion and tokio
//! configuration (sized for a 2-core machine).

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::Criterion;

use super::place::Kind;

/// Where cached pools and scratch stores live: `TASKPOOL_BENCH_DIR`, or
/// `bench-pools` in the cargo target directory of the bench executable.
pub fn bench_dir() -> PathBuf {
    let dir = match std::env::var_os("TASKPOOL_BENCH_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let exe = std::env::current_exe().expect("the bench executable's path");
            // The executable is TARGET/release/deps/NAME-HASH.
            exe.ancestors()
                .nth(3)
                .map_or_else(std::env::temp_dir, Path::to_path_buf)
                .join("bench-pools")
        }
    };
    std::fs::create_dir_all(&dir).expect("create the bench directory");
    dir
}

/// The MongoDB URL: `TASKPOOL_BENCH_MONGODB_URL`, else `TASKPOOL_TEST_MONGODB_URL`.
pub fn mongodb_url() -> Option<String> {
    ["TASKPOOL_BENCH_MONGODB_URL", "TASKPOOL_TEST_MONGODB_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
}

/// The MongoDB store's claim batch (`MongoOptions::claim_batch`):
/// `TASKPOOL_BENCH_MONGO_CLAIM_BATCH`, else the store's default. `1` gives
/// the sorted `findAndModify` per claim (the claim before the batch claim).
pub fn mongo_claim_batch() -> Option<usize> {
    std::env::var("TASKPOOL_BENCH_MONGO_CLAIM_BATCH")
        .ok()
        .map(|v| {
            v.parse()
                .expect("TASKPOOL_BENCH_MONGO_CLAIM_BATCH is a number")
        })
}

/// The backends to benchmark: `TASKPOOL_BENCH_BACKENDS` (comma-separated
/// names among memory, sqlite, sled, mongo), else memory, SQLite, sled, and
/// MongoDB when its URL is set.
pub fn backends() -> Vec<Kind> {
    let wanted: Vec<Kind> = match std::env::var("TASKPOOL_BENCH_BACKENDS") {
        Ok(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Kind::parse(s).unwrap_or_else(|| panic!("unknown backend {s:?}")))
            .collect(),
        Err(_) => Kind::ALL.to_vec(),
    };
    wanted
        .into_iter()
        .filter(|k| {
            let skip = *k == Kind::Mongo && mongodb_url().is_none();
            if skip {
                eprintln!("bench: skipping mongo: set TASKPOOL_BENCH_MONGODB_URL");
            }
            !skip
        })
        .collect()
}

/// A number from the environment variable `name`, else `default`.
pub fn number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
        })
        .unwrap_or(default)
}

/// Criterion with small samples: 10 samples, 1 s warm-up, 3 s of measurement
/// per benchmark (command-line options still override these).
pub fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}

/// The multi-threaded runtime the stores run on (one worker per core).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("build the tokio runtime")
}

/// CPU seconds (user + system) the MongoDB-wire server process has used so
/// far: `/proc/PID/stat` of `TASKPOOL_BENCH_SERVER_PID` (set by
/// `benches/support/qlib-bench.sh`); `None` when unset or unreadable.
/// Unlike wall time, a workload's server CPU does not depend on the load.
pub fn server_cpu_seconds() -> Option<f64> {
    let pid = std::env::var("TASKPOOL_BENCH_SERVER_PID").ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): state is the
    // 3rd field of the file, utime the 14th and stime the 15th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (per_second > 0).then(|| ticks / per_second as f64)
}

/// The 1-minute load average (`/proc/loadavg`), if readable.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
