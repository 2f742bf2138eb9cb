//! Claim→commit throughput of no-op tasks: 1, 4 and 16 concurrent workers
//! claiming 1, 16 or 64 tasks at a time, through each store and through its
//! raw baseline, on the same pool in the same run.
//!
//! Two ways to commit a claimed batch:
//! - `w{W}_b{B}`: one commit after the other, each awaited before the next;
//! - `w{W}_b{B}_inflight` (B = 16, 64): all B commits of the batch in flight
//!   at once and awaited together, as a `taskpool worker` with B slots whose
//!   tasks finish together. A store may group writes that are in flight
//!   together (the SQLite store commits them in one transaction). The raw
//!   baselines still do one write per commit (for SQLite one transaction per
//!   commit, one at a time under the connection mutex): the same work done
//!   by the raw backend without the store's grouping.
//!
//! One iteration drains a pool of N waiting tasks (reset, untimed, before
//! each iteration); throughput is tasks per second. N is
//! `TASKPOOL_BENCH_DRAIN_TASKS` (default 2048; 256 on MongoDB,
//! `TASKPOOL_BENCH_MONGO_DRAIN_TASKS`).

mod support;

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use support::place::{Kind, Place};
use support::run::Commits;
use support::{defs, run, settings};
use taskpool::store::{Query, ResetParams, Status};
use tokio::runtime::Runtime;

const POOL: &str = "drain";
const WORKERS: [usize; 3] = [1, 4, 16];
const BATCHES: [usize; 3] = [1, 16, 64];
/// The batch sizes also measured with all commits of a batch in flight.
const IN_FLIGHT_BATCHES: [usize; 2] = [16, 64];

/// Every (workers, batch, commits) case, sequential ones first.
fn cases() -> Vec<(usize, usize, Commits)> {
    let sequential = WORKERS
        .iter()
        .flat_map(|&w| BATCHES.iter().map(move |&b| (w, b, Commits::Sequential)));
    let in_flight = WORKERS.iter().flat_map(|&w| {
        IN_FLIGHT_BATCHES
            .iter()
            .map(move |&b| (w, b, Commits::InFlight))
    });
    sequential.chain(in_flight).collect()
}

fn case_id(side: &str, workers: usize, batch: usize, commits: Commits) -> BenchmarkId {
    BenchmarkId::new(side, format!("w{workers}_b{batch}{}", commits.suffix()))
}

fn tasks_per_iteration(kind: Kind) -> usize {
    match kind {
        Kind::Mongo => settings::number("TASKPOOL_BENCH_MONGO_DRAIN_TASKS", 256),
        _ => settings::number("TASKPOOL_BENCH_DRAIN_TASKS", 2048),
    }
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, kind: Kind) {
    let n = tasks_per_iteration(kind);
    let place = rt.block_on(Place::scratch(kind, "claim_commit"));
    let mut group = c.benchmark_group(format!("claim_commit_{}", kind.label()));
    group
        .throughput(Throughput::Elements(n as u64))
        .sampling_mode(SamplingMode::Flat);

    let store = rt.block_on(place.open_store());
    let new = rt.block_on(run::create_all(
        store.as_ref(),
        POOL,
        defs::create_batches(0..n as u64),
    ));
    assert_eq!(new, n);
    for (workers, batch, commits) in cases() {
        group.bench_function(case_id("store", workers, batch, commits), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let reset = ResetParams {
                        query: Query::All,
                        status: Status::Waiting,
                    };
                    rt.block_on(store.reset_status(POOL, reset)).expect("reset");
                    let started = Instant::now();
                    let done = rt.block_on(run::drain_store(&store, POOL, workers, batch, commits));
                    total += started.elapsed();
                    assert_eq!(done, n);
                }
                total
            })
        });
    }
    // sled allows one open database per process: close the store first.
    drop(store);

    if let Some(raw) = rt.block_on(place.open_raw()) {
        for (workers, batch, commits) in cases() {
            group.bench_function(case_id("raw", workers, batch, commits), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        rt.block_on(raw.reset(POOL));
                        let started = Instant::now();
                        let done = rt.block_on(run::drain_raw(&raw, POOL, workers, batch, commits));
                        total += started.elapsed();
                        assert_eq!(done, n);
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
