//! Creating 10k and 100k definitions in batches of 1000 (as `taskpool
//! create` sends them): `first` into an empty pool, then `second` with half
//! of the definitions already in the pool (seeds N/2..3N/2 after 0..N), through
//! each store and its raw baseline in the same run. Each iteration uses a
//! fresh pool, dropped afterwards (untimed).
//!
//! Sizes: `TASKPOOL_BENCH_CREATE_SIZES` (default 10000,100000); on MongoDB
//! only sizes up to `TASKPOOL_BENCH_MONGO_MAX_CREATE` (default 10000).

mod support;

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use support::place::{Kind, Place};
use support::{defs, run, settings};
use tokio::runtime::Runtime;

fn sizes(kind: Kind) -> Vec<u64> {
    let max = match kind {
        Kind::Mongo => settings::number("TASKPOOL_BENCH_MONGO_MAX_CREATE", 10_000) as u64,
        _ => u64::MAX,
    };
    std::env::var("TASKPOOL_BENCH_CREATE_SIZES")
        .unwrap_or_else(|_| "10000,100000".to_string())
        .split(',')
        .map(|s| s.trim().parse().expect("a size"))
        .filter(|&n| n <= max)
        .collect()
}

/// A pool name not used before in this run.
fn fresh_pool(counter: &mut u64) -> String {
    *counter += 1;
    format!("create_{counter}")
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, kind: Kind) {
    let place = rt.block_on(Place::scratch(kind, "create"));
    let mut group = c.benchmark_group(format!("create_{}", kind.label()));
    group.sampling_mode(SamplingMode::Flat);
    let mut counter = 0;

    let store = rt.block_on(place.open_store());
    for n in sizes(kind) {
        group.throughput(Throughput::Elements(n));
        group.bench_function(BenchmarkId::new("store", format!("first_{n}")), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let pool = fresh_pool(&mut counter);
                    let batches = defs::create_batches(0..n);
                    let started = Instant::now();
                    let new = rt.block_on(run::create_all(store.as_ref(), &pool, batches));
                    total += started.elapsed();
                    assert_eq!(new as u64, n);
                    rt.block_on(store.drop_pool(&pool)).expect("drop");
                }
                total
            })
        });
        group.bench_function(BenchmarkId::new("store", format!("second_{n}")), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let pool = fresh_pool(&mut counter);
                    rt.block_on(run::create_all(
                        store.as_ref(),
                        &pool,
                        defs::create_batches(0..n),
                    ));
                    let batches = defs::create_batches(n / 2..n / 2 + n);
                    let started = Instant::now();
                    let new = rt.block_on(run::create_all(store.as_ref(), &pool, batches));
                    total += started.elapsed();
                    assert_eq!(new as u64, n / 2);
                    rt.block_on(store.drop_pool(&pool)).expect("drop");
                }
                total
            })
        });
    }
    // sled allows one open database per process: close the store first.
    drop(store);

    if let Some(raw) = rt.block_on(place.open_raw()) {
        for n in sizes(kind) {
            group.throughput(Throughput::Elements(n));
            let first = defs::tasks(0..n);
            let second = defs::tasks(n / 2..n / 2 + n);
            group.bench_function(BenchmarkId::new("raw", format!("first_{n}")), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let pool = fresh_pool(&mut counter);
                        let started = Instant::now();
                        let new = rt.block_on(run::raw_create_all(
                            raw.as_ref(),
                            &pool,
                            &first,
                            defs::CREATE_BATCH,
                        ));
                        total += started.elapsed();
                        assert_eq!(new as u64, n);
                        rt.block_on(raw.drop_pool(&pool));
                    }
                    total
                })
            });
            group.bench_function(BenchmarkId::new("raw", format!("second_{n}")), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let pool = fresh_pool(&mut counter);
                        rt.block_on(run::raw_create_all(
                            raw.as_ref(),
                            &pool,
                            &first,
                            defs::CREATE_BATCH,
                        ));
                        let started = Instant::now();
                        let new = rt.block_on(run::raw_create_all(
                            raw.as_ref(),
                            &pool,
                            &second,
                            defs::CREATE_BATCH,
                        ));
                        total += started.elapsed();
                        assert_eq!(new as u64, n / 2);
                        rt.block_on(raw.drop_pool(&pool));
                    }
                    total
                })
            });
        }
    }
    group.finish();
}

fn main() {
    let rt = settings::runtime();
    let mut c = settings::criterion();
    for kind in settings::backends() {
        bench_backend(&mut c, &rt, kind);
    }
    c.final_summary();
}
