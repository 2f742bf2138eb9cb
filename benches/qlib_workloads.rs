//! The workloads of `benches/qlib/compare.py`, through taskpool's MongoDB
//! backend, timed and printed as one JSON object on stdout (the script runs
//! Qlib's `TaskManager` on the same server and prints the ratios):
//!
//! - `create_first`: `QLIB_BENCH_N` definitions (seeds 0..N, the same
//!   documents as the script's) into a fresh pool, in batches of 1000;
//! - `create_second`: seeds N/2..3N/2 (half already in the pool);
//! - `fetch_commit`: one worker claims one task and commits it as `done`,
//!   `QLIB_BENCH_FETCH` times (Qlib: `safe_fetch_task` + `commit_task_res`);
//! - `stat`: the median of `QLIB_BENCH_STAT_REPEAT` stats (Qlib: `task_stat`).
//!
//! With `TASKPOOL_BENCH_SERVER_PID`, each workload also reports the CPU time
//! the server process spent on it (`KEY_server_cpu_s`), and the report holds
//! the load average at the start (`load`).
//!
//! Needs `TASKPOOL_BENCH_MONGODB_URL` (or `TASKPOOL_TEST_MONGODB_URL`);
//! without it, it prints why and exits (so `cargo bench` passes without a server).

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{defs, run, settings};
use task_store_mongo::{MongoOptions, MongoStore};
use taskpool::store::{ClaimParams, CommitParams, Query, Status, SystemClock, TaskStore};

const POOL: &str = "vs_qlib";

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The server CPU seconds used since `before` (a [`settings::server_cpu_seconds`] reading).
fn server_cpu_since(before: Option<f64>) -> Option<f64> {
    Some(settings::server_cpu_seconds()? - before?)
}

fn main() {
    let Some(url) = settings::mongodb_url() else {
        eprintln!("qlib_workloads: skipped: set TASKPOOL_BENCH_MONGODB_URL");
        return;
    };
    let n = settings::number("QLIB_BENCH_N", 1000) as u64;
    let fetch = settings::number("QLIB_BENCH_FETCH", 200);
    let repeat = settings::number("QLIB_BENCH_STAT_REPEAT", 20);
    let database =
        std::env::var("QLIB_BENCH_DATABASE").unwrap_or_else(|_| "taskpool_vs_qlib".into());
    let rt = settings::runtime();
    let report = rt.block_on(async {
        let options = MongoOptions::default().database(database.clone());
        let store = MongoStore::open(&url, Arc::new(SystemClock), options)
            .await
            .expect("open the MongoDB store");
        store.drop_pool(POOL).await.expect("drop the pool");

        let load = settings::load_average();
        let batches = defs::create_batches(0..n);
        let cpu = settings::server_cpu_seconds();
        let started = Instant::now();
        let new_first = run::create_all(&store, POOL, batches).await;
        let create_first = started.elapsed();
        let create_first_cpu = server_cpu_since(cpu);

        let batches = defs::create_batches(n / 2..n / 2 + n);
        let cpu = settings::server_cpu_seconds();
        let started = Instant::now();
        let new_second = run::create_all(&store, POOL, batches).await;
        let create_second = started.elapsed();
        let create_second_cpu = server_cpu_since(cpu);

        let cpu = settings::server_cpu_seconds();
        let started = Instant::now();
        for _ in 0..fetch {
            let task = store
                .claim(POOL, ClaimParams::new("bench", run::LEASE))
                .await
                .expect("claim")
                .pop()
                .expect("a waiting task");
            let commit = CommitParams {
                id: task.id,
                token: task.lease.expect("a lease").token,
                result: json!({"ic": 0.05}),
                status: Status::Done,
            };
            store.commit(POOL, commit).await.expect("commit");
        }
        let fetch_commit = started.elapsed();
        let fetch_commit_cpu = server_cpu_since(cpu);

        let mut stats = Vec::with_capacity(repeat);
        let mut total = 0;
        for _ in 0..repeat.max(1) {
            let started = Instant::now();
            total = store.stat(POOL, &Query::All).await.expect("stat").total();
            stats.push(started.elapsed());
        }
        stats.sort();
        json!({
            "n": n,
            "load": load,
            "new_first": new_first,
            "new_second": new_second,
            "create_first_s": seconds(create_first),
            "create_second_s": seconds(create_second),
            "create_first_server_cpu_s": create_first_cpu,
            "create_second_server_cpu_s": create_second_cpu,
            "fetch_commit_server_cpu_s": fetch_commit_cpu,
            "fetch": fetch,
            "fetch_commit_s": seconds(fetch_commit),
            "stat_total": total,
            "stat_s": seconds(stats[stats.len() / 2]),
        })
    });
    println!("{report}");
}
