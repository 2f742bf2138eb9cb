//! The Rust side of `benches/python/bench.py`: the workloads the script runs
//! through the Python binding, through the Rust API (`taskpool::open`) on
//! the same kind of store, timed and printed as one JSON object on stdout.
//! The script subtracts them to get the binding's per-call overhead.
//!
//! - `create`: `PY_BENCH_N` definitions (`support::defs`, the documents of
//!   `benches/qlib/compare.py`) in one `create` call;
//! - `claim_commit`: `PY_BENCH_FETCH` times, claim one task and commit it;
//! - `stat`, `get`: `PY_BENCH_REPEAT` calls each.
//!
//! The store is `PY_BENCH_URL`, else a fresh SQLite file in the bench
//! directory.

#[path = "../support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{defs, run, settings};
use taskpool::store::{ClaimParams, CommitParams, CreateParams, Query, Status};

const POOL: &str = "py_overhead";

fn per_call(elapsed: Duration, calls: usize) -> f64 {
    elapsed.as_secs_f64() / calls.max(1) as f64
}

fn main() {
    let n = settings::number("PY_BENCH_N", 1000);
    let fetch = settings::number("PY_BENCH_FETCH", 200);
    let repeat = settings::number("PY_BENCH_REPEAT", 200);
    let url = std::env::var("PY_BENCH_URL").unwrap_or_else(|_| {
        let path = settings::bench_dir().join("py_overhead_rust.db");
        for suffix in ["", "-wal", "-shm"] {
            // A leftover of an earlier run: start from an empty file.
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        format!("sqlite://{}", path.display())
    });
    let rt = settings::runtime();
    let report = rt.block_on(async {
        let store = taskpool::open(&url).await.expect("open the store");
        store.drop_pool(POOL).await.expect("drop the pool");

        let started = Instant::now();
        store
            .create(POOL, CreateParams::new(defs::tasks(0..n as u64)))
            .await
            .expect("create");
        let create = started.elapsed();

        let started = Instant::now();
        let mut last = None;
        for _ in 0..fetch {
            let task = store
                .claim(POOL, ClaimParams::new("bench", run::LEASE))
                .await
                .expect("claim")
                .pop()
                .expect("a waiting task");
            last = Some(task.id);
            let commit = CommitParams {
                id: task.id,
                token: task.lease.expect("a lease").token,
                result: json!({"ic": 0.05}),
                status: Status::Done,
            };
            store.commit(POOL, commit).await.expect("commit");
        }
        let claim_commit = started.elapsed();

        let started = Instant::now();
        for _ in 0..repeat {
            store.stat(POOL, &Query::All).await.expect("stat");
        }
        let stat = started.elapsed();

        let id = last.expect("at least one task claimed");
        let started = Instant::now();
        for _ in 0..repeat {
            store.get(POOL, id).await.expect("get");
        }
        let get = started.elapsed();
        json!({
            "n": n,
            "fetch": fetch,
            "repeat": repeat,
            "create_s": create.as_secs_f64(),
            "claim_commit_s_per_task": per_call(claim_commit, fetch),
            "stat_s_per_call": per_call(stat, repeat),
            "get_s_per_call": per_call(get, repeat),
        })
    });
    println!("{report}");
}
