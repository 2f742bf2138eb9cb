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

use proptest::test_runner::{Config, TestError, TestRunner};

use super::{DEFAULT_MODEL_SEQUENCES, MODEL_CASE, START, runtime};
use crate::store::TaskStore;
use crate::time::{ManualClock, SharedClock};
use pair::Pair;
pub use step::{Sel, Step};

/// The environment variable that sets the number of sequences.
pub const SEQUENCES_VAR: &str = "TASKPOOL_PROPTEST_CASES";

/// The number of sequences to run: `TASKPOOL_PROPTEST_CASES`, or
/// [`DEFAULT_MODEL_SEQUENCES`].
///
/// # Panics
/// If the variable is set but is not a number.
pub fn sequences() -> u32 {
    match std::env::var(SEQUENCES_VAR) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{SEQUENCES_VAR} must be a whole number, got {v:?}")),
        Err(_) => DEFAULT_MODEL_SEQUENCES,
    }
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
        cases: sequences(),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
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
            "{MODEL_CASE}: {store} disagrees with the model: {reason}\nminimal sequence ({} steps):\n{steps:#?}",
            steps.len()
        ),
        Err(TestError::Abort(reason)) => panic!("{MODEL_CASE} aborted: {reason}"),
    }
}
