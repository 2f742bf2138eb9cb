//! The model-based property test: random sequences of create (with
//! duplicates), claim, heartbeat, commit, return, prioritize, reset, remove,
//! replace, reads and clock moves, and of record and artifact operations
//! (create, update, get, list, delete records in two experiments; put, get,
//! list, delete artifacts; list experiments), applied to the backend and to
//! a [`MemoryStore`](crate::MemoryStore) on its own [`ManualClock`] moved
//! identically. Every result must match: returned tasks and records (ids
//! and tokens translated), artifact bytes, errors by kind, counts, and the
//! whole pool and both experiments at the end.
//!
//! The factory is called once; each sequence runs in a fresh pool of that
//! store (and drops it at the end). On failure the panic message holds the
//! minimal sequence proptest shrank to.

mod pair;
mod records;
mod step;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use proptest::test_runner::{Config, TestError, TestRunner};

use super::{DEFAULT_MODEL_SEQUENCES, MODEL_CASE, START, runtime};
use crate::fuzz::rng;
use crate::store::Store;
use crate::time::{ManualClock, SharedClock};
use pair::Pair;
pub use step::{Sel, Step};

/// The environment variable that sets the number of sequences.
pub const SEQUENCES_VAR: &str = "TASKPOOL_PROPTEST_CASES";

/// The environment variable that fixes the random seed, to replay a run:
/// every run prints the seed it used.
pub use crate::fuzz::{SEED_VAR, seed};

/// The number of sequences to run on a store whose URL has `scheme`:
/// `TASKPOOL_PROPTEST_CASES_<SCHEME>` (`TASKPOOL_PROPTEST_CASES_SQLITE`,
/// `…_MONGODB`), else `TASKPOOL_PROPTEST_CASES`, else
/// [`DEFAULT_MODEL_SEQUENCES`]. CI runs 10,000 on memory and SQLite and
/// fewer on the slower backends this way.
///
/// # Panics
/// If a variable is set but is not a whole number.
pub fn sequences(scheme: &str) -> u32 {
    let specific = format!(
        "{SEQUENCES_VAR}_{}",
        scheme
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            })
            .collect::<String>()
    );
    for var in [specific.as_str(), SEQUENCES_VAR] {
        if let Ok(v) = std::env::var(var) {
            return v
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("{var} must be a whole number, got {v:?}"));
        }
    }
    DEFAULT_MODEL_SEQUENCES
}

/// Run the property test against the store the factory opens (nothing if it
/// returns `None`).
///
/// # Panics
/// When a sequence makes the backend and the model disagree, with the
/// minimal such sequence in the message.
pub fn run<F, Fut>(factory: F)
where
    F: FnOnce(SharedClock, &'static str) -> Fut,
    Fut: Future<Output = Option<Arc<dyn Store>>>,
{
    let rt = runtime();
    let clock = ManualClock::new(START);
    let Some(store) = rt.block_on(factory(Arc::new(clock.clone()), MODEL_CASE)) else {
        return;
    };
    let config = Config {
        cases: sequences(store.to_string().split("://").next().unwrap_or_default()),
        failure_persistence: None,
        ..Config::default()
    };
    let seed = seed();
    eprintln!("{MODEL_CASE} on {store}: seed {seed} (replay with {SEED_VAR}={seed})");
    let mut runner = TestRunner::new_with_rng(config, rng(seed));
    let started = AtomicU32::new(0);
    let agreed = AtomicU32::new(0);
    let steps_run = AtomicU64::new(0);
    let record_steps = AtomicU64::new(0);
    let result = runner.run(&step::sequence(), |steps| {
        let n = started.fetch_add(1, Ordering::Relaxed);
        rt.block_on(async {
            let mut pair = Pair::new(store.as_ref(), &clock, format!("model_{n}"));
            for step in &steps {
                pair.apply(step).await?;
            }
            pair.finish().await
        })?;
        agreed.fetch_add(1, Ordering::Relaxed);
        steps_run.fetch_add(steps.len() as u64, Ordering::Relaxed);
        let on_records = steps.iter().filter(|s| s.on_records()).count();
        record_steps.fetch_add(on_records as u64, Ordering::Relaxed);
        Ok(())
    });
    rt.block_on(store.close());
    match result {
        Ok(()) => eprintln!(
            "{MODEL_CASE}: {} sequences agreed with the model on {store} ({} rejected; {} steps, {} of them on records and artifacts)",
            agreed.load(Ordering::Relaxed),
            started.load(Ordering::Relaxed) - agreed.load(Ordering::Relaxed),
            steps_run.load(Ordering::Relaxed),
            record_steps.load(Ordering::Relaxed)
        ),
        Err(TestError::Fail(reason, steps)) => panic!(
            "{MODEL_CASE}: {store} disagrees with the model: {reason}\nreplay with {SEED_VAR}={seed}\nminimal sequence ({} steps):\n{steps:#?}",
            steps.len()
        ),
        Err(TestError::Abort(reason)) => panic!("{MODEL_CASE} aborted: {reason}"),
    }
}
