//! The large pools of the scaling and memory benchmarks (1k, 100k and 1M
//! waiting tasks), built once and kept on disk between runs (SQLite file
//! `scale.db`, sled directory `scale.sled` in the bench directory, MongoDB
//! database `taskpool_bench_scale`); the memory store builds them in each run.

use std::time::Instant;

use taskpool::store::{CreateParams, Query, Status, TaskStore};

use super::defs;
use super::place::Kind;
use super::settings;

/// How many tasks one building `create` call carries.
const BUILD_BATCH: u64 = 10_000;

/// The pool sizes for `kind`: `TASKPOOL_BENCH_SCALE_SIZES` (comma-separated,
/// default 1000,100000,1000000), without those above
/// `TASKPOOL_BENCH_MONGO_MAX_POOL` (default 100000) on MongoDB.
pub fn sizes(kind: Kind) -> Vec<usize> {
    let all: Vec<usize> = std::env::var("TASKPOOL_BENCH_SCALE_SIZES")
        .unwrap_or_else(|_| "1000,100000,1000000".to_string())
        .split(',')
        .map(|s| s.trim().parse().expect("a pool size"))
        .collect();
    let max = match kind {
        Kind::Mongo => settings::number("TASKPOOL_BENCH_MONGO_MAX_POOL", 100_000),
        _ => usize::MAX,
    };
    all.into_iter().filter(|&n| n <= max).collect()
}

/// The pool holding `size` tasks.
pub fn pool_name(size: usize) -> String {
    format!("scale_{size}")
}

/// Make sure the pool of `size` holds exactly `size` waiting tasks, building
/// it (untimed, with progress on stderr) if it does not.
pub async fn ensure(store: &dyn TaskStore, size: usize) {
    let pool = pool_name(size);
    let stat = store.stat(&pool, &Query::All).await.expect("stat");
    if stat.total() == size as u64 && stat.get(Status::Waiting) == size as u64 {
        return;
    }
    eprintln!("bench: building pool {pool} of {size} tasks in {store} (once; kept for later runs)");
    let started = Instant::now();
    store.drop_pool(&pool).await.expect("drop a partial pool");
    let size = size as u64;
    for start in (0..size).step_by(BUILD_BATCH as usize) {
        let end = (start + BUILD_BATCH).min(size);
        let batch = CreateParams::new(defs::tasks(start..end));
        store.create(&pool, batch).await.expect("create");
        if end.is_multiple_of(100_000) {
            eprintln!("bench:   {end} tasks after {:.0?}", started.elapsed());
        }
    }
    eprintln!("bench: built {pool} in {:.1?}", started.elapsed());
}
