//! The model-based property test: random sequences of create (with
//! duplicates), claim, heartbeat, commit, return, prioritize, reset, remove,
//! replace, reads and clock moves, applied to the backend and to a
//! [`MemoryStore`](crate::MemoryStore) on its own [`ManualClock`] moved
//! identically. Every result must match: returned tasks (ids and tokens
//! translated), errors by kind, counts, and the whole pool at the end.
//!
//! The factory is called once; each sequence runs in a fresh pool of that
//! store (and drops it at the end). On failure the panic message holds the
//! minimal sequence proptest shrank to.

mod pair;
mod step;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};

use super::{DEFAULT_MODEL_SEQUENCES, MODEL_CASE, START, runtime};
use crate::store::TaskStore;
use crate::time::{ManualClock, SharedClock};
use pair::Pair;
pub use step::{Sel, Step};

/// The environment variable that sets the number of sequences.
pub const SEQUENCES_VAR: &str = "TASKPOOL_PROPTEST_CASES";

/// The environment variable that fixes the random seed, to replay a run:
/// every run prints the seed it used.
pub const SEED_VAR: &str = "TASKPOOL_PROPTEST_SEED";

/// The seed of this run: `TASKPOOL_PROPTEST_SEED`, or a fresh random one.
///
/// # Panics
/// If the variable is set but is not a whole number.
pub fn seed() -> u64 {
    match std::env::var(SEED_VAR) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{SEED_VAR} must be a whole number, got {v:?}")),
        Err(_) => rand::random(),
    }
}

/// The generator of a run with `seed` (ChaCha, so a seed replays the same
/// sequences on every machine).
fn rng(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

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
    Fut: Future<Output = Option<Arc<dyn TaskStore>>>,
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
        Ok(())
    });
    match result {
        Ok(()) => eprintln!(
            "{MODEL_CASE}: {} sequences agreed with the model on {store} ({} rejected)",
            agreed.load(Ordering::Relaxed),
            started.load(Ordering::Relaxed) - agreed.load(Ordering::Relaxed)
        ),
        Err(TestError::Fail(reason, steps)) => panic!(
            "{MODEL_CASE}: {store} disagrees with the model: {reason}\nreplay with {SEED_VAR}={seed}\nminimal sequence ({} steps):\n{steps:#?}",
            steps.len()
        ),
        Err(TestError::Abort(reason)) => panic!("{MODEL_CASE} aborted: {reason}"),
    }
}
