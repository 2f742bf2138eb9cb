//! `stat` and one claim on pools of 1k, 100k and 1M waiting tasks, through
//! each store and its raw baseline: claim latency must not grow with the pool.
//!
//! The pools are built once and kept in the bench directory (see
//! `support/scale.rs`). A claim is timed alone; the claimed task is handed
//! back (untimed) so every iteration sees the same pool.

mod support;

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode};
use support::place::{Kind, Place};
use support::{run, scale, settings};
use taskpool::store::{ClaimParams, Query, ReturnParams};
use tokio::runtime::Runtime;

fn bench_backend(c: &mut Criterion, rt: &Runtime, kind: Kind) {
    let place = Place::named(kind, "scale");
    let sizes = scale::sizes(kind);
    let mut group = c.benchmark_group(format!("scaling_{}", kind.label()));
    group.sampling_mode(SamplingMode::Flat);

    let store = rt.block_on(place.open_store());
    for &size in &sizes {
        rt.block_on(scale::ensure(store.as_ref(), size));
    }
    for &size in &sizes {
        let pool = scale::pool_name(size);
        group.bench_function(BenchmarkId::new("store/stat", size), |b| {
            b.iter(|| rt.block_on(store.stat(&pool, &Query::All)).expect("stat"))
        });
        group.bench_function(BenchmarkId::new("store/claim_one", size), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let params = ClaimParams::new("bench", run::LEASE);
                    let started = Instant::now();
                    let mut tasks = rt.block_on(store.claim(&pool, params)).expect("claim");
                    total += started.elapsed();
                    let task = tasks.pop().expect("a claimed task");
                    let back = ReturnParams {
                        id: task.id,
                        token: task.lease.expect("a lease").token,
                        error: None,
                        status: None,
                    };
                    rt.block_on(store.return_task(&pool, back))
                        .expect("hand back");
                }
                total
            })
        });
    }
    // sled allows one open database per process: close the store first.
    drop(store);

    if let Some(raw) = rt.block_on(place.open_raw()) {
        for &size in &sizes {
            let pool = scale::pool_name(size);
            group.bench_function(BenchmarkId::new("raw/stat", size), |b| {
                b.iter(|| rt.block_on(raw.stat(&pool)))
            });
            group.bench_function(BenchmarkId::new("raw/claim_one", size), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let started = Instant::now();
                        let mut tasks = rt.block_on(raw.claim(&pool, 1, "bench"));
                        total += started.elapsed();
                        let task = tasks.pop().expect("a claimed task");
                        rt.block_on(raw.hand_back(&pool, &task));
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
